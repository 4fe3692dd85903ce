//! Bundle updates by tar patch, from the client's side, against a real repository served
//! over HTTP (`common::RepoSim`): an installed `Demo.app` (unpacked from 1.0.0's
//! `.app.tar.gz`) updates to 1.1.0 by downloading only the per-file patch of the tar; the
//! rebuilt tar must match 1.1.0's signed tar digest before it is installed. A modified
//! installed file, or a signed patch that rebuilds other bytes, ends in the full download,
//! and 1.1.0 is installed all the same.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use common::*;
use serde_json::json;
use sha2::{Digest, Sha256};
use tuf_updater_core::delta::make_tar_patch;
use tuf_updater_core::release::patch_path;
use tuf_updater_core::tuf::metadata::TARGETS;
use tuf_updater_core::{AppUpdater, CheckResult, InstallTarget, Platform, Progress, Update};

const APP: &str = "demo";
const FILE: &str = "Demo.app.tar.gz";

fn full_path(version: &str) -> String {
    let platform = Platform::current().unwrap();
    format!("stable/{APP}/{version}/{}/{FILE}", platform.as_str())
}

type Files = Vec<(String, Vec<u8>)>;

/// 1.0.0's bundle: 40 resources, an executable, an Info.plist.
fn old_files() -> Files {
    let mut files: Files = (0..40)
        .map(|i| (format!("Contents/Resources/r{i}.bin"), noise(16 << 10, i)))
        .collect();
    files.push(("Contents/MacOS/demo".into(), noise(600 << 10, 99)));
    files.push((
        "Contents/Info.plist".into(),
        b"<plist>1.0.0</plist>".to_vec(),
    ));
    files
}

/// 1.1.0's: two resources of 40 (5%) replaced, the executable edited, the plist changed.
fn new_files() -> Files {
    let mut files = old_files();
    files[5].1 = noise(16 << 10, 1005);
    files[17].1 = noise(16 << 10, 1017);
    files[40].1[4096..4196].copy_from_slice(&noise(100, 7));
    files[41].1 = b"<plist>1.1.0</plist>".to_vec();
    files
}

/// The uncompressed tar of `Demo.app/` holding `files`, as `tauri build` archives a bundle.
fn tar_of(files: &Files) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for dir in ["Demo.app/", "Demo.app/Contents/"] {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_size(0);
        h.set_mode(0o755);
        tar.append_data(&mut h, dir, std::io::empty()).unwrap();
    }
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        tar.append_data(&mut h, format!("Demo.app/{name}"), data.as_slice())
            .unwrap();
    }
    tar.into_inner().unwrap()
}

fn gzip(tar: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(tar).unwrap();
    gz.finish().unwrap()
}

fn tar_patch(old: &[u8], new: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    make_tar_patch(old, new, &mut out).unwrap();
    out
}

/// What the installer makes of `tar_gz`: the bundle tree.
fn unpacked(dir: &Path, tar_gz: &[u8], name: &str) -> PathBuf {
    let archive = dir.join(format!("{name}.tar.gz"));
    fs::write(&archive, tar_gz).unwrap();
    let dest = dir.join(name);
    tuf_updater_core::install::stage_bundle(&archive, FILE, &dest).unwrap();
    dest
}

struct Fixture {
    sim: RepoSim,
    dir: tempfile::TempDir,
    old_tar: Vec<u8>,
    new_tar: Vec<u8>,
    new_gz: Vec<u8>,
    /// 1.1.0's bundle as the installer unpacks its `.tar.gz`.
    expected: BTreeMap<String, Vec<u8>>,
}

