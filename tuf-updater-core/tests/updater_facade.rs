//! [`AppUpdater`] in process, against real repositories made by the `updater-pack` CLI and
//! served over HTTP by `updater-pack serve`: what `check()` reports, progress and reuse of
//! downloads, install and who may confirm, mirrors, channels, rollout, `min_version`, and
//! the administrator's policy.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod selfupdate_support;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use selfupdate_support::*;
use tuf_updater_core::install::State;
use tuf_updater_core::policy::{ChannelNote, Disabled};
use tuf_updater_core::tuf::download::DownloadOptions;
use tuf_updater_core::{
    AppUpdater, CheckResult, Direction, HeldBackReason, InstallTarget, Progress, StartupOutcome,
    Update, UpdateError,
};

/// A temporary app: its data dir, its executable (a plain file), a policy path.
struct Local {
    dir: tempfile::TempDir,
}

impl Local {
    fn new() -> Local {
        let local = Local {
            dir: tempfile::tempdir().unwrap(),
        };
        fs::create_dir_all(local.dir.path().join("app")).unwrap();
        fs::write(local.exe(), b"the installed 1.0.0").unwrap();
        local
    }

    fn exe(&self) -> PathBuf {
        self.dir.path().join("app/selfupdate")
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn policy(&self) -> PathBuf {
        self.dir.path().join("policy.json")
    }

    /// An artifact file with `content` repeated to `len` bytes.
    fn artifact(&self, name: &str, len: usize) -> PathBuf {
        let path = self.dir.path().join(name);
        let content: Vec<u8> = name.bytes().cycle().take(len).collect();
        fs::write(&path, content).unwrap();
        path
    }

    fn updater(&self, version: &str, repo: &str) -> AppUpdater {
        self.builder(version, repo).build().unwrap()
    }

    fn builder(&self, version: &str, repo: &str) -> tuf_updater_core::AppUpdaterBuilder {
        AppUpdater::builder(APP, version)
            .repository(repo)
            .trusted_root(fs::read(&tools().root).unwrap())
            .data_dir(self.data())
            .install_target(InstallTarget::Executable(self.exe()))
            .policy_path(self.policy())
            .max_unconfirmed_launches(2)
    }
}

fn available(result: CheckResult) -> Update {
    match result {
        CheckResult::Available(update) => update,
        other => panic!("expected an update, got {other:?}"),
    }
}

fn held(result: CheckResult) -> Vec<(String, Vec<HeldBackReason>)> {
    match result {
        CheckResult::HeldBack { held, .. } => held
            .into_iter()
            .map(|h| (h.version().to_string(), h.reasons))
            .collect(),
        other => panic!("expected held back, got {other:?}"),
    }
}

/// Nothing listens on port 1 of the loopback address: connections are refused at once.
const DEAD: &str = "http://127.0.0.1:1";

#[tokio::test]
async fn check_reports_the_release_as_signed() {
    let local = Local::new();
    let repo = Repo::new();
    let notes = local.dir.path().join("notes.md");
    fs::write(&notes, "# 1.1.0\n\n- faster").unwrap();
    let artifact = local.artifact("v1.1.0", 300_000);
    let before = chrono::Utc::now() - chrono::Duration::seconds(5);
    repo.release(
        &artifact,
        "1.1.0",
        "stable",
        &["--critical", "--notes", notes.to_str().unwrap()],
    );
    let server = repo.serve();
    let update = available(local.updater("1.0.0", &server.url).check().await.unwrap());
    assert_eq!(update.version.to_string(), "1.1.0");
    assert_eq!(update.current_version.to_string(), "1.0.0");
    assert_eq!(update.notes, "# 1.1.0\n\n- faster");
    assert_eq!(update.size, 300_000);
    assert_eq!(update.channel, "stable");
    assert!(update.critical);
    assert_eq!(update.direction, Direction::Upgrade);
    assert_eq!(update.file_name, APP);
    assert_eq!(
        update.target_path,
        format!("stable/{APP}/1.1.0/{}/{APP}", platform())
    );
    assert!(update.date > before && update.date <= chrono::Utc::now());
    assert!(update.held_back.is_empty());
    // The metadata of the app's own repository (what `updater-pack init` makes) is kept for
    // the next check.
    assert!(local.data().join("tuf-app/root.json").is_file());
    assert!(local.data().join("tuf-app/per-app-trusted").is_file());
}

#[tokio::test]
async fn download_reports_progress_and_reuses_only_a_file_that_still_verifies() {
    let local = Local::new();
    let repo = Repo::new();
    let artifact = local.artifact("v1.1.0", 1_500_000);
    repo.release(&artifact, "1.1.0", "stable", &[]);
    let server = repo.serve();
    // One quick retry: the server is stopped below.
    let updater = local
        .builder("1.0.0", &server.url)
        .download_options(DownloadOptions {
            retries: 1,
            backoff: Duration::from_millis(10),
            ..DownloadOptions::default()
        })
        .build()
        .unwrap();
    let update = available(updater.check().await.unwrap());

    let mut events = Vec::new();
    let path = updater.download(&update, |p| events.push(p)).await.unwrap();
    assert_eq!(fs::read(&path).unwrap(), fs::read(&artifact).unwrap());
    assert_eq!(
        events.first(),
        Some(&Progress::Started {
            content_length: 1_500_000,
            resumed_from: 0
        })
    );
    let mut last = 0;
    for event in &events[1..events.len() - 2] {
        let Progress::Progress {
            chunk_length,
            downloaded,
        } = event
        else {
            panic!("{event:?} among the progress events");
        };
        assert_eq!(*downloaded, last + chunk_length);
        last = *downloaded;
    }
    assert_eq!(last, 1_500_000);
    assert_eq!(
        events[events.len() - 2..],
        [Progress::Verifying, Progress::Finished]
    );

    // Without the server: the file on disk is verified again and used.
    drop(server);
    let mut events = Vec::new();
    let again = updater.download(&update, |p| events.push(p)).await.unwrap();
    assert_eq!(again, path);
    assert_eq!(
        events,
        [
            Progress::Started {
                content_length: 1_500_000,
                resumed_from: 1_500_000
            },
            Progress::Verifying,
            Progress::Finished
        ]
    );
    // Changed on disk: not used; the download is attempted again (and fails, no server).
    let mut bytes = fs::read(&path).unwrap();
    bytes[1000] ^= 1;
    fs::write(&path, bytes).unwrap();
    let err = updater.download(&update, |_| {}).await.unwrap_err();
    assert!(matches!(err, UpdateError::Repository { .. }), "{err}");
    assert!(matches!(
        updater.install(&update),
        Err(UpdateError::NotDownloaded { .. })
    ));
    assert_eq!(fs::read(local.exe()).unwrap(), b"the installed 1.0.0");
}

#[tokio::test]
async fn install_swaps_the_executable_and_only_the_new_version_confirms() {
    let local = Local::new();
    let repo = Repo::new();
    let artifact = local.artifact("v1.1.0", 200_000);
    repo.release(&artifact, "1.1.0", "stable", &[]);
    let server = repo.serve();
    let old = local.updater("1.0.0", &server.url);
    assert_eq!(old.startup().unwrap(), StartupOutcome::Idle);
    let update = available(old.check().await.unwrap());
    // Not downloaded yet: refused, nothing touched.
    assert!(matches!(
        old.install(&update),
        Err(UpdateError::NotDownloaded { .. })
    ));
    assert!(old.installer().journal().unwrap().is_none());
    old.download(&update, |_| {}).await.unwrap();
    old.install(&update).unwrap();
    assert_eq!(fs::read(local.exe()).unwrap(), fs::read(&artifact).unwrap());
    assert_eq!(
        old.installer().journal().unwrap().map(|j| j.state),
        Some(State::Swapped { launches: 0 })
    );
    // The download is not kept once installed.
    assert!(!old.download_path(&update).exists());
    // The old version cannot vouch for the new one.
    let err = old.confirm().unwrap_err();
    assert!(
        matches!(err, UpdateError::ConfirmByOtherVersion { .. }),
        "{err}"
    );
    // The new version, started: its first launch, then it confirms.
    let new = local.updater("1.1.0", &server.url);
    assert_eq!(
        new.startup().unwrap(),
        StartupOutcome::PendingConfirmation {
            version: "1.1.0".into(),
            launch: 1
        }
    );
    assert!(new.confirm().unwrap());
    assert!(!new.confirm().unwrap());
    assert!(new.installer().journal().unwrap().is_none());
    assert_eq!(App::names(&local.data().join("install")), ["lock"]);
    assert_eq!(fs::read(local.exe()).unwrap(), fs::read(&artifact).unwrap());
    assert!(matches!(
        new.check().await.unwrap(),
        CheckResult::UpToDate { .. }
    ));
}

#[tokio::test]
async fn a_rollback_is_reported_once_to_the_restored_version_and_not_offered_again() {
    let local = Local::new();
    let old_bytes = fs::read(local.exe()).unwrap();
    let repo = Repo::new();
    let artifact = local.artifact("v1.1.0", 100_000);
    repo.release(&artifact, "1.1.0", "stable", &[]);
    let server = repo.serve();
    let old = local.updater("1.0.0", &server.url);
    assert_eq!(old.take_rollback_notice().unwrap(), None);
    let update = available(old.check().await.unwrap());
    old.download(&update, |_| {}).await.unwrap();
    old.install(&update).unwrap();
    // 1.1.0 starts twice (the allowed launches) without confirming; the third start rolls
    // it back.
    let new = local.updater("1.1.0", &server.url);
    for launch in 1..=2 {
        assert_eq!(
            new.startup().unwrap(),
            StartupOutcome::PendingConfirmation {
                version: "1.1.0".into(),
                launch
            }
        );
    }
    assert!(matches!(
        new.startup().unwrap(),
        StartupOutcome::RolledBack { .. }
    ));
    assert_eq!(fs::read(local.exe()).unwrap(), old_bytes);
    // The restored 1.0.0 learns about it once.
    let restored = local.updater("1.0.0", &server.url);
    assert!(matches!(
        restored.startup().unwrap(),
        StartupOutcome::RollbackFinished { .. }
    ));
    let notice = restored.take_rollback_notice().unwrap().unwrap();
    assert_eq!(notice.failed_version, "1.1.0");
    assert_eq!(notice.restored_version, "1.0.0");
    assert!(
        notice.reason.contains("did not confirm"),
        "{}",
        notice.reason
    );
    assert_eq!(restored.take_rollback_notice().unwrap(), None);
    // And 1.1.0 is not offered again on this install.
    let held = held(restored.check().await.unwrap());
    assert_eq!(
        held,
        [("1.1.0".to_string(), vec![HeldBackReason::RolledBack])]
    );
}

#[tokio::test]
async fn mirrors_are_tried_in_order_and_the_last_failure_is_reported() {
    let local = Local::new();
    let repo = Repo::new();
    let artifact = local.artifact("v1.1.0", 50_000);
    repo.release(&artifact, "1.1.0", "stable", &[]);
    let server = repo.serve();
    let updater = local
        .builder("1.0.0", DEAD)
        .mirror(format!("{}/", server.url))
        .build()
        .unwrap();
    let update = available(updater.check().await.unwrap());
    let path = updater.download(&update, |_| {}).await.unwrap();
    assert_eq!(fs::read(path).unwrap(), fs::read(&artifact).unwrap());

    let all_dead = local
        .builder("1.0.0", "http://127.0.0.1:2/")
        .mirror(DEAD)
        .build()
        .unwrap();
    match all_dead.check().await.unwrap_err() {
        UpdateError::Repository { url, .. } => assert_eq!(url, DEAD),
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn the_channel_choice_persists_and_leaving_beta_never_downgrades_unless_allowed() {
    let local = Local::new();
    let repo = Repo::new();
    repo.release(&local.artifact("v1.1.0", 1000), "1.1.0", "stable", &[]);
    repo.release(
        &local.artifact("v1.2.0-beta.1", 1000),
        "1.2.0-beta.1",
        "beta",
        &[],
    );
    let server = repo.serve();
    let updater = local.updater("1.0.0", &server.url);
    assert_eq!(
        available(updater.check().await.unwrap())
            .version
            .to_string(),
        "1.1.0"
    );
    let effective = updater.set_channel("beta").unwrap();
    assert_eq!(effective.channel, "beta");
    // Remembered: another instance (the next start of the app) is on beta.
    let again = local.updater("1.0.0", &server.url);
    let beta = available(again.check().await.unwrap());
    assert_eq!(beta.version.to_string(), "1.2.0-beta.1");
    assert_eq!(beta.channel, "beta");

    // Running the beta, back to stable: stable's 1.1.0 is older, so nothing happens...
    let on_beta = local.updater("1.2.0-beta.1", &server.url);
    on_beta.set_channel("stable").unwrap();
    assert!(matches!(
        on_beta.check().await.unwrap(),
        CheckResult::UpToDate { .. }
    ));
    // ...unless the app allows the step down.
    let allowed = local
        .builder("1.2.0-beta.1", &server.url)
        .allow_downgrade(true)
        .build()
        .unwrap();
    let down = available(allowed.check().await.unwrap());
    assert_eq!(down.version.to_string(), "1.1.0");
    assert_eq!(down.direction, Direction::Downgrade);

    // A channel the repository does not have: a clear error naming those it has.
    on_beta.set_channel("nightly").unwrap();
    match on_beta.check().await.unwrap_err() {
        UpdateError::UnknownChannel { channel, available } => {
            assert_eq!(channel, "nightly");
            assert_eq!(available, ["stable", "beta"]);
        }
        other => panic!("{other}"),
    }
    assert!(matches!(
        on_beta.set_channel("no/slash"),
        Err(UpdateError::Settings(_))
    ));
}

#[tokio::test]
async fn rollout_min_version_and_critical_decide_what_is_offered_and_say_why() {
    let local = Local::new();
    let repo = Repo::new();
    repo.release(
        &local.artifact("v1.3.0", 1000),
        "1.3.0",
        "stable",
        &["--min-version", "1.2.0"],
    );
    let server = repo.serve();
    let updater = local.updater("1.0.0", &server.url);
    let reasons = held(updater.check().await.unwrap());
    assert_eq!(reasons.len(), 1);
    assert_eq!(reasons[0].0, "1.3.0");
    assert!(matches!(
        reasons[0].1[..],
        [HeldBackReason::MinVersion { .. }]
    ));

    // A rollout that reaches nobody holds 1.2.0 back...
    repo.release(
        &local.artifact("v1.2.0", 1000),
        "1.2.0",
        "stable",
        &["--rollout", "0"],
    );
    let reasons = held(updater.check().await.unwrap());
    let versions: Vec<&str> = reasons.iter().map(|(v, _)| v.as_str()).collect();
    assert_eq!(versions, ["1.3.0", "1.2.0"]);
    assert!(matches!(
        reasons[1].1[..],
        [HeldBackReason::Rollout { percent: 0, .. }]
    ));
    // ...and an older release within reach is offered, with what was held back above it.
    repo.release(&local.artifact("v1.1.0", 1000), "1.1.0", "stable", &[]);
    let update = available(updater.check().await.unwrap());
    assert_eq!(update.version.to_string(), "1.1.0");
    assert_eq!(update.held_back.len(), 2);
    // A critical release ignores the rollout.
    repo.release(
        &local.artifact("v1.2.1", 1000),
        "1.2.1",
        "stable",
        &["--rollout", "0", "--critical"],
    );
    let update = available(updater.check().await.unwrap());
    assert_eq!(update.version.to_string(), "1.2.1");
    assert!(update.critical);
}

#[tokio::test]
async fn the_policy_pins_forces_the_channel_replaces_the_repository_or_turns_updates_off() {
    let local = Local::new();
    let repo = Repo::new();
    repo.release(&local.artifact("v1.1.0", 1000), "1.1.0", "stable", &[]);
    repo.release(&local.artifact("v1.2.0", 1000), "1.2.0", "stable", &[]);
    repo.release(
        &local.artifact("v1.3.0-beta.1", 1000),
        "1.3.0-beta.1",
        "beta",
        &[],
    );
    let server = repo.serve();
    let updater = local.updater("1.0.0", &server.url);
    let policy = |text: &str| fs::write(local.policy(), text).unwrap();

    policy(r#"{ "pinned_version": "~1.1" }"#);
    let update = available(updater.check().await.unwrap());
    assert_eq!(update.version.to_string(), "1.1.0");
    assert_eq!(update.held_back.len(), 1);
    assert_eq!(
        update.held_back[0].to_string(),
        "1.2.0: outside the pinned version requirement ~1.1"
    );

    policy(r#"{ "channel": "beta" }"#);
    updater.set_channel("stable").unwrap();
    let update = available(updater.check().await.unwrap());
    assert_eq!(update.version.to_string(), "1.3.0-beta.1");
    assert!(matches!(
        updater.effective().unwrap().channel_note,
        Some(ChannelNote::Forced { .. })
    ));

    // The administrator's mirror replaces the app's repository (dead here).
    let elsewhere = local.updater("1.0.0", DEAD);
    policy(&format!(r#"{{ "repository_mirror": "{}/" }}"#, server.url));
    assert_eq!(
        available(elsewhere.check().await.unwrap())
            .version
            .to_string(),
        "1.2.0"
    );

    policy(r#"{ "enabled": false }"#);
    assert_eq!(
        updater.check().await.unwrap(),
        CheckResult::Disabled {
            reason: Disabled::Policy
        }
    );
    policy(r#"{ "enabled": "#);
    match updater.check().await.unwrap() {
        CheckResult::Disabled {
            reason: Disabled::PolicyError(e),
        } => assert!(e.to_string().contains("malformed update policy"), "{e}"),
        other => panic!("{other:?}"),
    }
    policy(r#"{ "enabled": true, "surprise": 1 }"#);
    assert!(matches!(
        updater.check().await.unwrap(),
        CheckResult::Disabled {
            reason: Disabled::PolicyError(_)
        }
    ));
}

/// A server standing for a repository that must not be asked anything: logs each request
/// path and answers 404.
fn decoy() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!("http://{}", server.server_addr().to_ip().unwrap());
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = log.clone();
    std::thread::spawn(move || {
        for request in server.incoming_requests() {
            seen.lock().unwrap().push(request.url().to_string());
            let _ = request.respond(tiny_http::Response::empty(404));
        }
    });
    (url, log)
}

#[tokio::test]
async fn with_a_policy_mirror_the_download_never_falls_back_to_the_apps_repository() {
    let local = Local::new();
    let repo = Repo::new();
    repo.release(&local.artifact("v1.1.0", 5000), "1.1.0", "stable", &[]);
    let server = repo.serve();
    let (app_repo, app_repo_log) = decoy();
    let updater = local.updater("1.0.0", &app_repo);
    fs::write(
        local.policy(),
        format!(r#"{{ "repository_mirror": "{}/" }}"#, server.url),
    )
    .unwrap();
    let update = available(updater.check().await.unwrap());
    // The administrator's mirror loses the file between the check and the download.
    fs::remove_file(repo.stored_target("stable", "1.1.0")).unwrap();
    match updater.download(&update, |_| {}).await.unwrap_err() {
        UpdateError::Repository { url, .. } => assert_eq!(url, server.url),
        other => panic!("{other}"),
    }
    assert_eq!(*app_repo_log.lock().unwrap(), Vec::<String>::new());
}

#[test]
fn the_policy_env_override_is_honoured_only_when_the_app_opts_in() {
    // A user the policy restricts sets `<APP>_UPDATE_POLICY` to a file of their own.
    let local = Local::new();
    let name = "updater-facade-env-override";
    fs::write(local.policy(), r#"{ "enabled": false }"#).unwrap();
    std::env::set_var(tuf_updater_core::policy::env_var_name(name), local.policy());
    let base = || {
        AppUpdater::builder(APP, "1.0.0")
            .repository("http://127.0.0.1:2/")
            .trusted_root(fs::read(&tools().root).unwrap())
            .data_dir(local.data())
            .install_target(InstallTarget::Executable(local.exe()))
            .policy_app_name(name)
    };
    // Not opted in: the variable is not read (and /etc/<name>/ has no policy).
    let effective = base().build().unwrap().effective().unwrap();
    assert_eq!(effective.disabled, None);
    // Opted in (tests, demos): the named file is the policy.
    let effective = base()
        .policy_env_override(true)
        .build()
        .unwrap()
        .effective()
        .unwrap();
    assert_eq!(effective.disabled, Some(Disabled::Policy));
}

#[test]
fn the_builder_refuses_what_cannot_work() {
    let local = Local::new();
    let root = b"{}".to_vec();
    let base = || {
        AppUpdater::builder(APP, "1.0.0")
            .repository("https://updates.example.com/app")
            .trusted_root(root.clone())
            .data_dir(local.data())
            .install_target(InstallTarget::Executable(local.exe()))
    };
    assert!(base().build().is_ok());
    let cases: Vec<(tuf_updater_core::AppUpdaterBuilder, &str)> = vec![
        (
            AppUpdater::builder(APP, "one")
                .repository("https://x")
                .trusted_root(root.clone())
                .data_dir(local.data()),
            "is not a semantic version",
        ),
        (
            base().repository("ftp://example.com/"),
            "is not http or https",
        ),
        (base().repository("not a url"), "repository URL"),
        (base().default_channel("../x"), "is not a channel name"),
        (
            AppUpdater::builder(APP, "1.0.0")
                .trusted_root(root.clone())
                .data_dir(local.data()),
            "no repository URL",
        ),
        (
            AppUpdater::builder(APP, "1.0.0")
                .repository("https://x")
                .data_dir(local.data()),
            "no trusted root",
        ),
        (
            AppUpdater::builder("a/b", "1.0.0")
                .repository("https://x")
                .trusted_root(root.clone())
                .data_dir(local.data()),
            "one non-empty path segment",
        ),
        (base().header("bad header", "x"), "invalid HTTP header"),
    ];
    for (builder, needle) in cases {
        let err = builder.build().unwrap_err().to_string();
        assert!(err.contains(needle), "{needle:?} not in {err:?}");
    }
    // Nothing was written by a builder.
    assert!(!Path::new(&local.data()).exists());
}
