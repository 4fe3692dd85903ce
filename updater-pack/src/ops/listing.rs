//! Where a channel's targets are: the path of a target's stored bytes in the project, and
//! the release paths a channel lists. Shared by the commands that add, carry or remove
//! targets (`release`, its patches, `promote`, `yank`), apart from any of them so that they
//! can use each other without a cycle.

use std::path::PathBuf;

use tuf_updater_core::release::ReleasePath;
use tuf_updater_core::tuf::metadata::TargetFile;

use crate::names::stored_name;
use crate::ops::session::Session;
use crate::project::Project;

/// Where the bytes of `target` are stored: `targets/<channel>/<app>/<version>/<segment>/`
/// `<sha256>.<file>`.
pub fn stored_path(project: &Project, target: &ReleasePath, sha256: &str) -> PathBuf {
    project
        .targets_dir()
        .join(&target.channel)
        .join(&target.app)
        .join(target.version.to_string())
        .join(target.segment.to_string())
        .join(stored_name(sha256, &target.file))
}

/// The releases `channel` lists: its targets whose path is a release path of that channel,
/// with their signed data (fields unchecked, so patches too: their paths are release paths,
/// their `kind` is `delta`).
pub fn listed<'a>(
    session: &'a Session,
    channel: &str,
) -> impl Iterator<Item = (ReleasePath, &'a TargetFile)> + 'a {
    let name = channel.to_string();
    session
        .state()
        .channel_targets(channel)
        .filter_map(|(path, file)| path.parse().ok().map(|p| (p, file)))
        .filter(move |(p, _): &(ReleasePath, _)| p.channel == name)
}
