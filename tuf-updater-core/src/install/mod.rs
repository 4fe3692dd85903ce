//! The staged install: a journal, not hope (DESIGN.md, "Install").
//!
//! Steps, each recorded in the journal before the next begins:
//!
//! ```text
//! stage ─► Staged ─► backup ─► BackedUp ─► swap ─► Swapped{launches} ─► confirm ─► (done)
//!                                                        │ not confirmed within N launches
//!                                                        ▼
//!                                           RollingBack ─► RolledBack ─► reported at next start
//! ```
//!
//! Every step can be repeated, and [`Installer::startup`] finds out which side of a step a
//! crash left us on (by the identity of what is in place: the SHA-256 of an executable, the
//! inode of a bundle directory), so a kill at any moment is finished or undone at the next
//! start. A single executable is replaced by an atomic rename of a sibling copy (`self-replace`
//! on Windows, where a running executable cannot be renamed over); a bundle directory is
//! exchanged with the staged one in one system call (by three renames on Windows and BSDs,
//! which recovery finishes or undoes after a kill). The previous version is kept until
//! [`Installer::confirm`]. A lock file keeps two processes from updating at once.
//!
//! An app a package manager installed is updated by that package manager (`packaged.rs`);
//! one a Windows installer installed, by the new version's installer, which the app runs as
//! it exits (`handed_over.rs`).

mod detect;
pub(crate) mod early;
mod error;
mod handed_over;
mod installer_app;
mod journal;
mod lock;
mod package;
mod packaged;
mod swap;
mod tree;
mod uninstall;
mod unpack;

use std::fs;
use std::path::{Path, PathBuf};

use crate::files::{remove_any, sync_dir, FileError};

pub use error::InstallError;
pub use installer_app::{
    system_dir, Handover, InstallMode, Installed, InstallerApp, InstallerKind,
    ERROR_ELEVATION_REQUIRED,
};
pub use journal::{InstallTarget, Journal, PackagedApp, State};
pub use package::{PackageIdentity, PackageManager};
pub use swap::sha256_file;
/// Public for the fuzz targets (`fuzz/`), not part of the API: [`Installer`] stages.
#[doc(hidden)]
pub use unpack::{is_tar_gz, stage_bundle, stage_bundle_tar, stage_executable};

/// What [`Installer::startup`] found and did.
// Exhaustive on purpose: an app must handle every outcome (decisions.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartupOutcome {
    /// No install in progress.
    Idle,
    /// Another process holds the update lock.
    Busy,
    /// A verified update is staged; `install()` will put it in place.
    Staged {
        /// The staged version.
        version: String,
    },
    /// The new version runs and waits for `confirm()`; this is its `launch`-th start.
    PendingConfirmation {
        /// The new version.
        version: String,
        /// Starts of it so far, this one included.
        launch: u32,
    },
    /// The new version failed to confirm and the previous one is back in place. The running
    /// process is the failed version: it should restart (or exit) now. For an app a Windows
    /// installer installed, the previous version's installer puts it back: the restart runs
    /// it ([`Installer::pending_handover`]).
    RolledBack {
        /// The version that failed.
        failed_version: String,
        /// The version back in place.
        restored_version: String,
        /// Why, e.g. "version 1.3.0 did not confirm within 3 launches".
        reason: String,
    },
    /// An earlier start rolled the failed version back (this process runs the restored one);
    /// this start cleaned up after it. Nothing to restart: tell the user, if not done yet.
    RollbackFinished {
        /// The version that failed.
        failed_version: String,
        /// The version back in place, which this process runs.
        restored_version: String,
        /// Why it was rolled back.
        reason: String,
    },
}

/// How long taking the lock waits for a holder to let go before it says `Busy`.
const LOCK_GRACE: std::time::Duration = std::time::Duration::from_millis(500);
/// The lock file in the install state directory.
const LOCK_FILE: &str = "lock";
/// The temporary copy made while backing up the executable, in the install state directory
/// (whose `.update-*` leftovers are removed at start).
const BACKUP_SCRATCH: &str = ".update-backup";

