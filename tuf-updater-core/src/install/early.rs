//! The startup bookkeeping before anything else: [`startup_before_config`] needs only the
//! data dir, so a version whose updater configuration is broken (a bad repository URL, a
//! missing root, a config file that does not parse) still counts its launches and is
//! rolled back after too many. What it found is kept for the process, and the
//! [`AppUpdater::startup`](crate::AppUpdater::startup) that follows, once the configuration
//! is read, reports it instead of counting this launch twice.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use super::error::InstallError;
use super::journal::InstallTarget;
use super::{Installer, StartupOutcome};

/// This process's executable as named before the early startup ran: a rollback replaces
/// the file, after which Linux names the running executable `<path> (deleted)`.
static EXE_AT_START: OnceLock<Option<PathBuf>> = OnceLock::new();

/// The path of this process's executable, as it was named before any rollback replaced
/// it (the first call, or [`startup_before_config`], fixes it).
pub(crate) fn exe_at_start() -> Option<PathBuf> {
    EXE_AT_START
        .get_or_init(|| std::env::current_exe().ok())
        .clone()
}

/// Outcomes of early startups in this process, by install state directory, not yet taken.
static EARLY: Mutex<Vec<(PathBuf, StartupOutcome)>> = Mutex::new(Vec::new());

/// Finishes or undoes an interrupted install and counts this launch of an unconfirmed
/// version, rolling it back after the number of launches recorded when it was installed,
/// with only the app's data directory known. Call it first thing in `main`, before the
/// updater's configuration is read. On [`StartupOutcome::RolledBack`] the previous version
/// is back in place: restart.
pub fn startup_before_config(data_dir: &Path) -> Result<StartupOutcome, InstallError> {
    exe_at_start();
    // Recovery works from the journal's own record of the target; this one is not used.
    let installer = Installer::new(data_dir, InstallTarget::Executable(PathBuf::new()), 1);
    let outcome = installer.count_this_start()?;
    if let Ok(mut early) = EARLY.lock() {
        early.retain(|(dir, _)| *dir != installer.dir);
        early.push((installer.dir.clone(), outcome.clone()));
    }
    Ok(outcome)
}

/// The outcome of this process's early startup for the install state directory `dir`,
/// once: the first later startup reports it instead of counting the launch again.
pub(super) fn take(dir: &Path) -> Option<StartupOutcome> {
    let mut early = EARLY.lock().ok()?;
    let i = early.iter().position(|(d, _)| d == dir)?;
    Some(early.swap_remove(i).1)
}
