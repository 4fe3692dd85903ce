//! `pull SOURCE PROJECT`: brings a published repository's metadata into a project, so that
//! a fresh CI runner, holding the project settings and only the keys it signs with, can
//! release and publish.
//!
//! The metadata is fetched as a client walks it: every `N.root.json` from 1 up, then
//! `timestamp.json`, the snapshot it names and every role at the version the snapshot
//! lists. It is verified as a client verifies it (at "now", every signature, every role
//! reachable) in a staging folder before anything in the project changes. The trust anchor
//! is the project's own `1.root.json` when it has one (commit it with the project); the
//! source's must be the same file. Target files are not fetched: `publish` accepts those
//! the destination already has.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use futures_util::{StreamExt, TryStreamExt};
use serde_json::Value;
use tuf_updater_core::files::{self, Durability, FileError};

use crate::error::{PackError, Result};
use crate::ops::verify::{verify_async, TargetCheck, VerifyReport};
use crate::project::Project;
use crate::store::Store;
use crate::txn::Lock;

/// Largest metadata file fetched.
const METADATA_CAP: u64 = 64 << 20;
/// Most root versions walked.
const MAX_ROOTS: u64 = 10_000;
/// Files fetched at once.
const PARALLEL: usize = 8;

#[derive(Debug)]
pub struct PullReport {
    pub source: String,
    /// Repositories pulled: `metadata`, `apps/<app>/metadata`.
    pub repositories: Vec<String>,
    /// Files written to the project (new or changed), relative to the repository.
    pub written: Vec<String>,
    pub unchanged: usize,
    pub verified: VerifyReport,
    pub requests: u64,
    pub bytes_down: u64,
}

/// The metadata of a published repository, fetched into `into` (a repository folder).
/// Returns the metadata folders fetched, relative to the repository.
pub async fn fetch_metadata(store: &Store, apps: &[String], into: &Path) -> Result<Vec<String>> {
    let mut dirs = vec!["metadata".to_string()];
    let mut names: Vec<String> = apps.to_vec();
    if let Some(listing) = store.list("apps").await? {
        names.extend(listing.keys().filter_map(|k| {
            let (app, rest) = k.strip_prefix("apps/")?.split_once('/')?;
            (rest == "metadata/timestamp.json").then(|| app.to_string())
        }));
    }
    names.sort();
    names.dedup();
    for app in names {
        tuf_updater_core::release::names::check_app(&app)?;
        dirs.push(format!("apps/{app}/metadata"));
    }
    for dir in &dirs {
        fetch_one(store, dir, &into.join(dir)).await?;
    }
    Ok(dirs)
}

/// One repository's metadata: roots, timestamp, snapshot, every role it lists.
async fn fetch_one(store: &Store, dir: &str, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).map_err(FileError::at(out))?;
    let missing = |what: &str| PackError::BadLocation {
        location: store.location.clone(),
        reason: format!("{dir}/{what} is missing: not a published repository (or not yet)"),
    };
    let mut n = 1;
    while n <= MAX_ROOTS {
        let name = format!("{n}.root.json");
        match store.get(&format!("{dir}/{name}"), METADATA_CAP).await? {
            Some(f) => write(out, &name, &f.bytes)?,
            None if n == 1 => return Err(missing(&name)),
            None => break,
        }
        n += 1;
    }
    let timestamp = store
        .get(&format!("{dir}/timestamp.json"), METADATA_CAP)
        .await?
        .ok_or_else(|| missing("timestamp.json"))?;
    write(out, "timestamp.json", &timestamp.bytes)?;
    let snapshot_version = meta_versions(&timestamp.bytes)
        .get("snapshot")
        .copied()
        .ok_or_else(|| unreadable(store, dir, "timestamp.json"))?;
    let snapshot_name = format!("{snapshot_version}.snapshot.json");
    let snapshot = store
        .get(&format!("{dir}/{snapshot_name}"), METADATA_CAP)
        .await?
        .ok_or_else(|| missing(&snapshot_name))?;
    write(out, &snapshot_name, &snapshot.bytes)?;
    let mut roles = Vec::new();
    for (role, version) in meta_versions(&snapshot.bytes) {
        // The name becomes a file name here: nothing that could leave the folder.
        if !safe_role_name(&role) {
            return Err(PackError::BadLocation {
                location: store.location.clone(),
                reason: format!("{dir}/{snapshot_name} lists a role named {role:?}: not a file name updater-pack writes"),
            });
        }
        roles.push(format!("{version}.{role}.json"));
    }
    futures_util::stream::iter(roles)
        .map(|name| async move {
            let f = store
                .get(&format!("{dir}/{name}"), METADATA_CAP)
                .await?
                .ok_or_else(|| missing(&name))?;
            write(out, &name, &f.bytes)
        })
        .buffer_unordered(PARALLEL)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// A role name usable as a file name: letters, digits, `.`, `_`, `-`, not starting with
