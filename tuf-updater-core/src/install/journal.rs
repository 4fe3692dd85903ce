//! The install journal: one small JSON file in the data dir saying how far an install got.
//! It is written atomically and durably (temp file, fsync, rename, fsync dir) before and after
//! each step, so whatever kills the process, the next start reads a state it can finish or
//! undo.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::InstallError;
use super::installer_app::InstallerApp;
use super::package::PackageManager;
use crate::files::{read_capped, write_atomic, Capped, Durability};
use crate::release::InstallFormat;

/// Where an install stands. The order is the order of the steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[non_exhaustive]
pub enum State {
    /// The verified new version is unpacked in `staged`; the app is untouched.
    Staged,
    /// The current version is copied to `backup`; the swap may or may not have happened.
    BackedUp,
    /// The new version is in place and waits for `confirm()`; `launches` counts starts.
    Swapped {
        /// Starts of the new version so far.
        launches: u32,
    },
    /// An installer's target (NSIS, MSI): the staged installer is handed the install, to
    /// run once this process exits. The next start finds out whether it installed the new
    /// version (`Swapped`) or not (`Staged` again).
    HandedOver,
    /// Putting the previous version back; may or may not have happened. For an installer's
    /// target, until the next start: the kept previous installer is handed the rollback.
    RollingBack {
        /// Why the new version is being rolled back.
        reason: String,
    },
    /// The previous version is back in place.
    RolledBack {
        /// Why the new version was rolled back.
        reason: String,
    },
}

/// What is being installed where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "path", rename_all = "snake_case")]
#[non_exhaustive]
pub enum InstallTarget {
    /// A single file: an executable or an AppImage.
    Executable(PathBuf),
    /// A directory: a macOS `.app` or an unpacked app folder.
    Bundle(PathBuf),
    /// An app the system's package manager installed (a deb or an rpm): updated by handing
    /// the verified package to that package manager.
    Package(PackagedApp),
    /// An app a Windows installer installed (an NSIS setup or an MSI): updated by running
    /// the verified installer of the new version once the app has exited.
    Installer(InstallerApp),
}

/// An app installed by a package manager: which one, the package that owns the app, and
/// the app's executable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackagedApp {
    /// The package manager that installed it (dpkg or rpm).
    pub manager: PackageManager,
    /// The package's name as the package manager knows it (`dpkg -S`, `rpm -qf`).
    pub name: String,
    /// The executable the package installed: what a restart starts.
    pub exe: PathBuf,
}

impl InstallTarget {
    /// The file or directory the update replaces; for a packaged or installer-installed app,
    /// its executable.
    pub fn path(&self) -> &Path {
        match self {
            InstallTarget::Executable(p) | InstallTarget::Bundle(p) => p,
            InstallTarget::Package(app) => &app.exe,
            InstallTarget::Installer(app) => &app.exe,
        }
    }

    /// Whether a package manager or an installer writes the app's files, not the updater:
    /// the target keeps its running version's package or installer for a rollback.
    pub fn is_managed(&self) -> bool {
        matches!(
            self,
            InstallTarget::Package(_) | InstallTarget::Installer(_)
        )
    }

    /// The release formats this target can be updated from: a file is replaced by a bare
    /// executable or an AppImage, a bundle directory by a `.app` in a `.tar.gz`, a packaged
    /// app by a package of its package manager's format, an installed app by an installer of
    /// its installer's kind.
    pub fn formats(&self) -> Vec<InstallFormat> {
        match self {
            InstallTarget::Executable(_) => vec![InstallFormat::Exe, InstallFormat::AppImage],
            InstallTarget::Bundle(_) => vec![InstallFormat::App],
            InstallTarget::Package(app) => vec![app.manager.format()],
            InstallTarget::Installer(app) => vec![app.kind.format()],
        }
    }
}

/// The install journal's content: the state, the versions, and where the staged and backup
/// copies are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    /// How far the install got.
    #[serde(flatten)]
    pub state: State,
    /// The version being replaced.
    pub from_version: String,
    /// The version being installed.
    pub to_version: String,
    /// What is being installed where.
    pub target: InstallTarget,
    /// The new version, ready to move in.
    pub staged: PathBuf,
    /// The previous version, kept until the new one confirms.
    pub backup: PathBuf,
    /// Identifies the new version once in place: the SHA-256 of the executable, the
    /// identity of a bundle directory, the version a package manager reports for the
    /// package, or the version an installer's uninstall entry registers.
    pub new_id: String,
    /// The temporary file a replacement of the executable writes beside it before renaming
    /// it into place (a random name, chosen at staging). A kill can leave it; it is the only
    /// name beside the app that recovery deletes. Absent for bundles and in older journals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scratch: Option<PathBuf>,
    /// The SHA-256 of the staged package of a packaged app or of the staged installer of an
    /// installer's target, or the digest of a staged bundle's tree (`tree.rs`): checked
    /// again just before the package manager installs it (as root), the installer is handed
    /// over, or the bundle is exchanged. Absent for executables and in older journals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staged_sha256: Option<String>,
    /// Launches the new version has to confirm, as the app configured it when the update
    /// was staged: what an early startup, before the configuration is read, goes by.
    /// Absent in older journals (the installer's own setting applies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_launches: Option<u32>,
}

const MAX_JOURNAL: u64 = 64 * 1024;

impl Journal {
    /// Reads the journal at `path`; `Ok(None)` when there is none.
    pub fn load(path: &Path) -> Result<Option<Journal>, InstallError> {
        let bytes = match read_capped(path, MAX_JOURNAL)? {
            Capped::Data(bytes) => bytes,
            Capped::Missing => return Ok(None),
            Capped::TooLarge => {
                return Err(InstallError::Journal {
                    path: path.to_path_buf(),
                    reason: format!("larger than {MAX_JOURNAL} bytes"),
                })
            }
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| InstallError::Journal {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })
    }

    /// Writes the journal to `path` atomically and durably.
    pub fn save(&self, path: &Path) -> Result<(), InstallError> {
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| InstallError::Journal {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        write_atomic(path, &bytes, Durability::Durable)?;
        Ok(())
    }
}
