//! The repository as it is on disk: the current version of every role, read the way a
//! client reads it (every root from `1.root.json` on, `timestamp.json`, the snapshot it
//! names, the targets roles the snapshot names) and verified by the client's own code, the
//! TUF trusted metadata set: signatures, versions, lengths and hashes. Expiry is not
//! checked here: re-signing expired metadata is a publisher's daily job.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tuf_updater_core::tuf::metadata::split_targets_file;
use tuf_updater_core::tuf::metadata::{
    MetaFile, Root, Snapshot, Targets, Timestamp, ROOT, SNAPSHOT, TARGETS, TIMESTAMP,
};
use tuf_updater_core::tuf::trusted::{Expiry, TrustedMetadataSet};

use crate::error::{PackError, Result};
use tuf_updater_core::files::Capped;

/// The snapshot/timestamp entry for a file: version, length and SHA-256.
pub fn meta_file(version: u64, bytes: &[u8]) -> MetaFile {
    let mut meta = MetaFile::new(version);
    meta.length = Some(bytes.len() as u64);
    meta.hashes = Some(BTreeMap::from([(
        "sha256".to_string(),
        hex::encode(Sha256::digest(bytes)),
    )]));
    meta
}

/// Largest metadata file read (a channel with tens of thousands of releases).
pub const MAX_METADATA: u64 = 256 * 1024 * 1024;

/// A role's metadata with the exact bytes on disk.
#[derive(Clone, Debug)]
pub struct Signed<T> {
    pub value: T,
    pub bytes: Vec<u8>,
}

#[derive(Clone, Debug)]
pub struct RepoState {
    pub root: Signed<Root>,
    pub timestamp: Signed<Timestamp>,
    pub snapshot: Signed<Snapshot>,
    pub targets: Signed<Targets>,
    /// Channel roles, by name.
    pub channels: BTreeMap<String, Signed<Targets>>,
    /// Roles a channel delegates to (per-app layout: heads and archives), by name, with the
    /// channel that delegates to each.
    pub parts: BTreeMap<String, (String, Signed<Targets>)>,
    /// Roles a channel delegates to that were not read ([`Scope::OnDemand`]), with their
    /// channel: [`crate::repo::Roles::load_part`] reads one when a change needs it.
    pub unloaded: BTreeMap<String, String>,
    /// Highest `N` of any `N.<role>.json` on disk, referenced or not.
    highest: HashMap<String, u64>,
    dir: PathBuf,
}

/// A metadata file of the project, read up to [`MAX_METADATA`].
pub fn read_metadata(path: &Path) -> Result<Vec<u8>> {
    match tuf_updater_core::files::read_capped(path, MAX_METADATA).map(Capped::into_data) {
        Ok(Some(data)) => Ok(data),
        Ok(None) => Err(PackError::inconsistent(format!(
            "{} is missing or larger than {MAX_METADATA} bytes",
            path.display()
        ))),
        Err(e) => Err(PackError::inconsistent(e.to_string())),
    }
}

fn damaged(path: &Path, e: impl std::fmt::Display) -> PackError {
    PackError::inconsistent(format!("{}: {e}", path.display()))
}

/// Versions of `N.<role>.json` files in `dir`.
fn scan_versions(dir: &Path) -> Result<HashMap<String, u64>> {
    let mut highest: HashMap<String, u64> = HashMap::new();
    let entries = std::fs::read_dir(dir).map_err(|e| PackError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| PackError::io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some((n, rest)) = name.split_once('.') else {
            continue;
        };
        let (Ok(n), Some(role)) = (n.parse::<u64>(), rest.strip_suffix(".json")) else {
            continue;
        };
        let h = highest.entry(role.to_string()).or_insert(0);
        *h = (*h).max(n);
    }
    Ok(highest)
}

impl RepoState {
    /// Reads the repository whose metadata is in `dir`, verified by the client's own rules
    /// ([`TrustedMetadataSet`]) with expiry not enforced: from `1.root.json` through every
    /// root rotation, then timestamp, the snapshot it names, top-level targets and each
    /// channel role.
    pub fn load(dir: &Path) -> Result<Self> {
        Self::load_scoped(dir, Scope::Everything)
    }

