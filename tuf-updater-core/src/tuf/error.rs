//! Errors of the TUF client. Each refusal carries the rule of the TUF 1.0.34 specification it
//! enforces as a typed [`Rule`] (its Display names the section, "5.x.y"), so a log line tells
//! an operator what was refused and a test can match the rule rather than the text.

use std::fmt;

use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::tuf::expiry;
pub use crate::tuf::role::Role;

/// A rule of the client workflow (spec section 5) that metadata or a target can break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// 5.2: the locally trusted root is signed by a threshold of its own root keys.
    TrustedRoot,
    /// 5.3.4: a new root is signed by a threshold of the trusted root's root keys.
    RootSignedByTrusted,
    /// 5.3.4: a new root is signed by a threshold of its own root keys.
    RootSignedBySelf,
    /// 5.3.5: a new root has exactly the next version.
    RootVersion,
    /// 5.3.10: the final root has not expired.
    RootExpired,
    /// 5.4.2: timestamp is signed by a threshold of root's timestamp keys.
    TimestampSignatures,
    /// 5.4.3.1: timestamp's version does not go back.
    TimestampRollback,
    /// 5.4.3.2: the snapshot version timestamp names does not go back.
    SnapshotMetaRollback,
    /// 5.4.4: timestamp has not expired.
    TimestampExpired,
    /// 5.5.2: snapshot has the length and hashes timestamp gives.
    SnapshotLengthAndHashes,
    /// 5.5.3: snapshot is signed by a threshold of root's snapshot keys.
    SnapshotSignatures,
    /// 5.5.4: snapshot has the version timestamp names.
    SnapshotVersion,
    /// 5.5.5: no targets role disappears from snapshot.
    SnapshotRoleRemoved,
    /// 5.5.5: no targets role's version goes back in snapshot.
    SnapshotRoleRollback,
    /// 5.5.6: snapshot has not expired.
    SnapshotExpired,
    /// 5.6.1: snapshot lists the targets role.
    TargetsInSnapshot,
    /// 5.6.2: a targets role has the length and hashes snapshot gives.
    TargetsLengthAndHashes,
    /// 5.6.3: a targets role is signed by a threshold of the keys its delegator names.
    TargetsSignatures,
    /// 5.6.3: a role already trusted, reached through a second delegator, satisfies that
    /// delegator's keys and threshold too.
    TargetsSignaturesSecondDelegator,
    /// 5.6.4: a targets role has the version snapshot names.
    TargetsVersion,
    /// 5.6.5: a targets role has not expired.
    TargetsExpired,
    /// 5.7.3: a target has the length and hashes its targets role gives.
    TargetLengthAndHashes,
}

impl Rule {
    /// The section of the specification: "5.3.4".
    pub fn section(self) -> &'static str {
        match self {
            Rule::TrustedRoot => "5.2",
            Rule::RootSignedByTrusted | Rule::RootSignedBySelf => "5.3.4",
            Rule::RootVersion => "5.3.5",
            Rule::RootExpired => "5.3.10",
            Rule::TimestampSignatures => "5.4.2",
            Rule::TimestampRollback => "5.4.3.1",
            Rule::SnapshotMetaRollback => "5.4.3.2",
            Rule::TimestampExpired => "5.4.4",
            Rule::SnapshotLengthAndHashes => "5.5.2",
            Rule::SnapshotSignatures => "5.5.3",
            Rule::SnapshotVersion => "5.5.4",
            Rule::SnapshotRoleRemoved | Rule::SnapshotRoleRollback => "5.5.5",
            Rule::SnapshotExpired => "5.5.6",
            Rule::TargetsInSnapshot => "5.6.1",
            Rule::TargetsLengthAndHashes => "5.6.2",
            Rule::TargetsSignatures | Rule::TargetsSignaturesSecondDelegator => "5.6.3",
            Rule::TargetsVersion => "5.6.4",
            Rule::TargetsExpired => "5.6.5",
            Rule::TargetLengthAndHashes => "5.7.3",
        }
    }

    /// What the section checks, where the section alone is ambiguous or terse.
    fn gloss(self) -> Option<&'static str> {
        match self {
            Rule::TrustedRoot => Some("trusted root"),
            Rule::RootSignedByTrusted => Some("new root signed by trusted root"),
            Rule::RootSignedBySelf => Some("new root signed by itself"),
            Rule::RootVersion => Some("root version"),
            Rule::TimestampSignatures => Some("timestamp signatures"),
            Rule::SnapshotSignatures => Some("snapshot signatures"),
            Rule::SnapshotVersion => Some("snapshot version named by timestamp"),
            Rule::SnapshotRoleRemoved => Some("(role removed from snapshot)"),
            Rule::TargetsSignatures => Some("targets signatures"),
            Rule::TargetsSignaturesSecondDelegator => Some("targets signatures (second delegator)"),
            Rule::TargetsVersion => Some("targets version named by snapshot"),
            _ => None,
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.gloss() {
            Some(gloss) => write!(f, "{} {gloss}", self.section()),
            None => f.write_str(self.section()),
        }
    }
}

