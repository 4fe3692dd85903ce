//! `DEMO_APP_AUTO_UPDATE=1`: check, download, install and restart with no click, printing
//! each step, for the README demo (the restart is the plugin's, or with
//! `DEMO_APP_RESTART=tauri` Tauri's own). The page shows the same progress from the plugin's
//! events.

use tauri::{AppHandle, Runtime};
use tauri_plugin_tuf_updater::tuf_updater_core::CheckResult;
use tauri_plugin_tuf_updater::{DownloadEvent, UpdaterExt};

pub async fn run<R: Runtime>(app: AppHandle<R>) {
    // Let the window load (and confirm this version) first.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let updater = app.updater();
    let version = app.package_info().version.to_string();
    println!("demo-app {version}: checking for updates");
    let update = match updater.check().await {
        Ok(CheckResult::Available(update)) => update,
        Ok(CheckResult::UpToDate { channel }) => {
            println!("demo-app {version}: up to date on {channel}");
            return;
        }
        Ok(other) => {
            println!("demo-app {version}: no update: {other:?}");
            return;
        }
        Err(e) => {
            println!("demo-app {version}: check failed: {e}");
            return;
        }
    };
    let target = update.version.to_string();
    println!(
        "demo-app {version}: {target} is available on {}",
        update.channel
    );
    let mut total = 0;
    let mut next_report = 0;
    let result = updater
        .download_and_install(&target, |event| match event {
            DownloadEvent::Started { content_length, .. } => {
                total = content_length;
                println!("demo-app {version}: downloading {content_length} bytes");
            }
            DownloadEvent::Progress { downloaded, .. } => {
                let percent = (downloaded * 100).checked_div(total).unwrap_or(100);
                if percent >= next_report {
                    println!("demo-app {version}: {percent}%");
                    next_report = percent + 25;
                }
            }
            DownloadEvent::Verifying => println!("demo-app {version}: verifying"),
            DownloadEvent::Finished => println!("demo-app {version}: downloaded and verified"),
            DownloadEvent::Installing => println!("demo-app {version}: installing"),
        })
        .await;
    match result {
        Ok(()) => {
            println!("demo-app {version}: {target} installed; restarting");
            if std::env::var("DEMO_APP_RESTART").is_ok_and(|v| v == "tauri") {
                // As @tauri-apps/plugin-process's relaunch() does: Tauri's restart, on the
                // main thread (where its command runs), which sends no exit event.
                let handle = app.clone();
                if let Err(e) = app.run_on_main_thread(move || handle.restart()) {
                    println!("demo-app {version}: cannot restart: {e}");
                }
            } else {
                updater.restart();
            }
        }
        Err(e) => println!("demo-app {version}: update failed: {e}"),
    }
}
