//! The repository as it is on disk: the current version of every role, read the way a
//! client reads it (latest root, `timestamp.json`, the snapshot it names, the targets roles
//! the snapshot names), each checked against its signatures, versions, lengths and hashes.
//! Expiry is not checked here: re-signing expired metadata is a publisher's daily job.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use updater_core::tuf::crypto::{check_length_and_hashes, verify_role, verify_threshold};
use updater_core::tuf::metadata::{
    DelegatedRole, Envelope, Key, MetaFile, Root, Snapshot, Targets, Timestamp, ROOT, SNAPSHOT,
    TARGETS, TIMESTAMP,
};

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
    /// Reads the repository whose metadata is in `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(PackError::inconsistent(format!(
                "{} is not a directory",
                dir.display()
            )));
        }
        let highest = scan_versions(dir)?;

        // Latest root: 1.root.json, 2.root.json, ... without gaps.
        let mut version = 1;
        let mut path = dir.join("1.root.json");
        if !path.exists() {
            return Err(PackError::inconsistent(format!(
                "{} is missing",
                path.display()
            )));
        }
        while dir.join(format!("{}.root.json", version + 1)).exists() {
            version += 1;
            path = dir.join(format!("{version}.root.json"));
        }
        let bytes = read(&path)?;
        let envelope = Envelope::parse(&bytes, ROOT).map_err(|e| damaged(&path, e))?;
        let root = Root::from_value(envelope.signed.clone()).map_err(|e| damaged(&path, e))?;
        check_version(&path, root.common.version, version)?;
        verify_top_level(&envelope, &root, ROOT, &path)?;
        if !root.consistent_snapshot {
            return Err(damaged(
                &path,
                "consistent_snapshot is off; updater-pack writes consistent snapshots only",
            ));
        }
        let root = Signed { value: root, bytes };

        let path = dir.join("timestamp.json");
        let bytes = read(&path)?;
        let envelope = Envelope::parse(&bytes, TIMESTAMP).map_err(|e| damaged(&path, e))?;
        let timestamp =
            Timestamp::from_value(envelope.signed.clone()).map_err(|e| damaged(&path, e))?;
        verify_top_level(&envelope, &root.value, TIMESTAMP, &path)?;
        let timestamp = Signed {
            value: timestamp,
            bytes,
        };

        let meta = &timestamp.value.snapshot_meta;
        let snapshot_path = dir.join(format!("{}.snapshot.json", meta.version));
        let (envelope, bytes) = load_referenced(dir, SNAPSHOT, meta, "timestamp.json")?;
        let value = Snapshot::from_value(envelope.signed.clone())
            .map_err(|e| damaged(&snapshot_path, e))?;
        verify_top_level(&envelope, &root.value, SNAPSHOT, &snapshot_path)?;
        let snapshot = Signed { value, bytes };

        let (targets, targets_value) = load_targets(dir, &snapshot.value, TARGETS)?;
        let targets_path = dir.join(format!("{}.targets.json", targets_value.common.version));
        verify_top_level(&targets.0, &root.value, TARGETS, &targets_path)?;
        let targets = Signed {
            value: targets_value,
            bytes: targets.1,
        };

        let mut channels = BTreeMap::new();
        let empty = BTreeMap::new();
        let (keys, roles): (&BTreeMap<String, Key>, &[DelegatedRole]) =
            match &targets.value.delegations {
                Some(d) => (&d.keys, d.roles.as_deref().unwrap_or_default()),
                None => (&empty, &[]),
            };
        for role in roles {
            let ((envelope, bytes), value) = load_targets(dir, &snapshot.value, &role.name)?;
            let path = dir.join(format!("{}.{}.json", value.common.version, role.name));
            verify_threshold(
                &envelope,
                keys,
                &role.keyids,
                role.threshold,
                &role.name,
                "channel",
            )
            .map_err(|e| damaged(&path, e))?;
            channels.insert(role.name.clone(), Signed { value, bytes });
        }

        Ok(RepoState {
            root,
            timestamp,
            snapshot,
            targets,
            channels,
            highest,
            dir: dir.to_path_buf(),
        })
    }

    pub fn metadata_dir(&self) -> &Path {
        &self.dir
    }

    /// Channel names in delegation order.
    pub fn channel_names(&self) -> Vec<String> {
        self.delegated_roles()
            .iter()
            .map(|r| r.name.clone())
            .collect()
    }

    pub fn delegated_roles(&self) -> &[DelegatedRole] {
        self.targets
            .value
            .delegations
            .as_ref()
            .and_then(|d| d.roles.as_deref())
            .unwrap_or_default()
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

fn check_version(path: &Path, found: u64, expected: u64) -> Result<()> {
    if found != expected {
        return Err(damaged(
            path,
            format!("has version {found}, expected {expected}"),
        ));
    }
    Ok(())
}

fn verify_top_level(envelope: &Envelope, root: &Root, role: &str, path: &Path) -> Result<()> {
    verify_role(envelope, root, role, "load").map_err(|e| damaged(path, e))
}

/// Reads `V.<role>.json` as `referrer` names it, checking version, length and hashes.
fn load_referenced(
    dir: &Path,
    role: &str,
    meta: &MetaFile,
    referrer: &str,
) -> Result<(Envelope, Vec<u8>)> {
    let path = dir.join(format!("{}.{role}.json", meta.version));
    if !path.exists() {
        return Err(PackError::inconsistent(format!(
            "{referrer} refers to {}, which is missing",
            path.display()
        )));
    }
    let bytes = read(&path)?;
    check_length_and_hashes(&bytes, meta.length, meta.hashes.as_ref(), role, "load")
        .map_err(|e| damaged(&path, e))?;
    let envelope = Envelope::parse(&bytes, role).map_err(|e| damaged(&path, e))?;
    let version = envelope
        .signed
        .get("version")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    check_version(&path, version, meta.version)?;
    Ok((envelope, bytes))
}

type LoadedTargets = ((Envelope, Vec<u8>), Targets);

fn load_targets(dir: &Path, snapshot: &Snapshot, role: &str) -> Result<LoadedTargets> {
    let meta = snapshot.role_meta(role).ok_or_else(|| {
        PackError::inconsistent(format!("the snapshot does not list {role}.json"))
    })?;
    let (envelope, bytes) = load_referenced(dir, role, meta, "the snapshot")?;
    let path = dir.join(format!("{}.{role}.json", meta.version));
    let value =
        Targets::from_value(envelope.signed.clone(), role).map_err(|e| damaged(&path, e))?;
    Ok(((envelope, bytes), value))
}
