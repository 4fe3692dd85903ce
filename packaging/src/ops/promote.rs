//! `promote`: publishes a release of one channel on another: the same bytes and hashes (a
//! hard link of the stored file, no new upload), under `<to>/<app>/<version>/...`, signed
//! by the destination channel's key. The source is read as the client reads it
//! ([`Release::parse`]); `published` becomes the time of the promotion, and the other
//! custom fields, unknown ones included, are kept unless overridden.

use std::path::Path;

use semver::Version;
use updater_core::release::names::{check_app, check_channel, parse_version};
use updater_core::release::{PlatformSegment, Release, ReleasePath};
use updater_core::tuf::metadata::TargetFile;

use crate::error::{PackError, Result};
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
    pub targets: Vec<String>,
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
    let mut session = Session::open(project, ctx)?;
    let known = session.state().channel_names();
    for channel in [&opts.from, &opts.to] {
        if !known.contains(channel) {
            return Err(PackError::UnknownChannel {
                name: channel.clone(),
                known: known.join(", "),
            });
        }
    }
    let sources = sources(&session, opts, &checked)?;
    let mut additions = Vec::new();
    for source in sources {
        additions.push(promoted(&mut session, opts, source)?);
    }
    let promoted: Vec<String> = additions.iter().map(|(path, _)| path.clone()).collect();
    let channel = session.draft.channel_mut(&opts.to)?;
    channel.targets.extend(additions);
    let outcome = session.commit()?;
    Ok(PromoteReport {
        targets: promoted,
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
/// target with its edited fields.
fn promoted(
    session: &mut Session,
    opts: &PromoteOptions,
    source: Release,
) -> Result<(String, TargetFile)> {
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
    let sha256 = file
        .hashes
        .get("sha256")
        .cloned()
        .ok_or_else(|| PackError::inconsistent(format!("{path} has no sha256 hash")))?;
    let from_file = stored_path(&session.project, &path, &sha256);
    check_stored(&from_file, file.length, &sha256)?;
    let dest = path.on_channel(&opts.to);
    let to_file = stored_path(&session.project, &dest, &sha256);
    session.txn.add_link(Phase::Targets, &to_file, &from_file)?;
    fields.published = session.now;
    if let Some(pct) = opts.rollout {
        fields.rollout_percent = pct;
    }
    if let Some(critical) = opts.critical {
        fields.critical = critical;
    }
    file.custom = Some(fields.to_custom());
    Ok((dest.to_string(), file))
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
