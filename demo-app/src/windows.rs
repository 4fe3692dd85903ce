//! The app's window, made in code (`tauri.conf.json` declares it with `create: false`) so
//! that run-time switches can shape it: `DEMO_APP_HIDDEN=1` (hidden), `DEMO_APP_WINDOW=plain`
//! (labelled `plain`, with the read-only capability). Also the two commands through which
//! the page learns the switches and reports its load.

use tauri::{App, AppHandle, Runtime, WebviewUrl, WebviewWindowBuilder};

/// `DEMO_APP_CONFIRM=manual`: the plugin's manual launch confirmation.
pub fn manual_confirm() -> bool {
    std::env::var("DEMO_APP_CONFIRM").is_ok_and(|v| v == "manual")
}

/// The label of the app's window: `DEMO_APP_WINDOW` (only `plain` is known), else `main`.
fn label() -> &'static str {
    match std::env::var("DEMO_APP_WINDOW").as_deref() {
        Ok("plain") => "plain",
        _ => "main",
    }
}

/// Opens the app's window, titled after `version`.
pub fn open<R: Runtime>(app: &App<R>, version: &str) -> tauri::Result<()> {
    let label = label();
    let hidden = crate::env_flag("DEMO_APP_HIDDEN");
    let builder = match app.config().app.windows.first() {
        Some(config) if label == config.label => WebviewWindowBuilder::from_config(app, config)?,
        _ => WebviewWindowBuilder::new(app, label, WebviewUrl::App("index.html".into()))
            .inner_size(720.0, 560.0),
    };
    builder
        .title(format!("Demo app {version}"))
        .visible(!hidden)
        .build()?;
    Ok(())
}

/// What the page does at load: confirm the launch itself (the manual mode, unless
/// `DEMO_APP_SKIP_CONFIRM=1`).
#[tauri::command]
pub fn demo_switches() -> serde_json::Value {
    serde_json::json!({
        "manualConfirm": manual_confirm(),
        "callConfirm": manual_confirm() && !crate::env_flag("DEMO_APP_SKIP_CONFIRM"),
    })
}

/// The page has loaded and read the updater's state: `demo-app <version> page loaded`.
#[tauri::command]
pub fn demo_page_loaded<R: Runtime>(app: AppHandle<R>, window: tauri::Window<R>) {
    let version = app.package_info().version.to_string();
    crate::announce(&format!(
        "demo-app {version} page loaded (window {})",
        window.label()
    ));
}
