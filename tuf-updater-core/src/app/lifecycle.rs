//! Startup bookkeeping, confirmation, restart and the rollback notice.

use std::convert::Infallible;
use std::ffi::OsString;
use std::path::PathBuf;

use semver::Version;

use super::app_updater::AppUpdater;
use super::types::{Result, UpdateError};
use crate::install::{InstallTarget, StartupOutcome, State};
use crate::settings::RollbackNotice;

impl AppUpdater {
    /// Call first thing in `main`. Finishes or undoes what an interrupted install left,
    /// counts a launch of a version that has not confirmed yet, and rolls it back after too
    /// many. On [`StartupOutcome::RolledBack`] the previous version is back on disk and this
    /// process is the failed one: call [`restart`](Self::restart) (or exit).
    pub fn startup(&self) -> Result<StartupOutcome> {
        let outcome = self.installer.startup()?;
        match &outcome {
            StartupOutcome::RolledBack {
                failed_version,
                restored_version,
                reason,
            }
            | StartupOutcome::RollbackFinished {
                failed_version,
                restored_version,
                reason,
            } => {
                tracing::warn!(%failed_version, %restored_version, %reason, "update rolled back");
                let notice = RollbackNotice {
                    failed_version: failed_version.clone(),
                    restored_version: restored_version.clone(),
                    reason: reason.clone(),
                };
                // The process that rolled back left its notice; a later start keeps it.
                let replace = matches!(outcome, StartupOutcome::RolledBack { .. });
                if let Err(e) = self.record_rollback(notice, replace) {
                    tracing::warn!(error = %e, "cannot record the rolled-back version");
                }
            }
            StartupOutcome::PendingConfirmation { version, launch } => {
                tracing::info!(%version, launch, "new version waits for confirmation");
            }
            _ => {}
        }
        Ok(outcome)
    }

    /// The new version works: keep it and delete the previous one. `Ok(false)` when no
    /// install waits for confirmation. Only the new version may confirm itself.
    pub fn confirm(&self) -> Result<bool> {
        if let Some(journal) = self.installer.journal()? {
            if matches!(journal.state, State::Swapped { .. })
                && Version::parse(&journal.to_version).ok().as_ref() != Some(&self.current)
            {
                return Err(UpdateError::ConfirmByOtherVersion {
                    running: self.current.clone(),
                    pending: journal.to_version,
                });
            }
        }
        Ok(self.installer.confirm()?)
    }

    /// The program to start for a restart: the installed executable, or the executable
    /// this process started from inside a bundle.
    fn restart_program(&self) -> Result<PathBuf> {
        match self.installer.target() {
            InstallTarget::Executable(path) => Ok(path.clone()),
            InstallTarget::Package(app) => Ok(app.exe.clone()),
            InstallTarget::Installer(app) => Ok(app.exe.clone()),
            InstallTarget::Bundle(_) => self.exe_at_start.clone().ok_or_else(|| {
                UpdateError::Config("the path of the running executable is unknown".into())
            }),
        }
    }

    /// Replaces this process with the installed version, with the same arguments. Returns
    /// only on failure. (On Unix the process is replaced with `exec`; elsewhere the new
    /// version is started and this process exits.) For an app a Windows installer
    /// installed with an install or a rollback handed over, runs the installer instead
    /// ([`hand_over`](Self::hand_over)), which starts the app again when done.
    pub fn restart(&self) -> Result<Infallible> {
        let installed_by_installer = matches!(self.installer.target(), InstallTarget::Installer(_));
        if installed_by_installer && self.installer.pending_handover()?.is_some() {
            return self.hand_over(|| {});
        }
        let program = self.restart_program()?;
        let args: Vec<OsString> = std::env::args_os().skip(1).collect();
        use std::io::Write;
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        let mut command = std::process::Command::new(&program);
        command.args(args);
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            let source = command.exec();
            Err(UpdateError::Restart {
                path: program,
                source,
            })
        }
        #[cfg(not(unix))]
        {
            match command.spawn() {
                Ok(_) => std::process::exit(0),
                Err(source) => Err(UpdateError::Restart {
                    path: program,
                    source,
                }),
            }
        }
    }

    /// The rollback of an earlier start that the app has not reported yet, once: the notice
    /// is removed from the settings as it is read.
    pub fn take_rollback_notice(&self) -> Result<Option<RollbackNotice>> {
        let (mut settings, _) = self.settings.load()?;
        let Some(notice) = settings.rollback_notice.take() else {
            return Ok(None);
        };
        self.settings.save(&settings)?;
        Ok(Some(notice))
    }

    /// Notes a rollback in the user's settings (see [`UserSettings::record_rollback`]).
    ///
    /// [`UserSettings::record_rollback`]: crate::settings::UserSettings::record_rollback
    fn record_rollback(&self, notice: RollbackNotice, replace: bool) -> Result<()> {
        let (mut settings, _) = self.settings.load()?;
        settings.record_rollback(notice, replace);
        self.settings.save(&settings)?;
        Ok(())
    }
}
