//! What `publish` uploads, decided before anything is written.
//!
//! Per repository (the project's `metadata/` and each app's), the destination's
//! `timestamp.json` is read and the destination must be an ancestor of this copy, as in a
//! git fast-forward:
//! - its timestamp version is lower than ours (a higher or equal one, with other bytes, is
//!   another publisher's newer state, or a rollback we would cause);
//! - the snapshot it names is, byte for byte, the one this copy has of that version;
//! - its newest root is ours of that version.
//!
//! Otherwise the copy is stale: nothing is uploaded. Files the destination has are then
//! skipped without being read when that snapshot vouches for them (a version not above the
//! one it lists); a newer file found there (left by an interrupted publish) is read and must
//! hold our bytes.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use tuf_updater_core::files::FileError;
use tuf_updater_core::tuf::metadata::{ROOT, SNAPSHOT, TARGETS};

use crate::error::{PackError, Result};
use crate::project::repository_apps;
use crate::store::{Caching, Store, Tag, Write};
use crate::txn::Phase;

/// A file to upload, relative to the repository.
#[derive(Clone, Debug)]
pub struct Upload {
    pub rel: String,
    pub phase: Phase,
    pub write: Write,
    pub caching: Caching,
}

/// Largest metadata file read back from the destination.
const METADATA_CAP: u64 = 64 << 20;

/// What the destination holds of one repository.
#[derive(Debug, Default)]
struct Known {
    /// Role name -> the version the destination's snapshot lists (files up to it are ours).
    versions: BTreeMap<String, u64>,
    /// The destination's newest `N.root.json`.
    root: u64,
    /// The tag of the destination's `timestamp.json`, `None` when it has none.
    tag: Option<Tag>,
    /// The destination's timestamp is ours.
    timestamp_same: bool,
}

/// The uploads, in publication order, and how many files were already there.
pub async fn plan(
    source: &Path,
    store: &Store,
    listing: &BTreeMap<String, u64>,
) -> Result<(Vec<Upload>, usize)> {
    let mut known = BTreeMap::new();
    let mut metadata_dirs = vec!["metadata".to_string()];
    for app in repository_apps(source)? {
        metadata_dirs.push(format!("apps/{app}/metadata"));
    }
    for dir in metadata_dirs {
        let k = known_state(source, store, listing, &dir).await?;
        known.insert(dir, k);
    }
    let mut uploads = Vec::new();
    let mut skipped = 0;
    for rel in publication_order(source)? {
        match upload_of(source, store, listing, &known, &rel).await? {
            Some(upload) => uploads.push(upload),
            None => skipped += 1,
        }
    }
    Ok((uploads, skipped))
}

async fn upload_of(
    source: &Path,
    store: &Store,
    listing: &BTreeMap<String, u64>,
    known: &BTreeMap<String, Known>,
    rel: &str,
) -> Result<Option<Upload>> {
    let upload = |phase, caching| Upload {
        rel: rel.to_string(),
        phase,
        write: write_of(rel),
        caching,
    };
    if rel.starts_with("targets/") {
        // Names carry the SHA-256 of the content: the same size means the same file.
        let size = std::fs::metadata(source.join(rel))
            .map_err(FileError::at(&source.join(rel)))?
            .len();
        return Ok(
            (listing.get(rel) != Some(&size)).then(|| upload(Phase::Targets, Caching::Immutable))
        );
    }
    let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel));
    let Some((phase, version)) = metadata_phase(name) else {
        return Ok(None);
    };
    let state = known.get(dir);
    if phase == Phase::Timestamp {
        let mut u = upload(phase, Caching::Short);
        u.write = Write::Replace(state.and_then(|k| k.tag.clone()));
        return Ok((!state.is_some_and(|k| k.timestamp_same)).then_some(u));
    }
    let caching = if phase == Phase::Root {
        Caching::Revalidate
    } else {
        Caching::Immutable
    };
    if !listing.contains_key(rel) {
        return Ok(Some(upload(phase, caching)));
    }
    let vouched = match phase {
        Phase::Root => state.map_or(0, |k| k.root),
        _ => {
            let role = name
                .split_once('.')
                .and_then(|(_, r)| r.strip_suffix(".json"))
                .unwrap_or_default();
            state
                .and_then(|k| k.versions.get(role).copied())
                .unwrap_or(0)
        }
    };
    if version > vouched {
        // Left by an interrupted publish (ours, or another publisher's).
        same_as_there(source, store, rel).await?;
    }
    Ok(None)
}