    /// As [`RepoState::load`]; with [`Scope::OnDemand`] the roles channels delegate to (an
    /// app repository's heads and archives) are left unread, so that a release reads what
    /// it changes, not the app's whole history.
    pub fn load_scoped(dir: &Path, scope: Scope) -> Result<Self> {
        if !dir.is_dir() {
            return Err(PackError::inconsistent(format!(
                "{} is not a directory",
                dir.display()
            )));
        }
        let highest = scan_versions(dir)?;
        let (mut trusted, root_bytes) = load_root(dir)?;

        let path = dir.join("timestamp.json");
        let timestamp_bytes = read_metadata(&path)?;
        trusted
            .update_timestamp(&timestamp_bytes)
            .map_err(|e| damaged(&path, e))?;

        let meta = trusted
            .timestamp()
            .map(|t| t.snapshot_meta.clone())
            .ok_or_else(|| damaged(&path, "timestamp not loaded"))?;
        let (path, snapshot_bytes) =
            read_referenced(dir, SNAPSHOT, meta.version, "timestamp.json")?;
        trusted
            .update_snapshot(&snapshot_bytes, false)
            .map_err(|e| damaged(&path, e))?;

        let targets_bytes = load_targets(dir, &mut trusted, TARGETS, ROOT)?;
        let channels = load_delegated(dir, &mut trusted, TARGETS)?;
        let mut parts = BTreeMap::new();
        let mut unloaded = BTreeMap::new();
        for channel in channels.keys() {
            if scope == Scope::OnDemand {
                unloaded.extend(delegated_names(&trusted, channel)?.map(|n| (n, channel.clone())));
                continue;
            }
            for (name, part) in load_delegated(dir, &mut trusted, channel)? {
                if channels.contains_key(&name) || parts.contains_key(&name) {
                    return Err(PackError::inconsistent(format!(
                        "role {name} is delegated twice"
                    )));
                }
                parts.insert(name, (channel.clone(), part));
            }
        }
        let signed = |bytes: Vec<u8>, value: Option<Targets>| {
            value
                .map(|value| Signed { value, bytes })
                .ok_or_else(|| PackError::inconsistent("a verified role is missing"))
        };
        let targets = signed(targets_bytes, trusted.targets(TARGETS).cloned())?;
        let (Some(timestamp), Some(snapshot)) =
            (trusted.timestamp().cloned(), trusted.snapshot().cloned())
        else {
            return Err(PackError::inconsistent("a verified role is missing"));
        };
        Ok(RepoState {
            root: Signed {
                value: trusted.root().clone(),
                bytes: root_bytes,
            },
            timestamp: Signed {
                value: timestamp,
                bytes: timestamp_bytes,
            },
            snapshot: Signed {
                value: snapshot,
                bytes: snapshot_bytes,
            },
            targets,
            channels,
            parts,
            unloaded,
            highest,
            dir: dir.to_path_buf(),
        })
    }

    pub fn metadata_dir(&self) -> &Path {
        &self.dir
    }

    /// The version a new `N.<role>.json` gets: above the current one and above any file
    /// an interrupted command may have left.
    pub fn next_version(&self, role: &str) -> u64 {
        let current = match role {
            ROOT => self.root.value.common.version,
            TIMESTAMP => self.timestamp.value.common.version,
            SNAPSHOT => self.snapshot.value.common.version,
            TARGETS => self.targets.value.common.version,
            delegated => self.delegated_version(delegated),
        };
        if role == ROOT || role == TIMESTAMP {
            return current + 1;
        }
        current.max(self.highest.get(role).copied().unwrap_or(0)) + 1
    }
}

impl RepoState {
    /// The current version of a channel or a role a channel delegates to (as the snapshot
    /// names it, if unread); 0 if none.
    fn delegated_version(&self, role: &str) -> u64 {
        match (self.channels.get(role), self.parts.get(role)) {
            (Some(c), _) => c.value.common.version,
            (None, Some((_, p))) => p.value.common.version,
            (None, None) => self.snapshot.value.role_meta(role).map_or(0, |m| m.version),
        }
    }
}

/// How much of a repository [`RepoState::load_scoped`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every role, each verified as a client verifies it.
    Everything,
    /// The top-level roles and the channels; the roles channels delegate to when needed.
    OnDemand,
}

/// The roles `delegator` delegates to, each listed by the snapshot.
fn delegated_names(
    trusted: &TrustedMetadataSet,
    delegator: &str,
) -> Result<impl Iterator<Item = String>> {
    let names = trusted
        .targets(delegator)
        .and_then(|t| t.delegations.as_ref())
        .map(|d| d.role_names())
        .unwrap_or_default();
    for name in &names {
        if trusted.snapshot().and_then(|s| s.role_meta(name)).is_none() {
            return Err(PackError::inconsistent(format!(
                "the snapshot does not list {name}.json, which {delegator} delegates to"
            )));
        }
    }
    Ok(names.into_iter())
}

