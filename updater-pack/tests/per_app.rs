#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! The per-app layout, publisher side, with our client reading what it publishes: each app
//! its own repository (`repository/apps/<app>/metadata/`), in it per channel and platform
//! segment a head with the newest versions and an archive with the older ones; a release of
//! one app leaves every other app's repository untouched; a check after a release reads the
//! timestamp, the snapshot and one head; a key of one channel cannot sign another's roles.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;
use tuf_updater_core::tuf::signer::{KeyKind, LocalKey};
use tuf_updater_core::{AppUpdater, CheckResult, InstallTarget, Platform};
use updater_pack::repo::{meta_file, sign_value, RepoState};
use updater_pack::serve::{DevServer, ServeOptions};

const NOW: &str = "2030-01-01T00:00:00Z";

fn per_app() -> Fixture {
    Fixture::new(Pack::at(NOW), &["--layout", "per-app"])
}

fn app_dir(f: &Fixture, app: &str) -> PathBuf {
    f.project.join("repository/apps").join(app).join("metadata")
}

/// The current signed metadata of `role` in `app`'s repository, as the snapshot names it.
fn app_role(f: &Fixture, app: &str, role: &str) -> Value {
    let read = |file: &str| -> Value {
        serde_json::from_slice(&std::fs::read(app_dir(f, app).join(file)).unwrap()).unwrap()
    };
    let timestamp = read("timestamp.json");
    if role == "timestamp" {
        return timestamp;
    }
    let snapshot_version = timestamp["signed"]["meta"]["snapshot.json"]["version"]
        .as_u64()
        .unwrap();
    let snapshot = read(&format!("{snapshot_version}.snapshot.json"));
    if role == "snapshot" {
        return snapshot;
    }
    let version = snapshot["signed"]["meta"][format!("{role}.json")]["version"]
        .as_u64()
        .unwrap_or_else(|| panic!("the snapshot does not list {role}"));
    read(&format!("{version}.{role}.json"))
}

/// The versions a role lists, in order.
fn versions(role: &Value) -> Vec<String> {
    let mut versions: Vec<semver::Version> = role["signed"]["targets"]
        .as_object()
        .unwrap()
        .values()
        .map(|t| t["custom"]["version"].as_str().unwrap().parse().unwrap())
        .collect();
    versions.sort();
    versions.dedup();
    versions.iter().map(ToString::to_string).collect()
}

fn release(f: &Fixture, app: &str, version: &str, channel: &str) {
    f.release_of(app, version, channel);
}

#[test]
fn a_release_goes_to_its_segment_head_and_old_versions_move_to_the_archive_in_batches() {
    let f = per_app();
    let shared = f.project.join("repository/metadata");
    let shared_before = tree(&shared);
    for minor in 0..16 {
        release(&f, "demo", &format!("1.{minor}.0"), "beta");
    }
    let head = app_role(&f, "demo", "beta.linux-x86_64");
    assert_eq!(versions(&head).len(), 16);
    let archive = app_role(&f, "demo", "beta.linux-x86_64.archive");
    assert!(versions(&archive).is_empty());
    assert_eq!(archive["signed"]["version"], 1, "untouched until a move");

    // The 17th version moves all but the newest 8 at once.
    release(&f, "demo", "1.16.0", "beta");
    let head = app_role(&f, "demo", "beta.linux-x86_64");
    let expected: Vec<String> = (9..17).map(|m| format!("1.{m}.0")).collect();
    assert_eq!(versions(&head), expected);
    let archive = app_role(&f, "demo", "beta.linux-x86_64.archive");
    let expected: Vec<String> = (0..9).map(|m| format!("1.{m}.0")).collect();
    assert_eq!(versions(&archive), expected);
    assert_eq!(archive["signed"]["version"], 2);

    // The next release changes the head only.
    release(&f, "demo", "1.17.0", "beta");
    assert_eq!(
        versions(&app_role(&f, "demo", "beta.linux-x86_64")).len(),
        9
    );
    let again = app_role(&f, "demo", "beta.linux-x86_64.archive");
    assert_eq!(again["signed"]["version"], 2);

    // The channel delegates both, with the channel's own keys, for this app and segment.
    let beta = app_role(&f, "demo", "beta");
    assert!(beta["signed"]["targets"].as_object().unwrap().is_empty());
    let roles = beta["signed"]["delegations"]["roles"].as_array().unwrap();
    let names: Vec<&str> = roles.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["beta.linux-x86_64", "beta.linux-x86_64.archive"]);
    let targets = app_role(&f, "demo", "targets");
    let beta_grant = targets["signed"]["delegations"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "beta")
        .unwrap()
        .clone();
    for role in roles {
        assert_eq!(
            role["paths"],
            serde_json::json!(["beta/demo/*/linux-x86_64/*"])
        );
        assert_eq!(role["keyids"], beta_grant["keyids"]);
        assert_eq!(role["terminating"], false);
    }
    // The project repository lists no release, and a per-app release did not touch it.
    assert_eq!(tree(&shared), shared_before);
    let out = f.verify();
    assert!(out.contains("app demo, its own repository"), "{out}");
    assert!(out.contains("18 target file(s)"), "{out}");
}

