//! End to end: demo-app, built as real versions that embed the root of a real repository,
//! runs in a real Tauri window (WebKitGTK on Xvfb) driven over WebDriver (tauri-driver,
//! WebKitWebDriver), and updates itself from that repository over HTTP: the update with its
//! progress and the restart into the new version, the beta channel, an administrator's
//! pin, and the rollback of a version that does not start. Screenshots go to
//! `<target>/e2e-screenshots/`. Each test has its own display, drivers, server and install.
//!
//! `cargo nextest run -p demo-app --test e2e`. The first run builds the app four times
//! (see `e2e_support/builds.rs`); later runs reuse the builds while the sources are the same.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod e2e_support;

use std::path::Path;
use std::time::Duration;

use e2e_support::builds::bins;
use e2e_support::scenario::{Scenario, UI_TIMEOUT};
use e2e_support::ui::Page;
use e2e_support::{procs, run, sha256, wait_for};

const NOTES_1_0: &str = "## 1.0.0\n\nThe first release.\n";
const NOTES_1_1: &str = "## 1.1.0\n\n- Starts faster.\n- Shows the download progress.\n";
const NOTES_BETA: &str = "## 1.2.0-beta.1\n\n- A dark theme, early.\n";

/// A download over loopback: generous for a loaded machine.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(180);

fn text(field: &Option<String>) -> &str {
    Page::text(field)
}

/// `assert!` whose message holds the condition, the page and the scenario's logs.
macro_rules! check {
    ($s:expr, $page:expr, $cond:expr) => {
        assert!(
            $cond,
            "{}\npage: {:#?}\n{}",
            stringify!($cond),
            $page,
            $s.logs.report()
        )
    };
}

/// The installed executable is, byte for byte, `build` (`what`).
fn assert_installed(s: &Scenario, build: &Path, what: &str) {
    assert!(
        sha256(&s.app.exe) == sha256(build),
        "the installed app should be {what}\n{}",
        s.logs.report()
    );
}

/// 1.0.0 and 1.1.0 on stable, 1.2.0-beta.1 on beta; `installed` installed.
fn stable_and_beta(installed: &Path) -> Scenario {
    let bins = bins();
    Scenario::new(
        &[
            (&bins.v1_0_0, "1.0.0", "stable", NOTES_1_0),
            (&bins.v1_1_0, "1.1.0", "stable", NOTES_1_1),
            (&bins.v1_2_0_beta_1, "1.2.0-beta.1", "beta", NOTES_BETA),
        ],
        installed,
        |_| {},
    )
}

#[test]
fn update_shows_progress_installs_and_restarts_into_the_new_version() {
    let bins = bins();
    let s = stable_and_beta(&bins.v1_0_0);
    run(async {
        let ui = s.launch("1.0.0").await;
        let page = ui.page().await.unwrap();
        check!(s, page, text(&page.channel) == "stable");
        check!(s, page, text(&page.policy).is_empty());
        check!(s, page, text(&page.rollback).is_empty());
        check!(s, page, !page.install_shown && !page.restart_shown);
        ui.screenshot("01-update-start").await;

        ui.click("#check-button").await;
        let page = ui
            .wait("1.1.0 offered", UI_TIMEOUT, |p| p.state_is("available"))
            .await;
        check!(s, page, text(&page.status) == "Version 1.1.0 is available");
        check!(s, page, text(&page.notes).contains("Starts faster."));
        check!(s, page, page.install_shown);
        ui.screenshot("02-update-available").await;
        // The download the user pays is the patch's (the check found it and the installed
        // bytes are 1.0.0's signed bytes).
        let title = ui
            .eval("arguments[0](document.getElementById('update-title').textContent)")
            .await;
        let title = title.as_str().unwrap_or_default();
        assert!(title.contains(" to download for "), "{title}");

        // The server holds the download half-way: the bar stops in the middle. What is
        // downloaded is the patch from 1.0.0 that `updater-pack release` made, not 1.1.0.
        s.server.hold_next_download();
        ui.click("#install-button").await;
        let patch = stored_files(&s, "1.1.0")
            .into_iter()
            .find(|f| f.to_string_lossy().ends_with(".demo-app.from-1.0.0.zst"))
            .expect("a patch from 1.0.0");
        let len = std::fs::metadata(&patch).unwrap().len() as f64;
        let full = std::fs::metadata(&bins.v1_1_0).unwrap().len() as f64;
        assert!(len < full / 10.0, "a patch of {len} bytes for {full}");
        let page = ui
            .wait("the download held half-way", DOWNLOAD_TIMEOUT, |p| {
                p.state_is("downloading")
                    && s.server.held().is_some()
                    && p.progress.is_some_and(|v| v > 0.0 && v < len)
            })
            .await;
        let sent = s.server.held().unwrap().sent as f64;
        check!(s, page, page.progress_max == Some(len));
        check!(s, page, page.progress <= Some(sent));
        check!(s, page, text(&page.progress_text).contains(" of "));
        ui.screenshot("03-update-downloading").await;
        s.server.release();

        let page = ui
            .wait("1.1.0 installed", DOWNLOAD_TIMEOUT, |p| {
                p.state_is("installed") && p.restart_shown
            })
            .await;
        check!(
            s,
            page,
            text(&page.status).contains("Version 1.1.0 is installed")
        );
        check!(s, page, page.progress == Some(len));
        ui.screenshot("04-update-installed").await;
        // Only the patch was downloaded; the installed file is still 1.1.0 byte for byte
        // (below), verified against the full release's signed hashes.
        let artifacts: Vec<String> = s
            .server
            .requests()
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.contains("/targets/"))
            .cloned()
            .collect();
        assert!(
            !artifacts.is_empty() && artifacts.iter().all(|r| r.contains(".from-1.0.0.zst")),
            "{artifacts:?}"
        );

        let attached = s.restart_into(ui, "1.1.0").await;
        let page = attached.ui.page().await.unwrap();
        check!(s, page, text(&page.channel) == "stable");
        check!(s, page, text(&page.rollback).is_empty());
        check!(s, page, !page.restart_shown);
        attached.ui.screenshot("05-update-restarted").await;
    });
    // In place: the installed file is the 1.1.0 build, byte for byte.
    assert_installed(&s, &bins.v1_1_0, "1.1.0");
}

