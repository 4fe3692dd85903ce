//! `verify`: walks the repository as a client does, with our client
//! ([`tuf_updater_core::tuf::TufClient`] over a [`DirFetcher`]): from `1.root.json` through every
//! root rotation, timestamp, snapshot, targets and each channel role, at "now". Then every
//! target must be found through the delegations, and its stored file
//! (`targets/<dir>/<sha256>.<file>`) must match the signed length and hashes.
//!
//! Every target must also be a release as the client reads it ([`Release::parse`]: path,
//! names, custom fields, versions that agree) listed by the channel its path names. A delta
//! (a patch, [`crate::ops::patches`]) must patch into a full release the same channel lists
//! in its directory, from a version the channel has a full release of on its platform
//! segment: a client uses no other. Every problem found is reported, each with its target
//! path, not just the first.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use semver::Version;
use tuf_updater_core::files::FileError;
use tuf_updater_core::release::{Release, ReleaseKind, ReleasePath};
use tuf_updater_core::tuf::metadata::{TargetFile, TARGETS};
use tuf_updater_core::tuf::{ClientConfig, TufClient};

use crate::dirfetch::{DirFetcher, SCHEME};
use crate::error::{PackError, Result};
use crate::names::stored_name;
use crate::ops::release::channel_release;
use crate::project::repository_apps;

#[derive(Clone, Debug, Default)]
pub struct VerifyReport {
    pub repository: PathBuf,
    pub root_version: u64,
    pub timestamp_version: u64,
    pub snapshot_version: u64,
    pub targets_version: u64,
    /// Channel, version, number of targets.
    pub channels: Vec<(String, u64, usize)>,
    pub targets_checked: usize,
    pub bytes_checked: u64,
    /// Target files not checked here (stored name, signed length): with
    /// [`TargetCheck::OrAt`], those the destination has at their signed length; with
    /// [`TargetCheck::MetadataOnly`], all, for the caller to check where they are.
    pub targets_elsewhere: Vec<(String, u64)>,
    /// The repository was read where it is published (`verify URL`), not from a copy.
    pub published: bool,
    /// Per-app layout: each app's own repository, by app.
    pub apps: Vec<(String, VerifyReport)>,
}

/// Files of a destination: relative name -> size.
pub type Elsewhere = BTreeMap<String, u64>;

/// How `verify` checks target files.
#[derive(Clone, Copy, Debug)]
pub enum TargetCheck<'a> {
    /// Each in the repository's `targets/`, hashed.
    Local,
    /// In `targets/`, or else (a copy made by `pull` holds metadata only) at the
    /// destination whose files these are, at the signed length.
    OrAt(&'a Elsewhere),
    /// Not at all: they are listed in the report for the caller.
    MetadataOnly,
}

/// Verifies the repository in `repository` (the directory holding `metadata/` and
/// `targets/`) at `now`.
pub fn verify(repository: &Path, now: DateTime<Utc>) -> Result<VerifyReport> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(FileError::at(repository))?;
    runtime.block_on(verify_async(repository, now, TargetCheck::Local))
}

fn fail(e: impl std::fmt::Display) -> PackError {
    PackError::Verify(e.to_string())
}

/// Verifies the project repository (`metadata/`) and every app's (`apps/<app>/metadata/`).
///
/// `targets` says how target files are checked.
pub async fn verify_async(
    repository: &Path,
    now: DateTime<Utc>,
    targets: TargetCheck<'_>,
) -> Result<VerifyReport> {
    let mut report = verify_one(repository, "metadata", now, targets).await?;
    for app in repository_apps(repository)? {
        let metadata = format!("apps/{app}/metadata");
        let app_report = verify_one(repository, &metadata, now, targets)
            .await
            .map_err(|e| fail(format!("{metadata}: {e}")))?;
        report.apps.push((app, app_report));
    }
    Ok(report)
}

