//! End to end, the built-in native prompt (`DEMO_APP_PROMPT=1`): an app with no update UI
//! of its own. The background check at start finds 1.1.0 and a GTK dialog asks, with the
//! release notes rendered from markdown; "Later" leaves everything as it was and is
//! remembered across a restart; "Install now" downloads, verifies and installs, a second
//! dialog offers the restart, and 1.1.0 runs. "Skip this version" is never asked again;
//! `DEMO_APP_PROMPT_LANGUAGE=de` asks in German. The dialogs are outside the page, so these
//! tests drive them with xdotool and photograph the whole display (see
//! `e2e_support/native.rs`); the app is started directly, as a user would.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod e2e_support;

use std::time::Duration;

use e2e_support::builds::bins;
use e2e_support::native::{press, screenshot, window};
use e2e_support::scenario::{Scenario, UI_TIMEOUT};
use e2e_support::{procs, run, sha256, wait_for};

const NOTES_1_1: &str = "## 1.1.0\n\n- Starts **faster**.\n- Shows the [download progress](https://example.com/progress).\n  - with the `size` of each file\n\n<!-- not for users -->\nThanks to *everyone*!\n";
/// [`NOTES_1_1`] as the prompt shows it (the plugin's unit tests cover the rendering).
const NOTES_1_1_RENDERED: &str = "1.1.0\n\n• Starts faster.\n• Shows the download progress (https://example.com/progress).\n  ◦ with the size of each file\n\nThanks to everyone!";
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a test watches for a prompt that must not come, once the check has decided.
const NO_PROMPT_WAIT: Duration = Duration::from_secs(3);
/// The prompt's answers, in the app's data directory (`XDG_DATA_HOME`, the identifier, the
/// plugin's `updates/`).
const PROMPT_FILE: &str = "dev.tuf-updater.demo/updates/prompt.json";

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

/// Waits until the file `log` contains `needle`.
async fn log_says(s: &Scenario, log: &std::path::Path, needle: &str) {
    wait_for(
        &format!("{needle:?} in {}", log.display()),
        UI_TIMEOUT,
        || async {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            text.contains(needle).then_some(())
        },
        || s.logs.report(),
    )
    .await
}

