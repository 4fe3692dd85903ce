//! [`InstallError`]: what can stop an install, each naming what it was doing.

use std::path::PathBuf;

use thiserror::Error;

use crate::files::FileError;

/// What stopped staging, installing, rolling back or confirming an update.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum InstallError {
    /// A file operation failed.
    #[error(transparent)]
    Io(#[from] FileError),
    /// The install journal exists but cannot be read or parsed.
    #[error("install journal {path} is unreadable: {reason}")]
    Journal {
        /// The journal file.
        path: PathBuf,
        /// Why it cannot be read.
        reason: String,
    },
    /// Another process holds the app's update lock (the path of the lock file).
    #[error("another process is updating this app (lock {0} is held)")]
    Busy(PathBuf),
    /// An unfinished install, in this state, must be finished or undone first.
    #[error("an install is already in progress ({0:?}); finish it first")]
    InProgress(String),
    /// Install was asked for with nothing staged.
    #[error("nothing is staged to install")]
    NothingStaged,
    /// The staged file (at this path) no longer matches what was verified.
    #[error("the staged update at {0} changed since it was verified")]
    StagedTampered(PathBuf),
    /// The verified artifact cannot be unpacked or is not what its format says.
    #[error("bad update artifact: {0}")]
    Artifact(String),
    /// A deb or rpm is not a package of this app (another name, say).
    #[error("the package {path} cannot update this app: {reason}")]
    Package {
        /// The package file.
        path: PathBuf,
        /// Why it does not fit.
        reason: String,
    },
    /// The package manager command failed.
    #[error("the package manager failed: `{command}`: {reason}")]
    PackageManager {
        /// The command run.
        command: String,
        /// Why: it could not be started, or the end of its output.
        reason: String,
    },
    /// The prompt for administrator rights (pkexec) was refused or failed.
    #[error(
        "installing the update needs administrator rights, and they were refused: `{command}`: \
         {reason}"
    )]
    ElevationRefused {
        /// The command that needed them.
        command: String,
        /// What the elevation tool said.
        reason: String,
    },
    /// Not root, and no pkexec to ask for administrator rights.
    #[error(
        "installing the update needs administrator rights: run as root, or install pkexec \
         (polkit) to be asked for them (`{command}`)"
    )]
    ElevationUnavailable {
        /// The command that needed them.
        command: String,
    },
    /// A packaged app's rollback needs the previous version's package, which was not kept.
    #[error(
        "cannot roll back to version {version}: its package is not in the data dir (it was \
         not available when the update was installed)"
    )]
    NoRollbackPackage {
        /// The version to roll back to.
        version: String,
    },
    /// The fixed third name of a directory exchange by renames (Windows, BSDs) exists before
    /// the exchange starts. Recovery consumes the one an interrupted exchange of ours left,
    /// so this one is not ours (or beside paths that are gone): it is left alone.
    #[error("{0} is in the way of exchanging two directories by renames; it is not an update's: move it away")]
    ExchangeBlocked(PathBuf),
    /// An interrupted exchange by renames left neither of its two paths, only the third name.
    #[error("an interrupted exchange of {a} and {b} left neither; one of them is at {parked}")]
    ExchangeBroken {
        /// One of the two directories exchanged.
        a: PathBuf,
        /// The other.
        b: PathBuf,
        /// The third name, holding one of them.
        parked: PathBuf,
    },
    /// No file can be created beside the app (no permission, a read-only file system).
    #[error("cannot write the install location {path}: {source}")]
    NotWritable {
        /// The directory the app is installed in.
        path: PathBuf,
        /// The error from writing it.
        #[source]
        source: std::io::Error,
    },
}
