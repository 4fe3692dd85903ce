//! The steps of [`Installer`] that only a packaged app takes: staging the package, the
//! kept package of the running version (the backup a rollback installs again), and the
//! undoing of an install the package manager failed.

use std::path::{Path, PathBuf};

use super::error::InstallError;
use super::journal::{InstallTarget, Journal, PackagedApp, State};
use super::package::PackageManager;
use super::swap::sha256_file;
use super::{crash_point, sanitize, unpack, Installer};
use crate::files::remove_any;

impl Installer {
    /// Step 1 for a packaged app: the verified package must be this app's package at the
    /// release's version; it is copied into the data dir and recorded with its SHA-256.
    /// The backup is the package of the running version, `installed.<ext>`, if the app
    /// layer put it there ([`installed_package`](Self::installed_package)).
    pub(super) fn stage_package(
        &self,
        app: &PackagedApp,
        artifact: &Path,
        from_version: &str,
        to_version: &str,
    ) -> Result<(), InstallError> {
        let identity = app.manager.identity(artifact)?;
        let wrong = |reason: String| InstallError::Package {
            path: artifact.to_path_buf(),
            reason,
        };
        if identity.name != app.name {
            return Err(wrong(format!(
                "it is the package {:?}, and this app was installed by the package {:?}",
                identity.name, app.name
            )));
        }
        if !identity.is_version(to_version) {
            return Err(wrong(format!(
                "it declares version {}, and the release is version {to_version}",
                identity.version
            )));
        }
        let ext = app.manager.extension();
        let staged = self
            .dir
            .join(format!("staged-{}.{ext}", sanitize(to_version)));
        remove_any(&staged)?;
        unpack::stage_package(artifact, &staged)?;
        let journal = Journal {
            state: State::Staged,
            from_version: from_version.to_string(),
            to_version: to_version.to_string(),
            target: self.target.clone(),
            staged_sha256: Some(sha256_file(&staged)?),
            staged,
            backup: self.installed_package_path(app.manager),
            new_id: identity.installed_as,
            scratch: None,
            max_launches: Some(self.max_unconfirmed_launches),
        };
        journal.save(&self.journal_path())?;
        crash_point("staged");
        Ok(())
    }

    /// After the package manager failed to install the new package: puts the previous
    /// package back if the failure left anything but it installed (dpkg leaves a package
    /// whose script failed half-configured, its new files in place), then forgets the
    /// install, so the app runs the old version and a later attempt starts afresh.
    pub(super) fn undo_failed_package_install(&self, app: &PackagedApp, j: &Journal) {
        let backup = app.manager.identity(&j.backup).ok();
        let installed = app.manager.installed_version(&app.name).ok().flatten();
        if let Some(backup) = backup {
            if installed.as_deref() != Some(backup.installed_as.as_str()) {
                tracing::warn!(version = %j.from_version, "reinstalling the previous package after the failed install");
                if let Err(e) = app.manager.install(&j.backup, true) {
                    tracing::error!(error = %e, "cannot reinstall the previous package");
                    return; // the journal stays: the next start retries the rollback
                }
            }
        }
        if let Err(e) = self.discard_staged(j).and_then(|()| self.remove_journal()) {
            tracing::warn!(error = %e, "cannot forget the failed install");
        }
    }

    /// Where the package of the running version of a packaged app is kept, so that a
    /// rollback can install it again: `installed.<ext>` in the install state directory.
    pub fn installed_package_path(&self, manager: PackageManager) -> PathBuf {
        self.dir.join(format!("installed.{}", manager.extension()))
    }

    /// The kept package of a packaged app if it is the package of `version`; `None` for
    /// other targets or when it is missing or another version's.
    pub fn installed_package(&self, version: &str) -> Option<PathBuf> {
        let InstallTarget::Package(app) = &self.target else {
            return None;
        };
        let path = self.installed_package_path(app.manager);
        let identity = app.manager.identity(&path).ok()?;
        (identity.name == app.name && identity.is_version(version)).then_some(path)
    }
}