#[test]
fn beta_opt_in_offers_the_beta_and_restarts_into_it() {
    let bins = bins();
    let s = stable_and_beta(&bins.v1_1_0);
    run(async {
        let ui = s.launch("1.1.0").await;
        // On stable, 1.1.0 is the newest.
        ui.click("#check-button").await;
        let page = ui
            .wait("up to date on stable", UI_TIMEOUT, |p| {
                p.state_is("up-to-date")
            })
            .await;
        check!(s, page, text(&page.status).contains("up to date"));

        ui.click("#beta-toggle").await;
        let page = ui
            .wait("the beta channel", UI_TIMEOUT, |p| {
                text(&p.channel) == "beta" && p.state_is("idle")
            })
            .await;
        check!(s, page, page.beta == Some(true));
        ui.click("#check-button").await;
        let page = ui
            .wait("1.2.0-beta.1 offered", UI_TIMEOUT, |p| {
                p.state_is("available")
            })
            .await;
        check!(
            s,
            page,
            text(&page.status) == "Version 1.2.0-beta.1 is available"
        );
        check!(s, page, text(&page.notes).contains("A dark theme"));
        ui.screenshot("06-beta-available").await;

        ui.click("#install-button").await;
        ui.wait("1.2.0-beta.1 installed", DOWNLOAD_TIMEOUT, |p| {
            p.state_is("installed") && p.restart_shown
        })
        .await;
        let attached = s.restart_into(ui, "1.2.0-beta.1").await;
        // The user's choice of channel survives the restart.
        let page = attached.ui.page().await.unwrap();
        check!(s, page, text(&page.channel) == "beta");
        check!(s, page, page.beta == Some(true));
        attached.ui.screenshot("07-beta-restarted").await;
    });
    assert_installed(&s, &bins.v1_2_0_beta_1, "1.2.0-beta.1");
}