/// Watches for [`NO_PROMPT_WAIT`]: no dialog titled `title` appears.
async fn no_dialog(s: &Scenario, title: &str) {
    let start = std::time::Instant::now();
    while start.elapsed() < NO_PROMPT_WAIT {
        assert!(
            window(&s.display.name, title).is_none(),
            "no prompt expected\n{}",
            s.logs.report()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The app at 1.0.0 with the prompt on, 1.1.0 published with [`NOTES_1_1`].
fn prompt_scenario(bins: &e2e_support::builds::Bins, language: Option<&str>) -> Scenario {
    Scenario::new(
        &[(&bins.v1_1_0, "1.1.0", "stable", NOTES_1_1)],
        &bins.v1_0_0,
        |app| {
            app.set_env("DEMO_APP_PROMPT", "1");
            if let Some(language) = language {
                app.set_env("DEMO_APP_PROMPT_LANGUAGE", language);
            }
            // The background check's result and the dialog's buttons are logged at debug.
            app.set_env("DEMO_APP_LOG", "info,tauri_plugin_tuf_updater=debug");
        },
    )
}

#[test]
fn the_native_prompt_asks_then_installs_and_restarts_into_the_update() {
    let bins = bins();
    let mut s = prompt_scenario(bins, None);
    let (run1, run_later, run2) = (
        s.path("run-1.stderr"),
        s.path("run-later.stderr"),
        s.path("run-2.stderr"),
    );
    s.logs.add("the first start's standard error", &run1);
    s.logs
        .add("the start within the \"Later\" delay", &run_later);
    s.logs.add(
        "the second start's standard error (and its restart's)",
        &run2,
    );
    let prompt_file = s.app.data.join(PROMPT_FILE);
    run(async {
        // First start: the prompt, with the notes as plain text, answered "Later" (Escape).
        let mut first = s.app.start(&s.path("run-1"));
        s.wait_ready(0, "1.0.0").await;
        let asked = dialog(&s, "Update available").await;
        log_says(
            &s,
            &run1,
            r#"title=Update available buttons=["Install now", "Skip this version", "Later"]"#,
        )
        .await;
        let shown = format!("{NOTES_1_1_RENDERED:?}");
        log_says(&s, &run1, shown.trim_matches('"')).await;
        screenshot(&s.display.name, "12-prompt-update-available");
        press(&s.display.name, &asked, "Escape");
        dialog_closed(&s, "Update available").await;
        log_says(&s, &run1, "update 1.1.0 postponed by the user").await;
        let saved = std::fs::read_to_string(&prompt_file).unwrap();
        assert!(saved.contains("\"laterUntil\""), "{saved}");
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

        // A restart within the day: "Later" still holds, no prompt.
        let seen = s.app.ready_lines().len();
        let mut later = s.app.start(&s.path("run-later"));
        s.wait_ready(seen, "1.0.0").await;
        log_says(
            &s,
            &run_later,
            "not prompting for 1.1.0: the user said later",
        )
        .await;
        no_dialog(&s, "Update available").await;
        procs::kill_tree(&mut later);

        // The day has passed (the answer's time moved back a day).
        let until: u64 = saved
            .split("\"laterUntil\":")
            .nth(1)
            .and_then(|rest| rest.trim().split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no laterUntil in {saved}"));
        std::fs::write(
            &prompt_file,
            format!("{{\"laterUntil\": {}}}", until - 24 * 3600),
        )
        .unwrap();

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

#[test]
fn the_prompt_speaks_the_language_the_app_chose() {
    let bins = bins();
    let mut s = prompt_scenario(bins, Some("de"));
    let log = s.path("run.stderr");
    s.logs.add("the app's standard error", &log);
    run(async {
        let mut app = s.app.start(&s.path("run"));
        s.wait_ready(0, "1.0.0").await;
        // Found by its German title; the buttons are the German table's.
        let asked = dialog(&s, "Update verfügbar").await;
        log_says(
            &s,
            &log,
            r#"title=Update verfügbar buttons=["Jetzt installieren", "Diese Version überspringen", "Später"]"#,
        )
        .await;
        assert!(window(&s.display.name, "Update available").is_none());
        screenshot(&s.display.name, "15-prompt-german");
        press(&s.display.name, &asked, "Escape");
        dialog_closed(&s, "Update verfügbar").await;
        log_says(&s, &log, "update 1.1.0 postponed by the user").await;
        procs::kill_tree(&mut app);
    });
    assert!(!s.server.targets_requested(), "{}", s.logs.report());
}

#[test]
fn a_skipped_version_is_not_prompted_again_after_a_restart() {
    let bins = bins();
    let mut s = prompt_scenario(bins, None);
    let (run1, run2) = (s.path("run-1.stderr"), s.path("run-2.stderr"));
    s.logs.add("the first start's standard error", &run1);
    s.logs.add("the second start's standard error", &run2);
    run(async {
        let mut first = s.app.start(&s.path("run-1"));
        s.wait_ready(0, "1.0.0").await;
        let asked = dialog(&s, "Update available").await;
        // "Skip this version": the second button (Tab from the focused first one).
        press(&s.display.name, &asked, "Tab");
        press(&s.display.name, &asked, "Return");
        dialog_closed(&s, "Update available").await;
        log_says(&s, &run1, "update 1.1.0 skipped by the user").await;
        procs::kill_tree(&mut first);

        // After a restart, the check finds 1.1.0 again and says why it does not ask.
        let seen = s.app.ready_lines().len();
        let mut second = s.app.start(&s.path("run-2"));
        s.wait_ready(seen, "1.0.0").await;
        log_says(&s, &run2, "not prompting for 1.1.0: skipped by the user").await;
        let log = std::fs::read_to_string(&run2).unwrap();
        assert!(!log.contains("showing the update prompt"), "{log}");
        no_dialog(&s, "Update available").await;
        procs::kill_tree(&mut second);
    });
    assert!(
        !s.server.targets_requested(),
        "a skipped version is not downloaded\n{}",
        s.logs.report()
    );
    assert_eq!(
        sha256(&s.app.exe),
        sha256(&bins.v1_0_0),
        "{}",
        s.logs.report()
    );
}
