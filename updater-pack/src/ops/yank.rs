//! `yank`: removes a release from a channel's metadata, so clients no longer see it. The
//! stored files stay (a client that has just read the previous metadata can finish its
//! download) unless `--delete-files` is given; they are then deleted after the new
//! metadata is in place.
//!
//! The release's patches ([`crate::ops::patches`]) go with it: those to it are in its
//! directory. So do the channel's patches from it: a client uses a patch only with the full
//! release of its base listed beside it, and `verify` reports one without.

use std::path::PathBuf;

use tuf_updater_core::release::names::{check_app, check_channel, parse_version};
use tuf_updater_core::release::{PlatformSegment, Release, ReleaseKind, ReleasePath};
use tuf_updater_core::tuf::metadata::TargetFile;

use crate::error::{PackError, Result};
use crate::ops::release::{release_name, stored_path};
use crate::ops::session::{Context, Outcome, Session};
use crate::project::Project;

#[derive(Clone, Debug, Default)]
pub struct YankOptions {
    pub app: String,
    pub version: String,
    pub channel: String,
    pub platform: Option<String>,
    pub delete_files: bool,
}

#[derive(Clone, Debug)]
pub struct YankReport {
    pub removed: Vec<String>,
    pub deleted_files: Vec<PathBuf>,
    pub outcome: Outcome,
}

pub fn yank(project: &Project, ctx: Context, opts: &YankOptions) -> Result<YankReport> {
    check_app(&opts.app)?;
    let version = parse_version(&opts.version)?;
    check_channel(&opts.channel)?;
    let segment = match &opts.platform {
        Some(p) => Some(p.parse::<PlatformSegment>()?),
        None => None,
    };
    let mut session = Session::open_app(project, ctx, &opts.app)?;
    let project = session.project.clone();
    session.draft.channel_mut(&opts.channel)?;
    session.draft.state.load_parts_of(&opts.channel)?;
    let listed: Vec<(String, TargetFile)> = session
        .state()
        .channel_targets(&opts.channel)
        .map(|(key, file)| (key.clone(), file.clone()))
        .collect();
    let mut doomed: Vec<(String, ReleasePath)> = listed
        .iter()
        .filter_map(|(key, _)| key.parse().ok().map(|p: ReleasePath| (key.clone(), p)))
        .filter(|(_, p)| p.is_release(&opts.app, &version, segment.as_ref()))
        .collect();
    if doomed.is_empty() {
        return Err(PackError::NoSuchRelease {
            what: release_name(&opts.app, &version, segment.as_ref()),
            channel: opts.channel.clone(),
        });
    }
    doomed.extend(
        listed
            .iter()
            .filter_map(|(key, file)| Release::parse(key, file).ok())
            .filter(|r| r.path.app == opts.app && r.path.version != version)
            .filter(|r| segment.as_ref().is_none_or(|s| r.path.segment == *s))
            .filter(
                |r| matches!(&r.fields.kind, ReleaseKind::Delta { from, .. } if *from == version),
            )
            .map(|r| (r.target_path(), r.path)),
    );
    let mut files = Vec::new();
    for (key, path) in &doomed {
        let removed = session.remove_target(&opts.channel, key)?;
        if let Some(sha) = removed.as_ref().and_then(|f| f.hashes.get("sha256")) {
            files.push(stored_path(&project, path, sha));
        }
    }
    let outcome = session.commit()?;
    let mut deleted_files = Vec::new();
    if opts.delete_files {
        for file in files {
            match std::fs::remove_file(&file) {
                Ok(()) => {
                    remove_empty_parents(&file, &project.targets_dir());
                    deleted_files.push(file);
                }
                Err(e) => tracing::warn!(file = %file.display(), error = %e, "not deleted"),
            }
        }
    }
    Ok(YankReport {
        removed: doomed.into_iter().map(|(key, _)| key).collect(),
        deleted_files,
        outcome,
    })
}

fn remove_empty_parents(file: &std::path::Path, stop: &std::path::Path) {
    let mut dir = file.parent();
    while let Some(d) = dir {
        if d == stop || !d.starts_with(stop) || std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

impl std::fmt::Display for YankReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for t in &self.removed {
            writeln!(f, "Yanked {t}")?;
        }
        if self.deleted_files.is_empty() {
            writeln!(
                f,
                "  the stored files stay in targets/ (clients mid-download can finish); \
                 --delete-files removes them"
            )?;
        }
        for d in &self.deleted_files {
            writeln!(f, "  deleted {}", d.display())?;
        }
        crate::ops::write_roles(f, &self.outcome.roles)
    }
}