/// Why a piece of metadata or a target was refused, or why the client could not go on.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TufError {
    /// Not valid metadata of its kind (spec section 4): unparsable, a field missing or out
    /// of range.
    #[error("malformed {role} metadata: {reason}")]
    Malformed {
        /// The role whose metadata it is.
        role: Role,
        /// What is wrong with it.
        reason: String,
    },

    /// The metadata's `_type` is not the role's.
    #[error("{role} metadata has type {found:?}, expected {expected:?}")]
    WrongType {
        /// The role the metadata was fetched as.
        role: Role,
        /// The `_type` that role's metadata must have.
        expected: String,
        /// The `_type` the metadata has.
        found: String,
    },

    /// Fewer valid signatures than the role's threshold.
    #[error("{rule}: {role} metadata is not signed by a threshold of its keys: {valid} of {threshold} valid signatures")]
    Threshold {
        /// The rule that requires the threshold.
        rule: Rule,
        /// The role whose signatures were counted.
        role: Role,
        /// Valid signatures, by keys of the role.
        valid: u64,
        /// Signatures the role needs.
        threshold: u64,
    },

    /// The metadata's version is not the one its referrer names.
    #[error("{rule}: {role} version {found} is not the expected version ({expected})")]
    VersionMismatch {
        /// The rule that names the version.
        rule: Rule,
        /// The role whose version differs.
        role: Role,
        /// The version the referrer (timestamp, snapshot or the next root) names.
        expected: u64,
        /// The version the metadata has.
        found: u64,
    },

    /// A version lower than the trusted one: a rollback attack.
    #[error(
        "{rule}: rollback attack: {role} version {new} is lower than the trusted version {trusted}"
    )]
    Rollback {
        /// The rule that forbids going back.
        rule: Rule,
        /// The role whose version went back.
        role: Role,
        /// The version the client trusts.
        trusted: u64,
        /// 0 when the role is gone altogether.
        new: u64,
    },

    /// Not an attack: the repository offers the version the client already trusts.
    #[error("{role} version {version} is already trusted")]
    EqualVersion {
        /// The role offered again.
        role: Role,
        /// Its version, already trusted.
        version: u64,
    },

    /// Metadata past its expiry: the publisher has not re-signed it in time (its signing
    /// job stopped), or someone replays old metadata to hide newer releases (a freeze
    /// attack). Either way nothing is trusted until it is re-signed.
    #[error(
        "{rule}: the repository's {role} metadata expired {} ago ({}): the publisher has not \
         re-signed it since, which is either an outage of its signing job or a freeze attack \
         hiding newer releases; updates resume once it is re-signed",
        expiry::elapsed(expires, checked_at),
        expiry::format(expires)
    )]
    Expired {
        /// The rule that checks this role's expiry.
        rule: Rule,
        /// The role that expired.
        role: Role,
        /// When it expired.
        expires: DateTime<Utc>,
        /// The time the client checked it at.
        checked_at: DateTime<Utc>,
    },

    /// A file's length or hashes differ from what trusted metadata gives for it.
    #[error("{rule}: {what} does not match the trusted length or hashes: {detail}")]
    LengthOrHash {
        /// The rule that checks them.
        rule: Rule,
        /// The file: a role's metadata or a target path.
        what: String,
        /// Which length or hash differs, and how.
        detail: String,
    },

    /// What a rule needs is not there: no trusted root at all (5.2), a targets role that
    /// snapshot does not list (5.6.1).
    #[error("{rule}: {detail}")]
    Missing {
        /// The rule that needs it.
        rule: Rule,
        /// What is missing.
        detail: String,
    },

    /// A key in metadata this client cannot use: unknown type or scheme, or bad key bytes.
    #[error("unsupported or invalid key {keyid}: {reason}")]
    BadKey {
        /// The key's ID, as the metadata names it.
        keyid: String,
        /// Why it cannot be used.
        reason: String,
    },

    /// `delegator` (top-level targets, for a channel) does not delegate to `role`;
    /// `delegated` lists the roles it delegates to by name, in delegation order.
    #[error(
        "{delegator} does not delegate to {role:?} (it delegates to: {})",
        list(delegated)
    )]
    NotDelegated {
        /// The role asked for.
        role: Role,
        /// The role expected to delegate to it.
        delegator: Role,
        /// The roles `delegator` does delegate to, in delegation order.
        delegated: Vec<String>,
    },

    /// No trusted targets role lists the target path it holds.
    #[error("target {0:?} not found in any trusted targets role")]
    TargetNotFound(String),

    /// The API was called out of order (a bug of the caller): e.g. snapshot before
    /// timestamp, or a delegated role before its delegator.
    #[error("the TUF client was used out of order: {0}")]
    Misuse(&'static str),

    /// An invariant of this crate did not hold (a bug here, never the repository's doing).
    #[error("internal error of the TUF client: {0}")]
    Internal(&'static str),

    /// The client was not configured for what it was asked to do.
    #[error("TUF client configuration: {0}")]
    Config(&'static str),

    /// Fetching metadata or a target failed (network, HTTP status, size limit).
    #[error(transparent)]
    Fetch(#[from] crate::tuf::fetch::FetchError),

    /// A repository this install has trusted before now answers that it has no metadata
    /// (its `timestamp.json` is not found). Not a reason to fall back to another repository:
    /// an attacker hiding it would push the client back to metadata it left behind.
    #[error("the {what} at {url} is missing though this install already trusted it")]
    TrustedRepositoryMissing {
        /// What the repository was trusted for (e.g. "per-app repository of myapp").
        what: String,
        /// Its URL.
        url: String,
    },

    /// The trusted root stored by an earlier run cannot be used (unparsable, or not signed
    /// by its own threshold). It is not replaced by the app's root silently: that would
    /// undo every root rotation since. Deleting the metadata directory starts again from the
    /// app's root.
    #[error(
        "the stored trusted root {path} is unusable ({reason}); it was left as is: delete the \
         metadata directory to start again from the app's own root"
    )]
    StoredRootUnusable {
        /// The file holding the stored root.
        path: String,
        /// Why it was refused.
        #[source]
        reason: Box<TufError>,
    },

    /// Reading or writing the local metadata store failed.
    #[error("local storage error at {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "no role".to_string()
    } else {
        names.join(", ")
    }
}

