//! The package a packaged app's rollback installs again (or the installer an app a Windows
//! installer installed runs again): the running version's release, in the same channel and
//! format as the update. The package manager keeps no copy of what it installed, nor does
//! Windows, so the updater keeps one (`install/installed.<ext>`): after an update, the
//! package or installer it installed; before the first update, the running version's, found
//! by the check and downloaded, verified, with the update.

use semver::Version;

use super::app_updater::AppUpdater;
use super::types::{Result, RollbackPackage, Update};
use crate::release::{Release, ReleaseKind};
use crate::tuf::metadata::TargetFile;

/// The full release of `current` at the same channel, app and platform segment as
/// `chosen`, among the channel's signed `candidates`.
pub(super) fn running_release<'a, P, I>(
    candidates: I,
    chosen: &Release,
    current: &Version,
) -> Option<RollbackPackage>
where
    P: AsRef<str>,
    I: IntoIterator<Item = (P, &'a TargetFile)>,
{
    candidates.into_iter().find_map(|(path, target)| {
        let release = Release::parse(path.as_ref(), target).ok()?;
        let same_place = release.path.channel == chosen.path.channel
            && release.path.app == chosen.path.app
            && release.path.segment == chosen.path.segment;
        let full = matches!(release.fields.kind, ReleaseKind::Full);
        (same_place && full && release.version() == current).then(|| RollbackPackage {
            target_path: path.as_ref().to_string(),
            target: target.clone(),
        })
    })
}

impl AppUpdater {
    /// For a packaged app (or one a Windows installer installed), makes sure the data dir
    /// keeps the running version's package (or installer) before `update` is installed,
    /// downloading it when it does not. Without it the update still installs, but cannot
    /// be rolled back: that is logged, and a rollback says so.
    pub(super) async fn keep_running_package(&self, update: &Update) -> Result<()> {
        if self.installer.installed_path().is_none() {
            return Ok(());
        }
        let current = self.current.to_string();
        if self.installer.installed_package(&current).is_some() {
            return Ok(());
        }
        let Some(package) = &update.rollback_package else {
            tracing::warn!(version = %current, "the running version's package is not in the channel; this update cannot be rolled back");
            return Ok(());
        };
        let dest = self.download_path_of(&package.target_path);
        let path = self
            .fetch_from_mirrors(
                update,
                &package.target_path,
                &package.target,
                &dest,
                &mut |_| {},
            )
            .await?;
        let kept = self.installer.keep_installed(&path, &current)?;
        tracing::info!(version = %current, path = %kept.display(), "kept the running version's package for a rollback");
        Ok(())
    }
}
