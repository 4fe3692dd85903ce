//! [`InstallError`]: what can stop an install, each naming what it was doing.

use std::path::PathBuf;

use thiserror::Error;

use crate::files::FileError;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum InstallError {
    #[error(transparent)]
    Io(#[from] FileError),
    #[error("install journal {path} is unreadable: {reason}")]
    Journal { path: PathBuf, reason: String },
    #[error("another process is updating this app (lock {0} is held)")]
    Busy(PathBuf),
    #[error("an install is already in progress ({0:?}); finish it first")]
    InProgress(String),
    #[error("nothing is staged to install")]
    NothingStaged,
    #[error("the staged update at {0} changed since it was verified")]
    StagedTampered(PathBuf),
    #[error("bad update artifact: {0}")]
    Artifact(String),
    #[error("the package {path} cannot update this app: {reason}")]
    Package { path: PathBuf, reason: String },
    #[error("the package manager failed: `{command}`: {reason}")]
    PackageManager { command: String, reason: String },
    #[error(
        "installing the update needs administrator rights, and they were refused: `{command}`: \
         {reason}"
    )]
    ElevationRefused { command: String, reason: String },
    #[error(
        "installing the update needs administrator rights: run as root, or install pkexec \
         (polkit) to be asked for them (`{command}`)"
    )]
    ElevationUnavailable { command: String },
    #[error(
        "cannot roll back to version {version}: its package is not in the data dir (it was \
         not available when the update was installed)"
    )]
    NoRollbackPackage { version: String },
    /// The fixed third name of a directory exchange by renames (Windows, BSDs) exists before
    /// the exchange starts. Recovery consumes the one an interrupted exchange of ours left,
    /// so this one is not ours (or beside paths that are gone): it is left alone.
    #[error("{0} is in the way of exchanging two directories by renames; it is not an update's: move it away")]
    ExchangeBlocked(PathBuf),
    /// An interrupted exchange by renames left neither of its two paths, only the third name.
    #[error("an interrupted exchange of {a} and {b} left neither; one of them is at {parked}")]
    ExchangeBroken {
        a: PathBuf,
        b: PathBuf,
        parked: PathBuf,
    },
    #[error("cannot write the install location {path}: {source}")]
    NotWritable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
