//! What an installed app downloads to check for updates, per app, channel and platform
//! segment of the per-app layout (`status` prints it): the files a check fetches and
//! their sizes as published, so a publisher sees the cost of every release at a glance.
//!
//! After a release of the app on its segment a check fetches `timestamp.json`, the
//! snapshot and the segment's head (plus the `N+1.root.json` probe, which answers 404);
//! cold, it also fetches `targets` and the channel role, and first looks for the app's
//! repository (its `timestamp.json` once more). After a release of another app,
//! only the timestamp (its own repository did not change). The archive is fetched only for
//! a pinned version or a rollback older than the head.

use serde::Serialize;
use tuf_updater_core::release::ReleasePath;

use crate::repo::placement::{archive_name, head_name};
use crate::repo::Roles;

/// Requests of a check after a release: root probe, timestamp, snapshot, head.
pub const REQUESTS_AFTER_RELEASE: usize = 4;
/// Requests of a first check: the same, plus `targets`, the channel role and the look for
/// the app's repository.
pub const REQUESTS_COLD: usize = 7;

#[derive(Clone, Debug, Serialize)]
pub struct CheckCost {
    pub app: String,
    pub channel: String,
    pub segment: String,
    /// Versions in the head and in the archive.
    pub head_versions: usize,
    pub archived_versions: usize,
    /// Bytes of a check after a release of this app on this segment.
    pub after_release_bytes: usize,
    /// Bytes of a first check (empty cache).
    pub cold_bytes: usize,
    /// Bytes a pinned or rolled-back install adds when it reads the archive.
    pub archive_bytes: usize,
}

/// Distinct versions among `role`'s target paths.
fn versions(roles: &Roles, role: &str) -> usize {
    let mut versions: Vec<semver::Version> = roles
        .parts
        .get(role)
        .into_iter()
        .flat_map(|(_, part)| part.value.targets.keys())
        .filter_map(|path| path.parse::<ReleasePath>().ok())
        .map(|p| p.version)
        .collect();
    versions.sort();
    versions.dedup();
    versions.len()
}

/// The cost of a check for every head of `app`'s repository.
pub fn check_costs(app: &str, roles: &Roles) -> Vec<CheckCost> {
    let envelope = roles.timestamp.bytes.len() + roles.snapshot.bytes.len();
    let mut costs = Vec::new();
    for (channel, signed) in &roles.channels {
        let heads = signed
            .value
            .delegations
            .iter()
            .flat_map(|d| d.roles.iter().flatten())
            .filter_map(|r| r.name.strip_prefix(&format!("{channel}.")))
            .filter(|segment| !segment.ends_with(".archive"))
            .map(str::to_string);
        for segment in heads {
            let head = head_name(channel, &segment);
            let archive = archive_name(channel, &segment);
            let bytes = |role: &str| roles.parts.get(role).map_or(0, |(_, p)| p.bytes.len());
            let after = envelope + bytes(&head);
            let cold = after + roles.timestamp.bytes.len();
            costs.push(CheckCost {
                app: app.to_string(),
                channel: channel.clone(),
                head_versions: versions(roles, &head),
                archived_versions: versions(roles, &archive),
                after_release_bytes: after,
                cold_bytes: cold + roles.targets.bytes.len() + signed.bytes.len(),
                archive_bytes: bytes(&archive),
                segment,
            });
        }
    }
    costs
}

impl std::fmt::Display for CheckCost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {}: after a release {} bytes in {REQUESTS_AFTER_RELEASE} requests, first \
             check {} bytes in {REQUESTS_COLD}; {} version(s) in the head, {} archived",
            self.app,
            self.channel,
            self.segment,
            self.after_release_bytes,
            self.cold_bytes,
            self.head_versions,
            self.archived_versions
        )?;
        if self.archived_versions > 0 {
            write!(f, " (a pin reads {} bytes more)", self.archive_bytes)?;
        }
        Ok(())
    }
}
