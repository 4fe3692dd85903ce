//! `promote`: publishes a release of one channel on another: the same bytes and hashes (a
//! hard link of the stored file, no new upload), under `<to>/<app>/<version>/...`, signed
//! by the destination channel's key. The source is read as the client reads it
//! ([`Release::parse`]); `published` becomes the time of the promotion, and the other
//! custom fields, unknown ones included, are kept unless overridden.
//!
//! The release's patches ([`crate::ops::patches`]) go along, with `full` rewritten to the
//! release's new path, but only those whose base (the full release they patch from, same
//! platform segment and bytes) the destination lists too: a client there could use no other.

use std::path::Path;

use semver::Version;
use tuf_updater_core::release::names::{check_app, check_channel, parse_version};
use tuf_updater_core::release::{PlatformSegment, Release, ReleaseKind, ReleasePath};
use tuf_updater_core::tuf::metadata::TargetFile;

use crate::error::{PackError, Result};
use crate::ops::patches::patches_to;
use crate::ops::release::{listed, release_name, stored_path};
use crate::ops::session::{Context, Outcome, Session};
use crate::project::Project;
use crate::txn::{hash_file, Phase};

#[derive(Clone, Debug, Default)]
pub struct PromoteOptions {
    pub app: String,
    pub version: String,
    pub from: String,
    pub to: String,
    /// Only this platform segment (`<os>-<arch>[-<format>]`); default: every one of the
    /// release's.
    pub platform: Option<String>,
    pub rollout: Option<u8>,
    pub critical: Option<bool>,
}

#[derive(Clone, Debug)]
pub struct PromoteReport {
    /// The targets added: releases and their patches.
    pub targets: Vec<String>,
    /// Patches of the release left behind, and why.
    pub patches_left: Vec<String>,
    pub outcome: Outcome,
}

/// The options, checked.
struct Checked {
    version: Version,
    segment: Option<PlatformSegment>,
}

fn check(opts: &PromoteOptions) -> Result<Checked> {
    check_app(&opts.app)?;
    let version = parse_version(&opts.version)?;
    check_channel(&opts.from)?;
    check_channel(&opts.to)?;
    if opts.from == opts.to {
        return Err(PackError::bad_value(
            "--to",
            &opts.to,
            "the same channel as --from",
        ));
    }
    let segment = match &opts.platform {
        Some(p) => Some(p.parse::<PlatformSegment>()?),
        None => None,
    };
    if let Some(pct) = opts.rollout.filter(|p| *p > 100) {
        return Err(PackError::bad_value(
            "--rollout",
            pct,
            "a percentage is 0 to 100",
        ));
    }
    Ok(Checked { version, segment })
}

pub fn promote(project: &Project, ctx: Context, opts: &PromoteOptions) -> Result<PromoteReport> {
    let checked = check(opts)?;
    let mut session = Session::open_app(project, ctx, &opts.app)?;
    let known = session.state().channel_names();
    for channel in [&opts.from, &opts.to] {
        if !known.contains(channel) {
            return Err(PackError::UnknownChannel {
                name: channel.clone(),
                known: known.join(", "),
            });
        }
    }
    for channel in [&opts.from, &opts.to] {
        session.draft.state.load_parts_of(channel)?;
    }
    let sources = sources(&session, opts, &checked)?;
    let mut additions = Vec::new();
    let mut patches_left = Vec::new();
    for source in sources {
        let patches = patches_to(&session, &opts.from, &source.path);
        let (path, file) = promoted(&mut session, opts, source)?;
        additions.push((path.to_string(), file));
        for patch in patches {
            match promoted_patch(&mut session, opts, patch, &path)? {
                Ok(addition) => additions.push(addition),
                Err(left) => patches_left.push(left),
            }
        }
    }
    let promoted: Vec<String> = additions.iter().map(|(path, _)| path.clone()).collect();
    for (path, file) in &additions {
        session.insert_target(&opts.to, path, file)?;
    }
    let outcome = session.commit()?;
    Ok(PromoteReport {
        targets: promoted,
        patches_left,
        outcome,
    })
}

/// The releases to promote, read as the client reads them: a source whose fields are
/// malformed is an error that names it.
fn sources(session: &Session, opts: &PromoteOptions, checked: &Checked) -> Result<Vec<Release>> {
    let sources: Vec<Release> = listed(session, &opts.from)
        .filter(|(p, _)| p.is_release(&opts.app, &checked.version, checked.segment.as_ref()))
        .map(|(p, file)| {
            let path = p.to_string();
            Release::parse(&path, file).map_err(|reason| PackError::BadRelease { path, reason })
        })
        .filter(|r| {
            r.as_ref()
                .map_or(true, |r| r.fields.kind == ReleaseKind::Full)
        })
        .collect::<Result<_>>()?;
    if sources.is_empty() {
        return Err(PackError::NoSuchRelease {
            what: release_name(&opts.app, &checked.version, checked.segment.as_ref()),
            channel: opts.from.clone(),
        });
    }
    Ok(sources)
}

