//! End to end, the built-in native prompt (`DEMO_APP_PROMPT=1`): an app with no update UI
//! of its own. The background check at start finds 1.1.0 and a GTK dialog asks; "Later"
//! leaves everything as it was; "Install now" downloads, verifies and installs, a second
//! dialog offers the restart, and 1.1.0 runs. The dialogs are outside the page, so this
//! test drives them with xdotool and photographs the whole display (see
//! `e2e_support/native.rs`); the app is started directly, as a user would.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod e2e_support;

use std::time::Duration;

use e2e_support::builds::bins;
use e2e_support::native::{press, screenshot, window};
use e2e_support::scenario::{Scenario, UI_TIMEOUT};
use e2e_support::{procs, run, sha256, wait_for};

const NOTES_1_1: &str = "## 1.1.0\n\n- Starts faster.\n- Shows the download progress.\n";
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(180);

/// Waits until the dialog titled `title` is on screen; its X window id.
async fn dialog(s: &Scenario, title: &str) -> String {
    wait_for(
        &format!("the dialog {title:?}"),
        UI_TIMEOUT,
        || async { window(&s.display.name, title) },
        || s.logs.report(),
    )
    .await
}

/// Waits until no dialog titled `title` is on screen.
async fn dialog_closed(s: &Scenario, title: &str) {
    wait_for(
        &format!("the dialog {title:?} to close"),
        UI_TIMEOUT,
        || async { window(&s.display.name, title).is_none().then_some(()) },
        || s.logs.report(),
    )
    .await
}

#[test]
fn the_native_prompt_asks_then_installs_and_restarts_into_the_update() {
    let bins = bins();
    let mut s = Scenario::new(
        &[(&bins.v1_1_0, "1.1.0", "stable", NOTES_1_1)],
        &bins.v1_0_0,
        |app| {
            app.set_env("DEMO_APP_PROMPT", "1");
            // The background check's result is logged at debug.
            app.set_env("DEMO_APP_LOG", "info,tauri_plugin_tuf_updater=debug");
        },
    );
    let (run1, run2) = (s.path("run-1.stderr"), s.path("run-2.stderr"));
    s.logs.add("the first start's standard error", &run1);
    s.logs.add(
        "the second start's standard error (and its restart's)",
        &run2,
    );
    run(async {
        // First start: the prompt, answered "Later" (Escape).
        let mut first = s.app.start(&s.path("run-1"));
        s.wait_ready(0, "1.0.0").await;
        let asked = dialog(&s, "Update available").await;
        screenshot(&s.display.name, "12-prompt-update-available");
        press(&s.display.name, &asked, "Escape");
        dialog_closed(&s, "Update available").await;
        assert!(
            !s.server.targets_requested(),
            "Later must download nothing\n{}",
            s.logs.report()
        );
        assert_eq!(
            sha256(&s.app.exe),
            sha256(&bins.v1_0_0),
            "{}",
            s.logs.report()
        );
        assert!(
            first.try_wait().unwrap().is_none(),
            "the app should still run"
        );
        procs::kill_tree(&mut first);

        // Second start: "Install now" (Return: the first button has the focus).
        let seen = s.app.ready_lines().len();
        let mut second = s.app.start(&s.path("run-2"));
        s.wait_ready(seen, "1.0.0").await;
        let asked = dialog(&s, "Update available").await;
        press(&s.display.name, &asked, "Return");
        let restart = wait_for(
            "the restart dialog",
            DOWNLOAD_TIMEOUT,
            || async { window(&s.display.name, "Update installed") },
            || s.logs.report(),
        )
        .await;
        // Installed before the restart is offered: the file is 1.1.0, byte for byte.
        assert_eq!(
            sha256(&s.app.exe),
            sha256(&bins.v1_1_0),
            "{}",
            s.logs.report()
        );
        screenshot(&s.display.name, "13-prompt-update-installed");
        let seen = s.app.ready_lines().len();
        press(&s.display.name, &restart, "Return");
        s.wait_ready(seen, "1.1.0").await;
        // Tauri's restart: the old process exits cleanly, the new one runs in its place.
        let old = second.wait().unwrap();
        assert!(old.success(), "1.0.0 ended with {old}\n{}", s.logs.report());
        // 1.1.0 checks at start too (its standard error is run 2's: Tauri's restart passes
        // it on): nothing newer, so no dialog.
        wait_for(
            "the background check of 1.1.0",
            UI_TIMEOUT,
            || async {
                let log = std::fs::read_to_string(&run2).unwrap_or_default();
                log.contains("background check result=UpToDate")
                    .then_some(())
            },
            || s.logs.report(),
        )
        .await;
        assert!(
            window(&s.display.name, "Update available").is_none(),
            "1.1.0 is up to date: no prompt\n{}",
            s.logs.report()
        );
        screenshot(&s.display.name, "14-prompt-restarted");
    });
    let ready = s.app.ready_lines();
    assert!(
        ready
            .iter()
            .any(|l| l == "demo-app 1.1.0 ready (launch confirmed)"),
        "{ready:?}\n{}",
        s.logs.report()
    );
}
