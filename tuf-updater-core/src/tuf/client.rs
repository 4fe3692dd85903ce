//! The TUF client workflow (spec 5): refresh the top-level metadata, find a target through
//! the delegation graph, download it verified. Rules live in [`TrustedMetadataSet`]; this
//! module does the I/O around it: local storage, the network, limits.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::files::Durability;
use crate::tuf::download::{download_verified_named, file_matches, DownloadOptions, Progress};
use crate::tuf::error::{Result, Rule, TufError};
use crate::tuf::fetch::{fetch_capped, Fetcher};
use crate::tuf::metadata::{TargetFile, ROOT, SNAPSHOT, TARGETS, TIMESTAMP};
use crate::tuf::store::{quote, safe_file_name, MetadataStore};
use crate::tuf::trusted::{AuthorizedTargets, TrustedMetadataSet};
use chrono::{DateTime, Utc};

/// Caps on everything the client reads. The metadata sizes are python-tuf's defaults, so a
/// repository that works with the reference client works with ours.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest root file read, in bytes.
    pub root_max_len: u64,
    /// Largest timestamp file read, in bytes.
    pub timestamp_max_len: u64,
    /// Used when timestamp does not give snapshot's length.
    pub snapshot_max_len: u64,
    /// Used when snapshot does not give a targets role's length.
    pub targets_max_len: u64,
    /// New root versions accepted in one refresh (spec 5.3: bounded root rotation).
    pub max_root_rotations: u64,
    /// Targets roles visited in one lookup (spec 5.6.7 pre-order search).
    pub max_delegations: usize,
    /// Longest time one metadata file may take to arrive.
    pub metadata_deadline: Duration,
    /// Slowest average speed tolerated for a target once `slow_grace` has passed.
    pub min_target_bytes_per_sec: u64,
    /// How long a target download runs before its average speed is checked.
    pub slow_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            root_max_len: 512 * 1024,
            timestamp_max_len: 16 * 1024,
            snapshot_max_len: 2 * 1024 * 1024,
            targets_max_len: 5 * 1024 * 1024,
            max_root_rotations: 256,
            max_delegations: 32,
            metadata_deadline: Duration::from_secs(60),
            min_target_bytes_per_sec: 4 * 1024,
            slow_grace: Duration::from_secs(30),
        }
    }
}

/// Where one repository's metadata lives, remotely and locally.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Base URL of `metadata/` (with or without a trailing slash).
    pub metadata_url: String,
    /// Local directory of trusted metadata.
    pub metadata_dir: PathBuf,
    /// Base URL of `targets/`; needed only to download.
    pub targets_url: Option<String>,
    /// Caps on what is read, and time limits.
    pub limits: Limits,
    /// Fetch targets as `<dir>/<hash>.<name>` when root enables consistent snapshots.
    pub prefix_targets_with_hash: bool,
    /// Retries of target downloads (speed limits come from `limits`).
    pub download: DownloadOptions,
}

impl ClientConfig {
    /// A configuration for the repository whose metadata is at `metadata_url`, trusted metadata
    /// kept in `metadata_dir`; default limits, no targets URL, hash-prefixed targets.
    pub fn new(metadata_url: impl Into<String>, metadata_dir: impl Into<PathBuf>) -> Self {
        ClientConfig {
            metadata_url: metadata_url.into(),
            metadata_dir: metadata_dir.into(),
            targets_url: None,
            limits: Limits::default(),
            prefix_targets_with_hash: true,
            download: DownloadOptions::default(),
        }
    }
}

/// A TUF client for one repository.
pub struct TufClient {
    config: ClientConfig,
    store: MetadataStore,
    fetcher: Arc<dyn Fetcher>,
    trusted: TrustedMetadataSet,
    refreshed: bool,
    /// Versions of the roles in the stored snapshot this refresh replaced: a stored role
    /// file of another version than the new snapshot names is stale and not worth
    /// verifying (it would be refused at 5.6.4 anyway).
    replaced_snapshot: Option<std::collections::BTreeMap<String, u64>>,
}

fn with_slash(url: &str) -> String {
    if url.ends_with('/') {
        url.to_string()
    } else {
        format!("{url}/")
    }
}

