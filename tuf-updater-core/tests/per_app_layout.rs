#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! The per-app repository layout, client side: [`AppUpdater`] reads the app's own repository
//! at `<base>/apps/<app>/metadata/` (targets -> channel -> per platform segment a head and an
//! archive), falls back to the shared `<base>/metadata/` only while it never trusted the
//! app's, lists archives only when the heads cannot answer, and keeps only what every
//! delegation on a head's chain grants. Real HTTP on loopback, real signatures (`RepoSim`,
//! two of them on one server).

mod common;

use std::fs;
use std::path::PathBuf;

use common::*;
use serde_json::{json, Value};
use tuf_updater_core::tuf::metadata::{Common, Targets, SNAPSHOT, TARGETS, TIMESTAMP};
use tuf_updater_core::tuf::signer::{KeyKind, LocalKey};
use tuf_updater_core::{
    AppUpdater, CheckResult, Direction, InstallTarget, PackageManager, PackagedApp, Platform,
    Update, UpdateError,
};

const APP: &str = "demo";
const CHANNEL: &str = "beta";
/// The segment of a release without a format: the head an executable reads.
const PLAIN: &str = "linux-x86_64";
/// A format an executable cannot install: its head is never read.
const DEB: &str = "linux-x86_64-deb";
const APP_METADATA: &str = "/apps/demo/metadata";

fn head(segment: &str) -> String {
    format!("{CHANNEL}.{segment}")
}

fn archive(segment: &str) -> String {
    format!("{CHANNEL}.{segment}.archive")
}

fn artifact(version: &str, segment: &str) -> Vec<u8> {
    format!("{APP} {version} for {segment}").into_bytes()
}

/// Lists the full release `version` of `app` at `<channel>/<app>/<version>/<segment>/<app>`
/// in `role` (the artifact served under `/targets/`), with the custom fields of `extra`
/// added; returns its target path.
fn add_release_of(
    sim: &mut RepoSim,
    role: &str,
    (channel, app): (&str, &str),
    version: &str,
    segment: &str,
    extra: Value,
) -> String {
    let path = format!("{channel}/{app}/{version}/{segment}/{app}");
    sim.add_target(role, &path, &artifact(version, segment));
    let mut custom =
        json!({ "version": version, "published": "2026-11-24T10:00:00Z", "kind": "full" });
    custom
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    sim.targets_mut(role).targets.get_mut(&path).unwrap().custom = Some(custom);
    path
}

fn add_release(sim: &mut RepoSim, role: &str, version: &str, segment: &str) -> String {
    add_release_of(sim, role, (CHANNEL, APP), version, segment, json!({}))
}

/// Top-level targets delegates `<channel>/*/*/*/*` to `channel`, terminating, with `key`.
fn delegate_channel(sim: &mut RepoSim, channel: &str, key: &LocalKey) {
    let mut role = delegated_role(channel, &[&format!("{channel}/*/*/*/*")]);
    role.terminating = true;
    sim.add_delegation(TARGETS, role, &[key]);
    sim.signers
        .insert(channel.to_string(), vec![clone_key(key)]);
}

/// The channel delegates `<channel>/<app>/*/<segment>/*` to its head, then its archive.
fn delegate_segment(sim: &mut RepoSim, segment: &str, key: &LocalKey) {
    let paths = format!("{CHANNEL}/{APP}/*/{segment}/*");
    for role in [head(segment), archive(segment)] {
        sim.add_delegation(CHANNEL, delegated_role(&role, &[&paths]), &[key]);
        sim.signers.insert(role, vec![clone_key(key)]);
    }
}