#[test]
fn another_apps_release_changes_no_byte_of_this_apps_repository() {
    let f = per_app();
    release(&f, "demo", "1.0.0", "beta");
    let demo_before = tree(&f.project.join("repository/apps/demo"));
    release(&f, "other", "2.0.0", "beta");
    release(&f, "other", "2.1.0", "stable");
    assert_eq!(tree(&f.project.join("repository/apps/demo")), demo_before);
    // The new app's repository shares the project's root history and targets role.
    for file in ["1.root.json", "1.targets.json", "1.stable.json"] {
        let project = std::fs::read(f.project.join("repository/metadata").join(file)).unwrap();
        let copied = std::fs::read(app_dir(&f, "other").join(file)).unwrap();
        assert_eq!(project, copied, "{file}");
    }
    f.verify();
}

/// A client of `app` installed at `version`, reading the repository served at `url`.
fn client(f: &Fixture, data: &Path, version: &str, url: &str) -> AppUpdater {
    let root = std::fs::read(f.project.join("repository/metadata/1.root.json")).unwrap();
    AppUpdater::builder("demo", version)
        .repository(url.trim_end_matches('/'))
        .trusted_root(root)
        .data_dir(data.join("data"))
        .install_target(InstallTarget::Executable(data.join("demo")))
        .policy_path(data.join("policy.json"))
        .platform(Platform::LinuxX86_64)
        .default_channel("beta")
        .build()
        .unwrap()
}

fn check(updater: &AppUpdater) -> CheckResult {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(updater.check())
        .unwrap()
}

fn serve_options() -> ServeOptions {
    ServeOptions {
        addr: "127.0.0.1:0".parse().unwrap(),
        allow_remote: false,
        verbose: false,
    }
}

fn served(server: &DevServer) -> Vec<String> {
    server
        .stats()
        .log()
        .iter()
        .map(|s| s.path.clone())
        .collect()
}

#[test]
fn a_check_after_a_release_reads_the_timestamp_snapshot_and_one_head() {
    let f = per_app();
    for minor in 0..20 {
        release(&f, "demo", &format!("1.{minor}.0"), "beta");
    }
    release(&f, "demo", "0.9.0", "stable");
    release(&f, "other", "1.0.0", "beta");
    let server = DevServer::start(&f.project.join("repository"), &serve_options()).unwrap();
    let data = tempfile::tempdir().unwrap();
    let updater = client(&f, data.path(), "1.19.0", &server.url());
    assert!(matches!(check(&updater), CheckResult::UpToDate { .. }));
    let cold = served(&server);
    assert!(
        cold.iter().all(|p| p.starts_with("/apps/demo/metadata/")),
        "{cold:?}"
    );
    assert!(!cold.iter().any(|p| p.contains("archive")), "{cold:?}");

    // Another app's release: only the root probe and an unchanged timestamp.
    release(&f, "other", "1.1.0", "beta");
    server.stats().reset();
    assert!(matches!(check(&updater), CheckResult::UpToDate { .. }));
    assert_eq!(
        served(&server),
        [
            "/apps/demo/metadata/2.root.json",
            "/apps/demo/metadata/timestamp.json"
        ]
    );

    // This app's release: timestamp, snapshot and the head, nothing else.
    release(&f, "demo", "1.20.0", "beta");
    server.stats().reset();
    match check(&updater) {
        CheckResult::Available(update) => assert_eq!(update.version.to_string(), "1.20.0"),
        other => panic!("expected 1.20.0, got {other:?}"),
    }
    let log = server.stats().log();
    let paths: Vec<&str> = log.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(paths.len(), 4, "{paths:?}");
    assert_eq!(paths[0], "/apps/demo/metadata/2.root.json");
    assert_eq!(paths[1], "/apps/demo/metadata/timestamp.json");
    assert!(paths[2].ends_with(".snapshot.json"), "{paths:?}");
    assert!(paths[3].ends_with(".beta.linux-x86_64.json"), "{paths:?}");
    let bytes: u64 = log.iter().map(|s| s.bytes).sum();
    assert!(bytes <= 16 * 1024, "{bytes} bytes: {paths:?}");

    // `status` says what a check costs.
    let status = f.pack.ok(&["status", f.p()]);
    assert!(
        status.contains("demo beta linux-x86_64: after a release"),
        "{status}"
    );
}