/// Held while updating; released on drop.
#[derive(Debug)]
pub struct UpdateLock {
    _file: fs::File,
}

/// The installer of one app.
#[derive(Debug, Clone)]
pub struct Installer {
    dir: PathBuf,
    target: InstallTarget,
    max_unconfirmed_launches: u32,
    /// The version this process runs, if the app said: what tells an installer's target
    /// whether its installer ran, when no uninstall entry does.
    running_version: Option<String>,
}

/// Kills the process at a named step when `UPDATER_CRASH_AT` names it: the kill tests use
/// it to stop a real install at each journal step. Compiled only with `fault-injection`.
pub(crate) fn crash_point(step: &str) {
    #[cfg(feature = "fault-injection")]
    if std::env::var("UPDATER_CRASH_AT").is_ok_and(|s| s == step) {
        tracing::warn!(step, "fault injection: killing the process");
        #[cfg(unix)]
        let _ =
            rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
        std::process::abort();
    }
    let _ = step;
}

impl Installer {
    /// `data_dir` is the app's data directory (install state goes in `data_dir/install/`);
    /// a version that has not confirmed after `max_unconfirmed_launches` starts is rolled back.
    pub fn new(data_dir: &Path, target: InstallTarget, max_unconfirmed_launches: u32) -> Self {
        Installer {
            dir: data_dir.join("install"),
            target,
            max_unconfirmed_launches: max_unconfirmed_launches.max(1),
            running_version: None,
        }
    }

    /// The version this process runs. For an app a Windows installer installed, it tells
    /// at start whether the installer that was handed the update (or the rollback) ran,
    /// when no uninstall entry in the registry does.
    pub fn with_running_version(mut self, version: impl Into<String>) -> Self {
        self.running_version = Some(version.into());
        self
    }

    /// What this process runs from: its executable, the AppImage it was started from (only
    /// when this executable runs inside that image's mount), on macOS the `.app` bundle
    /// that contains it, on Linux the deb or rpm package that owns it, on Windows the NSIS
    /// setup or MSI whose uninstall entry holds it.
    pub fn detect_target() -> Result<InstallTarget, InstallError> {
        detect::detect_target()
    }

    /// What this installer updates.
    pub fn target(&self) -> &InstallTarget {
        &self.target
    }

    fn journal_path(&self) -> PathBuf {
        self.dir.join("journal.json")
    }

    /// The install journal, `None` when no install is in progress.
    pub fn journal(&self) -> Result<Option<Journal>, InstallError> {
        Journal::load(&self.journal_path())
    }

    /// Step 1: unpacks the verified `artifact` (named `artifact_name` in the repository) so
    /// it is ready to swap in, and records `Staged`. The app is not touched.
    pub fn stage(
        &self,
        lock: &UpdateLock,
        artifact: &Path,
        artifact_name: &str,
        from_version: &str,
        to_version: &str,
    ) -> Result<(), InstallError> {
        let source = Source::Artifact {
            path: artifact,
            name: artifact_name,
        };
        self.stage_from(lock, source, from_version, to_version)
    }

    /// Step 1 for a bundle whose update came as a tar patch: stages the uncompressed `tar`
    /// it rebuilt, which the caller verified against the release's signed tar digest, with
    /// the same checks as an archive. An executable target refuses it.
    pub fn stage_tar(
        &self,
        lock: &UpdateLock,
        tar: &Path,
        from_version: &str,
        to_version: &str,
    ) -> Result<(), InstallError> {
        self.stage_from(lock, Source::Tar(tar), from_version, to_version)
    }