impl TufClient {
    /// Loads the trusted root from the metadata directory (spec 5.2). When there is none yet,
    /// `bootstrap_root` (the root shipped with the app) is used and stored. A stored root that
    /// cannot be used (unparsable, not signed by its own threshold) is an error,
    /// [`TufError::StoredRootUnusable`], and is left untouched.
    pub fn new(
        config: ClientConfig,
        fetcher: Arc<dyn Fetcher>,
        bootstrap_root: Option<&[u8]>,
    ) -> Result<Self> {
        Self::with_time(config, fetcher, bootstrap_root, Utc::now())
    }

    /// As [`TufClient::new`] with an explicit reference time (spec 5.1), for tests and tools.
    pub fn with_time(
        config: ClientConfig,
        fetcher: Arc<dyn Fetcher>,
        bootstrap_root: Option<&[u8]>,
        now: DateTime<Utc>,
    ) -> Result<Self> {
        let store = MetadataStore::new(&config.metadata_dir);
        let local = store.read(ROOT, config.limits.root_max_len)?;
        let trusted = match (local, bootstrap_root) {
            // Never replaced by the bootstrap root: that would drop every rotation since.
            (Some(bytes), _) => {
                TrustedMetadataSet::new(&bytes, now).map_err(|e| TufError::StoredRootUnusable {
                    path: store.path_of(ROOT).display().to_string(),
                    reason: Box::new(e),
                })?
            }
            (None, Some(bootstrap)) => {
                // Not fsynced: if a crash loses this copy, the app still has its own.
                let set = TrustedMetadataSet::new(bootstrap, now)?;
                store.write(ROOT, bootstrap, Durability::Atomic)?;
                set
            }
            (None, None) => {
                return Err(TufError::Missing {
                    rule: Rule::TrustedRoot,
                    detail: format!("no trusted root in {}", store.dir().display()),
                })
            }
        };
        Ok(TufClient {
            config,
            store,
            fetcher,
            trusted,
            refreshed: false,
            replaced_snapshot: None,
        })
    }

    /// The metadata trusted so far.
    pub fn trusted(&self) -> &TrustedMetadataSet {
        &self.trusted
    }

    /// Updates root, timestamp, snapshot and top-level targets (spec 5.3 to 5.6). Call once
    /// per update cycle; a second call does nothing (start a new `TufClient` for a new cycle).
    pub async fn refresh(&mut self) -> Result<()> {
        if self.refreshed {
            return Ok(());
        }
        let root_changed = self.load_root().await?;
        let timestamp_changed = self.load_timestamp().await?;
        let snapshot_from_cache = self.load_snapshot().await?;
        let unchanged = !root_changed && !timestamp_changed && snapshot_from_cache;
        // When nothing changed since the last refresh and the stored targets.json is the
        // version snapshot names and unexpired, checking its signatures can wait for the first
        // lookup (which does it before using it). A warm start of an app with a large
        // targets.json then costs two small requests and no large parse.
        if !(unchanged && self.stored_targets_current()?) {
            self.load_targets(TARGETS, ROOT).await?;
        }
        self.refreshed = true;
        Ok(())
    }

    /// Whether the stored top-level targets has the version snapshot names and has not
    /// expired. Reads only those two fields; says nothing about its signatures.
    fn stored_targets_current(&self) -> Result<bool> {
        #[derive(serde::Deserialize)]
        struct Peek {
            signed: PeekSigned,
        }
        #[derive(serde::Deserialize)]
        struct PeekSigned {
            version: u64,
            expires: String,
        }
        let Some(expected) = self.trusted.snapshot().and_then(|s| s.role_meta(TARGETS)) else {
            return Ok(false);
        };
        let max_len = expected
            .length
            .unwrap_or(self.config.limits.targets_max_len);
        let Some(bytes) = self.store.read(TARGETS, max_len)? else {
            return Ok(false);
        };
        let Ok(peek) = serde_json::from_slice::<Peek>(&bytes) else {
            return Ok(false);
        };
        let fresh = crate::tuf::metadata::expiry::parse(&peek.signed.expires)
            .is_some_and(|expires| !self.trusted.expiry().has_passed(&expires));
        Ok(peek.signed.version == expected.version && fresh)
    }

    fn metadata_url(&self, role: &str, version: Option<u64>) -> String {
        let base = with_slash(&self.config.metadata_url);
        match version {
            Some(v) => format!("{base}{v}.{}.json", quote(role)),
            None => format!("{base}{}.json", quote(role)),
        }
    }

