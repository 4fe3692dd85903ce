//! End to end, the launch confirmation and the permissions (`docs/tauri-plugin.md`,
//! "Launch confirmation" and "Permissions"), with the demo app's run-time switches
//! (`demo-app/src/main.rs`): the same four builds as `e2e.rs`, started directly as a user
//! would (no WebDriver) except for the permission test, which drives the page.
//!
//! - a hidden app in the manual mode (`DEMO_APP_CONFIRM=manual`, `DEMO_APP_HIDDEN=1`) updates
//!   itself (`DEMO_APP_AUTO_UPDATE=1`), the new version confirms through the JavaScript
//!   `confirm()` and is kept however often it starts; without the call
//!   (`DEMO_APP_SKIP_CONFIRM=1`) it is rolled back;
//! - Tauri's own restart (what `@tauri-apps/plugin-process`'s `relaunch()` calls) after an
//!   install starts the new version;
//! - a window granted only `tuf-updater:default` (`DEMO_APP_WINDOW=plain`) can check, and
//!   every acting command it tries is refused by Tauri's ACL: nothing downloaded, nothing
//!   installed.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod e2e_support;

use std::time::Duration;

use e2e_support::builds::bins;
use e2e_support::native::window;
use e2e_support::scenario::{Scenario, UI_TIMEOUT};
use e2e_support::{procs, run, sha256, wait_for};

const NOTES_1_0: &str = "## 1.0.0\n\nThe first release.\n";
const NOTES_1_1: &str = "## 1.1.0\n\n- Starts faster.\n";
/// Check, download, install and restart: generous for a loaded machine.
const UPDATE_TIMEOUT: Duration = Duration::from_secs(240);

/// 1.0.0 and 1.1.0 on stable, 1.0.0 installed, with the variables `env` set.
fn scenario(env: &[(&str, &str)]) -> Scenario {
    let bins = bins();
    Scenario::new(
        &[
            (&bins.v1_0_0, "1.0.0", "stable", NOTES_1_0),
            (&bins.v1_1_0, "1.1.0", "stable", NOTES_1_1),
        ],
        &bins.v1_0_0,
        |app| {
            for (name, value) in env {
                app.set_env(name, value);
            }
        },
    )
}

/// The installed executable is, byte for byte, `build` (`what`).
fn assert_installed(s: &Scenario, build: &std::path::Path, what: &str) {
    assert!(
        sha256(&s.app.exe) == sha256(build),
        "the installed app should be {what}\n{}",
        s.logs.report()
    );
}

/// Waits for a line of the ready file after its first `seen` that starts with `prefix`.
async fn line_after(s: &Scenario, seen: usize, prefix: &str, timeout: Duration) -> String {
    wait_for(
        &format!("{prefix:?} in the ready file"),
        timeout,
        || async {
            s.app
                .ready_lines()
                .into_iter()
                .skip(seen)
                .find(|l| l.starts_with(prefix))
        },
        || s.logs.report(),
    )
    .await
}

/// Waits for the next `demo-app <version> page loaded` line after the first `seen`: which
/// version came up.
async fn page_loaded(s: &Scenario, seen: usize) -> String {
    let line = wait_for(
        "a page load in the ready file",
        UI_TIMEOUT,
        || async {
            s.app
                .ready_lines()
                .into_iter()
                .skip(seen)
                .find(|l| l.contains(" page loaded "))
        },
        || s.logs.report(),
    )
    .await;
    line.split(' ').nth(1).unwrap().to_string()
}

/// Kills every process running the installed app (and what it started).
fn stop(s: &Scenario, child: &mut std::process::Child) {
    procs::kill_tree(child);
    for pid in procs::running(&s.app.exe) {
        for below in procs::descendants(pid) {
            procs::kill(below);
        }
        procs::kill(pid);
    }
    let gone = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        procs::running(&s.app.exe).is_empty()
    });
    assert!(gone, "the app still runs\n{}", s.logs.report());
}

/// Starts the installed app (run `name`), waits until its page has loaded, returns the
/// version that came up, and stops it.
async fn start_once(s: &Scenario, name: &str) -> String {
    let seen = s.app.ready_lines().len();
    let mut child = s.app.start(&s.path(name));
    let version = page_loaded(s, seen).await;
    stop(s, &mut child);
    version
}