/// Reads the destination's state of the repository in `dir` and refuses a stale copy.
async fn known_state(
    source: &Path,
    store: &Store,
    listing: &BTreeMap<String, u64>,
    dir: &str,
) -> Result<Known> {
    let stale = |detail: String| PackError::StaleCopy {
        location: store.location.clone(),
        detail: format!("{dir}: {detail}"),
    };
    let ours_path = source.join(dir).join("timestamp.json");
    let ours = std::fs::read(&ours_path).map_err(FileError::at(&ours_path))?;
    let Some(theirs) = store
        .get(&format!("{dir}/timestamp.json"), METADATA_CAP)
        .await?
    else {
        return Ok(Known::default());
    };
    let mut known = Known {
        tag: Some(theirs.tag.clone()),
        timestamp_same: theirs.bytes.as_ref() == ours.as_slice(),
        ..Known::default()
    };
    let (their_version, their_snapshot) = timestamp_versions(&theirs.bytes).ok_or_else(|| {
        stale("its timestamp.json cannot be read as TUF timestamp metadata".into())
    })?;
    let (our_version, _) = timestamp_versions(&ours).unwrap_or((0, 0));
    if !known.timestamp_same && their_version >= our_version {
        return Err(stale(format!(
            "its timestamp.json is version {their_version}, this copy's is {our_version}"
        )));
    }
    let snapshot_rel = format!("{dir}/{their_snapshot}.snapshot.json");
    let our_snapshot = std::fs::read(source.join(&snapshot_rel)).ok();
    let their_bytes = store.get(&snapshot_rel, METADATA_CAP).await?;
    match (&our_snapshot, &their_bytes) {
        (Some(o), Some(t)) if t.bytes.as_ref() == o.as_slice() => {}
        _ => {
            return Err(stale(format!(
                "its snapshot version {their_snapshot} is not this copy's"
            )))
        }
    }
    known.versions = snapshot_versions(our_snapshot.as_deref().unwrap_or_default());
    known.root = newest_root(listing, dir);
    if known.root > 0 {
        let root_rel = format!("{dir}/{}.root.json", known.root);
        if !source.join(&root_rel).is_file() {
            return Err(stale(format!(
                "it has root version {}, this copy has not",
                known.root
            )));
        }
        same_as_there(source, store, &root_rel).await?;
    }
    Ok(known)
}

/// The timestamp's own version and the snapshot version it names.
fn timestamp_versions(bytes: &[u8]) -> Option<(u64, u64)> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    let signed = v.get("signed")?;
    let own = signed.get("version")?.as_u64()?;
    let snapshot = signed
        .get("meta")?
        .get("snapshot.json")?
        .get("version")?
        .as_u64()?;
    Some((own, snapshot))
}

/// Role -> version, as a snapshot lists them (plus the snapshot's own).
fn snapshot_versions(bytes: &[u8]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let Ok(v) = serde_json::from_slice::<Value>(bytes) else {
        return out;
    };
    let signed = v.get("signed");
    if let Some(own) = signed
        .and_then(|s| s.get("version"))
        .and_then(Value::as_u64)
    {
        out.insert("snapshot".to_string(), own);
    }
    if let Some(meta) = signed
        .and_then(|s| s.get("meta"))
        .and_then(Value::as_object)
    {
        for (file, entry) in meta {
            if let (Some(role), Some(version)) = (
                file.strip_suffix(".json"),
                entry.get("version").and_then(Value::as_u64),
            ) {
                out.insert(role.to_string(), version);
            }
        }
    }
    out
}

/// The highest `N` of the `N.root.json` files the listing has in `dir`.
fn newest_root(listing: &BTreeMap<String, u64>, dir: &str) -> u64 {
    let prefix = format!("{dir}/");
    listing
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .filter_map(|(k, _)| k.strip_prefix(&prefix))
        .filter_map(|name| name.strip_suffix(".root.json"))
        .filter_map(|n| n.parse::<u64>().ok())
        .max()
        .unwrap_or(0)
}

/// The publication phase of a metadata file name, `None` if it is not one.
pub(crate) fn metadata_phase(name: &str) -> Option<(Phase, u64)> {
    if name == "timestamp.json" {
        return Some((Phase::Timestamp, 0));
    }
    let (n, rest) = name.split_once('.')?;
    let n: u64 = n.parse().ok()?;
    let role = rest.strip_suffix(".json")?;
    let phase = match role {
        ROOT => Phase::Root,
        SNAPSHOT => Phase::Snapshot,
        TARGETS => Phase::TopTargets,
        _ => Phase::Delegated,
    };
    Some((phase, n))
}

/// The files under `dir`, as paths relative to the repository (`dir` is at `rel`).
fn walk(dir: &Path, rel: &str, out: &mut Vec<String>) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(FileError::new(dir, e).into()),
    };
    for entry in entries {
        let entry = entry.map_err(FileError::at(dir))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(FileError::at(&path))?;
        let Some(name) = entry.file_name().to_str().map(|n| format!("{rel}/{n}")) else {
            tracing::warn!(file = %path.display(), "not a UTF-8 name; not published");
            continue;
        };
        if kind.is_dir() {
            walk(&path, &name, out)?;
        } else if kind.is_file() {
            out.push(name);
        }
    }
    Ok(())
}

