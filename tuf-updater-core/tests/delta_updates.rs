//! Delta updates from the client's side, against a real repository served over HTTP
//! (`common::RepoSim`): the patch from the installed version is used when the installed
//! bytes are that version's signed bytes, and the result must be the full release's signed
//! bytes; every way a patch can be wrong (signed but producing other bytes, expanding past
//! the signed length, tampered, truncated or oversized on the wire, for other installed
//! bytes) ends in the full download, with nothing from the patch kept or installed.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::fs;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use common::*;
use serde_json::json;
use tuf_updater_core::delta::make_patch;
use tuf_updater_core::release::patch_path;
use tuf_updater_core::tuf::metadata::TARGETS;
use tuf_updater_core::{AppUpdater, CheckResult, InstallTarget, Platform, Progress, Update};

const APP: &str = "selfupdate";

fn platform() -> &'static str {
    Platform::current().unwrap().as_str()
}

fn full_path(version: &str) -> String {
    format!("stable/{APP}/{version}/{}/{APP}", platform())
}

/// The patch from `old` to `new`.
fn patch(old: &[u8], new: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    make_patch(old, new, &mut out).unwrap();
    out
}

struct Fixture {
    sim: RepoSim,
    dir: tempfile::TempDir,
    old: Vec<u8>,
    new: Vec<u8>,
}

impl Fixture {
    /// 1.0.0 (installed) and 1.1.0 on the stable channel, 2 MiB each, a few edits apart;
    /// no patch yet.
    fn new() -> Fixture {
        let old = noise(2 << 20, 1);
        let mut new = old.clone();
        new[1000..1100].copy_from_slice(&noise(100, 2));
        new.splice(1 << 20..1 << 20, noise(4000, 3));
        let mut sim = RepoSim::new();
        sim.delegate(TARGETS, "stable", &["stable/*/*/*/*"], true);
        let fixture = Fixture {
            sim,
            dir: tempfile::tempdir().unwrap(),
            old,
            new,
        };
        fs::create_dir_all(fixture.exe().parent().unwrap()).unwrap();
        fs::write(fixture.exe(), &fixture.old).unwrap();
        let mut fixture = fixture;
        let (old, new) = (fixture.old.clone(), fixture.new.clone());
        fixture.release("1.0.0", &old, json!({ "kind": "full" }));
        fixture.release("1.1.0", &new, json!({ "kind": "full" }));
        fixture
    }

    /// Lists `content` at `path` with custom fields `kind` (and the rest of a release's).
    fn add(&mut self, path: &str, version: &str, content: &[u8], kind: serde_json::Value) {
        self.sim.add_target("stable", path, content);
        let mut custom = json!({ "version": version, "published": "2026-11-24T10:00:00Z" });
        custom
            .as_object_mut()
            .unwrap()
            .extend(kind.as_object().unwrap().clone());
        let file = self
            .sim
            .targets_mut("stable")
            .targets
            .get_mut(path)
            .unwrap();
        file.custom = Some(custom);
    }

    fn release(&mut self, version: &str, content: &[u8], kind: serde_json::Value) {
        self.add(&full_path(version), version, content, kind);
    }

    /// Publishes `patch_bytes` as the signed patch from 1.0.0 to 1.1.0; returns its URL
    /// path on the server.
    fn publish_patch(&mut self, patch_bytes: &[u8]) -> String {
        let path = patch_path(&full_path("1.1.0"), &"1.0.0".parse().unwrap());
        let kind = json!({ "kind": "delta", "from": "1.0.0", "full": full_path("1.1.0") });
        self.add(&path, "1.1.0", patch_bytes, kind);
        self.sim.publish_all_targets();
        self.sim.target_path(&path, patch_bytes)
    }

    fn full_url(&self) -> String {
        self.sim.target_path(&full_path("1.1.0"), &self.new)
    }

