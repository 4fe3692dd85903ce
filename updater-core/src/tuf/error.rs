//! Errors of the TUF client. Each rule violation names the section of the TUF 1.0.34
//! specification ("5.x.y") it comes from, so a log line tells an operator what was refused.

use thiserror::Error;

/// Why a piece of metadata or a target was refused, or why the client could not go on.
#[derive(Debug, Error)]
pub enum TufError {
    #[error("malformed {role} metadata: {reason}")]
    Malformed { role: String, reason: String },

    #[error("{role} metadata has type {found:?}, expected {expected:?}")]
    WrongType {
        role: String,
        expected: String,
        found: String,
    },

    #[error("{rule}: {role} metadata is not signed by a threshold of its keys: {valid} of {threshold} valid signatures")]
    Threshold {
        rule: &'static str,
        role: String,
        valid: u64,
        threshold: u64,
    },

    #[error("{rule}: {role} version {found} is not the expected version ({expected})")]
    VersionMismatch {
        rule: &'static str,
        role: String,
        expected: String,
        found: u64,
    },

    #[error(
        "{rule}: rollback attack: {role} version {new} is lower than the trusted version {trusted}"
    )]
    Rollback {
        rule: &'static str,
        role: String,
        trusted: u64,
        new: u64,
    },

    /// Not an attack: the repository offers the version the client already trusts.
    #[error("{role} version {version} is already trusted")]
    EqualVersion { role: String, version: u64 },

    #[error("{rule}: freeze attack: {role} metadata expired at {expires}")]
    Expired {
        rule: &'static str,
        role: String,
        expires: String,
    },

    #[error("{rule}: mix-and-match attack: {detail}")]
    MixAndMatch { rule: &'static str, detail: String },

    #[error("{rule}: {what} does not match the trusted length or hashes: {detail}")]
    LengthOrHash {
        rule: &'static str,
        what: String,
        detail: String,
    },

    #[error("{what} is larger than the limit of {limit} bytes")]
    TooLarge { what: String, limit: u64 },

    #[error("{rule}: {detail}")]
    Missing { rule: &'static str, detail: String },

    #[error("unsupported or invalid key {keyid}: {reason}")]
    BadKey { keyid: String, reason: String },

    #[error("{0}")]
    Delegation(String),

    #[error("target {0:?} not found in any trusted targets role")]
    TargetNotFound(String),

    #[error("invalid target path {path:?}: {reason}")]
    BadTargetPath { path: String, reason: String },

    #[error("the update workflow was used out of order: {0}")]
    Order(&'static str),

    #[error(transparent)]
    Fetch(#[from] crate::tuf::fetch::FetchError),

    #[error("local storage error at {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl TufError {
    pub(crate) fn malformed(role: &str, reason: impl std::fmt::Display) -> Self {
        TufError::Malformed {
            role: role.to_string(),
            reason: reason.to_string(),
        }
    }
}

impl From<crate::files::FileError> for TufError {
    fn from(e: crate::files::FileError) -> Self {
        TufError::Io {
            path: e.path.display().to_string(),
            source: e.source,
        }
    }
}

pub type Result<T, E = TufError> = std::result::Result<T, E>;