    async fn fetch_metadata(
        &self,
        role: &str,
        version: Option<u64>,
        max_len: u64,
    ) -> Result<Vec<u8>> {
        let url = self.metadata_url(role, version);
        tracing::debug!(%url, max_len, "fetching metadata");
        Ok(fetch_capped(
            self.fetcher.as_ref(),
            &url,
            max_len,
            self.config.limits.metadata_deadline,
        )
        .await?)
    }

    /// Spec 5.3: follow `N+1.root.json` until the repository has no newer root. Returns
    /// whether the root changed.
    async fn load_root(&mut self) -> Result<bool> {
        let current = self.trusted.root().common.version;
        let online_keys = |root: &crate::tuf::metadata::Root| {
            [TIMESTAMP, SNAPSHOT].map(|role| role_key_material(root, role))
        };
        let last = current.saturating_add(self.config.limits.max_root_rotations);
        for version in current + 1..=last {
            let data = match self
                .fetch_metadata(ROOT, Some(version), self.config.limits.root_max_len)
                .await
            {
                Ok(data) => data,
                Err(TufError::Fetch(e)) if e.is_not_found() => break,
                Err(e) => return Err(e),
            };
            let before = online_keys(self.trusted.root());
            self.trusted.update_root(&data)?;
            // Spec 5.3.11: when the timestamp or snapshot keys changed, the stored timestamp
            // and snapshot are no rollback reference any more (this is how a repository
            // recovers from a fast-forward attack on either role). Forgotten before the new
            // root is stored, so that a refresh failing later, or a crash, cannot leave the
            // rotated root with the old references.
            if online_keys(self.trusted.root()) != before {
                for role in [TIMESTAMP, SNAPSHOT] {
                    self.store.remove(role)?;
                }
            }
            // Stored at once: each accepted root is the new trust anchor (spec 5.3.8).
            self.store.write(ROOT, &data, Durability::Durable)?;
        }
        // Spec 5.3.10: an expired final root ends the cycle before any other request.
        self.trusted.check_root_final()?;
        Ok(self.trusted.root().common.version != current)
    }

    /// Spec 5.4. The stored timestamp, if still valid under the current root, is the
    /// rollback reference for the new one. Returns whether a new timestamp was accepted.
    async fn load_timestamp(&mut self) -> Result<bool> {
        let max = self.config.limits.timestamp_max_len;
        if let Some(local) = self.store.read(TIMESTAMP, max)? {
            if let Err(e) = self.trusted.update_timestamp(&local) {
                tracing::debug!(error = %e, "stored timestamp not used");
            }
        }
        let data = self.fetch_metadata(TIMESTAMP, None, max).await?;
        match self.trusted.update_timestamp(&data) {
            Ok(_) => {}
            Err(TufError::EqualVersion { .. }) => return Ok(false),
            Err(e) => return Err(e),
        }
        self.store.write(TIMESTAMP, &data, Durability::Atomic)?;
        Ok(true)
    }

    /// Spec 5.5. Returns whether the stored snapshot was current (nothing fetched).
    async fn load_snapshot(&mut self) -> Result<bool> {
        let limits = &self.config.limits;
        if let Some(local) = self.store.read(SNAPSHOT, limits.snapshot_max_len)? {
            match self.trusted.update_snapshot(&local, true) {
                Ok(_) => return Ok(true),
                Err(e) => tracing::debug!(error = %e, "stored snapshot not used"),
            }
            // Signed but outdated: it stays the rollback reference, and tells which stored
            // role files it described.
            self.replaced_snapshot = self.trusted.snapshot().map(|s| {
                s.meta
                    .iter()
                    .map(|(name, m)| (name.clone(), m.version))
                    .collect()
            });
        }
        let meta = self
            .trusted
            .timestamp()
            .map(|t| t.snapshot_meta.clone())
            .ok_or(TufError::Internal(
                "timestamp is not loaded after a refresh",
            ))?;
        let max_len = meta.length.unwrap_or(limits.snapshot_max_len);
        let version = self
            .trusted
            .root()
            .consistent_snapshot
            .then_some(meta.version);
        let data = self.fetch_metadata(SNAPSHOT, version, max_len).await?;
        self.trusted.update_snapshot(&data, false)?;
        self.store.write(SNAPSHOT, &data, Durability::Atomic)?;
        Ok(false)
    }

