//! What the demo-app end-to-end tests share. Each scenario runs the real app in a real
//! Tauri window on its own X display (Xvfb), driven over WebDriver (tauri-driver in front
//! of WebKitWebDriver), updating from its own repository made with the `updater_pack` library
//! and served over HTTP on 127.0.0.1.
//!
//! - [`builds`]: the `updater-pack` project every build embeds the root of, and the app
//!   built as 1.0.0, 1.1.0, 1.2.0-beta.1 and a broken 1.1.0 (once, under a file lock);
//! - [`repo`]: a scenario's copy of that project and its releases;
//! - [`server`]: the HTTP server, which can hold a download half-way;
//! - [`display`]: Xvfb; [`driver`]: tauri-driver, and WebKitWebDriver attached after a
//!   restart; [`ui`]: a session on the window (page, waits, clicks, screenshots);
//! - [`app`]: the installed app (its directory, data, policy, environment, ready file);
//! - [`scenario`]: all of the above for one scenario, and the restart followed;
//! - [`procs`]: processes: spawn, find (by parent, by executable), kill;
//! - [`native`]: native dialogs (xdotool) and whole-display screenshots (ImageMagick).
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

pub mod app;
pub mod builds;
pub mod display;
pub mod driver;
pub mod native;
pub mod procs;
pub mod repo;
pub mod scenario;
pub mod server;
pub mod ui;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const APP: &str = "demo-app";
pub const PLATFORM: &str = "linux-x86_64";

/// The workspace directory.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The workspace's target directory (`CARGO_TARGET_DIR` or `target/`): the parent of the
/// directory cargo gives integration tests for their files.
pub fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `<target>/e2e-screenshots/`, where the screenshots go.
pub fn screenshots_dir() -> PathBuf {
    target_dir().join("e2e-screenshots")
}

pub fn sha256(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    hex::encode(Sha256::digest(bytes))
}

/// The last `max` characters of a log file, for failure messages.
pub fn tail(path: &Path, max: usize) -> String {
    let text = std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_else(|e| format!("({}: {e})", path.display()));
    let start = text.len().saturating_sub(max);
    let start = (start..text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    text[start..].to_string()
}

/// The logs of a scenario, for failure messages: files (tauri-driver's, where the app's
/// standard error goes; Xvfb's; the ready file) and the requests the server answered.
#[derive(Clone, Default)]
pub struct Logs {
    files: Vec<(String, PathBuf)>,
    requests: Option<std::sync::Arc<std::sync::Mutex<Vec<String>>>>,
}

impl Logs {
    pub fn add(&mut self, label: &str, path: &Path) {
        self.files.push((label.to_string(), path.to_path_buf()));
    }

    pub fn set_requests(&mut self, requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        self.requests = Some(requests);
    }

    /// Every log, the end of each.
    pub fn report(&self) -> String {
        let mut out = String::new();
        for (label, path) in &self.files {
            out += &format!("--- {label} ({}):\n{}\n", path.display(), tail(path, 6000));
        }
        if let Some(requests) = &self.requests {
            let requests = requests.lock().map(|r| r.join("\n")).unwrap_or_default();
            out += &format!("--- requests to the repository:\n{requests}\n");
        }
        out
    }
}

/// Polls `probe` every 100 ms until it gives `Some`, or panics after `timeout` with
/// `what` and the text `context` gives then (logs, the page as last seen).
pub async fn wait_for<T, F, Fut>(
    what: &str,
    timeout: Duration,
    mut probe: F,
    context: impl FnOnce() -> String,
) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        if start.elapsed() > timeout {
            panic!(
                "timed out after {timeout:?} waiting for {what}\n{}",
                context()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs an async test body on a runtime of its own.
pub fn run<F: Future<Output = ()>>(body: F) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(body);
}