impl TufError {
    pub(crate) fn malformed(role: impl Into<Role>, reason: impl fmt::Display) -> Self {
        TufError::Malformed {
            role: role.into(),
            reason: reason.to_string(),
        }
    }

    /// The rule this error is a refusal under, if it is one.
    pub fn rule(&self) -> Option<Rule> {
        match self {
            TufError::Threshold { rule, .. }
            | TufError::VersionMismatch { rule, .. }
            | TufError::Rollback { rule, .. }
            | TufError::Expired { rule, .. }
            | TufError::LengthOrHash { rule, .. }
            | TufError::Missing { rule, .. } => Some(*rule),
            _ => None,
        }
    }

    /// The role the error is about, where it names one.
    pub fn role(&self) -> Option<&Role> {
        match self {
            TufError::Malformed { role, .. }
            | TufError::WrongType { role, .. }
            | TufError::Threshold { role, .. }
            | TufError::VersionMismatch { role, .. }
            | TufError::Rollback { role, .. }
            | TufError::EqualVersion { role, .. }
            | TufError::Expired { role, .. }
            | TufError::NotDelegated { role, .. } => Some(role),
            _ => None,
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

/// A result whose error defaults to [`TufError`].
pub type Result<T, E = TufError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_display_their_section() {
        assert_eq!(Rule::RootSignedBySelf.section(), "5.3.4");
        assert_eq!(
            Rule::RootSignedBySelf.to_string(),
            "5.3.4 new root signed by itself"
        );
        assert_eq!(Rule::TimestampExpired.to_string(), "5.4.4");
        let e = TufError::Rollback {
            rule: Rule::TimestampRollback,
            role: Role::Timestamp,
            trusted: 2,
            new: 1,
        };
        assert_eq!(e.rule(), Some(Rule::TimestampRollback));
        assert_eq!(
            e.to_string(),
            "5.4.3.1: rollback attack: timestamp version 1 is lower than the trusted version 2"
        );
    }
}