impl Fixture {
    /// 1.0.0 (installed as a bundle) and 1.1.0 on the stable channel, each with its signed
    /// tar digest; no patch yet.
    fn new() -> Fixture {
        let mut sim = RepoSim::new();
        sim.delegate(TARGETS, "stable", &["stable/*/*/*/*"], true);
        let dir = tempfile::tempdir().unwrap();
        let (old_tar, new_tar) = (tar_of(&old_files()), tar_of(&new_files()));
        let (old_gz, new_gz) = (gzip(&old_tar), gzip(&new_tar));
        fs::create_dir_all(dir.path().join("app")).unwrap();
        let installed = unpacked(&dir.path().join("app"), &old_gz, "Demo.app");
        assert!(installed.join("Contents/MacOS/demo").is_file());
        let expected = tree(&unpacked(dir.path(), &new_gz, "expected"));
        let mut f = Fixture {
            sim,
            dir,
            old_tar,
            new_tar,
            new_gz,
            expected,
        };
        let (old_tar, new_tar) = (f.old_tar.clone(), f.new_tar.clone());
        f.release("1.0.0", &old_gz, &old_tar);
        let new_gz = f.new_gz.clone();
        f.release("1.1.0", &new_gz, &new_tar);
        f
    }

    /// Lists `content` at `path` with custom fields `fields` (and a release's others).
    fn add(&mut self, path: &str, version: &str, content: &[u8], fields: serde_json::Value) {
        self.sim.add_target("stable", path, content);
        let mut custom = json!({ "version": version, "published": "2026-11-24T10:00:00Z" });
        custom
            .as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        let file = self
            .sim
            .targets_mut("stable")
            .targets
            .get_mut(path)
            .unwrap();
        file.custom = Some(custom);
    }

    fn release(&mut self, version: &str, gz: &[u8], tar: &[u8]) {
        let digest = json!({ "length": tar.len(), "sha256": hex::encode(Sha256::digest(tar)) });
        let fields = json!({ "kind": "full", "tar": digest });
        self.add(&full_path(version), version, gz, fields);
    }

    /// Publishes `patch_bytes` as the signed tar patch from 1.0.0 to 1.1.0; returns its URL
    /// path on the server.
    fn publish_patch(&mut self, patch_bytes: &[u8]) -> String {
        let path = patch_path(&full_path("1.1.0"), &"1.0.0".parse().unwrap());
        let fields = json!({ "kind": "delta", "from": "1.0.0", "full": full_path("1.1.0"),
            "format": "tar" });
        self.add(&path, "1.1.0", patch_bytes, fields);
        self.sim.publish_all_targets();
        self.sim.target_path(&path, patch_bytes)
    }

    fn full_url(&self) -> String {
        self.sim.target_path(&full_path("1.1.0"), &self.new_gz)
    }

