//! `yank`: removes a release from a channel's metadata, so clients no longer see it. The
//! stored files stay (a client that has just read the previous metadata can finish its
//! download) unless `--delete-files` is given; they are then deleted after the new
//! metadata is in place.

use std::path::PathBuf;

use crate::error::{PackError, Result};
use crate::names::{check_app, check_channel, check_platform, parse_version, TargetPath};
use crate::ops::promote::release_name;
use crate::ops::release::stored_path;
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
    let version = parse_version(&opts.version)?.to_string();
    check_channel(&opts.channel)?;
    if let Some(p) = &opts.platform {
        check_platform(p)?;
    }
    let mut session = Session::open(project, ctx)?;
    let project = session.project.clone();
    let channel = session.draft.channel_mut(&opts.channel)?;
    let doomed: Vec<String> = channel
        .targets
        .keys()
        .filter(|path| {
            TargetPath::parse(path)
                .is_some_and(|p| p.is_release(&opts.app, &version, opts.platform.as_deref()))
        })
        .cloned()
        .collect();
    if doomed.is_empty() {
        return Err(PackError::NoSuchRelease {
            what: release_name(&opts.app, &version, opts.platform.as_deref()),
            channel: opts.channel.clone(),
        });
    }
    let mut files = Vec::new();
    for path in &doomed {
        if let Some(file) = channel.targets.remove(path) {
            if let (Some(p), Some(sha)) = (TargetPath::parse(path), file.hashes.get("sha256")) {
                files.push(stored_path(&project, &p, sha));
            }
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
        removed: doomed,
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