/// Verifies the repository whose metadata is at `metadata` under `repository`.
async fn verify_one(
    repository: &Path,
    metadata: &str,
    now: DateTime<Utc>,
    targets: TargetCheck<'_>,
) -> Result<VerifyReport> {
    let first_root_path = repository.join(metadata).join("1.root.json");
    let first_root = std::fs::read(&first_root_path).map_err(|e| {
        fail(format!(
            "{}: {e} (every client starts from it)",
            first_root_path.display()
        ))
    })?;
    let cache = tempfile::tempdir().map_err(FileError::at(&std::env::temp_dir()))?;
    let mut config = ClientConfig::new(format!("{SCHEME}{metadata}/"), cache.path());
    config.targets_url = Some(format!("{SCHEME}targets/"));
    let fetcher = Arc::new(DirFetcher::new(repository));
    let mut updater = TufClient::with_time(config, fetcher, Some(&first_root), now)
        .map_err(|e| fail(format!("1.root.json: {e}")))?;
    updater.refresh().await.map_err(|e| {
        let hint = if matches!(e, tuf_updater_core::tuf::TufError::Expired { .. }) {
            " (re-sign with `updater-pack timestamp` or `updater-pack resign`)"
        } else {
            ""
        };
        fail(format!("{e}{hint}"))
    })?;

    let trusted = updater.trusted();
    let mut report = VerifyReport {
        repository: repository.to_path_buf(),
        root_version: trusted.root().common.version,
        timestamp_version: trusted.timestamp().map_or(0, |t| t.common.version),
        snapshot_version: trusted.snapshot().map_or(0, |s| s.common.version),
        ..VerifyReport::default()
    };
    let top = trusted
        .targets(TARGETS)
        .ok_or_else(|| fail("top-level targets not loaded"))?
        .clone();
    report.targets_version = top.common.version;
    let mut problems: Vec<String> = Vec::new();
    if !top.targets.is_empty() {
        problems.push(format!(
            "top-level targets lists {} target(s) directly; updater-pack puts releases in channels",
            top.targets.len()
        ));
    }
    let channels: Vec<String> = top
        .delegations
        .as_ref()
        .and_then(|d| d.roles.as_ref())
        .map(|roles| roles.iter().map(|r| r.name.clone()).collect())
        .unwrap_or_default();

    for channel in &channels {
        check_channel(
            &mut updater,
            (repository, targets),
            channel,
            &mut report,
            &mut problems,
        )
        .await;
    }
    if problems.is_empty() {
        Ok(report)
    } else {
        Err(fail(format!(
            "{} problem(s):\n  - {}",
            problems.len(),
            problems.join("\n  - ")
        )))
    }
}

