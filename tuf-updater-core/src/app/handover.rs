//! Handing an install over to a Windows installer: an app an NSIS setup or an MSI installed
//! is updated (and rolled back) by running the installer, which cannot replace the files of
//! an app that runs. So the app runs it as it exits.

use std::convert::Infallible;

use super::app_updater::AppUpdater;
use super::types::{Result, UpdateError};
use crate::install::{Handover, InstallError};

impl AppUpdater {
    /// The installer this app must run now, and exit: after [`install`](Self::install) of
    /// an update to an app a Windows installer installed, the new version's installer;
    /// during a rollback, the previous version's. `None` otherwise.
    pub fn pending_handover(&self) -> Result<Option<Handover>> {
        Ok(self.installer.pending_handover()?)
    }

    /// Runs the [`pending_handover`](Self::pending_handover): calls `before_exit` first (the
    /// app saves its state and closes what it must: the installer replaces its files, and
    /// may close a window still open), starts the installer detached (asking for
    /// administrator rights when its manifest requires them), and exits this process. The
    /// installer starts the app again when done (not in
    /// [`InstallMode::BasicUi`](crate::install::InstallMode::BasicUi), where the user
    /// chooses), and that start finds out whether the installer installed it. Returns only
    /// on failure: nothing pending, or the installer could not be started.
    pub fn hand_over(&self, before_exit: impl FnOnce()) -> Result<Infallible> {
        let Some(handover) = self.installer.pending_handover()? else {
            return Err(InstallError::NothingStaged.into());
        };
        before_exit();
        tracing::info!(program = %handover.program.display(), args = ?handover.args, "handing over to the installer, and exiting");
        use std::io::Write;
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        match handover.spawn() {
            Ok(()) => std::process::exit(0),
            Err(source) => Err(UpdateError::Restart {
                path: handover.program,
                source,
            }),
        }
    }
}