/// 1.0.0 installs 1.1.0 by itself and restarts into it: the first run of the scenario.
async fn update_to_1_1_0(s: &Scenario) -> std::process::Child {
    let child = s.app.start(&s.path("run-1"));
    line_after(s, 0, "demo-app 1.0.0 page loaded", UI_TIMEOUT).await;
    line_after(s, 0, "demo-app 1.1.0 page loaded", UPDATE_TIMEOUT).await;
    assert_installed(s, &bins().v1_1_0, "1.1.0");
    child
}

#[test]
fn a_hidden_app_confirming_by_hand_keeps_the_new_version() {
    let s = scenario(&[
        ("DEMO_APP_AUTO_UPDATE", "1"),
        ("DEMO_APP_CONFIRM", "manual"),
        ("DEMO_APP_HIDDEN", "1"),
        ("DEMO_APP_MAX_LAUNCHES", "2"),
    ]);
    run(async {
        let mut child = update_to_1_1_0(&s).await;
        // Its page called confirm(): the plugin confirmed the pending 1.1.0 (in the manual
        // mode nothing else does, see the next test) and emitted launch-confirmed.
        line_after(&s, 0, "demo-app 1.1.0 ready (launch confirmed)", UI_TIMEOUT).await;
        // The window was never shown: no window of the app is mapped.
        assert!(
            window(&s.display.name, "Demo app 1.1.0").is_none()
                && window(&s.display.name, "Demo app 1.0.0").is_none(),
            "the window should be hidden\n{}",
            s.logs.report()
        );
        stop(&s, &mut child);

        // Past the unconfirmed launches allowed (2), 1.1.0 is still what starts.
        for launch in 2..=4 {
            let version = start_once(&s, &format!("run-{launch}")).await;
            assert_eq!(version, "1.1.0", "launch {launch}\n{}", s.logs.report());
        }
    });
    assert_installed(&s, &bins().v1_1_0, "1.1.0");
    let confirmed: Vec<String> = s
        .app
        .ready_lines()
        .into_iter()
        .filter(|l| l.contains("launch confirmed"))
        .collect();
    assert_eq!(
        confirmed,
        ["demo-app 1.1.0 ready (launch confirmed)"],
        "{}",
        s.logs.report()
    );
}

#[test]
fn in_the_manual_mode_a_version_that_does_not_confirm_is_rolled_back() {
    let s = scenario(&[
        ("DEMO_APP_AUTO_UPDATE", "1"),
        ("DEMO_APP_CONFIRM", "manual"),
        ("DEMO_APP_SKIP_CONFIRM", "1"),
        ("DEMO_APP_HIDDEN", "1"),
        ("DEMO_APP_MAX_LAUNCHES", "2"),
    ]);
    run(async {
        // Launch 1 of 1.1.0: the restart after the update. Its page loads, and nothing
        // confirms: not the page load (manual mode), not the page (no call).
        let mut child = update_to_1_1_0(&s).await;
        stop(&s, &mut child);
        // Launch 2: still 1.1.0 (two unconfirmed launches allowed).
        assert_eq!(start_once(&s, "run-2").await, "1.1.0");
        assert_installed(&s, &bins().v1_1_0, "1.1.0");

        // Launch 3: one too many. 1.0.0 is restored and started in its place.
        let seen = s.app.ready_lines().len();
        let mut child = s.app.start(&s.path("run-3"));
        assert_eq!(page_loaded(&s, seen).await, "1.0.0", "{}", s.logs.report());
        // Its auto-update checks again and is not offered the failed version.
        let stdout = s.path("run-3.stdout");
        wait_for(
            "the check of the restored 1.0.0",
            UI_TIMEOUT,
            || async {
                let out = std::fs::read_to_string(&stdout).unwrap_or_default();
                out.contains("demo-app 1.0.0: no update").then_some(())
            },
            || s.logs.report(),
        )
        .await;
        stop(&s, &mut child);
    });
    assert_installed(&s, &bins().v1_0_0, "1.0.0");
    let lines = s.app.ready_lines();
    assert!(
        !lines.iter().any(|l| l.contains("launch confirmed")),
        "nothing should have confirmed: {lines:?}\n{}",
        s.logs.report()
    );
}

