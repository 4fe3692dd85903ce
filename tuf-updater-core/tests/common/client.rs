//! The client side of a test: a temporary directory with `metadata/` and `targets/`, a clock,
//! limits, and helpers that build a real `TufClient` (HTTP fetcher included) against a
//! `RepoSim`, run it, and check what it left on disk.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tempfile::TempDir;
use tuf_updater_core::tuf::download::DownloadOptions;
use tuf_updater_core::tuf::error::Rule;
use tuf_updater_core::tuf::fetch::{FetchError, HttpConfig, HttpFetcher};
use tuf_updater_core::tuf::{ClientConfig, Limits, TufClient, TufError};

use super::repo::{t0, RepoSim};

pub struct Client {
    /// Holds `metadata/` and `targets/`; nothing else may ever appear in it.
    pub tmp: TempDir,
    pub metadata_dir: PathBuf,
    pub target_dir: PathBuf,
    /// The client's clock (spec 5.1); `t0()` unless a test moves it.
    pub now: DateTime<Utc>,
    pub limits: Limits,
    /// Retries of target downloads: a short back-off, so a cut transfer does not slow tests.
    pub download: DownloadOptions,
}

impl Client {
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let metadata_dir = tmp.path().join("metadata");
        let target_dir = tmp.path().join("targets");
        Client {
            tmp,
            metadata_dir,
            target_dir,
            now: t0(),
            limits: Limits::default(),
            download: DownloadOptions {
                retries: 2,
                backoff: std::time::Duration::from_millis(10),
                ..DownloadOptions::default()
            },
        }
    }

    /// Every file under `metadata/`: relative name -> bytes.
    pub fn metadata(&self) -> BTreeMap<String, Vec<u8>> {
        tree(&self.metadata_dir)
    }

    /// Every file under `targets/`.
    pub fn targets(&self) -> BTreeMap<String, Vec<u8>> {
        tree(&self.target_dir)
    }

    /// Every file in the client's whole directory, relative to it.
    pub fn all_files(&self) -> BTreeMap<String, Vec<u8>> {
        tree(self.tmp.path())
    }

    /// The stored metadata file `name` (e.g. "timestamp.json").
    pub fn stored(&self, name: &str) -> Option<Vec<u8>> {
        std::fs::read(self.metadata_dir.join(name)).ok()
    }

    /// The `version` field of the stored metadata file `name`.
    pub fn stored_version(&self, name: &str) -> Option<u64> {
        let bytes = self.stored(name)?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        value["signed"]["version"].as_u64()
    }

    pub fn local_target(&self, path: &str) -> PathBuf {
        TufClient::local_target_path(&self.target_dir, path)
    }
}

/// All files below `dir` (recursively), by path relative to `dir`; empty if `dir` is missing.
pub fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path
                    .strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

impl RepoSim {
    pub fn config(&self, client: &Client) -> ClientConfig {
        let mut config = ClientConfig::new(self.metadata_url(), &client.metadata_dir);
        config.targets_url = Some(self.targets_url());
        config.limits = client.limits.clone();
        config.download = client.download.clone();
        config
    }

    /// An updater for `client` bootstrapped with `root` (used only when it has none stored).
    pub fn updater_with_root(&self, client: &Client, root: &[u8]) -> Result<TufClient, TufError> {
        let fetcher = HttpFetcher::new(&HttpConfig::default())?;
        TufClient::with_time(
            self.config(client),
            Arc::new(fetcher),
            Some(root),
            client.now,
        )
    }

    /// An updater for `client`, bootstrapped with `1.root.json`.
    pub fn updater(&self, client: &Client) -> Result<TufClient, TufError> {
        self.updater_with_root(client, &self.initial_root())
    }

    /// One update cycle: a new updater, refreshed.
    pub async fn refresh(&self, client: &Client) -> Result<TufClient, TufError> {
        let mut updater = self.updater(client)?;
        updater.refresh().await?;
        Ok(updater)
    }

    /// One update cycle that fetches `target_path` as an app would: refresh, find it, reuse
    /// a valid cached copy or download it.
    pub async fn download(&self, client: &Client, target_path: &str) -> Result<PathBuf, TufError> {
        let mut updater = self.refresh(client).await?;
        let info = updater
            .get_target_info(target_path)
            .await?
            .ok_or_else(|| TufError::TargetNotFound(target_path.to_string()))?;
        let local = client.local_target(target_path);
        if let Some(cached) = updater.find_cached_target(&info, &local)? {
            return Ok(cached);
        }
        updater.download_target(target_path, &info, &local).await
    }

