//! `migrate`: turns a project of the `channel` layout (one repository, each channel one
//! role listing every release of every app) into the `per-app` layout in one transaction.
//!
//! Each app that has a release gets its own repository (`repository/apps/<app>/metadata/`)
//! with the project's root history and keys: `targets` as it is, its channel roles made
//! anew (signed by the channels' keys), and every release and patch of the app on every
//! channel placed in heads and archives as `release` would have placed them, oldest
//! first. Target files are shared and do not move. The project repository is left as it
//! is, so installs that read it keep working; with `shared_releases` (the default) later
//! releases are written there too, until the publisher turns it off.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use semver::Version;
use tuf_updater_core::release::ReleasePath;
use tuf_updater_core::tuf::metadata::TargetFile;

use crate::error::{PackError, Result};
use crate::keys::{KeyStore, Passphrase};
use crate::ops::session::new_app_repository;
use crate::project::{Layout, Project};
use crate::repo::{Draft, RepoState, RoleVersion, Roles};
use crate::txn::{Lock, Phase, Transaction};

#[derive(Clone, Debug)]
pub struct MigrateOptions {
    /// Keep writing releases to the project repository for installs that read it.
    pub shared_releases: bool,
}

#[derive(Clone, Debug)]
pub struct MigrateReport {
    /// Per app: how many targets its repository lists.
    pub apps: Vec<(String, usize)>,
    pub shared_releases: bool,
    pub roles: Vec<RoleVersion>,
}

/// Every release target of the repository, per app, oldest version first:
/// `(channel, path, entry)`.
fn targets_by_app(shared: &Roles) -> BTreeMap<String, Vec<(Version, String, String, TargetFile)>> {
    let mut by_app: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for channel in shared.channel_names() {
        for (path, file) in shared.channel_targets(&channel) {
            // What is not a release path of this channel is no client's: it stays behind
            // (`verify` reports it).
            let Ok(release) = path.parse::<ReleasePath>() else {
                continue;
            };
            if release.channel != channel {
                continue;
            }
            by_app.entry(release.app.clone()).or_default().push((
                release.version,
                channel.clone(),
                path.clone(),
                file.clone(),
            ));
        }
    }
    for targets in by_app.values_mut() {
        targets.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.2.cmp(&b.2)));
    }
    by_app
}

pub fn migrate(
    project: &Project,
    opts: &MigrateOptions,
    passphrase: Passphrase,
    now: DateTime<Utc>,
) -> Result<MigrateReport> {
    let mut config = project.load_config()?;
    if config.layout == Layout::PerApp {
        return Err(PackError::NothingToChange {
            command: "migrate",
            options: "it on a project of the channel layout (this one is per-app already)",
        });
    }
    let _lock = Lock::acquire(&project.lock_path())?;
    let shared = Roles::from(RepoState::load(&project.metadata_dir())?);
    let store = KeyStore::new(project.keys_dir(), passphrase);
    let mut txn = Transaction::new(project.dir())?;
    let mut apps = Vec::new();
    let mut roles = Vec::new();
    for (app, targets) in targets_by_app(&shared) {
        let dir = project.app_metadata_dir(&app);
        if dir.exists() {
            return Err(PackError::inconsistent(format!(
                "{} exists already; move it away and migrate again",
                dir.display()
            )));
        }
        let mut draft: Draft = new_app_repository(&shared, &dir)?;
        let channels: BTreeSet<&String> = targets.iter().map(|t| &t.1).collect();
        for channel in channels {
            draft.channel_mut(channel)?;
        }
        for (_, channel, path, file) in &targets {
            draft.insert_target(channel, path, file.clone())?;
        }
        roles.extend(draft.sign(&store, &config.expires, now, &mut txn)?);
        apps.push((app, targets.len()));
    }
    config.layout = Layout::PerApp;
    config.shared_releases = opts.shared_releases;
    txn.add_bytes(
        Phase::Settings,
        &project.config_path(),
        &config.to_bytes()?,
        true,
    )?;
    txn.commit()?;
    Ok(MigrateReport {
        apps,
        shared_releases: opts.shared_releases,
        roles,
    })
}

impl std::fmt::Display for MigrateReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "Migrated to the per-app layout")?;
        for (app, count) in &self.apps {
            writeln!(
                f,
                "  {app}: its own repository, repository/apps/{app}/metadata/ ({count} target(s))"
            )?;
        }
        if self.shared_releases {
            writeln!(
                f,
                "  releases are still written to repository/metadata/ too, for installs that \
                 read it; set \"shared_releases\": false in updater-pack.json once none does"
            )?;
        } else {
            writeln!(
                f,
                "  repository/metadata/ is frozen: installs that read it see no new release \
                 (keep it fresh with `updater-pack timestamp`)"
            )?;
        }
        crate::ops::write_roles(f, &self.roles)
    }
}