    fn stage_from(
        &self,
        _lock: &UpdateLock,
        source: Source<'_>,
        from_version: &str,
        to_version: &str,
    ) -> Result<(), InstallError> {
        if let Some(j) = self.journal()? {
            match j.state {
                State::Staged | State::RolledBack { .. } => self.discard_staged(&j)?,
                other => return Err(InstallError::InProgress(format!("{other:?}"))),
            }
        }
        if self.target.is_managed() {
            let Source::Artifact { path, .. } = source else {
                return Err(InstallError::Artifact(
                    "a package or installer update cannot be staged from a bundle's tar".into(),
                ));
            };
            return match &self.target {
                InstallTarget::Package(app) => {
                    self.stage_package(app, path, from_version, to_version)
                }
                InstallTarget::Installer(app) => {
                    self.stage_installer(app, path, from_version, to_version)
                }
                _ => unreachable_target(),
            };
        }
        self.check_target_writable()?;
        let (staged, backup, new_id, scratch, digest) = match &self.target {
            InstallTarget::Executable(target) => {
                let staged = self.dir.join(format!("staged-{}", sanitize(to_version)));
                remove_any(&staged)?;
                let Source::Artifact { path, name } = source else {
                    return Err(InstallError::Artifact(
                        "an executable update cannot be staged from a bundle's tar".into(),
                    ));
                };
                unpack::stage_executable(path, name, &staged)?;
                let id = sha256_file(&staged)?;
                let scratch = swap::scratch_name(target);
                (staged, self.dir.join("previous"), id, Some(scratch), None)
            }
            InstallTarget::Bundle(target) => {
                // Beside the bundle, so the exchange is a rename on one file system; under
                // a fresh random name, recorded in the journal below.
                let staged = tree::fresh_staging_name(target)?;
                match source {
                    Source::Artifact { path, name } => unpack::stage_bundle(path, name, &staged)?,
                    Source::Tar(tar) => unpack::stage_bundle_tar(tar, &staged)?,
                }
                // Its identity first (off Unix, a marker file in it, which the digest covers),
                // then durable before the journal says `Staged`, and hashed for the swap.
                let id = dir_identity(&staged)?;
                tree::sync_tree(&staged)?;
                sync_dir(swap::parent_of(&staged))?;
                let digest = tree::tree_digest(&staged)?;
                (staged.clone(), staged, id, None, Some(digest))
            }
            InstallTarget::Package(_) | InstallTarget::Installer(_) => unreachable_target()?,
        };
        let journal = Journal {
            state: State::Staged,
            from_version: from_version.to_string(),
            to_version: to_version.to_string(),
            target: self.target.clone(),
            staged,
            backup,
            new_id,
            scratch,
            staged_sha256: digest,
            max_launches: Some(self.max_unconfirmed_launches),
        };
        journal.save(&self.journal_path())?;
        crash_point("staged");
        Ok(())
    }

