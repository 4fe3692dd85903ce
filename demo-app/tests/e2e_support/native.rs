//! The native side of the screen, which WebDriver cannot see: the built-in prompt is a GTK
//! dialog, not part of the page. `xdotool` finds dialogs by title and types into them;
//! ImageMagick's `import` photographs the whole X display.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `xdotool args…` on `display`: its standard output, or its standard error.
fn xdotool(display: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new("xdotool")
        .args(args)
        .env("DISPLAY", display)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run xdotool (scripts/install-deps.sh --test): {e}"));
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "xdotool {args:?}: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// The X window whose title is exactly `title`, if one is mapped.
pub fn window(display: &str, title: &str) -> Option<String> {
    let pattern = format!("^{}$", regex_escape(title));
    xdotool(display, &["search", "--onlyvisible", "--name", &pattern])
        .ok()?
        .lines()
        .next()
        .map(str::to_string)
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}

/// Gives `window` the keyboard focus and presses `key` in it (`Return`, `Escape`).
pub fn press(display: &str, window: &str, key: &str) {
    // With no window manager, xdotool reports an error about the previous focus (the root
    // window) while it sets the new one; the key press below is what must work. It goes
    // through XTEST to the focused window: GTK ignores synthetic events sent to a window.
    let _ = xdotool(display, &["windowfocus", window]);
    if let Err(e) = xdotool(display, &["key", key]) {
        panic!("could not press {key} in window {window}: {e}");
    }
}

/// A PNG of the whole display, to `<target>/e2e-screenshots/<name>.png`.
pub fn screenshot(display: &str, name: &str) -> PathBuf {
    let dir = super::screenshots_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.png"));
    let status = Command::new("import")
        .args(["-display", display, "-window", "root"])
        .arg(&path)
        .stdin(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("cannot run import (ImageMagick): {e}"));
    assert!(status.success(), "import failed for {name}");
    assert_png(&path);
    eprintln!("screenshot: {}", path.display());
    path
}

fn assert_png(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 1000,
        "{} is not a PNG image",
        path.display()
    );
}