/// `.`, at most 200 bytes (what `updater-pack` names its roles).
fn safe_role_name(role: &str) -> bool {
    !role.is_empty()
        && role.len() <= 200
        && !role.starts_with('.')
        && role
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn unreadable(store: &Store, dir: &str, file: &str) -> PackError {
    PackError::BadLocation {
        location: store.location.clone(),
        reason: format!("{dir}/{file} is not TUF metadata"),
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    files::write_atomic(&dir.join(name), bytes, Durability::Atomic)?;
    Ok(())
}

/// `meta` of a timestamp or snapshot: role -> version (`snapshot.json` -> `snapshot`).
fn meta_versions(bytes: &[u8]) -> BTreeMap<String, u64> {
    let Ok(v) = serde_json::from_slice::<Value>(bytes) else {
        return BTreeMap::new();
    };
    v.get("signed")
        .and_then(|s| s.get("meta"))
        .and_then(Value::as_object)
        .map(|meta| {
            meta.iter()
                .filter_map(|(file, entry)| {
                    let role = file.strip_suffix(".json")?;
                    Some((role.to_string(), entry.get("version")?.as_u64()?))
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn pull(
    source: &str,
    project: &Project,
    apps: &[String],
    now: DateTime<Utc>,
) -> Result<PullReport> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(FileError::at(project.dir()))?;
    runtime.block_on(pull_async(source, project, apps, now))
}

pub async fn pull_async(
    source: &str,
    project: &Project,
    apps: &[String],
    now: DateTime<Utc>,
) -> Result<PullReport> {
    project.load_config()?;
    let _lock = Lock::acquire(&project.lock_path())?;
    let store = Store::open(source, false)?;
    let staging = tempfile::tempdir_in(project.dir()).map_err(FileError::at(project.dir()))?;
    let repositories = fetch_metadata(&store, apps, staging.path()).await?;
    let verified = verify_async(staging.path(), now, TargetCheck::MetadataOnly)
        .await
        .map_err(|e| PackError::Verify(format!("{source}: {e}")))?;
    let anchor = project.first_root();
    if anchor.is_file() {
        let ours = std::fs::read(&anchor).map_err(FileError::at(&anchor))?;
        for dir in &repositories {
            let theirs = staging.path().join(dir).join("1.root.json");
            if std::fs::read(&theirs).ok().as_deref() != Some(ours.as_slice()) {
                return Err(PackError::Conflict {
                    location: source.to_string(),
                    path: format!("{dir}/1.root.json"),
                    detail: format!(
                        "the project trusts another root ({}): not this project's repository",
                        anchor.display()
                    ),
                });
            }
        }
    }
    // Target files stay where they are published; none was checked here.
    let mut verified = verified;
    verified.targets_elsewhere.clear();
    for (_, app) in &mut verified.apps {
        app.targets_elsewhere.clear();
    }
    let (written, unchanged) = install(staging.path(), &project.repository(), &repositories)?;
    let (requests, _, bytes_down) = store.traffic.get();
    Ok(PullReport {
        source: source.to_string(),
        repositories,
        written,
        unchanged,
        verified,
        requests,
        bytes_down,
    })
}

/// Copies the fetched files into the repository: versioned files first, `timestamp.json`
/// last. A versioned file the project has with other bytes means unpublished local work:
/// refused before anything is written.
fn install(staging: &Path, repository: &Path, dirs: &[String]) -> Result<(Vec<String>, usize)> {
    let mut plan: Vec<(String, PathBuf)> = Vec::new();
    let mut unchanged = 0;
    for dir in dirs {
        refuse_local_ahead(staging, repository, dir)?;
        let from = staging.join(dir);
        let mut names: Vec<String> = std::fs::read_dir(&from)
            .map_err(FileError::at(&from))?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        // `timestamp.json` sorts after every `N.*.json`.
        names.sort_by_key(|n| n == "timestamp.json");
        for name in names {
            let rel = format!("{dir}/{name}");
            let fetched = from.join(&name);
            let local = repository.join(&rel);
            match std::fs::read(&local) {
                Ok(bytes) if std::fs::read(&fetched).ok().as_deref() == Some(bytes.as_slice()) => {
                    unchanged += 1;
                    continue;
                }
                Ok(_) if name != "timestamp.json" => {
                    return Err(PackError::Conflict {
                        location: repository.display().to_string(),
                        path: rel,
                        detail: "this project has unpublished changes to it; publish them, or start from a clean copy".into(),
                    });
                }
                _ => plan.push((rel, fetched)),
            }
        }
    }
    plan.sort_by_key(|(rel, _)| rel.ends_with("/timestamp.json"));
    std::fs::create_dir_all(repository.join("targets"))
        .map_err(FileError::at(&repository.join("targets")))?;
    for (rel, fetched) in &plan {
        let bytes = std::fs::read(fetched).map_err(FileError::at(fetched))?;
        let dest = repository.join(rel);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(FileError::at(parent))?;
        }
        files::write_atomic(&dest, &bytes, Durability::Durable)?;
    }
    Ok((plan.into_iter().map(|(rel, _)| rel).collect(), unchanged))
}

/// The project's `timestamp.json` must not be newer than the source's, or differ at the
/// same version: that is a release not yet published, which a pull would hide.
fn refuse_local_ahead(staging: &Path, repository: &Path, dir: &str) -> Result<()> {
    let rel = format!("{dir}/timestamp.json");
    let Ok(ours) = std::fs::read(repository.join(&rel)) else {
        return Ok(());
    };
    let theirs = std::fs::read(staging.join(&rel)).map_err(FileError::at(&staging.join(&rel)))?;
    let version = |bytes: &[u8]| {
        serde_json::from_slice::<Value>(bytes)
            .ok()
            .and_then(|v| v.get("signed")?.get("version")?.as_u64())
            .unwrap_or(0)
    };
    if ours != theirs && version(&ours) >= version(&theirs) {
        return Err(PackError::Conflict {
            location: repository.display().to_string(),
            path: rel,
            detail: format!(
                "this project's is version {}, the source's {}: it holds changes not published; publish them first",
                version(&ours),
                version(&theirs)
            ),
        });
    }
    Ok(())
}

impl std::fmt::Display for PullReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.verified)?;
        writeln!(
            f,
            "Pulled {} repositor{} from {}: {} file(s) written, {} already here ({} request(s), {} byte(s)).",
            self.repositories.len(),
            if self.repositories.len() == 1 { "y" } else { "ies" },
            self.source,
            self.written.len(),
            self.unchanged,
            self.requests,
            self.bytes_down
        )?;
        for w in &self.written {
            writeln!(f, "  {w}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_that_could_leave_the_folder_are_refused() {
        for ok in ["targets", "beta", "beta.linux-x86_64-deb.archive", "a_b"] {
            assert!(safe_role_name(ok), "{ok}");
        }
        for bad in [
            "",
            "../x",
            "a/b",
            "a\\b",
            ".hidden",
            "..",
            "x\0y",
            &"a".repeat(201),
        ] {
            assert!(!safe_role_name(bad), "{bad:?}");
        }
    }
}