/// Stages the link of `source`'s stored file on the destination channel; returns the new
/// target's path and entry, with its edited fields.
fn promoted(
    session: &mut Session,
    opts: &PromoteOptions,
    source: Release,
) -> Result<(ReleasePath, TargetFile)> {
    let Release {
        path,
        mut fields,
        target: mut file,
    } = source;
    if let Some(dest) = released_on_channel(session, &opts.to, &path) {
        return Err(PackError::AlreadyReleased {
            what: release_name(&dest.app, &dest.version, Some(&dest.segment)),
            channel: opts.to.clone(),
            hint: String::new(),
        });
    }
    let dest = link_to_channel(session, &path, &file, &opts.to)?;
    fields.published = session.now;
    if let Some(pct) = opts.rollout {
        fields.rollout_percent = pct;
    }
    if let Some(critical) = opts.critical {
        fields.critical = critical;
    }
    file.custom = Some(fields.to_custom());
    Ok((dest, file))
}

/// Stages the stored bytes of target `path` (checked against `file`'s length and sha256)
/// under the same path on channel `to`, as a hard link; returns that path.
fn link_to_channel(
    session: &mut Session,
    path: &ReleasePath,
    file: &TargetFile,
    to: &str,
) -> Result<ReleasePath> {
    let sha256 = file
        .hashes
        .get("sha256")
        .cloned()
        .ok_or_else(|| PackError::inconsistent(format!("{path} has no sha256 hash")))?;
    let from_file = stored_path(&session.project, path, &sha256);
    check_stored(&from_file, file.length, &sha256)?;
    let dest = path.on_channel(to);
    let to_file = stored_path(&session.project, &dest, &sha256);
    session.txn.add_link(Phase::Targets, &to_file, &from_file)?;
    Ok(dest)
}

/// Stages the link of `patch`, a patch to a release promoted to `full`, on the destination
/// channel, with `full` rewritten; or says why it stays behind: the destination does not
/// list its base with the same bytes.
fn promoted_patch(
    session: &mut Session,
    opts: &PromoteOptions,
    patch: Release,
    full: &ReleasePath,
) -> Result<Result<(String, TargetFile), String>> {
    let Release {
        path,
        mut fields,
        target: mut file,
    } = patch;
    let ReleaseKind::Delta { from, format, .. } = fields.kind.clone() else {
        return Ok(Err(format!("{path} is not a patch")));
    };
    let base = |channel: &str| full_release(session, channel, &path, &from);
    let sha = |r: &Release| r.target.hashes.get("sha256").cloned();
    let Some(dest_base) = base(&opts.to) else {
        let what = release_name(&path.app, &from, Some(&path.segment));
        return Ok(Err(format!(
            "patch from {from} not promoted: {what} is not released on {}",
            opts.to
        )));
    };
    if base(&opts.from).is_some_and(|b| sha(&b) != sha(&dest_base)) {
        return Ok(Err(format!(
            "patch from {from} not promoted: {} has other bytes for {from} than {}",
            opts.to, opts.from
        )));
    }
    let dest = link_to_channel(session, &path, &file, &opts.to)?;
    fields.kind = ReleaseKind::Delta {
        from,
        full: full.to_string(),
        format,
    };
    fields.published = session.now;
    file.custom = Some(fields.to_custom());
    Ok(Ok((dest.to_string(), file)))
}

/// The full release of `app` `version` on `channel` for the platform segment of `like`.
fn full_release(
    session: &Session,
    channel: &str,
    like: &ReleasePath,
    version: &Version,
) -> Option<Release> {
    listed(session, channel)
        .filter(|(p, _)| p.is_release(&like.app, version, Some(&like.segment)))
        .filter_map(|(p, file)| Release::parse(&p.to_string(), file).ok())
        .find(|r| r.fields.kind == ReleaseKind::Full)
}

/// The release of the same app, version and platform segment as `source` on `channel`.
fn released_on_channel(
    session: &Session,
    channel: &str,
    source: &ReleasePath,
) -> Option<ReleasePath> {
    listed(session, channel)
        .map(|(p, _)| p)
        .find(|p| p.is_release(&source.app, &source.version, Some(&source.segment)))
}

/// The stored file must still be the one the metadata describes before it is published
/// again.
fn check_stored(path: &Path, length: u64, sha256: &str) -> Result<()> {
    if !path.is_file() {
        return Err(PackError::inconsistent(format!(
            "{} is missing",
            path.display()
        )));
    }
    let (len, sha) = hash_file(path)?;
    if len != length || sha != sha256 {
        return Err(PackError::inconsistent(format!(
            "{} does not match its metadata (length or sha256 differ)",
            path.display()
        )));
    }
    Ok(())
}

impl std::fmt::Display for PromoteReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for t in &self.targets {
            writeln!(f, "Promoted {t}")?;
        }
        for left in &self.patches_left {
            writeln!(f, "  {left}")?;
        }
        crate::ops::write_roles(f, &self.outcome.roles)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_options_name_their_flag() {
        let opts = PromoteOptions {
            app: "demo".into(),
            version: "1.0.0".into(),
            from: "beta".into(),
            to: "beta".into(),
            ..PromoteOptions::default()
        };
        assert!(matches!(
            check(&opts),
            Err(PackError::BadArgument { flag: "--to", .. })
        ));
        let opts = PromoteOptions {
            to: "stable".into(),
            rollout: Some(200),
            ..opts
        };
        assert!(matches!(
            check(&opts),
            Err(PackError::BadArgument { flag: "--rollout", value: Some(v), .. }) if v == "200"
        ));
    }
}
