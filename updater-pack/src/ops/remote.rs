//! `verify` and `status` of a published repository (a bucket, a web server, a folder): its
//! metadata is fetched as `pull` fetches it, into a scratch folder, and checked there; its
//! target files are checked where they are published, by their signed length (a listing,
//! or a HEAD request each on a web server).

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use futures_util::{StreamExt, TryStreamExt};
use tuf_updater_core::files::FileError;

use crate::error::{PackError, Result};
use crate::lifetime::ExpiryPolicy;
use crate::ops::pull::fetch_metadata;
use crate::ops::status::{status, Status};
use crate::ops::verify::{verify_async, TargetCheck, VerifyReport};
use crate::project::{KeyType, Layout, Project, ProjectConfig};
use crate::store::Store;

/// HEAD requests at once.
const PARALLEL: usize = 8;

/// Whether `source` names a published repository rather than a project folder.
pub fn is_remote(source: &str) -> bool {
    source.contains("://")
}

fn runtime(at: &std::path::Path) -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| FileError::new(at, e).into())
}

/// Verifies the repository published at `source`, as a client sees it.
pub fn verify_source(source: &str, apps: &[String], now: DateTime<Utc>) -> Result<VerifyReport> {
    let scratch = tempfile::tempdir().map_err(FileError::at(&std::env::temp_dir()))?;
    runtime(scratch.path())?.block_on(async {
        let store = Store::open(source, false)?;
        fetch_metadata(&store, apps, scratch.path()).await?;
        let mut report = verify_async(scratch.path(), now, TargetCheck::MetadataOnly)
            .await
            .map_err(|e| PackError::Verify(format!("{source}: {e}")))?;
        let mut wanted: Vec<(String, u64)> = report.targets_elsewhere.clone();
        for (_, app) in &report.apps {
            wanted.extend(app.targets_elsewhere.iter().cloned());
        }
        wanted.sort();
        wanted.dedup();
        let problems = missing_targets(&store, &wanted).await?;
        if !problems.is_empty() {
            return Err(PackError::Verify(format!(
                "{source}: {} problem(s):\n  - {}",
                problems.len(),
                problems.join("\n  - ")
            )));
        }
        report.repository = PathBuf::from(source);
        report.published = true;
        for (_, app) in &mut report.apps {
            app.published = true;
        }
        Ok(report)
    })
}

/// The target files not at `store` at their signed length.
async fn missing_targets(store: &Store, wanted: &[(String, u64)]) -> Result<Vec<String>> {
    let problem = |rel: &str, len: u64, found: Option<u64>| match found {
        Some(n) if n == len => None,
        Some(n) => Some(format!("{rel}: {n} bytes, signed as {len}")),
        None => Some(format!("{rel}: missing")),
    };
    if let Some(listing) = store.list("targets").await? {
        return Ok(wanted
            .iter()
            .filter_map(|(rel, len)| problem(rel, *len, listing.get(rel).copied()))
            .collect());
    }
    let found: Vec<Option<String>> =
        futures_util::stream::iter(wanted)
            .map(|(rel, len)| async move {
                Ok::<_, PackError>(problem(rel, *len, store.size(rel).await?))
            })
            .buffer_unordered(PARALLEL)
            .try_collect()
            .await?;
    Ok(found.into_iter().flatten().collect())
}

/// The status of the repository published at `source`: roles, expiry, channels, warnings.
/// No project settings are at hand: the default expiry policy judges what expires soon.
pub fn status_of_source(
    source: &str,
    apps: &[String],
    now: DateTime<Utc>,
    within_days: i64,
) -> Result<Status> {
    let scratch = tempfile::tempdir().map_err(FileError::at(&std::env::temp_dir()))?;
    let project = Project::new(scratch.path(), None);
    let dirs = runtime(scratch.path())?.block_on(async {
        let store = Store::open(source, false)?;
        fetch_metadata(&store, apps, &project.repository()).await
    })?;
    let mut config = ProjectConfig::new(KeyType::Ed25519, ExpiryPolicy::default());
    if dirs.len() == 1 {
        config.layout = Layout::Channel;
    }
    let json = serde_json::to_vec_pretty(&config).map_err(|source| PackError::Encode {
        what: "the scratch project settings",
        source,
    })?;
    let path = project.config_path();
    std::fs::write(&path, json).map_err(FileError::at(&path))?;
    let mut s = status(&project, now, within_days)?;
    let scratch_name = scratch.path().display().to_string();
    for w in &mut s.warnings {
        *w = w.replace(&scratch_name, "PROJECT");
    }
    s.repository = PathBuf::from(source);
    s.trusted_root = PathBuf::from(format!(
        "{}/metadata/1.root.json",
        source.trim_end_matches('/')
    ));
    Ok(s)
}
