//! `publish DIR DEST`: copies the repository to a destination directory (a web root, a
//! mounted bucket) in an order that never lets a client see a half-published state:
//!
//! 1. target files, 2. channel metadata, 3. `N.targets.json`, 4. `N.snapshot.json`,
//! 5. `timestamp.json`, 6. `N.root.json` (see [`crate::txn`] for why root comes last).
//!
//! Each file goes to a temporary name in its destination directory and is renamed, so no
//! client reads a partial file. Files already at the destination with the same content are
//! skipped (target files by size: their names carry their SHA-256); nothing is deleted. The
//! repository is verified first: a broken repository is never published.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use updater_core::files::{self, FileError};
use updater_core::tuf::metadata::{ROOT, SNAPSHOT, TARGETS};

use crate::error::{PackError, Result};
use crate::ops::verify::{verify, VerifyReport};
use crate::project::repository_apps;
use crate::txn::{hash_file, Phase};

#[derive(Clone, Debug)]
pub struct PublishReport {
    pub source: PathBuf,
    pub dest: PathBuf,
    /// Files copied, in order, relative to the repository.
    pub copied: Vec<String>,
    pub skipped: usize,
    pub dry_run: bool,
    pub verified: VerifyReport,
}

/// The repository of `dir`: `dir/repository`, or `dir` itself if it holds `metadata/`.
pub fn repository_of(dir: &Path) -> PathBuf {
    let inner = dir.join("repository");
    if inner.join("metadata").is_dir() || !dir.join("metadata").is_dir() {
        inner
    } else {
        dir.to_path_buf()
    }
}

/// The publication phase of a metadata file name, `None` if it is not one.
fn metadata_phase(name: &str) -> Option<(Phase, u64)> {
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

fn is_temporary(rel: &str) -> bool {
    rel.rsplit('/')
        .next()
        .is_some_and(|n| n.starts_with(".tmp-") || n.starts_with(".updater-pack"))
}

fn same(src: &Path, dest: &Path, is_target: bool) -> Result<bool> {
    let Ok(dest_meta) = std::fs::metadata(dest) else {
        return Ok(false);
    };
    let src_meta = std::fs::metadata(src).map_err(FileError::at(src))?;
    if src_meta.len() != dest_meta.len() {
        return Ok(false);
    }
    if is_target {
        return Ok(true);
    }
    Ok(hash_file(src)?.1 == hash_file(dest)?.1)
}

fn copy_atomic(src: &Path, dest: &Path) -> Result<()> {
    // `dest` is DEST joined with a relative path: it always has a parent.
    let dir = dest.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(FileError::at(dir))?;
    let tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .suffix(".part")
        .tempfile_in(dir)
        .map_err(FileError::at(dir))?;
    let mut input = std::fs::File::open(src).map_err(FileError::at(src))?;
    let mut output = tmp.as_file();
    std::io::copy(&mut input, &mut output).map_err(FileError::at(dest))?;
    // Temporary files are owner-only; what is published must be readable by the server.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(FileError::at(dest))?;
    }
    tmp.as_file().sync_all().map_err(FileError::at(dest))?;
    tmp.persist(dest)
        .map_err(|e| FileError::new(dest, e.error))?;
    files::sync_dir(dir)?;
    Ok(())
}

pub fn publish(
    dir: &Path,
    dest: &Path,
    now: DateTime<Utc>,
    dry_run: bool,
) -> Result<PublishReport> {
    let source = repository_of(dir);
    let verified = verify(&source, now)?;
    let src_abs = std::fs::canonicalize(&source).map_err(FileError::at(&source))?;
    let dest_abs = match std::fs::canonicalize(dest) {
        Ok(p) => p,
        Err(_) => std::path::absolute(dest).map_err(FileError::at(dest))?,
    };
    if dest_abs.starts_with(&src_abs) || src_abs.starts_with(&dest_abs) {
        return Err(PackError::DestinationOverlaps {
            dest: dest.to_path_buf(),
            repository: source,
        });
    }
    let mut copied = Vec::new();
    let mut skipped = 0;
    for rel in publication_order(&source)? {
        let src = source.join(&rel);
        let to = dest.join(&rel);
        if same(&src, &to, rel.starts_with("targets/"))? {
            skipped += 1;
            continue;
        }
        if !dry_run {
            copy_atomic(&src, &to)?;
        }
        copied.push(rel);
    }
    Ok(PublishReport {
        source,
        dest: dest.to_path_buf(),
        copied,
        skipped,
        dry_run,
        verified,
    })
}

impl std::fmt::Display for PublishReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.verified)?;
        let verb = if self.dry_run { "Would copy" } else { "Copied" };
        writeln!(
            f,
            "{verb} {} file(s) to {} ({} already there), in this order:",
            self.copied.len(),
            self.dest.display(),
            self.skipped
        )?;
        for c in &self.copied {
            writeln!(f, "  {c}")?;
        }
        Ok(())
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
}
