//! demo-app: a Tauri v2 app that updates itself through tuf-updater. The page (`ui/`)
//! shows the version and channel, opts into beta, checks, shows the notes and the
//! progress, restarts into the new version and says when the administrator's policy pins
//! or blocks updates.
//!
//! Built with, in the environment at compile time:
//! - `DEMO_APP_VERSION=1.1.0`: the version it is (default: Cargo.toml's, 1.0.0);
//! - `DEMO_APP_ROOT=path/to/1.root.json`: the trusted root it embeds (without it the
//!   updater says it is not set up);
//! - `DEMO_APP_BROKEN=1`: a broken release that exits before its window loads, so it
//!   never confirms its launch and is rolled back.
//!
//! At run time: `DEMO_APP_REPOSITORY` (default `http://127.0.0.1:8765`, what
//! `updater-pack serve` listens on), `DEMO_APP_UPDATE_POLICY` (the administrator's policy
//! file), `DEMO_APP_MAX_LAUNCHES` (unconfirmed launches before a rollback, default 2),
//! `DEMO_APP_PROMPT=1` (the native prompt), `DEMO_APP_PROMPT_LANGUAGE` (its language,
//! e.g. `de`; default the OS's), `DEMO_APP_AUTO_UPDATE=1` (check, install and
//! restart without a click: the README demo), `DEMO_APP_READY_FILE` (a file the
//! "ready" line is also appended to), `DEMO_APP_LOG` (log filter, e.g. `debug`).
//!
//! Launch confirmation and windows, at run time (`docs/tauri-plugin.md`, "Launch
//! confirmation"):
//! - `DEMO_APP_CONFIRM=manual`: the plugin's manual mode (`ConfirmLaunch::Manual`); the
//!   page confirms the launch with the JavaScript `confirm()` once it has loaded (without
//!   the variable: the default mode, the first window's page load);
//! - `DEMO_APP_SKIP_CONFIRM=1`: in the manual mode, the page does not call `confirm()`:
//!   a version that never confirms, to be rolled back;
//! - `DEMO_APP_HIDDEN=1`: the main window is created hidden (`visible(false)`), as a
//!   tray-only app's would be;
//! - `DEMO_APP_WINDOW=plain`: the app's one window is labelled `plain` instead of `main`;
//!   its capability (`capabilities/plain.json`) grants only `core:default` and
//!   `tuf-updater:default`;
//! - `DEMO_APP_RESTART=tauri`: the auto-update mode restarts with Tauri's own
//!   `AppHandle::restart` on the main thread (what `@tauri-apps/plugin-process`'s
//!   `relaunch()` does) instead of the plugin's `restart()`.
//!
//! The page learns these switches from the `demo_switches` command, and reports each page
//! load with `demo_page_loaded` (a `demo-app <version> page loaded` line in the ready
//! file: a version that never confirms still shows it started).

mod auto_update;
mod windows;

use std::io::Write;

use tauri::Listener;
use tauri_plugin_tuf_updater::{events, UpdaterExt};

const VERSION: Option<&str> = option_env!("DEMO_APP_VERSION");
const BROKEN: bool = match option_env!("DEMO_APP_BROKEN") {
    Some(v) => !v.is_empty(),
    None => false,
};
/// The root named by `DEMO_APP_ROOT` at build time; empty without it (see build.rs).
const EMBEDDED_ROOT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/demo-root.json"));
const DEFAULT_REPOSITORY: &str = "http://127.0.0.1:8765";

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Prints `demo-app <version> ready` (and appends it to `DEMO_APP_READY_FILE`).
fn announce_ready(version: &str, confirmed: bool) {
    let line = if confirmed {
        format!("demo-app {version} ready (launch confirmed)")
    } else {
        format!("demo-app {version} ready")
    };
    announce(&line);
}

/// Prints `line` (and appends it to `DEMO_APP_READY_FILE`).
fn announce(line: &str) {
    println!("{line}");
    let _ = std::io::stdout().flush();
    if let Some(path) = std::env::var_os("DEMO_APP_READY_FILE") {
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| writeln!(f, "{line}"));
        if let Err(e) = written {
            eprintln!("demo-app: cannot write {}: {e}", path.to_string_lossy());
        }
    }
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DEMO_APP_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    let mut context = tauri::generate_context!();
    if let Some(version) = VERSION {
        match version.parse() {
            Ok(v) => context.package_info_mut().version = v,
            Err(e) => {
                eprintln!("demo-app: DEMO_APP_VERSION={version:?} is not semver: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }

    let mut updater = tauri_plugin_tuf_updater::Builder::new()
        .repository(
            std::env::var("DEMO_APP_REPOSITORY").unwrap_or_else(|_| DEFAULT_REPOSITORY.into()),
        )
        .prompt(env_flag("DEMO_APP_PROMPT"))
        // The demo and its tests point DEMO_APP_UPDATE_POLICY at a policy file of their own;
        // a real app leaves this off, so that only the administrator's file counts.
        .policy_env_override(true);
    if !EMBEDDED_ROOT.is_empty() {
        updater = updater.trusted_root(EMBEDDED_ROOT);
    }
    if let Ok(language) = std::env::var("DEMO_APP_PROMPT_LANGUAGE") {
        updater = updater.prompt_language(language);
    }
    if let Some(launches) = std::env::var("DEMO_APP_MAX_LAUNCHES")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        updater = updater.max_unconfirmed_launches(launches);
    }
    if windows::manual_confirm() {
        updater = updater.confirm_launch(tauri_plugin_tuf_updater::ConfirmLaunch::Manual);
    }

    let result = tauri::Builder::default()
        .plugin(updater.build())
        .invoke_handler(tauri::generate_handler![
            windows::demo_switches,
            windows::demo_page_loaded
        ])
        .setup(|app| {
            let version = app.package_info().version.to_string();
            if BROKEN {
                // A release that crashes at start: the updater counted this launch, and
                // the window never loads, so it never confirms.
                eprintln!("demo-app {version}: this build is broken on purpose; exiting");
                std::process::exit(3);
            }
            app.listen(events::LAUNCH_CONFIRMED, move |event| {
                let confirmed = event.payload().contains("\"confirmed\":true");
                announce_ready(&version, confirmed);
            });
            if env_flag("DEMO_APP_AUTO_UPDATE") {
                tauri::async_runtime::spawn(auto_update::run(app.handle().clone()));
            }
            let status = app.updater().status();
            if let Some(error) = status.error {
                eprintln!("demo-app: updates are off: {error}");
            }
            windows::open(app, &status.current_version)?;
            Ok(())
        })
        .run(context);
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo-app: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