#[test]
fn tauris_own_restart_after_an_install_starts_the_new_version() {
    // The restart plugin-process's relaunch() makes: AppHandle::restart on the main thread.
    let s = scenario(&[("DEMO_APP_AUTO_UPDATE", "1"), ("DEMO_APP_RESTART", "tauri")]);
    run(async {
        let mut old = s.app.start(&s.path("run-1"));
        line_after(&s, 0, "demo-app 1.0.0 ready", UI_TIMEOUT).await;
        // The default mode: the first window's page load confirms 1.1.0.
        line_after(
            &s,
            0,
            "demo-app 1.1.0 ready (launch confirmed)",
            UPDATE_TIMEOUT,
        )
        .await;
        // Tauri's restart spawned a new process from the path the app started from (not
        // the plugin's exec): the old one exited cleanly, and the new one runs the
        // installed file, now 1.1.0.
        let status = old.wait().unwrap();
        assert!(
            status.success(),
            "1.0.0 ended with {status}\n{}",
            s.logs.report()
        );
        let pids = procs::running(&s.app.exe);
        assert!(
            pids.len() == 1 && pids[0] != old.id(),
            "{pids:?}\n{}",
            s.logs.report()
        );
        assert_eq!(procs::exe(pids[0]).as_deref(), Some(s.app.exe.as_path()));
        // Shown (unlike the hidden app's): the probe of the other test sees a window.
        let shown = wait_for(
            "the window of 1.1.0",
            UI_TIMEOUT,
            || async { window(&s.display.name, "Demo app 1.1.0") },
            || s.logs.report(),
        )
        .await;
        assert!(!shown.is_empty());
        let stdout = std::fs::read_to_string(s.path("run-1.stdout")).unwrap();
        assert!(
            stdout.contains("demo-app 1.0.0: 1.1.0 installed; restarting"),
            "{stdout}"
        );
        stop(&s, &mut old);
    });
    assert_installed(&s, &bins().v1_1_0, "1.1.0");
}

#[test]
fn the_default_permissions_let_the_page_check_and_refuse_everything_that_acts() {
    let s = scenario(&[("DEMO_APP_WINDOW", "plain")]);
    run(async {
        let ui = s.launch("1.0.0").await;
        let invoke = |cmd: &'static str, args: &'static str| {
            let ui = &ui;
            async move {
                let script = format!(
                    "const done = arguments[0]; \
                     window.__TAURI__.core.invoke('plugin:tuf-updater|{cmd}', {args}) \
                       .then(v => done('ok: ' + JSON.stringify(v)), \
                             e => done('refused: ' + (typeof e === 'string' ? e : JSON.stringify(e))));"
                );
                ui.eval(&script)
                    .await
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            }
        };
        // Reading is allowed: the check finds 1.1.0 (so what follows would have something
        // to download and install, were it allowed).
        let answer = invoke("check", "{}").await;
        assert!(
            answer.starts_with("ok: ") && answer.contains(r#""status":"available""#),
            "check: {answer}\n{}",
            s.logs.report()
        );
        for (cmd, args) in [
            (
                "download_and_install",
                "{ version: '1.1.0', onEvent: new window.__TAURI__.core.Channel() }",
            ),
            (
                "download",
                "{ version: '1.1.0', onEvent: new window.__TAURI__.core.Channel() }",
            ),
            ("install", "{ version: '1.1.0' }"),
            ("set_channel", "{ channel: 'beta' }"),
            ("confirm", "{}"),
            ("restart", "{}"),
        ] {
            let answer = invoke(cmd, args).await;
            assert!(
                answer.starts_with("refused: ")
                    && answer.contains(&format!("tuf-updater.{cmd} not allowed")),
                "{cmd}: {answer}\n{}",
                s.logs.report()
            );
        }
        // The TypeScript API's confirm() rejects the same way, as an UpdaterError.
        let answer = ui
            .eval(
                "const done = arguments[0]; \
                 window.__TAURI__.tufUpdater.confirm() \
                   .then(v => done('ok: ' + v), e => done(`${e.name} ${e.kind}: ${e.message}`));",
            )
            .await;
        let answer = answer.as_str().unwrap_or_default();
        assert!(
            answer.starts_with("UpdaterError other: ") && answer.contains("not allowed"),
            "{answer}"
        );
        // The channel did not move; the app still runs (no restart).
        let page = ui.page().await.unwrap();
        assert_eq!(page.channel.as_deref(), Some("stable"), "{page:#?}");
        assert_eq!(procs::running(&s.app.exe).len(), 1, "{}", s.logs.report());
    });
    assert!(
        !s.server.targets_requested(),
        "nothing may be downloaded\n{}",
        s.logs.report()
    );
    assert_installed(&s, &bins().v1_0_0, "1.0.0");
    let downloads = s.app.data.join("dev.tuf-updater.demo/updates/downloads");
    let kept = std::fs::read_dir(&downloads)
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(kept, 0, "{}", downloads.display());
}
