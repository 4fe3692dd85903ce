//! The metadata a change starts from: every role's current value and bytes, and the version
//! the next file of each role gets. It is the repository on disk ([`RepoState`]) or, for
//! `init`, a repository not yet written, whose roles all get version 1.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use tuf_updater_core::tuf::metadata::{
    Common, DelegatedRole, Extra, Key, MetaFile, Root, Snapshot, TargetFile, Targets, Timestamp,
    ROOT, SNAPSHOT, TARGETS, TIMESTAMP,
};

use crate::repo::state::{meta_file, read_listed_targets, RepoState, Signed};

#[derive(Clone, Debug)]
pub struct Roles {
    pub root: Signed<Root>,
    pub timestamp: Signed<Timestamp>,
    pub snapshot: Signed<Snapshot>,
    pub targets: Signed<Targets>,
    /// Channel roles, by name.
    pub channels: BTreeMap<String, Signed<Targets>>,
    /// Roles a channel delegates to (heads and archives), by name, with their channel.
    pub parts: BTreeMap<String, (String, Signed<Targets>)>,
    /// Heads and archives not read yet, with their channel ([`Roles::load_part`]).
    pub unloaded: BTreeMap<String, String>,
    /// Whether releases go to per-segment heads and archives (an app's own repository)
    /// rather than straight into the channel role.
    pub split: bool,
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
            .chain(state.parts.keys().cloned())
            .chain(state.unloaded.keys().cloned())
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
            parts,
            unloaded,
            ..
        } = state;
        Roles {
            root,
            timestamp,
            snapshot,
            targets,
            channels,
            parts,
            unloaded,
            split: false,
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
            parts: BTreeMap::new(),
            unloaded: BTreeMap::new(),
            split: false,
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
            delegated => match (self.channels.get(delegated), self.parts.get(delegated)) {
                (Some(c), _) => c.value.common.version,
                (None, Some((_, p))) => p.value.common.version,
                (None, None) => self
                    .snapshot
                    .value
                    .role_meta(delegated)
                    .map_or(0, |m| m.version),
            },
        }
    }

    /// Whether a channel delegates to `name` (read or not).
    pub fn has_part(&self, name: &str) -> bool {
        self.parts.contains_key(name) || self.unloaded.contains_key(name)
    }

    /// Reads the head or archive `name` if it was left unread; checked against the snapshot.
    pub fn load_part(&mut self, name: &str) -> crate::error::Result<()> {
        let Some(channel) = self.unloaded.get(name).cloned() else {
            return Ok(());
        };
        let part = read_listed_targets(&self.dir, &self.snapshot.value, name)?;
        self.parts.insert(name.to_string(), (channel, part));
        self.unloaded.remove(name);
        Ok(())
    }

    /// Reads every unread role `channel` delegates to.
    pub fn load_parts_of(&mut self, channel: &str) -> crate::error::Result<()> {
        let names: Vec<String> = self
            .unloaded
            .iter()
            .filter(|(_, parent)| *parent == channel)
            .map(|(name, _)| name.clone())
            .collect();
        for name in names {
            self.load_part(&name)?;
        }
        Ok(())
    }

    /// A new app's repository in `dir`, started from the project repository `project`: the
    /// same root, `targets` and channel roles (signed files reused as they are), a snapshot
    /// and timestamp of its own still to sign (version 1). The caller stages the root history.
    pub fn seeded_from(project: &Roles, dir: &Path) -> Self {
        let mut snapshot = Snapshot {
            common: Common::new(0, project.snapshot.value.common.expires),
            meta: BTreeMap::new(),
            extra: Extra::new(),
        };
        let mut listed = vec![(TARGETS.to_string(), &project.targets)];
        listed.extend(project.channels.iter().map(|(n, c)| (n.clone(), c)));
        for (name, role) in listed {
            let meta = meta_file(role.value.common.version, &role.bytes);
            snapshot.meta.insert(format!("{name}.json"), meta);
        }
        Roles {
            root: project.root.clone(),
            timestamp: unsigned(Timestamp {
                common: Common::new(0, project.timestamp.value.common.expires),
                snapshot_meta: MetaFile::new(0),
                extra: Extra::new(),
            }),
            snapshot: unsigned(snapshot),
            targets: project.targets.clone(),
            channels: project.channels.clone(),
            parts: BTreeMap::new(),
            unloaded: BTreeMap::new(),
            split: true,
            next: BTreeMap::new(),
            dir: dir.to_path_buf(),
        }
    }

    /// The keys `targets` delegates `channel` to, and that delegation: what signs the channel
    /// and, in an app's repository, its heads and archives.
    pub fn channel_grant(
        &self,
        channel: &str,
    ) -> crate::error::Result<(BTreeMap<String, Key>, DelegatedRole)> {
        let delegations = self.targets.value.delegations.as_ref();
        delegations
            .and_then(|d| {
                let role = d.roles.as_ref()?.iter().find(|r| r.name == channel)?;
                Some((d.keys.clone(), role.clone()))
            })
            .ok_or_else(|| {
                crate::error::PackError::inconsistent(format!(
                    "targets does not delegate to {channel}"
                ))
            })
    }

    /// Every target `channel` lists, in its own role and the roles it delegates to.
    pub fn channel_targets<'a>(
        &'a self,
        channel: &str,
    ) -> impl Iterator<Item = (&'a String, &'a TargetFile)> + 'a {
        let own = self.channels.get(channel).map(|c| &c.value.targets);
        let channel = channel.to_string();
        let parts = self
            .parts
            .values()
            .filter(move |(parent, _)| *parent == channel)
            .map(|(_, part)| &part.value.targets);
        own.into_iter().chain(parts).flat_map(|t| t.iter())
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