/// Loads `channel` as a client does, then looks up each of its targets and checks its stored
/// file; what is wrong goes to `problems`.
async fn check_channel(
    updater: &mut TufClient,
    (repository, check): (&Path, TargetCheck<'_>),
    channel: &str,
    report: &mut VerifyReport,
    problems: &mut Vec<String>,
) {
    // Any path under the channel makes the client load the channel role.
    let probe = format!("{channel}/x/x/x/x");
    if let Err(e) = updater.get_target_info(&probe).await {
        problems.push(format!("channel {channel}: {e}"));
        return;
    }
    let Some(role) = updater.trusted().targets(channel).cloned() else {
        problems.push(format!("channel {channel}: not reachable from targets"));
        return;
    };
    let mut targets = role.targets.clone();
    for part in role
        .delegations
        .iter()
        .flat_map(|d| d.roles.iter().flatten())
    {
        // A path the part is granted makes the client load it (heads before archives).
        let probe = part
            .paths
            .iter()
            .flatten()
            .next()
            .map(|p| p.replace('*', "x"));
        if let Some(probe) = probe {
            if let Err(e) = updater.get_target_info(&probe).await {
                problems.push(format!("{}: {e}", part.name));
            }
        }
        match updater.trusted().targets(&part.name) {
            Some(t) => targets.extend(t.targets.clone()),
            None => problems.push(format!("{}: not reachable from {channel}", part.name)),
        }
    }
    report
        .channels
        .push((channel.to_string(), role.common.version, targets.len()));
    let fulls = FullReleases::of(channel, &targets);
    for (path, file) in &targets {
        match channel_release(channel, path, file) {
            Ok(release) => problems.extend(fulls.delta_problems(channel, &release)),
            Err(e) => problems.push(format!("{path}: {e}")),
        }
        match updater.get_target_info(path).await {
            Ok(Some(info)) if info == *file => {}
            Ok(_) => {
                problems.push(format!(
                    "{path}: a client looking it up does not find this entry"
                ));
                continue;
            }
            Err(e) => {
                problems.push(format!("{path}: {e}"));
                continue;
            }
        }
        let stored = stored_file(repository, path, file);
        let rel = stored.as_ref().map(|p| {
            let rel = p.strip_prefix(repository).unwrap_or(p).to_string_lossy();
            rel.replace('\\', "/")
        });
        match (check, &rel) {
            (TargetCheck::MetadataOnly, Some(rel)) => {
                report.targets_elsewhere.push((rel.clone(), file.length));
                continue;
            }
            (TargetCheck::OrAt(there), Some(rel))
                if stored.as_ref().is_some_and(|p| !p.exists())
                    && there.get(rel) == Some(&file.length) =>
            {
                report.targets_elsewhere.push((rel.clone(), file.length));
                continue;
            }
            _ => {}
        }
        match stored.map(|p| updater.find_cached_target(file, &p).map(|ok| (ok, p))) {
            Some(Ok((Some(_), _))) => {
                report.targets_checked += 1;
                report.bytes_checked += file.length;
            }
            Some(Ok((None, p))) => problems.push(format!(
                "{path}: {} is missing or does not match the signed length and hashes",
                p.display()
            )),
            Some(Err(e)) => problems.push(format!("{path}: {e}")),
            None => problems.push(format!("{path}: not a storable target path")),
        }
    }
}

/// The full releases a channel lists: their directories by target path, and the key
/// `<app> <version> <segment>` of each (patches are checked against them).
struct FullReleases {
    dirs: BTreeMap<String, String>,
    keys: BTreeSet<String>,
}

impl FullReleases {
    fn of(channel: &str, targets: &BTreeMap<String, TargetFile>) -> Self {
        let mut fulls = FullReleases {
            dirs: BTreeMap::new(),
            keys: BTreeSet::new(),
        };
        for (path, file) in targets {
            let Ok(r) = channel_release(channel, path, file) else {
                continue;
            };
            if r.fields.kind == ReleaseKind::Full {
                fulls.keys.insert(base_key(&r.path, &r.fields.version));
                fulls.dirs.insert(path.clone(), r.path.dir());
            }
        }
        fulls
    }

    /// What makes `release`, if it is a delta, unusable to every client: its `full` is not
    /// a full release `channel` lists in its directory, or the channel has no full release
    /// of its `from` version on its platform segment (the installed bytes are checked
    /// against it).
    fn delta_problems(&self, channel: &str, release: &Release) -> Vec<String> {
        let ReleaseKind::Delta { from, full, .. } = &release.fields.kind else {
            return Vec::new();
        };
        let path = release.target_path();
        let mut problems = Vec::new();
        match self.dirs.get(full) {
            None => problems.push(format!(
                "{path}: a patch to {full}, which channel {channel} does not list as a full \
                 release"
            )),
            Some(dir) if *dir != release.path.dir() => problems.push(format!(
                "{path}: a patch to {full}, outside its directory (clients only look beside it)"
            )),
            Some(_) => {}
        }
        if !self.keys.contains(&base_key(&release.path, from)) {
            problems.push(format!(
                "{path}: a patch from {from}, but channel {channel} has no full release of {} \
                 {from} for {}",
                release.path.app, release.path.segment
            ));
        }
        problems
    }
}

/// `<app> <version> <segment>`: which full release a patch's base is.
fn base_key(path: &ReleasePath, version: &Version) -> String {
    format!("{} {version} {}", path.app, path.segment)
}

/// Where a client fetches `path` from in a consistent-snapshot repository: the first hash
/// (in key order, as our client and python-tuf pick it) prefixed to the file name. This is
/// TUF's rule for any target path, so it splits the path itself: a target that is not a
/// valid release (reported by [`channel_release`]) still has its stored file checked.
fn stored_file(repository: &Path, path: &str, file: &TargetFile) -> Option<PathBuf> {
    let hash = file.hashes.values().next()?;
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    let mut out = repository.join("targets");
    for segment in dir.split('/').filter(|s| !s.is_empty()) {
        if segment == ".." || segment == "." {
            return None;
        }
        out.push(segment);
    }
    Some(out.join(stored_name(hash, name)))
}

impl std::fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "OK: {} verifies as a client sees it",
            self.repository.display()
        )?;
        writeln!(
            f,
            "  root v1 -> v{}, timestamp v{}, snapshot v{}, targets v{}",
            self.root_version, self.timestamp_version, self.snapshot_version, self.targets_version
        )?;
        for (name, version, count) in &self.channels {
            writeln!(f, "  channel {name} v{version}: {count} target(s)")?;
        }
        if self.targets_checked > 0 || self.targets_elsewhere.is_empty() {
            writeln!(
                f,
                "  {} target file(s), {} bytes, match their signed hashes",
                self.targets_checked, self.bytes_checked
            )?;
        }
        if !self.targets_elsewhere.is_empty() {
            let place = if self.published {
                "where it is published"
            } else {
                "not in this copy: at the destination"
            };
            writeln!(
                f,
                "  {} target file(s) {place}, at their signed length",
                self.targets_elsewhere.len()
            )?;
        }
        for (app, report) in &self.apps {
            writeln!(f, "app {app}, its own repository:")?;
            write!(f, "{report}")?;
        }
        Ok(())
    }
}
