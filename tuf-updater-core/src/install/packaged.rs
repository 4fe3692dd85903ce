//! The steps of [`Installer`] that only a packaged app takes: staging the package, the
//! kept package of the running version (the backup a rollback installs again; an app a
//! Windows installer installed keeps its installer the same way), and the undoing of an
//! install the package manager failed.

use std::fs;
use std::path::{Path, PathBuf};

use super::error::InstallError;
use super::installer_app::is_version;
use super::journal::{InstallTarget, Journal, PackagedApp, State};
use super::package::PackageManager;
use super::swap::sha256_file;
use super::{crash_point, sanitize, unpack, Installer};
use crate::files::{
    read_capped, remove_any, sync_dir, write_atomic, Capped, Durability, FileError,
};
use crate::package::file_kind;

/// The version of the kept `installed.<ext>`, beside it. A package says its own version;
/// an installer does not (not in a way read here), so the version it was kept as is
/// recorded: written after the installer is in place, removed before it is replaced.
const INSTALLED_VERSION: &str = "installed.version";

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
        self.stage_whole_file(
            artifact,
            app.manager.extension(),
            from_version,
            to_version,
            self.installed_package_path(app.manager),
            identity.installed_as,
        )
    }

    /// Stages a package or an installer as it is: copied to `staged-<version>.<ext>` in the
    /// install state directory, recorded `Staged` with its SHA-256, `backup` (the kept file
    /// of the running version) and the `new_id` that tells it is installed.
    pub(super) fn stage_whole_file(
        &self,
        artifact: &Path,
        ext: &str,
        from_version: &str,
        to_version: &str,
        backup: PathBuf,
        new_id: String,
    ) -> Result<(), InstallError> {
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
            backup,
            new_id,
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

    /// Where the package or installer of the running version is kept for a rollback, for
    /// a target that keeps one (a packaged app, an app a Windows installer installed):
    /// `installed.<ext>` in the install state directory.
    pub fn installed_path(&self) -> Option<PathBuf> {
        self.installed_path_for(&self.target)
    }

    fn installed_path_for(&self, target: &InstallTarget) -> Option<PathBuf> {
        match target {
            InstallTarget::Package(app) => Some(self.installed_package_path(app.manager)),
            InstallTarget::Installer(app) => {
                Some(self.dir.join(format!("installed.{}", app.kind.extension())))
            }
            _ => None,
        }
    }

    /// The kept package of a packaged app (or installer of an installed app) if it is the
    /// one of `version`; `None` for other targets or when it is missing or another
    /// version's.
    pub fn installed_package(&self, version: &str) -> Option<PathBuf> {
        let path = self.installed_path()?;
        match &self.target {
            InstallTarget::Package(app) => {
                let identity = app.manager.identity(&path).ok()?;
                (identity.name == app.name && identity.is_version(version)).then_some(path)
            }
            InstallTarget::Installer(app) => {
                let record = self.dir.join(INSTALLED_VERSION);
                let Capped::Data(recorded) = read_capped(&record, 1024).ok()? else {
                    return None;
                };
                let recorded = String::from_utf8(recorded).ok()?;
                let kind = file_kind(&path).ok()??;
                (is_version(&recorded, version) && kind == app.kind.file_kind()).then_some(path)
            }
            _ => None,
        }
    }

    /// Keeps `file`, the verified package or installer of `version` (the version that
    /// runs, or is about to), as [`installed_path`](Self::installed_path), moving it there.
    pub fn keep_installed(&self, file: &Path, version: &str) -> Result<PathBuf, InstallError> {
        self.keep_installed_for(&self.target, file, version)
    }

    pub(super) fn keep_installed_for(
        &self,
        target: &InstallTarget,
        file: &Path,
        version: &str,
    ) -> Result<PathBuf, InstallError> {
        let Some(kept) = self.installed_path_for(target) else {
            return Err(InstallError::Artifact(
                "this app keeps no package or installer of its version".into(),
            ));
        };
        fs::create_dir_all(&self.dir).map_err(FileError::at(&self.dir))?;
        let record = self.dir.join(INSTALLED_VERSION);
        remove_any(&record)?;
        fs::rename(file, &kept).map_err(FileError::at(&kept))?;
        if matches!(target, InstallTarget::Installer(_)) {
            write_atomic(&record, version.as_bytes(), Durability::Durable)?;
        }
        sync_dir(&self.dir)?;
        Ok(kept)
    }
}
