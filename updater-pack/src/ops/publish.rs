//! `publish DIR DEST`: uploads the repository to a folder (a web root) or a bucket
//! (`s3://`, `gs://`, `az://`) in an order that never lets a client see a half-published
//! state:
//!
//! 1. target files, 2. channel metadata, 3. `N.targets.json`, 4. `N.snapshot.json`,
//! 5. `timestamp.json`, 6. `N.root.json` (see [`crate::txn`] for why root comes last).
//!
//! Each phase finishes before the next starts; a file appears whole or not at all. Only
//! what the destination lacks goes up. Names that never change (versioned metadata,
//! hash-named targets) are written create-only; `timestamp.json` is replaced only if it is
//! still the one read ([`crate::ops::publish_plan`] checks, before anything is written,
//! that the destination has not moved past this copy). Nothing is deleted. The repository
//! is verified first: a broken repository is never published.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use tuf_updater_core::files::FileError;

use crate::error::{PackError, Result};
use crate::ops::publish_plan::{plan, same_as_there, Upload};
use crate::ops::verify::{verify_async, TargetCheck, VerifyReport};
use crate::store::{Store, Written};

#[derive(Clone, Debug)]
pub struct PublishReport {
    pub source: PathBuf,
    pub dest: String,
    /// Files uploaded (or, dry run, to upload), in order, relative to the repository.
    pub copied: Vec<String>,
    pub skipped: usize,
    pub dry_run: bool,
    pub verified: VerifyReport,
    /// Requests made and bytes sent and received, reads included.
    pub requests: u64,
    pub bytes_up: u64,
    pub bytes_down: u64,
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

/// Uploads at once within a phase.
const PARALLEL: usize = 8;

pub fn publish(dir: &Path, dest: &str, now: DateTime<Utc>, dry_run: bool) -> Result<PublishReport> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(FileError::at(dir))?;
    runtime.block_on(publish_async(dir, dest, now, dry_run))
}

pub async fn publish_async(
    dir: &Path,
    dest: &str,
    now: DateTime<Utc>,
    dry_run: bool,
) -> Result<PublishReport> {
    let source = repository_of(dir);
    let store = Store::open(dest, !dry_run)?;
    if !store.can_list() {
        return Err(PackError::BadLocation {
            location: dest.to_string(),
            reason: "a web server cannot be published to: publish to its folder or bucket".into(),
        });
    }
    if let Some(folder) = store.local_folder() {
        refuse_overlap(&source, folder, dest)?;
    }
    let listing = store.list("").await?.unwrap_or_default();
    // Targets a pulled copy does not hold count when the destination has them.
    let verified = verify_async(&source, now, TargetCheck::OrAt(&listing)).await?;
    let (uploads, skipped) = plan(&source, &store, &listing).await?;
    let copied = uploads.iter().map(|u| u.rel.clone()).collect();
    if !dry_run {
        upload_all(&source, &store, uploads).await?;
    }
    let (requests, bytes_up, bytes_down) = store.traffic.get();
    Ok(PublishReport {
        source,
        dest: dest.to_string(),
        copied,
        skipped,
        dry_run,
        verified,
        requests,
        bytes_up,
        bytes_down,
    })
}

fn refuse_overlap(source: &Path, folder: &Path, dest: &str) -> Result<()> {
    let src_abs = std::fs::canonicalize(source).map_err(FileError::at(source))?;
    if folder.starts_with(&src_abs) || src_abs.starts_with(folder) {
        return Err(PackError::DestinationOverlaps {
            dest: PathBuf::from(dest),
            repository: source.to_path_buf(),
        });
    }
    Ok(())
}

/// Uploads phase by phase: every file of a phase is written before the next phase starts.
async fn upload_all(source: &Path, store: &Store, uploads: Vec<Upload>) -> Result<()> {
    let mut phases: Vec<Vec<Upload>> = Vec::new();
    for upload in uploads {
        match phases.last_mut() {
            Some(last) if last.first().is_some_and(|u| u.phase == upload.phase) => {
                last.push(upload)
            }
            _ => phases.push(vec![upload]),
        }
    }
    for phase in phases {
        let mut results = futures_util::stream::iter(phase)
            .map(|u| upload_one(source, store, u))
            .buffer_unordered(PARALLEL);
        while let Some(result) = results.next().await {
            result?;
        }
    }
    Ok(())
}

async fn upload_one(source: &Path, store: &Store, upload: Upload) -> Result<()> {
    let src = source.join(&upload.rel);
    match store
        .put(&upload.rel, &src, upload.write.clone(), upload.caching)
        .await?
    {
        Written::Done => Ok(()),
        Written::Exists => same_as_there(source, store, &upload.rel).await,
        Written::Changed => Err(PackError::StaleCopy {
            location: store.location.clone(),
            detail: format!(
                "another publisher replaced {} while this one was publishing",
                upload.rel
            ),
        }),
    }
}

impl std::fmt::Display for PublishReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.verified)?;
        let verb = if self.dry_run { "Would copy" } else { "Copied" };
        writeln!(
            f,
            "{verb} {} file(s) to {} ({} already there), in this order:",
            self.copied.len(),
            self.dest,
            self.skipped
        )?;
        for c in &self.copied {
            writeln!(f, "  {c}")?;
        }
        writeln!(
            f,
            "{} request(s), {} byte(s) sent, {} byte(s) read.",
            self.requests, self.bytes_up, self.bytes_down
        )
    }
}
