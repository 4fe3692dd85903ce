//! End to end, the plugin's JavaScript API in the shape of tauri-plugin-updater's, called
//! by the demo page through WebDriver: a check with the headers a private repository asks
//! for (and the download and install that go with it), `close()` of an update, and the
//! download events after a download interrupted by the app's death and resumed by the next
//! start: their `chunkLength`s add up to `contentLength`, as the official plugin's do.
//!
//! `cargo test -p demo-app --test e2e_api`; the builds are shared with `e2e.rs`.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod e2e_support;

use std::path::Path;
use std::time::Duration;

use e2e_support::builds::bins;
use e2e_support::scenario::{Scenario, UI_TIMEOUT};
use e2e_support::ui::Ui;
use e2e_support::{procs, run, sha256, wait_for};
use serde_json::Value;

const NOTES_1_0: &str = "## 1.0.0\n\nThe first release.\n";
const NOTES_1_1: &str = "## 1.1.0\n\n- Starts faster.\n- Shows the download progress.\n";
/// A download and install over loopback: generous for a loaded machine.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(180);
/// The private repository's key.
const KEY: &str = "e2e-key-4f1c";

/// 1.0.0 installed, 1.1.0 on stable.
fn one_update() -> Scenario {
    let bins = bins();
    Scenario::new(
        &[
            (&bins.v1_0_0, "1.0.0", "stable", NOTES_1_0),
            (&bins.v1_1_0, "1.1.0", "stable", NOTES_1_1),
        ],
        &bins.v1_0_0,
        |_| {},
    )
}

fn assert_installed(s: &Scenario, build: &Path, what: &str) {
    assert!(
        sha256(&s.app.exe) == sha256(build),
        "the installed app should be {what}\n{}",
        s.logs.report()
    );
}

/// Runs `body`, the body of an async JavaScript function with the plugin's API as `api`, in
/// the page, and waits for what it returns: `{ ok: value }`, or `{ error: { kind, message } }`
/// when it throws. The page keeps the result, so a long body does not run into WebDriver's
/// script timeout.
async fn in_page(s: &Scenario, ui: &Ui, what: &str, body: &str) -> Value {
    let script = format!(
        "const done = arguments[0]; window.__e2e = null; \
         (async () => {{ const api = window.__TAURI__.tufUpdater; {body} }})().then( \
           v => {{ window.__e2e = {{ ok: v === undefined ? null : v }}; }}, \
           e => {{ window.__e2e = {{ error: {{ kind: e.kind ?? null, message: e.message ?? String(e) }} }}; }}); \
         done(null);"
    );
    ui.eval(&script).await;
    wait_for(
        what,
        DOWNLOAD_TIMEOUT,
        || async {
            let v = ui.eval("arguments[0](window.__e2e)").await;
            (!v.is_null()).then_some(v)
        },
        || s.logs.report(),
    )
    .await
}

/// The value of an `in_page` that must have succeeded.
fn ok(s: &Scenario, what: &str, answer: Value) -> Value {
    match answer.get("ok") {
        Some(v) => v.clone(),
        None => panic!("{what}: {answer}\n{}", s.logs.report()),
    }
}

/// JavaScript: downloads and installs `update` (a variable), collecting its events in
/// `events` until the last (`Installing`) has arrived: a channel's messages may trail the
/// command's answer.
const DOWNLOAD_AND_INSTALL: &str = "const events = []; \
    await update.downloadAndInstall(e => events.push(e)); \
    for (let i = 0; i < 100 && !events.some(e => e.event === 'Installing'); i++) \
      await new Promise(r => setTimeout(r, 100));";

/// The `Started` events and, for each, the sum of the `chunkLength`s after it.
fn started_and_sums(events: &Value) -> Vec<(Value, u64)> {
    let mut out: Vec<(Value, u64)> = Vec::new();
    for e in events.as_array().unwrap() {
        match e["event"].as_str().unwrap() {
            "Started" => out.push((e["data"].clone(), 0)),
            "Progress" => out.last_mut().unwrap().1 += e["data"]["chunkLength"].as_u64().unwrap(),
            _ => {}
        }
    }
    out
}

