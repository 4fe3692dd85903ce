//! Errors of `updater-pack`. Each names the problem and, where there is one, the fix; none
//! of them leaves a half-changed repository behind (changes are staged and committed all or
//! nothing). This module depends on no other module of the crate.

use std::path::{Path, PathBuf};

use thiserror::Error;
use updater_core::files::FileError;
use updater_core::tuf::signer::SignError;
use updater_core::tuf::TufError;

#[derive(Debug, Error)]
pub enum PackError {
    /// An I/O failure on a named path.
    #[error(transparent)]
    File(#[from] FileError),

    #[error("{0} is already an updater-pack project ({1} exists)")]
    AlreadyInitialized(PathBuf, PathBuf),

    #[error(
        "{dir} is not an updater-pack project: {detail} (create one with `updater-pack init`)"
    )]
    NotAProject { dir: PathBuf, detail: String },

    #[error("invalid channel name {name:?}: {reason}")]
    BadChannelName { name: String, reason: String },

    #[error("unknown channel {name:?}: this repository has {known}")]
    UnknownChannel { name: String, known: String },

    #[error("invalid app name {name:?}: {reason}")]
    BadAppName { name: String, reason: String },

    #[error(
        "version {version:?} is not a semantic version (MAJOR.MINOR.PATCH, like 1.4.0): {reason}"
    )]
    BadVersion { version: String, reason: String },

    #[error("invalid platform {name:?}: {reason}")]
    BadPlatform { name: String, reason: String },

    #[error("invalid target file name {name:?}: {reason}")]
    BadFileName { name: String, reason: String },

    #[error("{what} is already released on {channel}{hint}")]
    AlreadyReleased {
        what: String,
        channel: String,
        hint: String,
    },

    #[error("no release {what} on channel {channel}")]
    NoSuchRelease { what: String, channel: String },

    #[error("artifact {path}: {reason}")]
    BadArtifact { path: PathBuf, reason: String },

    #[error("notes file {path}: {reason}")]
    BadNotes { path: PathBuf, reason: String },

    #[error(
        "role {role} needs {threshold} signature(s), but only {found} of its keys are in {dir} \
         (expected key files: {expected})"
    )]
    MissingKeys {
        role: String,
        threshold: u64,
        found: u64,
        dir: PathBuf,
        expected: String,
    },

    #[error("key file {path} holds key {found}, which is not a key of role {role} (expected {expected})")]
    WrongKey {
        path: PathBuf,
        role: String,
        found: String,
        expected: String,
    },

    #[error("key file {path} is not a usable private key: {reason}")]
    BadKeyFile { path: PathBuf, reason: String },

    #[error("wrong passphrase for key file {path} (or the file is damaged)")]
    WrongPassphrase { path: PathBuf },

    #[error("key file {path} is encrypted: set {env} or run in a terminal to be asked for the passphrase")]
    NoPassphrase { path: PathBuf, env: &'static str },

    #[error("bad passphrase: {0}")]
    BadPassphrase(String),

    #[error("the repository is damaged or half-written: {0} (run `updater-pack verify`)")]
    Inconsistent(String),

    #[error("another updater-pack command is working on this project ({0} exists); if none is running, delete that file")]
    Locked(PathBuf),

    #[error("{0}")]
    Invalid(String),

    #[error("verification failed: {0}")]
    Verify(String),

    #[error("server: {0}")]
    Serve(String),

    #[error(transparent)]
    Tuf(#[from] TufError),

    #[error(transparent)]
    Sign(#[from] SignError),
}

impl PackError {
    /// An I/O failure on `path`; the same as `FileError::new(path, source).into()`. New code
    /// writes `.map_err(FileError::at(path))?` instead.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        PackError::File(FileError::new(path.as_ref(), source))
    }

    pub fn invalid(msg: impl Into<String>) -> Self {
        PackError::Invalid(msg.into())
    }

    pub fn inconsistent(msg: impl Into<String>) -> Self {
        PackError::Inconsistent(msg.into())
    }
}

pub type Result<T, E = PackError> = std::result::Result<T, E>;