    /// Whether a file can be created beside the app (where the swap writes). The probe has
    /// one name of the app's own, `.<app>.update-probe`, not a random one: a process killed
    /// between creating and removing it leaves a file that the next probe removes, instead
    /// of a stray name no one knows is ours. `create_new` does not follow a planted link.
    fn check_target_writable(&self) -> Result<(), InstallError> {
        if self.target.is_managed() {
            return Ok(()); // the package manager or the installer writes, as root if need be
        }
        let target = self.target.path();
        let dir = target.parent().unwrap_or(Path::new(".")).to_path_buf();
        let probe = swap::sibling(target, ".update-probe");
        let not_writable = |source| InstallError::NotWritable {
            path: dir.clone(),
            source,
        };
        match fs::remove_file(&probe) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(not_writable(e)),
            _ => {}
        }
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&probe)
            .map_err(not_writable)?;
        fs::remove_file(&probe).map_err(not_writable)
    }

    /// Step 2: keeps the current version as the backup and swaps the staged one in. On
    /// return the new version is in place, pending confirmation. For an app a Windows
    /// installer installed, the install is handed over instead: the app must run the
    /// returned [`Handover`] and exit (the next start finds out what it did).
    pub fn install(&self, _lock: &UpdateLock) -> Result<Installed, InstallError> {
        let Some(mut j) = self.journal()? else {
            return Err(InstallError::NothingStaged);
        };
        if j.state != State::Staged {
            return Err(InstallError::InProgress(format!("{:?}", j.state)));
        }
        match &j.target {
            InstallTarget::Executable(target) => {
                if sha256_file(&j.staged)? != j.new_id {
                    return Err(InstallError::StagedTampered(j.staged.clone()));
                }
                swap::replace_file(target, &j.backup, &self.dir.join(BACKUP_SCRATCH))?;
                j.state = State::BackedUp;
                j.save(&self.journal_path())?;
                crash_point("backed_up");
                swap::replace_file(&j.staged, target, &scratch_of(&j, target))?;
            }
            InstallTarget::Bundle(target) => {
                let changed = match &j.staged_sha256 {
                    Some(digest) => tree::tree_digest(&j.staged)? != *digest,
                    None => false, // a journal written before bundles were hashed
                };
                if changed || dir_identity(&j.staged)? != j.new_id {
                    return Err(InstallError::StagedTampered(j.staged.clone()));
                }
                j.state = State::BackedUp;
                j.save(&self.journal_path())?;
                crash_point("backed_up");
                // After the exchange, `staged` holds the previous version: the backup.
                swap::exchange(&j.staged, target)?;
            }
            InstallTarget::Package(app) => {
                if j.staged_sha256.as_deref() != Some(sha256_file(&j.staged)?.as_str()) {
                    return Err(InstallError::StagedTampered(j.staged.clone()));
                }
                j.state = State::BackedUp;
                j.save(&self.journal_path())?;
                crash_point("backed_up");
                if let Err(e) = app.manager.install(&j.staged, false) {
                    self.undo_failed_package_install(app, &j);
                    return Err(e);
                }
            }
            InstallTarget::Installer(app) => {
                let app = app.clone();
                return Ok(Installed::HandOver(self.hand_over_install(&app, j)?));
            }
        }
        crash_point("replaced");
        j.state = State::Swapped { launches: 0 };
        j.save(&self.journal_path())?;
        crash_point("swapped");
        Ok(Installed::Swapped)
    }

    /// Whether the new version is what sits at the install location now.
    fn new_version_in_place(&self, j: &Journal) -> Result<bool, InstallError> {
        let path = j.target.path();
        if !path.exists() {
            return Ok(false);
        }
        Ok(match &j.target {
            InstallTarget::Executable(_) => sha256_file(path)? == j.new_id,
            InstallTarget::Bundle(_) => dir_identity(path)? == j.new_id,
            InstallTarget::Package(app) => {
                app.manager.installed_version(&app.name)?.as_deref() == Some(j.new_id.as_str())
            }
            InstallTarget::Installer(app) => self.installer_installed(app, &j.new_id),
        })
    }

    /// Call first thing in `main`: finishes or undoes whatever an interrupted install left,
    /// counts launches of an unconfirmed version and rolls it back after too many.
    /// When [`startup_before_config`] ran in this process, what it found, without counting
    /// the launch again.
    pub fn startup(&self) -> Result<StartupOutcome, InstallError> {
        match early::take(&self.dir) {
            Some(outcome) => Ok(outcome),
            None => self.count_this_start(),
        }
    }

    /// [`startup`](Self::startup)'s work, whatever ran before in this process.
    fn count_this_start(&self) -> Result<StartupOutcome, InstallError> {
        let lock = match self.lock() {
            Ok(lock) => lock,
            Err(InstallError::Busy(_)) => return Ok(StartupOutcome::Busy),
            Err(e) => return Err(e),
        };
        let outcome = self.recover(&lock)?;
        self.remove_leftovers(&lock);
        Ok(outcome)
    }

    /// Finishes or undoes what the journal says was in progress.
    fn recover(&self, lock: &UpdateLock) -> Result<StartupOutcome, InstallError> {
        let Some(mut j) = self.journal()? else {
            return Ok(StartupOutcome::Idle);
        };
        self.remove_stray_temporaries(&j);
        // An exchange by renames (Windows, BSDs) cut short: both paths back before the checks.
        // install() exchanges (staged, target), finish_rollback() (backup, target): one pair.
        if let (State::BackedUp | State::RollingBack { .. }, InstallTarget::Bundle(target)) =
            (&j.state, &j.target)
        {
            swap::repair_exchange(&j.backup, target)?;
        }
        match j.state.clone() {
            State::Staged => Ok(StartupOutcome::Staged {
                version: j.to_version.clone(),
            }),
            State::BackedUp => {
                if self.new_version_in_place(&j)? {
                    // The swap happened; only its journal entry was lost.
                    j.state = State::Swapped { launches: 0 };
                    self.count_launch(lock, j)
                } else {
                    j.state = State::Staged;
                    j.save(&self.journal_path())?;
                    Ok(StartupOutcome::Staged {
                        version: j.to_version.clone(),
                    })
                }
            }
            State::Swapped { .. } => self.count_launch(lock, j),
            State::HandedOver => self.recover_handed_over(lock, j),
            State::RollingBack { reason } if matches!(j.target, InstallTarget::Installer(_)) => {
                self.recover_installer_rollback(j, reason)
            }
            State::RollingBack { reason } => {
                self.finish_rollback(j.clone(), &reason)?;
                Ok(StartupOutcome::RolledBack {
                    failed_version: j.to_version,
                    restored_version: j.from_version,
                    reason,
                })
            }
            State::RolledBack { reason } => {
                self.discard_staged(&j)?;
                self.remove_journal()?;
                Ok(StartupOutcome::RollbackFinished {
                    failed_version: j.to_version,
                    restored_version: j.from_version,
                    reason,
                })
            }
        }
    }

    fn count_launch(
        &self,
        lock: &UpdateLock,
        mut j: Journal,
    ) -> Result<StartupOutcome, InstallError> {
        let State::Swapped { launches } = j.state else {
            return Err(InstallError::InProgress(format!("{:?}", j.state)));
        };
        let launch = launches + 1;
        let max = j
            .max_launches
            .unwrap_or(self.max_unconfirmed_launches)
            .max(1);
        if launch > max {
            let reason = format!(
                "version {} did not confirm within {max} launches",
                j.to_version
            );
            self.rollback(lock, &reason)?;
            return Ok(StartupOutcome::RolledBack {
                failed_version: j.to_version,
                restored_version: j.from_version,
                reason,
            });
        }
        j.state = State::Swapped { launches: launch };
        j.save(&self.journal_path())?;
        Ok(StartupOutcome::PendingConfirmation {
            version: j.to_version,
            launch,
        })
    }

    /// The new version is healthy: forget the previous one. `Ok(false)` if nothing was
    /// pending.
    pub fn confirm(&self) -> Result<bool, InstallError> {
        let lock = self.lock()?;
        let Some(j) = self.journal()? else {
            return Ok(false);
        };
        if !matches!(j.state, State::Swapped { .. }) {
            return Ok(false);
        }
        self.remove_journal()?;
        if j.target.is_managed() {
            // The new version's package or installer is now the one a later rollback goes
            // back to.
            self.keep_installed_for(&j.target, &j.staged, &j.to_version)?;
        } else {
            remove_any(&j.backup)?;
            remove_any(&j.staged)?;
        }
        self.remove_leftovers(&lock);
        Ok(true)
    }

    /// Removes what a killed process can leave in the install state directory: temporary
    /// files of a copy or a journal write (only the lock holder makes them, so with the lock
    /// held they are leftovers), and with no install in progress, everything but the lock (a
    /// staged copy written before its journal entry, the previous version whose removal a
    /// confirmation did not finish).
    fn remove_leftovers(&self, _lock: &UpdateLock) {
        let idle = match self.journal() {
            Ok(journal) => journal.is_none(),
            Err(_) => return,
        };
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let temporary = name.starts_with(".update-") || name.starts_with(".tmp-");
            let kept = name == LOCK_FILE || name.starts_with("installed.");
            if kept || !(temporary || idle) {
                continue;
            }
            let path = entry.path();
            tracing::info!(path = %path.display(), "removing what an interrupted update left");
            if let Err(e) = remove_any(&path) {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove");
            }
        }
    }

    /// Puts the previous version back (after a swap that must not stand).
    pub fn rollback(&self, _lock: &UpdateLock, reason: &str) -> Result<(), InstallError> {
        let Some(mut j) = self.journal()? else {
            return Err(InstallError::NothingStaged);
        };
        match j.state {
            State::BackedUp | State::Swapped { .. } | State::RollingBack { .. } => {}
            ref other => return Err(InstallError::InProgress(format!("{other:?}"))),
        }
        j.state = State::RollingBack {
            reason: reason.to_string(),
        };
        j.save(&self.journal_path())?;
        crash_point("rolling_back");
        self.finish_rollback(j, reason)
    }

    fn finish_rollback(&self, mut j: Journal, reason: &str) -> Result<(), InstallError> {
        if self.new_version_in_place(&j)? {
            match &j.target {
                InstallTarget::Executable(target) => {
                    swap::replace_file(&j.backup, target, &scratch_of(&j, target))?
                }
                InstallTarget::Bundle(target) => swap::exchange(&j.backup, target)?,
                InstallTarget::Package(app) => {
                    if !j.backup.is_file() {
                        return Err(InstallError::NoRollbackPackage {
                            version: j.from_version.clone(),
                        });
                    }
                    app.manager.install(&j.backup, true)?;
                }
                InstallTarget::Installer(_) => {
                    if !j.backup.is_file() {
                        return Err(InstallError::NoRollbackPackage {
                            version: j.from_version.clone(),
                        });
                    }
                    // The kept installer runs when the app restarts (`pending_handover`);
                    // the next start finishes (`recover_installer_rollback`).
                    return Ok(());
                }
            }
        }
        crash_point("restored");
        j.state = State::RolledBack {
            reason: reason.to_string(),
        };
        j.save(&self.journal_path())?;
        crash_point("rolled_back");
        self.discard_staged(&j)
    }

    /// Removes the staged copy and the backup, but never the kept package (or installer) of
    /// a packaged app: it is the installed version's, and the backup of the next update.
    fn discard_staged(&self, j: &Journal) -> Result<(), InstallError> {
        remove_any(&j.staged)?;
        let keeps_backup = j.target.is_managed();
        if j.backup != j.staged && !keeps_backup {
            remove_any(&j.backup)?;
        }
        Ok(())
    }

    fn remove_journal(&self) -> Result<(), InstallError> {
        let path = self.journal_path();
        match fs::remove_file(&path) {
            Ok(()) => Ok(sync_dir(&self.dir)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(FileError::new(path, e).into()),
        }
    }

    /// A kill during a replacement of the executable leaves its temporary copy beside the
    /// app, under the name the journal recorded: that file, and nothing else there, goes.
    fn remove_stray_temporaries(&self, j: &Journal) {
        let Some(scratch) = &j.scratch else {
            return;
        };
        if fs::symlink_metadata(scratch).is_ok_and(|m| m.is_file()) {
            if let Err(e) = fs::remove_file(scratch) {
                tracing::warn!(path = %scratch.display(), error = %e, "cannot remove");
            }
        }
    }
}