#[test]
fn a_check_with_the_repositorys_header_finds_and_installs_the_update() {
    let bins = bins();
    let s = one_update();
    s.server.require_header("X-Update-Key", KEY);
    run(async {
        let ui = s.launch("1.0.0").await;

        // Without the header the server refuses: the check says so by its kind.
        let plain = in_page(
            &s,
            &ui,
            "a check without the header",
            "return await api.check();",
        )
        .await;
        assert_eq!(
            plain["error"]["kind"],
            "accessDenied",
            "{plain}\n{}",
            s.logs.report()
        );

        // A closed update can no longer be installed: the page's object refuses, and so
        // does the Rust side when its resource id is named directly.
        let closed = in_page(
            &s,
            &ui,
            "an update closed",
            &format!(
                "const update = await api.check({{ headers: {{ 'X-Update-Key': '{KEY}' }} }}); \
                 const rid = update.rid; \
                 await update.close(); \
                 let page = 'installed'; \
                 try {{ await update.downloadAndInstall(); }} catch (e) {{ page = e.message; }} \
                 let raw = 'installed'; \
                 try {{ await window.__TAURI__.core.invoke('plugin:tuf-updater|download_and_install', \
                          {{ rid, onEvent: new window.__TAURI__.core.Channel() }}); }} \
                 catch (e) {{ raw = e.message ?? String(e); }} \
                 return {{ rid, page, raw }};"
            ),
        )
        .await;
        let closed = ok(&s, "close", closed);
        assert!(closed["rid"].as_u64().is_some(), "{closed}");
        assert!(
            closed["page"].as_str().unwrap().contains("was closed"),
            "{closed}"
        );
        assert!(
            closed["raw"].as_str().unwrap().contains("was closed"),
            "{closed}"
        );
        assert!(!s.server.targets_requested(), "nothing downloaded yet");

        // With the header (as pairs this time): found, and installed with the same header.
        let installed = in_page(
            &s,
            &ui,
            "1.1.0 downloaded and installed with the header",
            &format!(
                "const update = await api.check({{ headers: [['X-Update-Key', '{KEY}']], timeout: 30000 }}); \
                 const found = {{ available: update.available, version: update.version, rawJson: update.rawJson }}; \
                 {DOWNLOAD_AND_INSTALL} \
                 return {{ found, events }};"
            ),
        )
        .await;
        let installed = ok(&s, "install with the header", installed);
        let found = &installed["found"];
        assert_eq!(found["available"], true, "{found}");
        assert_eq!(found["version"], "1.1.0", "{found}");
        // rawJson is the release's signed custom data.
        assert_eq!(found["rawJson"]["version"], "1.1.0", "{found}");
        assert_eq!(found["rawJson"]["notes"], NOTES_1_1, "{found}");
        let sums = started_and_sums(&installed["events"]);
        assert_eq!(sums.len(), 1, "{installed}");
        assert_eq!(
            sums[0].1,
            sums[0].0["contentLength"].as_u64().unwrap(),
            "{installed}"
        );
        ui.end().await;
    });
    // Every artifact request carried the header; only requests without it were refused.
    let requests = s.server.requests();
    let requests = requests.lock().unwrap();
    assert!(
        requests
            .iter()
            .any(|r| r.contains(" 403 without the required header")),
        "{requests:?}"
    );
    assert!(
        requests
            .iter()
            .any(|r| r.contains("/targets/") && !r.contains(" 403")),
        "{requests:?}"
    );
    assert!(
        requests
            .iter()
            .all(|r| !r.contains("/targets/") || !r.contains(" 403")),
        "{requests:?}"
    );
    drop(requests);
    assert_installed(&s, &bins.v1_1_0, "1.1.0");
}