    /// Spec 5.6: a targets role, top-level (delegated by root) or delegated, from storage
    /// if current, else fetched.
    async fn load_targets(&mut self, role: &str, delegator: &str) -> Result<()> {
        if self.trusted.targets(role).is_some() {
            return self.trusted.reverify_through(role, delegator);
        }
        // Nothing is read or fetched for a role the delegator does not delegate to.
        self.trusted.check_delegated(role, delegator)?;
        let meta = self
            .trusted
            .snapshot()
            .and_then(|s| s.role_meta(role).cloned())
            .ok_or_else(|| TufError::Missing {
                rule: Rule::TargetsInSnapshot,
                detail: format!("snapshot does not list {role}.json"),
            })?;
        // Spec 5.6.1: the snapshot's length, when it gives one, bounds the role, stored or
        // fetched alike (a stored role over the default cap is still reused).
        let max_len = meta.length.unwrap_or(self.config.limits.targets_max_len);
        let file = format!("{role}.json");
        let stale = match (&self.replaced_snapshot, self.trusted.snapshot()) {
            (Some(old), Some(new)) => old.get(&file) != new.meta.get(&file).map(|m| &m.version),
            _ => false,
        };
        let local = if stale {
            None
        } else {
            self.store.read(role, max_len)?
        };
        if let Some(local) = local {
            let loaded = self
                .trusted
                .update_delegated_targets(&local, true, role, delegator);
            match loaded {
                Ok(_) => return Ok(()),
                Err(e) => tracing::debug!(role, error = %e, "stored targets role not used"),
            }
        }
        let version = self
            .trusted
            .root()
            .consistent_snapshot
            .then_some(meta.version);
        let data = self.fetch_metadata(role, version, max_len).await?;
        self.trusted
            .update_delegated_targets(&data, false, role, delegator)?;
        self.store.write(role, &data, Durability::Atomic)
    }

    /// Finds `target_path` by a pre-order depth-first search of the delegation graph
    /// (spec 5.6.7), loading roles lazily. `Ok(None)` when no trusted role lists it.
    pub async fn get_target_info(&mut self, target_path: &str) -> Result<Option<TargetFile>> {
        self.refresh().await?;
        let mut to_visit: Vec<(String, String)> = vec![(TARGETS.into(), ROOT.into())];
        let mut visited: HashSet<String> = HashSet::new();
        while let Some((role, delegator)) = to_visit.pop() {
            if visited.contains(&role) {
                continue; // a cycle, or a role reached twice
            }
            if visited.len() >= self.config.limits.max_delegations {
                tracing::warn!(
                    target_path,
                    max = self.config.limits.max_delegations,
                    "delegation search stopped at the limit of roles visited"
                );
                return Ok(None);
            }
            self.load_targets(&role, &delegator).await?;
            let targets = self.trusted.targets(&role).ok_or(TufError::Internal(
                "targets role not loaded after its update",
            ))?;
            if let Some(target) = targets.targets.get(target_path) {
                return Ok(Some(target.clone()));
            }
            visited.insert(role.clone());
            if let Some(delegations) = &targets.delegations {
                let mut children = Vec::new();
                for child in delegations.roles_for_target(target_path) {
                    let terminating = child.terminating;
                    children.push((child.name, role.clone()));
                    if terminating {
                        // Spec 5.6.7.2.1: nothing after a terminating role is searched.
                        to_visit.clear();
                        break;
                    }
                }
                to_visit.extend(children.into_iter().rev());
            }
        }
        Ok(None)
    }

    /// The targets of `role`, a role the top-level targets delegates to directly (a
    /// channel, say), restricted to the paths the delegation grants it (spec 5.6; paths
    /// outside are dropped with a warning). The role is loaded from storage or fetched as in
    /// a lookup. [`TufError::NotDelegated`] lists the roles top-level targets delegates to
    /// when `role` is not one of them.
    pub async fn delegated_targets(&mut self, role: &str) -> Result<AuthorizedTargets> {
        self.delegated_targets_chain(&[role]).await
    }