    fn exe(&self) -> PathBuf {
        self.dir.path().join("app").join(APP)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn updater(&self) -> AppUpdater {
        AppUpdater::builder(APP, "1.0.0")
            .repository(&self.sim.server.base)
            .trusted_root(self.sim.initial_root())
            .data_dir(self.data())
            .install_target(InstallTarget::Executable(self.exe()))
            .policy_path(self.dir.path().join("policy.json"))
            .build()
            .unwrap()
    }

    async fn check(&self) -> (AppUpdater, Update) {
        let updater = self.updater();
        match updater.check().await.unwrap() {
            CheckResult::Available(update) => (updater, update),
            other => panic!("expected an update, got {other:?}"),
        }
    }

    /// Downloads `update`; returns the progress events' `Started` lengths and the bytes
    /// the `Progress` events counted.
    async fn download(&self, updater: &AppUpdater, update: &Update) -> (Vec<u64>, u64) {
        let events = Arc::new(Mutex::new((Vec::new(), 0u64)));
        let sink = events.clone();
        let path = updater
            .download(update, move |p| {
                let mut e = sink.lock().unwrap();
                match p {
                    Progress::Started { content_length, .. } => e.0.push(content_length),
                    Progress::Progress { chunk_length, .. } => e.1 += chunk_length,
                    _ => {}
                }
            })
            .await
            .unwrap();
        assert!(
            fs::read(&path).unwrap() == self.new,
            "the download is not 1.1.0"
        );
        let e = events.lock().unwrap();
        (e.0.clone(), e.1)
    }

    /// Nothing but the verified full download is left in the data dir's download folders.
    fn assert_only_the_full_download_kept(&self, updater: &AppUpdater, update: &Update) {
        let kept: Vec<PathBuf> = ["downloads", "partial", "patching"]
            .iter()
            .filter_map(|d| fs::read_dir(self.data().join(d)).ok())
            .flat_map(|entries| entries.flatten().map(|e| e.path()))
            .collect();
        assert_eq!(kept, vec![updater.download_path(update)]);
    }
}

#[tokio::test]
async fn the_patch_from_the_installed_version_is_downloaded_applied_and_installed() {
    let mut f = Fixture::new();
    let patch_bytes = patch(&f.old, &f.new);
    assert!(
        patch_bytes.len() < f.new.len() / 50,
        "{}",
        patch_bytes.len()
    );
    let patch_url = f.publish_patch(&patch_bytes);
    let (updater, update) = f.check().await;
    assert_eq!(update.size, f.new.len() as u64);
    assert_eq!(update.download_size, patch_bytes.len() as u64);
    f.sim.server.clear_log();
    let (started, counted) = f.download(&updater, &update).await;
    assert_eq!(started, vec![patch_bytes.len() as u64]);
    assert_eq!(counted, patch_bytes.len() as u64);
    assert!(f.sim.server.requested(&patch_url));
    assert!(
        !f.sim.server.requested(&f.full_url()),
        "the full file was downloaded"
    );
    f.assert_only_the_full_download_kept(&updater, &update);
    updater.install(&update).unwrap();
    assert!(
        fs::read(f.exe()).unwrap() == f.new,
        "the installed file is not 1.1.0"
    );
}

/// Downloads through a bad patch: the full file is downloaded after it, and the result,
/// kept and installable, is 1.1.0.
async fn falls_back_to_the_full_download(f: &Fixture, patch_len: u64) {
    let (updater, update) = f.check().await;
    assert_eq!(update.download_size, patch_len);
    f.sim.server.clear_log();
    let (started, _) = f.download(&updater, &update).await;
    assert_eq!(started, vec![patch_len, f.new.len() as u64]);
    assert!(f.sim.server.requested(&f.full_url()));
    f.assert_only_the_full_download_kept(&updater, &update);
    updater.install(&update).unwrap();
    assert!(fs::read(f.exe()).unwrap() == f.new);
}

#[tokio::test]
async fn a_signed_patch_that_produces_other_bytes_is_refused_by_the_full_hash() {
    let mut f = Fixture::new();
    // Signed by the channel's key (a publisher bug, or a key that signs what it is told),
    // valid zstd, and it turns 1.0.0 into something of 1.1.0's length but other bytes.
    let mut evil = f.new.clone();
    evil[12345] ^= 1;
    let patch_bytes = patch(&f.old, &evil);
    f.publish_patch(&patch_bytes);
    falls_back_to_the_full_download(&f, patch_bytes.len() as u64).await;
}

#[tokio::test]
async fn a_signed_patch_that_expands_past_the_full_length_is_stopped_there() {
    let mut f = Fixture::new();
    let mut longer = f.new.clone();
    longer.extend(vec![0u8; 8 << 20]); // 10 MiB out of a small patch for a 2 MiB file
    let patch_bytes = patch(&f.old, &longer);
    f.publish_patch(&patch_bytes);
    falls_back_to_the_full_download(&f, patch_bytes.len() as u64).await;
}

#[tokio::test]
async fn a_patch_tampered_truncated_or_oversized_on_the_wire_is_refused() {
    for attack in ["tampered", "truncated", "oversized"] {
        let mut f = Fixture::new();
        let patch_bytes = patch(&f.old, &f.new);
        let url = f.publish_patch(&patch_bytes);
        let mut served = patch_bytes.clone();
        match attack {
            "tampered" => served[patch_bytes.len() / 2] ^= 0x40,
            "truncated" => served.truncate(patch_bytes.len() - 10),
            _ => served.extend_from_slice(&noise(100_000, 4)),
        }
        f.sim.server.put_bytes(&url, served);
        falls_back_to_the_full_download(&f, patch_bytes.len() as u64).await;
    }
}

#[tokio::test]
async fn no_patch_is_offered_when_the_installed_bytes_are_not_the_signed_version() {
    let mut f = Fixture::new();
    let patch_bytes = patch(&f.old, &f.new);
    let patch_url = f.publish_patch(&patch_bytes);
    // The installed file was modified locally: not 1.0.0's signed bytes.
    let mut modified = f.old.clone();
    modified[7] ^= 1;
    fs::write(f.exe(), &modified).unwrap();
    let (updater, update) = f.check().await;
    assert_eq!(update.download_size, update.size);
    f.sim.server.clear_log();
    let (started, _) = f.download(&updater, &update).await;
    assert_eq!(started, vec![f.new.len() as u64]);
    assert!(!f.sim.server.requested(&patch_url));
}

#[tokio::test]
async fn the_installed_file_changing_after_the_check_falls_back() {
    let mut f = Fixture::new();
    let patch_bytes = patch(&f.old, &f.new);
    f.publish_patch(&patch_bytes);
    let (updater, update) = f.check().await;
    assert_eq!(update.download_size, patch_bytes.len() as u64);
    let mut modified = f.old.clone();
    modified[7] ^= 1;
    fs::write(f.exe(), &modified).unwrap();
    f.sim.server.clear_log();
    let (started, _) = f.download(&updater, &update).await;
    assert_eq!(started, vec![patch_bytes.len() as u64, f.new.len() as u64]);
}

#[tokio::test]
async fn what_a_killed_apply_left_is_removed_by_the_next_check() {
    let mut f = Fixture::new();
    let patch_bytes = patch(&f.old, &f.new);
    f.publish_patch(&patch_bytes);
    // A process killed while applying leaves its staging file.
    let patching = f.data().join("patching");
    fs::create_dir_all(&patching).unwrap();
    fs::write(patching.join("patched-abc123"), b"half a file").unwrap();
    let (updater, update) = f.check().await;
    assert!(fs::read_dir(&patching).unwrap().next().is_none());
    f.download(&updater, &update).await;
    f.assert_only_the_full_download_kept(&updater, &update);
}