/// The shared repository (the beta role lists 1.0.0 to 1.5.0) and the app's own beside it on
/// the same server, same root: beta's heads hold 1.3.0 to 1.5.0 (plain) and 1.5.0 (deb),
/// the archives 1.0.0 to 1.2.0 (plain) and 1.0.0 (deb).
fn repos() -> (RepoSim, RepoSim) {
    let mut shared = RepoSim::new();
    let beta_key = new_key(KeyKind::Ed25519);
    delegate_channel(&mut shared, CHANNEL, &beta_key);
    for version in ["1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0", "1.5.0"] {
        add_release(&mut shared, CHANNEL, version, PLAIN);
    }
    shared.publish_all_targets();

    let mut app = RepoSim::beside(&shared, APP_METADATA);
    delegate_channel(&mut app, CHANNEL, &beta_key);
    for segment in [PLAIN, DEB] {
        delegate_segment(&mut app, segment, &beta_key);
    }
    for version in ["1.0.0", "1.1.0", "1.2.0"] {
        add_release(&mut app, &archive(PLAIN), version, PLAIN);
    }
    for version in ["1.3.0", "1.4.0", "1.5.0"] {
        add_release(&mut app, &head(PLAIN), version, PLAIN);
    }
    add_release(&mut app, &archive(DEB), "1.0.0", DEB);
    add_release(&mut app, &head(DEB), "1.5.0", DEB);
    app.publish_all_targets();
    (shared, app)
}

/// A temporary install of the app: an executable, a data dir, a policy path.
struct Local {
    dir: tempfile::TempDir,
}

impl Local {
    fn new() -> Local {
        let local = Local {
            dir: tempfile::tempdir().unwrap(),
        };
        fs::write(local.exe(), b"the installed version").unwrap();
        local
    }