    /// The targets of the last role of `chain`, reached through a chain of delegations:
    /// `&["beta", "beta.linux-x86_64"]` is top-level targets -> `beta` -> `beta.linux-x86_64`.
    /// Each role is loaded through the one before it (from storage or fetched, as in a
    /// lookup), and only the paths that every delegation on the chain grants are kept (spec
    /// 5.6.7; the others are dropped with a warning). A role its predecessor does not
    /// delegate to is [`TufError::NotDelegated`], and nothing is fetched for it.
    pub async fn delegated_targets_chain(&mut self, chain: &[&str]) -> Result<AuthorizedTargets> {
        self.refresh().await?;
        // The top-level targets may still be unverified after a refresh that found nothing
        // new; it is checked before its delegations are used.
        self.load_targets(TARGETS, ROOT).await?;
        let mut delegator = TARGETS;
        for role in chain {
            self.load_targets(role, delegator).await?;
            delegator = role;
        }
        self.trusted.authorized_targets_chain(chain)
    }

    /// The names of the roles that `role` delegates to, in delegation order; `role` must
    /// have been loaded (by [`TufClient::delegated_targets_chain`], say).
    pub fn delegated_roles(&self, role: &str) -> Result<Vec<String>> {
        self.trusted.delegated_roles(role)
    }

    /// The local file name for `target_path` in `target_dir`: one escaped segment, so a path
    /// from the repository can never point outside the directory.
    pub fn local_target_path(target_dir: &Path, target_path: &str) -> PathBuf {
        target_dir.join(safe_file_name(target_path))
    }

    /// The already downloaded file for `info`, if it exists and still matches the trusted
    /// length and hashes (re-verified on every call, spec 5.7).
    pub fn find_cached_target(&self, info: &TargetFile, local: &Path) -> Result<Option<PathBuf>> {
        Ok(file_matches(local, info)?.then(|| local.to_path_buf()))
    }

    fn target_url(&self, target_path: &str, info: &TargetFile) -> Result<String> {
        let base = self
            .config
            .targets_url
            .as_deref()
            .ok_or(TufError::Config("no targets URL configured"))?;
        let (dir, name) = match target_path.rsplit_once('/') {
            Some((d, n)) => (Some(d), n),
            None => (None, target_path),
        };
        let name =
            if self.trusted.root().consistent_snapshot && self.config.prefix_targets_with_hash {
                let hash = info
                    .hashes
                    .values()
                    .next()
                    .ok_or_else(|| TufError::malformed(TARGETS, "target without hashes"))?;
                format!("{hash}.{name}")
            } else {
                name.to_string()
            };
        let mut url = with_slash(base);
        if let Some(dir) = dir {
            for segment in dir.split('/') {
                url.push_str(&quote(segment));
                url.push('/');
            }
        }
        url.push_str(&quote(&name));
        Ok(url)
    }

    /// Downloads `target_path` (described by `info`) to `local`, checking length and hashes
    /// while it streams (spec 5.7). The file appears at `local` only once verified.
    pub async fn download_target(
        &self,
        target_path: &str,
        info: &TargetFile,
        local: &Path,
    ) -> Result<PathBuf> {
        self.download_target_with_progress(target_path, info, local, &mut |_| {})
            .await
    }

    /// As [`TufClient::download_target`], reporting progress; a cut connection is resumed.
    pub async fn download_target_with_progress(
        &self,
        target_path: &str,
        info: &TargetFile,
        local: &Path,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<PathBuf> {
        let url = self.target_url(target_path, info)?;
        let limits = &self.config.limits;
        let options = DownloadOptions {
            min_bytes_per_sec: limits.min_target_bytes_per_sec,
            slow_grace: limits.slow_grace,
            ..self.config.download.clone()
        };
        download_verified_named(
            self.fetcher.as_ref(),
            &url,
            target_path,
            info,
            local,
            &options,
            progress,
        )
        .await
    }
}

/// The threshold and key material of a top-level role, for spotting a key rotation.
fn role_key_material(root: &crate::tuf::metadata::Root, role: &str) -> (u64, Vec<Vec<u8>>) {
    let Some(keys) = root.role(role) else {
        return (0, Vec::new());
    };
    let mut material: Vec<Vec<u8>> = keys
        .keyids
        .iter()
        .filter_map(|id| {
            let key = root.keys.get(id)?;
            crate::tuf::crypto::PublicKey::from_key(id, key)
                .ok()
                .map(|k| k.identity())
        })
        .collect();
    material.sort();
    (keys.threshold, material)
}