/// The private key of `role` in the project (one key per role, ed25519).
fn key_of(f: &Fixture, role: &str) -> LocalKey {
    let dir = f.project.join("keys").join(role);
    let file = std::fs::read_dir(&dir).unwrap().next().unwrap().unwrap();
    let pem = std::fs::read_to_string(file.path()).unwrap();
    LocalKey::from_pkcs8_pem(KeyKind::Ed25519, &pem).unwrap()
}

#[test]
fn a_head_signed_by_another_channels_key_is_refused_and_nothing_is_offered() {
    let f = per_app();
    release(&f, "demo", "1.0.0", "stable");
    release(&f, "demo", "1.1.0", "beta");
    let server = DevServer::start(&f.project.join("repository"), &serve_options()).unwrap();
    let data = tempfile::tempdir().unwrap();
    let stable_client = |version: &str| {
        let updater = client(&f, data.path(), version, &server.url());
        updater.set_channel("stable").unwrap();
        updater
    };
    assert!(matches!(
        check(&stable_client("1.0.0")),
        CheckResult::UpToDate { .. }
    ));

    // The beta CI key signs a stable head offering 9.0.0 (the bytes of the beta release),
    // and the snapshot and timestamp keys publish it, as a stolen beta key with a
    // compromised server would.
    let dir = app_dir(&f, "demo");
    let state = RepoState::load(&dir).unwrap();
    let head = "stable.linux-x86_64";
    let (_, signed) = &state.parts[head];
    let mut forged = signed.value.clone();
    let (_, beta_entry) = state.parts["beta.linux-x86_64"]
        .1
        .value
        .targets
        .iter()
        .next()
        .unwrap();
    let mut entry = beta_entry.clone();
    let mut custom = entry.custom.clone().unwrap();
    custom["version"] = "9.0.0".into();
    entry.custom = Some(custom);
    forged
        .targets
        .insert("stable/demo/9.0.0/linux-x86_64/demo".into(), entry);
    forged.common.version += 1;
    let beta_key = key_of(&f, "beta");
    let bytes = sign_value(&forged.to_value(), &[&beta_key]).unwrap();
    let version = forged.common.version;
    std::fs::write(dir.join(format!("{version}.{head}.json")), &bytes).unwrap();
    let mut snapshot = state.snapshot.value.clone();
    snapshot
        .meta
        .insert(format!("{head}.json"), meta_file(version, &bytes));
    snapshot.common.version += 1;
    let snapshot_bytes = sign_value(&snapshot.to_value(), &[&key_of(&f, "snapshot")]).unwrap();
    let snapshot_version = snapshot.common.version;
    std::fs::write(
        dir.join(format!("{snapshot_version}.snapshot.json")),
        &snapshot_bytes,
    )
    .unwrap();
    let mut timestamp = state.timestamp.value.clone();
    timestamp.snapshot_meta = meta_file(snapshot_version, &snapshot_bytes);
    timestamp.common.version += 1;
    let timestamp_bytes = sign_value(&timestamp.to_value(), &[&key_of(&f, "timestamp")]).unwrap();
    std::fs::write(dir.join("timestamp.json"), timestamp_bytes).unwrap();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = rt.block_on(stable_client("1.0.0").check()).unwrap_err();
    let mut message = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(e) = source {
        message.push_str(&format!(": {e}"));
        source = e.source();
    }
    assert!(message.contains(head), "{message}");
    assert!(message.contains("signature"), "{message}");
    // The publisher's own verification refuses it too.
    let out = f.pack.fails(&["verify", f.p()]);
    assert!(out.contains(head), "{out}");
}