/// Reads `role` as the trusted `snapshot` names it, checked against the length and SHA-256
/// the snapshot gives (the snapshot itself was verified by [`RepoState::load_scoped`]).
pub fn read_listed_targets(dir: &Path, snapshot: &Snapshot, role: &str) -> Result<Signed<Targets>> {
    let meta = snapshot.role_meta(role).ok_or_else(|| {
        PackError::inconsistent(format!("the snapshot does not list {role}.json"))
    })?;
    let (path, bytes) = read_referenced(dir, role, meta.version, "the snapshot")?;
    let expected = meta_file(meta.version, &bytes);
    if meta.length != expected.length || meta.hashes != expected.hashes {
        return Err(damaged(
            &path,
            "does not match the length and SHA-256 the snapshot gives",
        ));
    }
    let (_, signed) = split_targets_file(&bytes, role).map_err(|e| damaged(&path, e))?;
    let value = Targets::from_json(signed, role).map_err(|e| damaged(&path, e))?;
    Ok(Signed { value, bytes })
}

/// Loads and verifies every role `delegator` delegates to, by name.
fn load_delegated(
    dir: &Path,
    trusted: &mut TrustedMetadataSet,
    delegator: &str,
) -> Result<BTreeMap<String, Signed<Targets>>> {
    let names = trusted
        .targets(delegator)
        .and_then(|t| t.delegations.as_ref())
        .map(|d| d.role_names())
        .unwrap_or_default();
    let mut roles = BTreeMap::new();
    for name in names {
        let bytes = load_targets(dir, trusted, &name, delegator)?;
        let value = trusted
            .targets(&name)
            .cloned()
            .ok_or_else(|| PackError::inconsistent("a verified role is missing"))?;
        roles.insert(name, Signed { value, bytes });
    }
    Ok(roles)
}

/// The latest root, reached as a client reaches it: `1.root.json` trusted as it is (signed by
/// itself), then `2.root.json`, ... without gaps, each accepted by the one before.
fn load_root(dir: &Path) -> Result<(TrustedMetadataSet, Vec<u8>)> {
    let path = dir.join("1.root.json");
    if !path.exists() {
        return Err(PackError::inconsistent(format!(
            "{} is missing",
            path.display()
        )));
    }
    let mut bytes = read_metadata(&path)?;
    let mut trusted =
        TrustedMetadataSet::with_expiry(&bytes, Expiry::Ignored).map_err(|e| damaged(&path, e))?;
    let mut version = 1u64;
    loop {
        let path = dir.join(format!("{}.root.json", version + 1));
        if !path.exists() {
            break;
        }
        bytes = read_metadata(&path)?;
        trusted.update_root(&bytes).map_err(|e| damaged(&path, e))?;
        version += 1;
    }
    if !trusted.root().consistent_snapshot {
        return Err(damaged(
            &dir.join(format!("{version}.root.json")),
            "consistent_snapshot is off; updater-pack writes consistent snapshots only",
        ));
    }
    Ok((trusted, bytes))
}

/// Reads `V.<role>.json`, which `referrer` names.
fn read_referenced(
    dir: &Path,
    role: &str,
    version: u64,
    referrer: &str,
) -> Result<(PathBuf, Vec<u8>)> {
    let path = dir.join(format!("{version}.{role}.json"));
    if !path.exists() {
        return Err(PackError::inconsistent(format!(
            "{referrer} refers to {}, which is missing",
            path.display()
        )));
    }
    let bytes = read_metadata(&path)?;
    Ok((path, bytes))
}

/// Reads and verifies the targets role `role` that the snapshot names, on behalf of
/// `delegator` (root for top-level targets); returns its bytes.
fn load_targets(
    dir: &Path,
    trusted: &mut TrustedMetadataSet,
    role: &str,
    delegator: &str,
) -> Result<Vec<u8>> {
    let version = trusted
        .snapshot()
        .and_then(|s| s.role_meta(role))
        .map(|m| m.version)
        .ok_or_else(|| {
            PackError::inconsistent(format!("the snapshot does not list {role}.json"))
        })?;
    let (path, bytes) = read_referenced(dir, role, version, "the snapshot")?;
    trusted
        .update_delegated_targets(&bytes, false, role, delegator)
        .map_err(|e| damaged(&path, e))?;
    Ok(bytes)
}