/// Files of the repository in publication order.
pub fn publication_order(repository: &Path) -> Result<Vec<String>> {
    let mut files = Vec::new();
    walk(&repository.join("targets"), "targets", &mut files)?;
    let mut ordered: Vec<(Phase, u64, String)> = files
        .into_iter()
        .filter(|f| !is_temporary(f))
        .map(|f| (Phase::Targets, 0, f))
        .collect();
    let mut metadata = Vec::new();
    walk(&repository.join("metadata"), "metadata", &mut metadata)?;
    for app in repository_apps(repository)? {
        walk(
            &repository.join("apps").join(&app).join("metadata"),
            &format!("apps/{app}/metadata"),
            &mut metadata,
        )?;
    }
    for file in metadata {
        let name = file.rsplit('/').next().unwrap_or(&file);
        match metadata_phase(name) {
            Some((phase, n)) => ordered.push((phase, n, file)),
            None if is_temporary(&file) => {}
            None => tracing::warn!(file, "not a metadata file; not published"),
        }
    }
    ordered.sort();
    Ok(ordered.into_iter().map(|(_, _, f)| f).collect())
}

pub(crate) fn is_temporary(rel: &str) -> bool {
    rel.rsplit('/')
        .next()
        .is_some_and(|n| n.starts_with(".tmp-") || n.starts_with(".updater-pack"))
}

/// A create-only write found the name taken: fine if it holds our bytes (a publish that
/// was interrupted, or the same one run twice), a conflict otherwise.
pub(crate) async fn same_as_there(source: &Path, store: &Store, rel: &str) -> Result<()> {
    let src = source.join(rel);
    let ours = std::fs::read(&src).map_err(FileError::at(&src))?;
    let theirs = store
        .get(rel, ours.len() as u64 + 1)
        .await
        .map_err(|e| match e {
            PackError::TooLarge { .. } => PackError::Conflict {
                location: store.location.clone(),
                path: rel.to_string(),
                detail: "it is larger".into(),
            },
            other => other,
        })?;
    match theirs {
        Some(f) if f.bytes.as_ref() == ours.as_slice() => Ok(()),
        Some(_) => Err(PackError::Conflict {
            location: store.location.clone(),
            path: rel.to_string(),
            detail: "another publisher wrote it, or the destination holds another repository"
                .into(),
        }),
        None => Err(PackError::Conflict {
            location: store.location.clone(),
            path: rel.to_string(),
            detail: "the store said it exists, then had none".into(),
        }),
    }
}

/// The write mode of a file: create-only unless it is `timestamp.json`.
pub(crate) fn write_of(rel: &str) -> Write {
    if rel.ends_with("/timestamp.json") {
        Write::Replace(None)
    } else {
        Write::Create
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_of_metadata_names() {
        assert_eq!(
            metadata_phase("timestamp.json"),
            Some((Phase::Timestamp, 0))
        );
        assert_eq!(metadata_phase("3.root.json"), Some((Phase::Root, 3)));
        assert_eq!(metadata_phase("12.beta.json"), Some((Phase::Delegated, 12)));
        assert_eq!(
            metadata_phase("2.targets.json"),
            Some((Phase::TopTargets, 2))
        );
        assert_eq!(metadata_phase("root.json"), None);
        assert_eq!(metadata_phase("x.beta.json"), None);
    }

    #[test]
    fn newest_root_reads_only_its_directory() {
        let listing: BTreeMap<String, u64> = [
            ("metadata/1.root.json", 1),
            ("metadata/3.root.json", 1),
            ("metadata/timestamp.json", 1),
            ("apps/a/metadata/7.root.json", 1),
            ("metadata/x.root.json", 1),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        assert_eq!(newest_root(&listing, "metadata"), 3);
        assert_eq!(newest_root(&listing, "apps/a/metadata"), 7);
        assert_eq!(newest_root(&listing, "apps/b/metadata"), 0);
    }

    #[test]
    fn versions_of_timestamp_and_snapshot() {
        let ts = br#"{"signed":{"version":9,"meta":{"snapshot.json":{"version":4}}}}"#;
        assert_eq!(timestamp_versions(ts), Some((9, 4)));
        assert_eq!(timestamp_versions(b"{}"), None);
        let snap = br#"{"signed":{"version":4,"meta":{"targets.json":{"version":2},"beta.linux.json":{"version":5}}}}"#;
        let v = snapshot_versions(snap);
        assert_eq!(v.get("snapshot"), Some(&4));
        assert_eq!(v.get("targets"), Some(&2));
        assert_eq!(v.get("beta.linux"), Some(&5));
    }
}