#[test]
fn a_release_to_a_channel_whose_key_is_absent_is_refused_and_changes_nothing() {
    let f = per_app();
    release(&f, "demo", "1.0.0", "beta");
    // A CI runner that holds the beta key only (and the online keys).
    std::fs::rename(
        f.project.join("keys/stable"),
        f.tmp.path().join("stable-key"),
    )
    .unwrap();
    let file = f.artifact("demo-1.1.0.AppImage", 2048);
    let args = [
        "release",
        f.p(),
        "--app",
        "demo",
        "--version",
        "1.1.0",
        "--platform",
        "linux-x86_64",
        "--channel",
        "stable",
        file.to_str().unwrap(),
    ];
    assert_unchanged(&f.project, "stable", || f.pack.fails(&args));
    // The beta key still releases to beta, and, without the offline root and targets keys,
    // a new app: its repository starts from the project's signed files.
    for role in ["root", "targets"] {
        let to = f.tmp.path().join(format!("{role}-key"));
        std::fs::rename(f.project.join("keys").join(role), to).unwrap();
    }
    release(&f, "demo", "1.1.0", "beta");
    release(&f, "fresh", "0.1.0", "beta");
    f.verify();
}

#[test]
fn promote_from_an_archive_and_yank_from_a_head_and_an_archive() {
    let f = per_app();
    for minor in 0..17 {
        release(&f, "demo", &format!("1.{minor}.0"), "beta");
    }
    // 1.2.0 is in beta's archive now.
    let archive = app_role(&f, "demo", "beta.linux-x86_64.archive");
    assert!(versions(&archive).contains(&"1.2.0".to_string()));
    f.pack.ok(&f.promote_args("1.2.0", "beta", "stable"));
    let stable_head = app_role(&f, "demo", "stable.linux-x86_64");
    assert_eq!(versions(&stable_head), ["1.2.0"]);

    let yank = |version: &str| {
        f.pack.ok(&[
            "yank",
            f.p(),
            "--app",
            "demo",
            "--version",
            version,
            "--channel",
            "beta",
        ])
    };
    yank("1.16.0");
    yank("1.3.0");
    let head = versions(&app_role(&f, "demo", "beta.linux-x86_64"));
    assert!(!head.contains(&"1.16.0".to_string()), "{head:?}");
    let archive = versions(&app_role(&f, "demo", "beta.linux-x86_64.archive"));
    assert!(!archive.contains(&"1.3.0".to_string()), "{archive:?}");
    assert!(archive.contains(&"1.4.0".to_string()), "{archive:?}");
    // A yanked version is gone from the check: an install of 1.15.0 is up to date.
    let server = DevServer::start(&f.project.join("repository"), &serve_options()).unwrap();
    let data = tempfile::tempdir().unwrap();
    let updater = client(&f, data.path(), "1.15.0", &server.url());
    assert!(matches!(check(&updater), CheckResult::UpToDate { .. }));
    f.verify();
}

#[test]
fn migrate_gives_each_app_its_repository_with_every_release() {
    let f = Fixture::new(Pack::at(NOW), &[]); // the channel layout
    for minor in 0..18 {
        release(&f, "demo", &format!("1.{minor}.0"), "beta");
    }
    release(&f, "demo", "0.9.0", "stable");
    release(&f, "other", "3.0.0", "stable");
    let out = f.pack.ok(&["migrate", f.p()]);
    assert!(out.contains("demo: its own repository"), "{out}");
    let config: Value =
        serde_json::from_slice(&std::fs::read(f.project.join("updater-pack.json")).unwrap())
            .unwrap();
    assert_eq!(config["layout"], "per-app");
    assert_eq!(config["shared_releases"], true);

    let head = versions(&app_role(&f, "demo", "beta.linux-x86_64"));
    let archive = versions(&app_role(&f, "demo", "beta.linux-x86_64.archive"));
    assert_eq!(head.len() + archive.len(), 18);
    assert!(head.len() <= 16 && head.contains(&"1.17.0".to_string()));
    assert_eq!(
        versions(&app_role(&f, "other", "stable.linux-x86_64")),
        ["3.0.0"]
    );
    let verified = f.verify();
    assert!(verified.contains("app other"), "{verified}");

    // Later releases go to both: the app's repository and the shared one.
    release(&f, "demo", "1.18.0", "beta");
    let shared_beta = current(&f.project, "beta");
    assert!(shared_beta["signed"]["targets"]
        .as_object()
        .unwrap()
        .contains_key("beta/demo/1.18.0/linux-x86_64/demo-1.18.0.AppImage"));
    let head = versions(&app_role(&f, "demo", "beta.linux-x86_64"));
    assert!(head.contains(&"1.18.0".to_string()));
    // A second migration has nothing to do.
    let err = f.pack.fails(&["migrate", f.p()]);
    assert!(err.contains("per-app already"), "{err}");
}