/// The one `.part` file of an interrupted download in the app's data, and its length.
fn partial_file(s: &Scenario) -> Option<(std::path::PathBuf, u64)> {
    let mut parts = Vec::new();
    for app_dir in std::fs::read_dir(&s.app.data).ok()?.flatten() {
        let dir = app_dir.path().join("updates/partial");
        for part in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            parts.push((part.path(), part.metadata().ok()?.len()));
        }
    }
    match parts.len() {
        1 => parts.pop(),
        _ => None,
    }
}

#[test]
fn progress_after_a_resumed_download_adds_up_to_the_content_length() {
    let bins = bins();
    // Only 1.1.0 in the repository: no patch from 1.0.0, the whole release is downloaded
    // (the engine writes through a 256 KiB buffer: a small patch would leave no bytes on
    // disk for the next start to resume from).
    let s = Scenario::new(
        &[(&bins.v1_1_0, "1.1.0", "stable", NOTES_1_1)],
        &bins.v1_0_0,
        |_| {},
    );
    run(async {
        // The first start downloads until the server holds the file half-way, and dies
        // there: a `.part` of what arrived stays on disk.
        let ui = s.launch("1.0.0").await;
        s.server.hold_next_download();
        let started = in_page(
            &s,
            &ui,
            "a download started",
            "const update = await api.check(); \
             window.__events = []; \
             update.downloadAndInstall(e => window.__events.push(e)).catch(() => {}); \
             return update.version;",
        )
        .await;
        assert_eq!(ok(&s, "check", started), "1.1.0");
        let held = wait_for(
            "the download held half-way, what arrived on disk",
            DOWNLOAD_TIMEOUT,
            || async {
                let held = s.server.held()?;
                let events = ui.eval("arguments[0](window.__events)").await;
                let arrived = events
                    .as_array()?
                    .iter()
                    .filter_map(|e| e["data"]["downloaded"].as_u64())
                    .max()?;
                let (_, on_disk) = partial_file(&s)?;
                // The writer's buffer holds less than 256 KiB.
                (arrived == held.sent && on_disk + 256 * 1024 > held.sent && on_disk > 0)
                    .then_some(held)
            },
            || s.logs.report(),
        )
        .await;
        assert!(held.sent > 0 && held.sent < held.len, "{held:?}");
        let pid = s.app_pid();
        procs::kill(pid);
        wait_for(
            "the app to die",
            UI_TIMEOUT,
            || async { (!procs::alive(pid)).then_some(()) },
            || s.logs.report(),
        )
        .await;
        ui.end().await;
        s.server.release();
        let (_, on_disk) = partial_file(&s).unwrap();
        assert!(on_disk > 0 && on_disk < held.len, "{on_disk} of {held:?}");

        // The next start resumes it from the page.
        let ui = s.launch("1.0.0").await;
        let resumed = in_page(
            &s,
            &ui,
            "the resumed download and install",
            &format!("const update = await api.check(); {DOWNLOAD_AND_INSTALL} return events;"),
        )
        .await;
        let events = ok(&s, "resume", resumed);
        let sums = started_and_sums(&events);
        assert_eq!(sums.len(), 1, "{events}");
        let (started, sum) = &sums[0];
        // The file on disk was taken up where it stopped, and counted as the first chunk.
        assert_eq!(started["resumedFrom"].as_u64(), Some(on_disk), "{events}");
        assert_eq!(
            started["contentLength"].as_u64(),
            Some(held.len),
            "{events}"
        );
        let first_chunk = events
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["event"] == "Progress")
            .unwrap();
        assert_eq!(
            first_chunk["data"]["chunkLength"].as_u64(),
            Some(on_disk),
            "{events}"
        );
        assert_eq!(*sum, held.len, "{events}");
        let resumed_request = format!("{} 206 from byte {on_disk}", held.path);
        assert!(
            s.server
                .requests()
                .lock()
                .unwrap()
                .iter()
                .any(|r| r.ends_with(&resumed_request)),
            "no request {resumed_request:?}\n{}",
            s.logs.report()
        );
        ui.end().await;
    });
    // The bytes installed are the release's.
    assert_installed(&s, &bins.v1_1_0, "1.1.0");
}