/// What a stage unpacks: the verified release artifact, or the tar a bundle patch rebuilt.
#[derive(Clone, Copy)]
enum Source<'a> {
    Artifact { path: &'a Path, name: &'a str },
    Tar(&'a Path),
}

/// The temporary name beside `target` for a replacement: the journal's, or a fresh random
/// one for a journal written before names were recorded.
fn scratch_of(j: &Journal, target: &Path) -> PathBuf {
    j.scratch
        .clone()
        .unwrap_or_else(|| swap::scratch_name(target))
}

/// The arm of a step that [`Installer::stage_from`] hands to another function first.
fn unreachable_target<T>() -> Result<T, InstallError> {
    Err(InstallError::Artifact(
        "internal: a packaged or installed app is staged by stage_package or stage_installer"
            .into(),
    ))
}

/// A version string as a file name part.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// What identifies a directory across a rename: its device and inode on Unix; elsewhere a
/// marker file holding a random id.
fn dir_identity(path: &Path) -> Result<String, InstallError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let m = fs::metadata(path).map_err(FileError::at(path))?;
        Ok(format!("{}:{}", m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        let marker = path.join(".update-id");
        if let Ok(id) = fs::read_to_string(&marker) {
            return Ok(id);
        }
        let id = format!("{:x}", rand_core::RngCore::next_u64(&mut rand_core::OsRng));
        fs::write(&marker, &id).map_err(FileError::at(&marker))?;
        Ok(id)
    }
}
