//! The steps of [`Installer`] that only an app a Windows installer installed takes
//! (`installer_app.rs`): staging the checked installer, handing the install over to it, and
//! finding out at the next start what it did.
//!
//! ```text
//! stage ─► Staged ─► install ─► HandedOver ─(the app runs the installer and exits)─► next start:
//!            ▲                      │ the installer registered the new version: Swapped{launches}
//!            └──────────────────────┘ it did not (cancelled, failed, never run)
//! Swapped ─► rollback ─► RollingBack ─(restart: the kept previous installer runs)─► next start:
//!                           the previous version registered: RollbackFinished; else RolledBack again
//! ```
//!
//! What is installed is what the installer's uninstall entry registers (`DisplayVersion`,
//! `uninstall.rs`), else, when no entry holds the app, the version this process runs, if the
//! app said ([`Installer::with_running_version`]).

use std::path::Path;

use super::error::InstallError;
use super::installer_app::{is_version, system_dir, Handover, InstallerApp};
use super::journal::{InstallTarget, Journal, State};
use super::swap::sha256_file;
use super::{crash_point, uninstall, Installer, StartupOutcome, UpdateLock};
use crate::package::{file_kind, FileKind};

impl Installer {
    /// Step 1 for an installer's target: the verified artifact must be an installer of the
    /// app's kind (by content); it is copied into the data dir as `staged-<version>.<ext>`
    /// and recorded with its SHA-256. The backup is the running version's installer,
    /// `installed.<ext>`, if the app layer kept it.
    pub(super) fn stage_installer(
        &self,
        app: &InstallerApp,
        artifact: &Path,
        from_version: &str,
        to_version: &str,
    ) -> Result<(), InstallError> {
        let wrong = |reason: String| InstallError::Package {
            path: artifact.to_path_buf(),
            reason,
        };
        let expected = app.kind.file_kind();
        let kind = file_kind(artifact).map_err(|e| wrong(e.to_string()))?;
        if kind != Some(expected) {
            return Err(wrong(format!(
                "it is {}, and this app was installed by {}",
                kind.map_or("no known kind of file", FileKind::describe),
                expected.describe()
            )));
        }
        self.stage_whole_file(
            artifact,
            app.kind.extension(),
            from_version,
            to_version,
            self.dir.join(format!("installed.{}", app.kind.extension())),
            to_version.to_string(),
        )
    }

    /// Step 2 for an installer's target: records `HandedOver` and says what to run. The
    /// staged installer is checked against its SHA-256 first.
    pub(super) fn hand_over_install(
        &self,
        app: &InstallerApp,
        mut j: Journal,
    ) -> Result<Handover, InstallError> {
        check_staged(&j)?;
        j.state = State::HandedOver;
        j.save(&self.journal_path())?;
        crash_point("handed_over");
        Ok(Handover::for_installer(
            app,
            &j.staged,
            system_dir().as_deref(),
        ))
    }

    /// The installer an app installed by one must run now, and exit: the staged installer
    /// of the new version after [`install`](Self::install) (`HandedOver`), or the kept
    /// installer of the previous version during a rollback (`RollingBack`). `None` for
    /// other targets and states.
    pub fn pending_handover(&self) -> Result<Option<Handover>, InstallError> {
        let Some(j) = self.journal()? else {
            return Ok(None);
        };
        let InstallTarget::Installer(app) = &j.target else {
            return Ok(None);
        };
        let installer = match &j.state {
            State::HandedOver => {
                check_staged(&j)?;
                &j.staged
            }
            State::RollingBack { .. } => {
                if !j.backup.is_file() {
                    return Err(InstallError::NoRollbackPackage {
                        version: j.from_version.clone(),
                    });
                }
                &j.backup
            }
            _ => return Ok(None),
        };
        Ok(Some(Handover::for_installer(
            app,
            installer,
            system_dir().as_deref(),
        )))
    }

    /// Whether `version` of `app` is what is installed: what its uninstall entry registers,
    /// or without an entry, whether it is the version this process runs. Unknown is no.
    pub(super) fn installer_installed(&self, app: &InstallerApp, version: &str) -> bool {
        let entries = uninstall::read_entries();
        if uninstall::find_entry(&app.exe, &entries).is_some() {
            return uninstall::registers_version(app, &entries, version);
        }
        match &self.running_version {
            Some(running) => is_version(running, version),
            None => {
                tracing::warn!(exe = %app.exe.display(), "no uninstall entry holds the app, and its version is unknown");
                false
            }
        }
    }

    /// At start, after a handover: the installer ran and the new version is installed
    /// (its first launch is counted), or it did not, and the update is staged again.
    pub(super) fn recover_handed_over(
        &self,
        lock: &UpdateLock,
        mut j: Journal,
    ) -> Result<StartupOutcome, InstallError> {
        if self.new_version_in_place(&j)? {
            j.state = State::Swapped { launches: 0 };
            return self.count_launch(lock, j);
        }
        tracing::warn!(version = %j.to_version, "the installer did not install the update (cancelled, failed or not run); it stays staged");
        j.state = State::Staged;
        j.save(&self.journal_path())?;
        Ok(StartupOutcome::Staged {
            version: j.to_version,
        })
    }

    /// At start, during an installer's rollback: the previous installer put the previous
    /// version back (this process runs it: done), or it did not, and this process is still
    /// the failed version, which must restart to hand over again.
    pub(super) fn recover_installer_rollback(
        &self,
        mut j: Journal,
        reason: String,
    ) -> Result<StartupOutcome, InstallError> {
        if self.new_version_in_place(&j)? {
            tracing::warn!(version = %j.from_version, "the previous version's installer has not put it back yet");
            return Ok(StartupOutcome::RolledBack {
                failed_version: j.to_version,
                restored_version: j.from_version,
                reason,
            });
        }
        j.state = State::RolledBack {
            reason: reason.clone(),
        };
        j.save(&self.journal_path())?;
        self.discard_staged(&j)?;
        self.remove_journal()?;
        Ok(StartupOutcome::RollbackFinished {
            failed_version: j.to_version,
            restored_version: j.from_version,
            reason,
        })
    }
}

/// The staged installer must still be the one verified and staged.
fn check_staged(j: &Journal) -> Result<(), InstallError> {
    if j.staged_sha256.as_deref() != Some(sha256_file(&j.staged)?.as_str()) {
        return Err(InstallError::StagedTampered(j.staged.clone()));
    }
    Ok(())
}

#[cfg(test)]
#[path = "handover_tests.rs"]
mod tests;