    /// One update cycle that looks `target_path` up (`Ok(None)`: no trusted role lists it).
    pub async fn lookup(
        &self,
        client: &Client,
        target_path: &str,
    ) -> Result<Option<tuf_updater_core::tuf::metadata::TargetFile>, TufError> {
        let mut updater = self.refresh(client).await?;
        updater.get_target_info(target_path).await
    }
}

impl RepoSim {
    /// As `lookup`, on a thread and runtime of its own, and the test fails if it has not
    /// ended after `limit`. (A search that loops without awaiting anything never yields, so
    /// `tokio::time::timeout` in the same runtime could not stop it.)
    pub fn lookup_within(
        &self,
        client: &Client,
        target_path: &str,
        limit: std::time::Duration,
    ) -> Result<Option<tuf_updater_core::tuf::metadata::TargetFile>, TufError> {
        let mut updater = self.updater(client)?;
        let target_path = target_path.to_string();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let result = runtime.block_on(async move {
                updater.refresh().await?;
                updater.get_target_info(&target_path).await
            });
            let _ = tx.send(result);
        });
        rx.recv_timeout(limit)
            .unwrap_or_else(|e| panic!("the target search did not end within {limit:?}: {e}"))
    }
}

/// The error of `result`, which `expected` must accept: a `matches!` on its variant, its
/// spec rule and its fields, or one of the `is_*` helpers below.
#[track_caller]
pub fn expect_err<T>(
    result: Result<T, TufError>,
    expected: impl FnOnce(&TufError) -> bool,
) -> TufError {
    let err = match result {
        Ok(_) => panic!("expected an error, got Ok"),
        Err(e) => e,
    };
    assert!(expected(&err), "unexpected error: {err} ({err:?})");
    err
}

/// A signature threshold refusal under `rule` for `role`, with `valid` of `threshold`.
pub fn is_threshold(e: &TufError, rule: Rule, role: &str, valid: u64, threshold: u64) -> bool {
    matches!(e, TufError::Threshold { rule: r, role: name, valid: v, threshold: t }
        if *r == rule && name.name() == role && *v == valid && *t == threshold)
}

/// A version refusal under `rule` for `role`: `found` where `expected` was due.
pub fn is_version_mismatch(
    e: &TufError,
    rule: Rule,
    role: &str,
    expected: u64,
    found: u64,
) -> bool {
    matches!(e, TufError::VersionMismatch { rule: r, role: name, expected: x, found: f }
        if *r == rule && name.name() == role && *x == expected && *f == found)
}

/// A rollback refusal under `rule` for `role`, from `trusted` to `new`.
pub fn is_rollback(e: &TufError, rule: Rule, role: &str, trusted: u64, new: u64) -> bool {
    matches!(e, TufError::Rollback { rule: r, role: name, trusted: t, new: n }
        if *r == rule && name.name() == role && *t == trusted && *n == new)
}

/// A download of the file whose URL ends with `/file` stopped at `limit` bytes.
pub fn is_too_large(e: &TufError, file: &str, limit: u64) -> bool {
    matches!(e, TufError::Fetch(FetchError::TooLarge { url, limit: l })
        if url.ends_with(&format!("/{file}")) && *l == limit)
}

/// Asserts two directory snapshots are equal, naming the files that differ.
#[track_caller]
pub fn assert_same_files(before: &BTreeMap<String, Vec<u8>>, after: &BTreeMap<String, Vec<u8>>) {
    let changed: Vec<&String> = before
        .keys()
        .chain(after.keys())
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    assert!(changed.is_empty(), "files changed: {changed:?}");
}

/// As `assert_same_files`, except that each of `updated` must now hold the given bytes.
#[track_caller]
pub fn assert_same_files_except(
    before: &BTreeMap<String, Vec<u8>>,
    after: &BTreeMap<String, Vec<u8>>,
    updated: &[(&str, &[u8])],
) {
    let mut expected = before.clone();
    for (name, bytes) in updated {
        expected.insert(name.to_string(), bytes.to_vec());
    }
    assert_same_files(&expected, after);
}