    fn exe(&self) -> PathBuf {
        self.dir.path().join("demo")
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn policy(&self, text: &str) {
        fs::write(self.dir.path().join("policy.json"), text).unwrap();
    }

    fn updater(&self, version: &str, shared: &RepoSim) -> AppUpdater {
        self.updater_of(version, shared, InstallTarget::Executable(self.exe()))
    }

    fn updater_of(&self, version: &str, shared: &RepoSim, target: InstallTarget) -> AppUpdater {
        AppUpdater::builder(APP, version)
            .repository(shared.server.base.as_str())
            .trusted_root(shared.initial_root())
            .data_dir(self.data())
            .install_target(target)
            .policy_path(self.dir.path().join("policy.json"))
            .platform(Platform::LinuxX86_64)
            .default_channel(CHANNEL)
            .build()
            .unwrap()
    }
}

fn available(result: CheckResult) -> Update {
    match result {
        CheckResult::Available(update) => update,
        other => panic!("expected an update, got {other:?}"),
    }
}

fn up_to_date() -> CheckResult {
    CheckResult::UpToDate {
        channel: CHANNEL.to_string(),
    }
}

/// Fails when any request of `server`'s log satisfies `bad`.
fn none_requested(server: &Server, what: &str, bad: impl Fn(&str) -> bool) {
    let requests = server.requests();
    let found: Vec<&String> = requests.iter().filter(|p| bad(p)).collect();
    assert!(
        found.is_empty(),
        "{what} requested: {found:?} (all: {requests:?})"
    );
}

fn is_shared_metadata(path: &str) -> bool {
    path.starts_with("/metadata/")
}

#[tokio::test]
async fn the_check_reads_the_apps_own_repository_and_the_heads_only() {
    let (shared, app) = repos();
    let server = &shared.server;
    let local = Local::new();
    let updater = local.updater("1.4.0", &shared);
    let update = available(updater.check().await.unwrap());
    assert_eq!(update.version.to_string(), "1.5.0");
    assert_eq!(update.direction, Direction::Upgrade);
    assert_eq!(update.target_path, format!("beta/demo/1.5.0/{PLAIN}/demo"));
    assert!(server.requested(&app.current_path(&head(PLAIN))));
    none_requested(server, "an archive", |p| p.contains(".archive"));
    none_requested(server, "the deb head", |p| p.contains(DEB));
    none_requested(server, "shared metadata", is_shared_metadata);
    assert!(local.data().join("tuf-app/per-app-trusted").is_file());
    assert!(local.data().join("tuf-app/root.json").is_file());
    assert!(!local.data().join("tuf/timestamp.json").exists());

    // The artifact comes from the shared targets/.
    server.clear_log();
    let path = updater.download(&update, |_| {}).await.unwrap();
    assert_eq!(fs::read(path).unwrap(), artifact("1.5.0", PLAIN));
    let requests = server.requests();
    assert!(
        requests
            .iter()
            .all(|p| p.starts_with("/targets/beta/demo/1.5.0/")),
        "{requests:?}"
    );

    // Up to date, warm and cold: no archive either.
    for local in [&local, &Local::new()] {
        server.clear_log();
        let updater = local.updater("1.5.0", &shared);
        assert_eq!(updater.check().await.unwrap(), up_to_date());
        none_requested(server, "an archive", |p| p.contains(".archive"));
        none_requested(server, "shared metadata", is_shared_metadata);
    }
}

#[tokio::test]
async fn a_pin_finds_a_release_kept_in_the_archive_and_may_roll_back_to_it() {
    let (shared, app) = repos();
    let server = &shared.server;
    let plain_archive = app.current_path(&archive(PLAIN));

    // An upgrade to the pinned version, older than the whole head.
    let local = Local::new();
    local.policy(r#"{ "pinned_version": "=1.2.0" }"#);
    let update = available(local.updater("1.0.0", &shared).check().await.unwrap());
    assert_eq!(update.version.to_string(), "1.2.0");
    assert_eq!(update.direction, Direction::Upgrade);
    assert!(server.requested(&plain_archive));
    none_requested(server, "the deb archive", |p| p.contains(DEB));

    // A rollback to the pin from a version the head holds: only the pin sends the check to
    // the archive.
    server.clear_log();
    let local = Local::new();
    local.policy(r#"{ "pinned_version": "~1.1", "allow_rollback": true }"#);
    let update = available(local.updater("1.5.0", &shared).check().await.unwrap());
    assert_eq!(update.version.to_string(), "1.1.0");
    assert_eq!(update.direction, Direction::RollbackToPin);
    assert!(server.requested(&plain_archive));
    none_requested(server, "shared metadata", is_shared_metadata);
}

#[tokio::test]
async fn a_held_back_head_sends_an_old_install_to_the_archive_for_an_intermediate_update() {
    let (shared, mut app) = repos();
    // Every release of the head needs 1.1.0 at least; the archive's do not.
    for target in app.targets_mut(&head(PLAIN)).targets.values_mut() {
        let custom = target.custom.as_mut().unwrap().as_object_mut().unwrap();
        custom.insert("min_version".into(), json!("1.1.0"));
    }
    app.publish(&[&head(PLAIN), SNAPSHOT, TIMESTAMP]);
    let local = Local::new();
    let update = available(local.updater("1.0.0", &shared).check().await.unwrap());
    assert_eq!(update.version.to_string(), "1.2.0");
    assert!(shared.server.requested(&app.current_path(&archive(PLAIN))));
}

#[tokio::test]
async fn a_shared_repository_without_per_app_metadata_still_updates() {
    let mut shared = RepoSim::new();
    let beta_key = new_key(KeyKind::Ed25519);
    delegate_channel(&mut shared, CHANNEL, &beta_key);
    for version in ["1.0.0", "1.1.0"] {
        add_release(&mut shared, CHANNEL, version, PLAIN);
    }
    shared.publish_all_targets();
    let server = &shared.server;
    let local = Local::new();
    let updater = local.updater("1.0.0", &shared);
    for _ in 0..2 {
        server.clear_log();
        let update = available(updater.check().await.unwrap());
        assert_eq!(update.version.to_string(), "1.1.0");
        assert_eq!(update.target_path, format!("beta/demo/1.1.0/{PLAIN}/demo"));
        assert_eq!(
            server.log()[0],
            (format!("{APP_METADATA}/timestamp.json"), 404)
        );
        assert!(server.requested("/metadata/timestamp.json"));
        let path = updater.download(&update, |_| {}).await.unwrap();
        assert_eq!(fs::read(path).unwrap(), artifact("1.1.0", PLAIN));
    }
    assert!(local.data().join("tuf/timestamp.json").is_file());
    assert!(!local.data().join("tuf-app/per-app-trusted").exists());
}

#[tokio::test]
async fn once_trusted_the_apps_repository_cannot_be_hidden_to_fall_back_to_the_shared_one() {
    let (mut shared, app) = repos();
    let local = Local::new();
    let updater = local.updater("1.5.0", &shared);
    assert_eq!(updater.check().await.unwrap(), up_to_date());

    // The attacker hides the app's repository; the shared one offers a newer release, validly
    // signed (it is frozen, or its beta key is the attacker's).
    add_release(&mut shared, CHANNEL, "9.0.0", PLAIN);
    shared.publish(&[CHANNEL, SNAPSHOT, TIMESTAMP]);
    shared
        .server
        .put(&app.current_path(TIMESTAMP), Reply::Status(404));
    shared.server.clear_log();
    let err = updater.check().await.unwrap_err();
    match &err {
        UpdateError::Repository {
            source: TufError::TrustedRepositoryMissing { url, .. },
            ..
        } => assert_eq!(*url, format!("{}{APP_METADATA}/", shared.server.base)),
        other => panic!("expected the missing repository, got {other:?}"),
    }
    assert!(
        err.to_string()
            .contains("the per-app repository of demo at http://"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("is missing though this install already trusted it"),
        "{err}"
    );
    none_requested(&shared.server, "shared metadata", is_shared_metadata);
    none_requested(&shared.server, "a target", |p| p.starts_with("/targets/"));
    assert_eq!(fs::read(local.exe()).unwrap(), b"the installed version");
    assert!(!local.data().join("downloads").exists());

    // What keeps it there is the marker: an install that never trusted the app's repository
    // takes the shared one.
    let fresh = Local::new();
    let update = available(fresh.updater("1.5.0", &shared).check().await.unwrap());
    assert_eq!(update.version.to_string(), "9.0.0");
}

#[tokio::test]
async fn a_head_lists_only_what_every_delegation_on_its_chain_grants() {
    let (shared, mut app) = repos();
    // Signed by the beta key: a legitimate release, and beside it another app's, another
    // channel's and another segment's, all outside the head's delegation.
    let plain = head(PLAIN);
    let legit = add_release(&mut app, &plain, "1.6.0", PLAIN);
    let outside = [
        add_release_of(
            &mut app,
            &plain,
            (CHANNEL, "other"),
            "9.0.0",
            PLAIN,
            json!({}),
        ),
        add_release_of(&mut app, &plain, ("stable", APP), "9.0.0", PLAIN, json!({})),
        add_release(&mut app, &plain, "9.0.0", "linux-x86_64-appimage"),
    ];
    app.publish(&[&plain, SNAPSHOT, TIMESTAMP]);
    let client = Client::new();
    let mut tuf = app.updater(&client).unwrap();
    let listed = tuf
        .delegated_targets_chain(&[CHANNEL, &plain])
        .await
        .unwrap();
    assert!(listed.get(&legit).is_some());
    for path in &outside {
        assert!(listed.get(path).is_none(), "{path} listed");
    }
    let local = Local::new();
    let update = available(local.updater("1.5.0", &shared).check().await.unwrap());
    assert_eq!(update.target_path, legit);

    // The beta key widens the head's delegation to every release path (a `*` matches one
    // segment): a stable path stays outside
    // the channel's delegation, which the chain still requires.
    let roles = app.targets_mut(CHANNEL).delegations.as_mut().unwrap();
    let role = roles
        .roles
        .as_mut()
        .unwrap()
        .iter_mut()
        .find(|r| r.name == plain);
    role.unwrap().paths = Some(vec!["*/*/*/*/*".to_string()]);
    let stable = add_release_of(&mut app, &plain, ("stable", APP), "9.1.0", PLAIN, json!({}));
    app.publish(&[CHANNEL, &plain, SNAPSHOT, TIMESTAMP]);
    let mut tuf = app.updater(&Client::new()).unwrap();
    let listed = tuf
        .delegated_targets_chain(&[CHANNEL, &plain])
        .await
        .unwrap();
    assert!(listed.get(&legit).is_some());
    assert!(listed.get(&stable).is_none(), "{stable} listed");
    assert!(listed.get(&outside[1]).is_none());
    assert_eq!(tuf.delegated_roles(CHANNEL).unwrap()[0], plain);
}

#[tokio::test]
async fn a_head_the_channel_does_not_delegate_to_is_never_fetched() {
    let (shared, mut app) = repos();
    let beta_key = clone_key(&app.signers[CHANNEL][0]);
    // Signed by the beta key and listed in snapshot, but not delegated to by the channel: the
    // head of a segment this install could take.
    let appimage = "linux-x86_64-appimage";
    let stray = head(appimage);
    app.delegated
        .insert(stray.clone(), Targets::new(Common::new(1, app.expires)));
    app.signers.insert(stray.clone(), vec![beta_key]);
    add_release(&mut app, &stray, "9.0.0", appimage);
    app.publish(&[&stray, SNAPSHOT, TIMESTAMP]);
    assert!(app.snapshot.meta.contains_key(&format!("{stray}.json")));

    let local = Local::new();
    assert_eq!(
        local.updater("1.5.0", &shared).check().await.unwrap(),
        up_to_date()
    );
    none_requested(&shared.server, "the undelegated head", |p| {
        p.contains(appimage)
    });
}

#[tokio::test]
async fn any_other_failure_of_the_apps_repository_is_an_error_never_a_fallback() {
    let (shared, app) = repos();
    let server = &shared.server;
    // Never trusted yet, and the app's repository answers, but not as it should.
    let timestamp = app.current_path(TIMESTAMP);
    for (what, broken, reply) in [
        ("a server error", timestamp, Some(Reply::Status(500))),
        ("a missing snapshot", app.current_path(SNAPSHOT), None),
    ] {
        let saved = server.get(&broken).unwrap();
        match reply {
            Some(reply) => server.put(&broken, reply),
            None => server.drop_path(&broken),
        }
        server.clear_log();
        let local = Local::new();
        let err = local.updater("1.0.0", &shared).check().await.unwrap_err();
        assert!(
            matches!(err, UpdateError::Repository { .. }),
            "{what}: {err}"
        );
        none_requested(server, "shared metadata", is_shared_metadata);
        assert!(!local.data().join("tuf-app/per-app-trusted").exists());
        server.put_bytes(&broken, saved);
    }
}

#[tokio::test]
async fn a_packaged_install_finds_its_running_release_in_the_archive() {
    let (shared, app) = repos();
    let local = Local::new();
    let target = InstallTarget::Package(PackagedApp {
        manager: PackageManager::Dpkg,
        name: APP.to_string(),
        exe: local.exe(),
    });
    let update = available(
        local
            .updater_of("1.0.0", &shared, target)
            .check()
            .await
            .unwrap(),
    );
    assert_eq!(update.target_path, format!("beta/demo/1.5.0/{DEB}/demo"));
    // The running version's package, kept for a rollback, is 1.0.0's: only the archive has
    // it, and only that segment's archive is read.
    assert!(shared.server.requested(&app.current_path(&archive(DEB))));
    assert!(!shared.server.requested(&app.current_path(&archive(PLAIN))));
    let running = format!("beta/demo/1.0.0/{DEB}/demo");
    assert!(format!("{update:?}").contains(&running), "{update:?}");
}