    fn bundle(&self) -> PathBuf {
        self.dir.path().join("app").join("Demo.app")
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn updater(&self) -> AppUpdater {
        AppUpdater::builder(APP, "1.0.0")
            .repository(&self.sim.server.base)
            .trusted_root(self.sim.initial_root())
            .data_dir(self.data())
            .install_target(InstallTarget::Bundle(self.bundle()))
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

    /// Downloads `update`; returns the verified file and the `Started` lengths.
    async fn download(&self, updater: &AppUpdater, update: &Update) -> (PathBuf, Vec<u64>) {
        let started = Arc::new(Mutex::new(Vec::new()));
        let sink = started.clone();
        let path = updater
            .download(update, move |p| {
                if let Progress::Started { content_length, .. } = p {
                    sink.lock().unwrap().push(content_length);
                }
            })
            .await
            .unwrap();
        let started = started.lock().unwrap().clone();
        (path, started)
    }

    /// Installs `update` and checks the bundle is now 1.1.0's tree.
    fn install(&self, updater: &AppUpdater, update: &Update) {
        updater.install(update).unwrap();
        assert!(
            tree(&self.bundle()) == self.expected,
            "the installed bundle is not 1.1.0's"
        );
    }
}

/// Downloads through a patch that must not be used: the full `.tar.gz` comes after it, and
/// 1.1.0 is installed from it.
async fn falls_back_to_the_full_download(f: &Fixture, patch_len: u64) {
    let (updater, update) = f.check().await;
    assert_eq!(update.download_size, patch_len);
    f.sim.server.clear_log();
    let (path, started) = f.download(&updater, &update).await;
    assert_eq!(started, vec![patch_len, f.new_gz.len() as u64]);
    assert!(f.sim.server.requested(&f.full_url()));
    assert_eq!(path, updater.download_path(&update));
    assert!(fs::read(&path).unwrap() == f.new_gz);
    f.install(&updater, &update);
}

#[tokio::test]
async fn a_bundle_downloads_only_the_tar_patch_and_installs_the_new_tree() {
    let mut f = Fixture::new();
    let patch_bytes = tar_patch(&f.old_tar, &f.new_tar);
    // Two new resources (32 KiB of noise) and small edits: a fraction of the archive.
    assert!(
        (patch_bytes.len() as u64) < f.new_gz.len() as u64 / 10,
        "a patch of {} bytes for an archive of {}",
        patch_bytes.len(),
        f.new_gz.len()
    );
    let patch_url = f.publish_patch(&patch_bytes);
    let (updater, update) = f.check().await;
    assert_eq!(update.size, f.new_gz.len() as u64);
    assert_eq!(update.download_size, patch_bytes.len() as u64);
    f.sim.server.clear_log();
    let (path, started) = f.download(&updater, &update).await;
    assert_eq!(started, vec![patch_bytes.len() as u64]);
    assert!(f.sim.server.requested(&patch_url));
    assert!(
        !f.sim.server.requested(&f.full_url()),
        "the full archive was downloaded"
    );
    assert!(
        path.to_string_lossy().ends_with(".tar"),
        "{}",
        path.display()
    );
    assert!(fs::read(&path).unwrap() == f.new_tar, "not 1.1.0's tar");
    // Only the rebuilt tar is kept: the patch is gone, nothing is left half-applied.
    let kept: Vec<PathBuf> = ["downloads", "partial", "patching"]
        .iter()
        .filter_map(|d| fs::read_dir(f.data().join(d)).ok())
        .flat_map(|entries| entries.flatten().map(|e| e.path()))
        .collect();
    assert_eq!(kept, vec![path.clone()]);
    // A second download reuses it, verified.
    f.sim.server.clear_log();
    let (again, _) = f.download(&updater, &update).await;
    assert_eq!(again, path);
    assert!(!f.sim.server.requested(&patch_url));
    // A check keeps it (it is this update's).
    let (updater, update) = f.check().await;
    assert!(path.exists(), "the check pruned the current update's tar");
    f.install(&updater, &update);
    assert!(!path.exists(), "the tar is removed once installed");
}

#[tokio::test]
async fn a_modified_installed_file_falls_back_to_the_full_download() {
    let mut f = Fixture::new();
    let patch_bytes = tar_patch(&f.old_tar, &f.new_tar);
    f.publish_patch(&patch_bytes);
    // An unchanged resource (taken as is by the patch) modified locally.
    let local = f.bundle().join("Contents/Resources/r9.bin");
    let mut bytes = fs::read(&local).unwrap();
    bytes[100] ^= 1;
    fs::write(&local, bytes).unwrap();
    falls_back_to_the_full_download(&f, patch_bytes.len() as u64).await;
}

#[tokio::test]
async fn a_signed_patch_that_rebuilds_other_bytes_is_refused_by_the_tar_digest() {
    let mut f = Fixture::new();
    // Signed by the channel's key, valid, and it rebuilds a tar of 1.1.0's length with one
    // byte of the executable changed.
    let mut evil = new_files();
    evil[40].1[300_000] ^= 0x80;
    let evil_tar = tar_of(&evil);
    assert_eq!(evil_tar.len(), f.new_tar.len());
    let patch_bytes = tar_patch(&f.old_tar, &evil_tar);
    f.publish_patch(&patch_bytes);
    falls_back_to_the_full_download(&f, patch_bytes.len() as u64).await;
}

#[tokio::test]
async fn a_stale_rebuilt_tar_is_pruned_by_the_next_check() {
    let mut f = Fixture::new();
    let patch_bytes = tar_patch(&f.old_tar, &f.new_tar);
    f.publish_patch(&patch_bytes);
    let downloads = f.data().join("downloads");
    fs::create_dir_all(&downloads).unwrap();
    let stale = downloads.join("stable_demo_1.0.5_Demo.app.tar.gz.tar");
    fs::write(&stale, b"an older update's tar").unwrap();
    let (_updater, _update) = f.check().await;
    assert!(!stale.exists());
}
