//! The repository as it is on disk: the current version of every role, read the way a
//! client reads it (every root from `1.root.json` on, `timestamp.json`, the snapshot it
//! names, the targets roles the snapshot names) and verified by the client's own code, the
//! TUF trusted metadata set: signatures, versions, lengths and hashes. Expiry is not
//! checked here: re-signing expired metadata is a publisher's daily job.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use updater_core::tuf::metadata::{
    Root, Snapshot, Targets, Timestamp, ROOT, SNAPSHOT, TARGETS, TIMESTAMP,
};
use updater_core::tuf::trusted::{Expiry, TrustedMetadataSet};

use crate::error::{PackError, Result};
use updater_core::files::Capped;

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
    /// Highest `N` of any `N.<role>.json` on disk, referenced or not.
    highest: HashMap<String, u64>,
    dir: PathBuf,
}

fn read(path: &Path) -> Result<Vec<u8>> {
    match updater_core::files::read_capped(path, MAX_METADATA).map(Capped::into_data) {
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
        if !dir.is_dir() {
            return Err(PackError::inconsistent(format!(
                "{} is not a directory",
                dir.display()
            )));
        }
        let highest = scan_versions(dir)?;
        let (mut trusted, root_bytes) = load_root(dir)?;

        let path = dir.join("timestamp.json");
        let timestamp_bytes = read(&path)?;
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
        let mut channels = BTreeMap::new();
        let names = trusted
            .targets(TARGETS)
            .and_then(|t| t.delegations.as_ref())
            .map(|d| d.role_names())
            .unwrap_or_default();
        for name in names {
            let bytes = load_targets(dir, &mut trusted, &name, TARGETS)?;
            channels.insert(name, bytes);
        }

        let signed = |bytes: Vec<u8>, value: Option<Targets>| {
            value
                .map(|value| Signed { value, bytes })
                .ok_or_else(|| PackError::inconsistent("a verified role is missing"))
        };
        let channels = channels
            .into_iter()
            .map(|(name, bytes)| {
                let value = trusted.targets(&name).cloned();
                Ok((name, signed(bytes, value)?))
            })
            .collect::<Result<BTreeMap<_, _>>>()?;
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
            channel => self
                .channels
                .get(channel)
                .map(|c| c.value.common.version)
                .unwrap_or(0),
        };
        if role == ROOT || role == TIMESTAMP {
            return current + 1;
        }
        current.max(self.highest.get(role).copied().unwrap_or(0)) + 1
    }
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
    let mut bytes = read(&path)?;
    let mut trusted =
        TrustedMetadataSet::with_expiry(&bytes, Expiry::Ignored).map_err(|e| damaged(&path, e))?;
    let mut version = 1u64;
    loop {
        let path = dir.join(format!("{}.root.json", version + 1));
        if !path.exists() {
            break;
        }
        bytes = read(&path)?;
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
    let bytes = read(&path)?;
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
