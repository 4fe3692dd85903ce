//! Where a target goes in a repository. In the project repository (the `channel` layout) a
//! channel's role lists every release itself. In an app's own repository (the `per-app`
//! layout, [`Roles::split`](crate::repo::Roles)) the channel role only delegates: per
//! platform segment, first to a head `<channel>.<segment>` that holds the newest releases,
//! then to an archive `<channel>.<segment>.archive` with the older ones, both signed by the
//! channel's keys and granted only `<channel>/<app>/*/<segment>/*`. A check reads the head
//! of its own segment; only a pin or a rollback to an old version reads the archive.
//!
//! A head holds at most [`HEAD_VERSIONS`] versions; the release that would make it one
//! more moves all but the newest [`KEEP_IN_HEAD`] to the archive at once, so the archive
//! (which a pinned client downloads) changes once per eight or so releases, not at each.

use std::collections::BTreeSet;

use semver::Version;
use tuf_updater_core::release::ReleasePath;
use tuf_updater_core::tuf::metadata::TargetFile;

use crate::error::{PackError, Result};
use crate::repo::draft::Draft;
use crate::repo::roles::Roles;

/// Most versions a head lists.
pub const HEAD_VERSIONS: usize = 16;
/// Versions a head keeps when it moves the older ones to its archive.
pub const KEEP_IN_HEAD: usize = 8;

/// The head role of `segment` on `channel`.
pub fn head_name(channel: &str, segment: &str) -> String {
    format!("{channel}.{segment}")
}

/// The archive role of `segment` on `channel`.
pub fn archive_name(channel: &str, segment: &str) -> String {
    format!("{channel}.{segment}.archive")
}

/// The paths a channel grants a head or archive: one app's releases for one segment.
pub fn part_paths(channel: &str, app: &str, segment: &str) -> Vec<String> {
    vec![format!("{channel}/{app}/*/{segment}/*")]
}

fn release_path(path: &str) -> Result<ReleasePath> {
    path.parse()
        .map_err(|e| PackError::inconsistent(format!("{path} is not a release path: {e}")))
}

impl Roles {
    /// Reads, if unread, the head of `segment` on `channel` and, when `version` is not newer
    /// than every version the head lists, its archive: what a release of `version` must see
    /// to refuse a reused version. A version newer than the head's newest cannot be in the
    /// archive: the newest versions never leave the head.
    pub fn load_segment(&mut self, channel: &str, segment: &str, version: &Version) -> Result<()> {
        let head = head_name(channel, segment);
        if !self.has_part(&head) {
            return Ok(());
        }
        self.load_part(&head)?;
        let newest = self.parts.get(&head).and_then(|(_, part)| {
            part.value
                .targets
                .keys()
                .filter_map(|path| path.parse::<ReleasePath>().ok())
                .map(|p| p.version)
                .max()
        });
        if newest.is_none_or(|newest| *version <= newest) {
            self.load_part(&archive_name(channel, segment))?;
        }
        Ok(())
    }
}

impl Draft {
    /// Lists `file` as `path` on `channel`: in the channel role, or in its segment's head
    /// (made, with its archive, for a segment's first release).
    pub fn insert_target(&mut self, channel: &str, path: &str, file: TargetFile) -> Result<()> {
        if !self.state.split {
            self.channel_mut(channel)?
                .targets
                .insert(path.to_string(), file);
            return Ok(());
        }
        let release = release_path(path)?;
        let segment = release.segment.to_string();
        let head = head_name(channel, &segment);
        if !self.state.has_part(&head) {
            let paths = part_paths(channel, &release.app, &segment);
            self.add_part(channel, &head, paths.clone())?;
            self.add_part(channel, &archive_name(channel, &segment), paths)?;
        }
        self.part_mut(&head)?.targets.insert(path.to_string(), file);
        self.move_old_versions(channel, &segment)
    }

    /// Removes `path` from whichever of `channel`'s roles lists it.
    pub fn remove_target(&mut self, channel: &str, path: &str) -> Result<Option<TargetFile>> {
        let in_channel = self
            .state
            .channels
            .get(channel)
            .is_some_and(|c| c.value.targets.contains_key(path));
        if in_channel {
            return Ok(self.channel_mut(channel)?.targets.remove(path));
        }
        self.state.load_parts_of(channel)?;
        let holder = self
            .state
            .parts
            .iter()
            .find(|(_, (parent, part))| parent == channel && part.value.targets.contains_key(path))
            .map(|(name, _)| name.clone());
        match holder {
            Some(name) => Ok(self.part_mut(&name)?.targets.remove(path)),
            None => Ok(None),
        }
    }

    /// Delegates every head and archive of `channel` to the keys and threshold `targets`
    /// delegates the channel to (after a rotation of the channel's keys), and re-signs them.
    pub fn regrant_parts(&mut self, channel: &str) -> Result<()> {
        if !self.state.split {
            return Ok(());
        }
        let (keys, grant) = self.state.channel_grant(channel)?;
        let names: Vec<String> = {
            let role = self.channel_mut(channel)?;
            let Some(d) = role.delegations.as_mut() else {
                return Ok(());
            };
            d.keys = keys
                .into_iter()
                .filter(|(id, _)| grant.keyids.contains(id))
                .collect();
            let roles = d.roles.iter_mut().flatten();
            roles
                .map(|r| {
                    r.keyids = grant.keyids.clone();
                    r.threshold = grant.threshold;
                    r.name.clone()
                })
                .collect()
        };
        for name in names {
            self.part_mut(&name)?;
        }
        Ok(())
    }

    /// Moves every version but the newest [`KEEP_IN_HEAD`] from the head of `segment` to
    /// its archive, once the head lists more than [`HEAD_VERSIONS`].
    fn move_old_versions(&mut self, channel: &str, segment: &str) -> Result<()> {
        let head = head_name(channel, segment);
        let versions: BTreeSet<Version> = self
            .state
            .parts
            .get(&head)
            .into_iter()
            .flat_map(|(_, part)| part.value.targets.keys())
            .filter_map(|path| path.parse::<ReleasePath>().ok())
            .map(|p| p.version)
            .collect();
        if versions.len() <= HEAD_VERSIONS {
            return Ok(());
        }
        let Some(oldest_kept) = versions.iter().rev().nth(KEEP_IN_HEAD - 1).cloned() else {
            return Ok(());
        };
        let head_targets = &mut self.part_mut(&head)?.targets;
        let moved: Vec<String> = head_targets
            .keys()
            .filter(|path| {
                path.parse::<ReleasePath>()
                    .is_ok_and(|p| p.version < oldest_kept)
            })
            .cloned()
            .collect();
        let moved: Vec<(String, TargetFile)> = moved
            .into_iter()
            .filter_map(|path| head_targets.remove(&path).map(|file| (path, file)))
            .collect();
        self.part_mut(&archive_name(channel, segment))?
            .targets
            .extend(moved);
        Ok(())
    }
}