#[test]
fn a_pinned_policy_holds_the_update_back_and_says_why() {
    let bins = bins();
    let s = Scenario::new(
        &[
            (&bins.v1_0_0, "1.0.0", "stable", NOTES_1_0),
            (&bins.v1_1_0, "1.1.0", "stable", NOTES_1_1),
        ],
        &bins.v1_0_0,
        |app| std::fs::write(&app.policy, r#"{ "pinned_version": "~1.0" }"#).unwrap(),
    );
    run(async {
        let ui = s.launch("1.0.0").await;
        let page = ui
            .wait("the policy line", UI_TIMEOUT, |p| {
                !text(&p.policy).is_empty()
            })
            .await;
        check!(s, page, text(&page.policy).contains("~1.0"));

        ui.click("#check-button").await;
        let page = ui
            .wait("the update held back", UI_TIMEOUT, |p| {
                p.state_is("held-back")
            })
            .await;
        let status = text(&page.status);
        check!(s, page, status.contains("1.1.0 is held back"));
        check!(s, page, status.contains("pinned version requirement ~1.0"));
        check!(s, page, !page.install_shown);
        ui.screenshot("08-policy-pinned").await;
    });
    // Nothing downloaded, nothing changed.
    assert!(!s.server.targets_requested(), "{}", s.logs.report());
    assert_installed(&s, &bins.v1_0_0, "1.0.0");
}

#[test]
fn a_version_that_does_not_start_is_rolled_back() {
    let bins = bins();
    let s = Scenario::new(
        &[
            (&bins.v1_0_0, "1.0.0", "stable", NOTES_1_0),
            (&bins.v1_1_0_broken, "1.1.0", "stable", NOTES_1_1),
        ],
        &bins.v1_0_0,
        |app| app.set_env("DEMO_APP_MAX_LAUNCHES", "2"),
    );
    run(async {
        let ui = s.launch("1.0.0").await;
        ui.click("#check-button").await;
        ui.wait("1.1.0 offered", UI_TIMEOUT, |p| p.state_is("available"))
            .await;
        ui.click("#install-button").await;
        ui.wait("1.1.0 installed", DOWNLOAD_TIMEOUT, |p| {
            p.state_is("installed") && p.restart_shown
        })
        .await;

        // Launch 1 of 1.1.0: the restart. It exits before its window loads.
        let _ = ui.try_click("#restart-button").await;
        let driver_log = s.path("tauri-driver.log");
        wait_for(
            "the broken 1.1.0 to exit",
            UI_TIMEOUT,
            || async {
                let said = std::fs::read_to_string(&driver_log)
                    .unwrap_or_default()
                    .contains("demo-app 1.1.0: this build is broken on purpose");
                (said && procs::running(&s.app.exe).is_empty()).then_some(())
            },
            || s.logs.report(),
        )
        .await;
        ui.end().await;
        assert_installed(&s, &bins.v1_1_0_broken, "the broken 1.1.0");
    });

    // Launch 2, by the user: it fails again, and stays (2 unconfirmed launches allowed).
    let exited = s
        .app
        .run_to_exit(&s.path("launch-2"), Duration::from_secs(120));
    assert!(
        exited.code == Some(3) && exited.stderr.contains("this build is broken on purpose"),
        "launch 2 should exit with code 3: {exited:#?}\n{}",
        s.logs.report()
    );
    assert_installed(&s, &bins.v1_1_0_broken, "the broken 1.1.0");

    // Launch 3: one too many. The updater restores 1.0.0 and starts it in its place.
    run(async {
        let ui = s.launch("1.0.0").await;
        let page = ui
            .wait("the rollback line", UI_TIMEOUT, |p| {
                !text(&p.rollback).is_empty()
            })
            .await;
        check!(
            s,
            page,
            text(&page.rollback) == "Version 1.1.0 did not start and was rolled back to 1.0.0."
        );
        ui.screenshot("09-rollback-restored").await;

        // And the failed version is not offered again.
        ui.click("#check-button").await;
        let page = ui
            .wait("1.1.0 held back", UI_TIMEOUT, |p| p.state_is("held-back"))
            .await;
        check!(
            s,
            page,
            text(&page.status).contains("1.1.0 is held back: rolled back on this install")
        );
        ui.screenshot("10-rollback-not-offered-again").await;
    });
    assert_installed(&s, &bins.v1_0_0, "1.0.0");
}

/// The stored files of `version` in the scenario's repository (what the server sends): the
/// release's artifact and the patches to it. The artifact is an ELF executable, so `release`
/// publishes it under `linux-x86_64-exe`.
fn stored_files(s: &Scenario, version: &str) -> Vec<std::path::PathBuf> {
    let dir = s.repo.repository().join(format!(
        "targets/stable/demo-app/{version}/linux-x86_64-exe"
    ));
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect()
}

#[test]
fn a_tampered_download_is_refused_and_the_app_stays_as_it_was() {
    let bins = bins();
    let s = Scenario::new(
        &[
            (&bins.v1_0_0, "1.0.0", "stable", NOTES_1_0),
            (&bins.v1_1_0, "1.1.0", "stable", NOTES_1_1),
        ],
        &bins.v1_0_0,
        |_| {},
    );
    // A compromised server (or mirror) swaps one byte of the signed 1.1.0 and of the patch
    // to it: same lengths, so only the hashes can tell. The patch is refused, then the
    // full download it falls back to.
    let stored = stored_files(&s, "1.1.0");
    assert_eq!(stored.len(), 2, "{stored:?}");
    for file in stored {
        let mut bytes = std::fs::read(&file).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x5a;
        std::fs::write(&file, bytes).unwrap();
    }
    run(async {
        let ui = s.launch("1.0.0").await;
        ui.click("#check-button").await;
        ui.wait("1.1.0 offered", UI_TIMEOUT, |p| p.state_is("available"))
            .await;
        ui.click("#install-button").await;
        let page = ui
            .wait("the download refused", DOWNLOAD_TIMEOUT, |p| {
                p.state_is("error")
            })
            .await;
        let status = text(&page.status);
        // The user reads a plain sentence; the chain of causes is folded away for a report.
        check!(
            s,
            page,
            status.starts_with(
                "Update failed: The update was refused because it failed a security check"
            )
        );
        check!(
            s,
            page,
            !status.contains("5.7.3") && !status.contains("sha256")
        );
        let detail = text(&page.error_detail);
        check!(
            s,
            page,
            detail.contains("5.7.3: target stable/demo-app/1.1.0/linux-x86_64-exe/demo-app")
                && detail.contains("sha256 mismatch")
        );
        check!(
            s,
            page,
            text(&page.progress_text) == "Nothing was installed."
        );
        check!(s, page, !page.restart_shown);
        ui.screenshot("11-tampered-download-refused").await;
        // Nothing unverified was kept: no download, no staged install.
        let leftovers: Vec<_> = walk(&s.app.data)
            .into_iter()
            .filter(|p| {
                let p = p.to_string_lossy();
                p.contains("/updates/downloads/")
                    || (p.contains("/updates/install/") && !p.ends_with("/lock"))
            })
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}\n{}", s.logs.report());
    });
    assert_installed(&s, &bins.v1_0_0, "1.0.0");
}