#[test]
fn a_release_reads_its_segments_head_and_the_archive_only_when_it_must() {
    let f = per_app();
    for minor in 0..17 {
        release(&f, "demo", &format!("1.{minor}.0"), "beta");
    }
    // Damage the archive: a release that never needs it does not notice; one that must
    // look there (a version older than the head's newest) refuses, and changes nothing.
    let archive = app_role(&f, "demo", "beta.linux-x86_64.archive");
    let version = archive["signed"]["version"].as_u64().unwrap();
    let file = app_dir(&f, "demo").join(format!("{version}.beta.linux-x86_64.archive.json"));
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 1;
    std::fs::write(&file, &bytes).unwrap();

    release(&f, "demo", "1.17.0", "beta");
    let old = f.artifact("demo-1.2.5.AppImage", 2048);
    let args = [
        "release",
        f.p(),
        "--app",
        "demo",
        "--version",
        "1.2.5",
        "--platform",
        "linux-x86_64",
        "--channel",
        "beta",
        "--deltas",
        "0",
        old.to_str().unwrap(),
    ];
    assert_unchanged(&f.project, "does not match the length and SHA-256", || {
        f.pack.fails(&args)
    });
    // `verify` reads everything and reports the damage too.
    let out = f.pack.fails(&["verify", f.p()]);
    assert!(out.contains("beta.linux-x86_64.archive"), "{out}");
}

/// The key IDs `targets` (in the project repository) gives `role`.
fn grant_of(f: &Fixture, role: &str) -> Value {
    let targets = current(&f.project, "targets");
    let roles = targets["signed"]["delegations"]["roles"]
        .as_array()
        .unwrap();
    roles.iter().find(|r| r["name"] == role).unwrap()["keyids"].clone()
}

#[test]
fn project_wide_commands_sign_every_apps_repository() {
    let f = per_app();
    release(&f, "demo", "1.0.0", "beta");
    release(&f, "other", "2.0.0", "beta");
    let stamp = |app: &str| app_role(&f, app, "timestamp")["signed"]["version"].clone();
    let (demo_ts, other_ts) = (stamp("demo"), stamp("other"));
    f.pack.ok(&["timestamp", f.p()]);
    assert_ne!(stamp("demo"), demo_ts);
    assert_ne!(stamp("other"), other_ts);

    // A new beta key: every app's channel role and heads are delegated to it and re-signed.
    let old = grant_of(&f, "beta");
    f.pack.ok(&["rotate", f.p(), "--role", "beta", "--replace"]);
    let new = grant_of(&f, "beta");
    assert_ne!(new, old);
    for app in ["demo", "other"] {
        assert_eq!(
            app_role(&f, app, "targets")["signed"]["delegations"]["roles"][1]["keyids"],
            new,
            "{app}"
        );
        let beta = app_role(&f, app, "beta");
        for role in beta["signed"]["delegations"]["roles"].as_array().unwrap() {
            assert_eq!(role["keyids"], new, "{app}");
        }
        let head = app_role(&f, app, "beta.linux-x86_64");
        let signer = head["signatures"][0]["keyid"].clone();
        assert!(new.as_array().unwrap().contains(&signer), "{app}");
    }
    release(&f, "demo", "1.1.0", "beta");

    // `resign --role beta` renews its heads and archives too; a root rotation reaches every
    // repository with the same root.
    let head_version =
        |app: &str| app_role(&f, app, "beta.linux-x86_64")["signed"]["version"].clone();
    let before = head_version("other");
    f.pack.ok(&["resign", f.p(), "--role", "beta"]);
    assert_ne!(head_version("other"), before);
    f.pack.ok(&["rotate", f.p(), "--role", "root", "--replace"]);
    let root = |dir: &Path| -> Value {
        let v: Value =
            serde_json::from_slice(&std::fs::read(dir.join("2.root.json")).unwrap()).unwrap();
        v["signed"].clone()
    };
    let project_root = root(&f.project.join("repository/metadata"));
    assert_eq!(root(&app_dir(&f, "demo")), project_root);
    assert_eq!(root(&app_dir(&f, "other")), project_root);
    f.verify();
}
