//! The metadata a change starts from: every role's current value and bytes, and the version
//! the next file of each role gets. It is the repository on disk ([`RepoState`]) or, for
//! `init`, a repository not yet written, whose roles all get version 1.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use updater_core::tuf::metadata::{
    Common, DelegatedRole, Extra, MetaFile, Root, Snapshot, Targets, Timestamp, ROOT, SNAPSHOT,
    TARGETS, TIMESTAMP,
};

use crate::repo::state::{RepoState, Signed};

#[derive(Clone, Debug)]
pub struct Roles {
    pub root: Signed<Root>,
    pub timestamp: Signed<Timestamp>,
    pub snapshot: Signed<Snapshot>,
    pub targets: Signed<Targets>,
    /// Channel roles, by name.
    pub channels: BTreeMap<String, Signed<Targets>>,
    /// The version of each role's next file, where it is not the current version plus one
    /// (files left by an interrupted command).
    next: BTreeMap<String, u64>,
    dir: PathBuf,
}

impl From<RepoState> for Roles {
    fn from(state: RepoState) -> Self {
        let next = [ROOT, TARGETS, SNAPSHOT, TIMESTAMP]
            .into_iter()
            .map(str::to_string)
            .chain(state.channels.keys().cloned())
            .map(|role| {
                let version = state.next_version(&role);
                (role, version)
            })
            .collect();
        let dir = state.metadata_dir().to_path_buf();
        let RepoState {
            root,
            timestamp,
            snapshot,
            targets,
            channels,
            ..
        } = state;
        Roles {
            root,
            timestamp,
            snapshot,
            targets,
            channels,
            next,
            dir,
        }
    }
}

/// A role not yet signed.
fn unsigned<T>(value: T) -> Signed<T> {
    Signed {
        value,
        bytes: Vec::new(),
    }
}

impl Roles {
    /// A repository not yet written, in `dir`: `root`, `targets` and the channel roles as
    /// given, an empty snapshot and timestamp. Versions and expiry dates are set when the
    /// roles are signed (a first `Draft`); every role starts at version 1.
    pub fn new_repository(
        dir: &Path,
        root: Root,
        targets: Targets,
        channels: BTreeMap<String, Targets>,
        now: DateTime<Utc>,
    ) -> Self {
        Roles {
            root: unsigned(root),
            timestamp: unsigned(Timestamp {
                common: Common::new(0, now),
                snapshot_meta: MetaFile::new(0),
                extra: Extra::new(),
            }),
            snapshot: unsigned(Snapshot {
                common: Common::new(0, now),
                meta: BTreeMap::new(),
                extra: Extra::new(),
            }),
            targets: unsigned(targets),
            channels: channels
                .into_iter()
                .map(|(name, value)| (name, unsigned(value)))
                .collect(),
            next: BTreeMap::new(),
            dir: dir.to_path_buf(),
        }
    }

    pub fn metadata_dir(&self) -> &Path {
        &self.dir
    }

    /// Channel names in delegation order.
    pub fn channel_names(&self) -> Vec<String> {
        self.delegated_roles()
            .iter()
            .map(|r| r.name.clone())
            .collect()
    }

    pub fn delegated_roles(&self) -> &[DelegatedRole] {
        self.targets
            .value
            .delegations
            .as_ref()
            .and_then(|d| d.roles.as_deref())
            .unwrap_or_default()
    }

    /// The version a new `N.<role>.json` gets.
    pub fn next_version(&self, role: &str) -> u64 {
        self.next
            .get(role)
            .copied()
            .unwrap_or_else(|| self.version(role) + 1)
    }

    fn version(&self, role: &str) -> u64 {
        match role {
            ROOT => self.root.value.common.version,
            TIMESTAMP => self.timestamp.value.common.version,
            SNAPSHOT => self.snapshot.value.common.version,
            TARGETS => self.targets.value.common.version,
            channel => self
                .channels
                .get(channel)
                .map_or(0, |c| c.value.common.version),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_repository_starts_every_role_at_version_1() {
        let now = Utc::now();
        let root = Root {
            common: Common::new(0, now),
            consistent_snapshot: true,
            keys: BTreeMap::new(),
            roles: BTreeMap::new(),
            extra: Extra::new(),
        };
        let channels = BTreeMap::from([("beta".to_string(), Targets::new(Common::new(0, now)))]);
        let roles = Roles::new_repository(
            Path::new("/m"),
            root,
            Targets::new(Common::new(0, now)),
            channels,
            now,
        );
        for role in [ROOT, TARGETS, SNAPSHOT, TIMESTAMP, "beta"] {
            assert_eq!(roles.next_version(role), 1, "{role}");
        }
        assert_eq!(roles.metadata_dir(), Path::new("/m"));
        // No delegations yet: no channel names.
        assert!(roles.channel_names().is_empty());
    }
}
