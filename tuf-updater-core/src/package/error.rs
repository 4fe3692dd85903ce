//! The errors of [`package`](super) and the fields a package declares about itself.

use std::path::PathBuf;

use crate::files::FileError;

/// What a `.deb` or `.rpm` says it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageFields {
    /// `Package` of a deb, `NAME` of an rpm.
    pub name: String,
    /// `Version` of a deb, as written (with its epoch and revision, if any); `VERSION` of an
    /// rpm.
    pub version: String,
    /// `RELEASE` of an rpm; `None` for a deb (its revision is part of `version`).
    pub release: Option<String>,
    /// `Architecture` of a deb, `ARCH` of an rpm.
    pub arch: Option<String>,
}

/// Why a file could not be read as the package it looks like.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackageError {
    /// The file could not be opened or read.
    #[error(transparent)]
    File(#[from] FileError),
    /// The content breaks the format's structure.
    #[error("{}: not a valid {format}: {reason}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The format it was read as, like `Debian package`.
        format: &'static str,
        /// Which rule of the format it breaks.
        reason: String,
    },
    /// A part of the file, or what it decompresses to, is larger than is read of it.
    #[error("{}: {what} is larger than {limit} bytes, more than a {format} needs", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The format it was read as, like `Debian package`.
        format: &'static str,
        /// The part, like `member control.tar.gz`.
        what: String,
        /// The most that is read of it, in bytes.
        limit: u64,
    },
}