#[test]
fn the_page_cannot_install_what_the_check_did_not_find() {
    let bins = bins();
    let s = stable_and_beta(&bins.v1_0_0);
    run(async {
        let ui = s.launch("1.0.0").await;
        // A script in the page (an XSS, a compromised dependency) asks the plugin directly;
        // each call must be refused with `reason`. Tauri's ACL refuses with a string, the
        // plugin with `{ kind, message, detail }`.
        let refused = |cmd: &'static str, args: &'static str, reason: &'static str| {
            let (ui, s) = (&ui, &s);
            async move {
                let script = format!(
                    "const done = arguments[0]; \
                     window.__TAURI__.core.invoke('plugin:tuf-updater|{cmd}', {args}) \
                       .then(v => done('ok: ' + JSON.stringify(v)), \
                             e => done('refused: ' + (typeof e === 'string' ? e : JSON.stringify(e))));"
                );
                let answer = ui.eval(&script).await;
                let answer = answer.as_str().unwrap_or_default();
                assert!(
                    answer.starts_with("refused:") && answer.contains(reason),
                    "{cmd}: {answer}\n{}",
                    s.logs.report()
                );
            }
        };
        // Commands the app did not grant its page are refused by Tauri's ACL: the demo's
        // capability names only download_and_install, restart and set_channel.
        refused("install", "{ version: '1.1.0' }", "not allowed").await;
        refused(
            "download",
            "{ version: '1.1.0', onEvent: new window.__TAURI__.core.Channel() }",
            "not allowed",
        )
        .await;
        // Before any check: nothing to install.
        refused(
            "download_and_install",
            "{ version: '1.1.0', onEvent: new window.__TAURI__.core.Channel() }",
            "call check() first",
        )
        .await;
        // After a check on stable found 1.1.0: the beta (signed, but not what the check
        // chose) cannot be asked for by version.
        ui.click("#check-button").await;
        ui.wait("1.1.0 offered", UI_TIMEOUT, |p| p.state_is("available"))
            .await;
        refused(
            "download_and_install",
            "{ version: '1.2.0-beta.1', onEvent: new window.__TAURI__.core.Channel() }",
            "1.2.0-beta.1 is not the update found",
        )
        .await;
        // A channel name that is not one is refused too.
        refused(
            "set_channel",
            "{ channel: '../../etc' }",
            "invalid channel name",
        )
        .await;
        let page = ui.page().await.unwrap();
        check!(s, page, text(&page.channel) == "stable");
    });
    // Nothing was downloaded.
    assert!(!s.server.targets_requested(), "{}", s.logs.report());
    assert_installed(&s, &bins.v1_0_0, "1.0.0");
}

/// Every file under `dir` (none if it does not exist).
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
