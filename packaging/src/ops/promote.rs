//! `promote`: publishes a release of one channel on another: the same bytes and hashes (a
//! hard link of the stored file, no new upload), under `<to>/<app>/<version>/...`, signed
//! by the destination channel's key. `published` becomes the time of the promotion; the
//! other custom fields are kept unless overridden.

use std::path::Path;

use serde_json::{json, Value};

use crate::clock::format_time;
use crate::error::{PackError, Result};
use crate::names::{check_app, check_channel, check_platform, parse_version, TargetPath};
use crate::ops::release::stored_path;
use crate::ops::session::{Context, Outcome, Session};
use crate::project::Project;
use crate::txn::{hash_file, Phase};

#[derive(Clone, Debug, Default)]
pub struct PromoteOptions {
    pub app: String,
    pub version: String,
    pub from: String,
    pub to: String,
    /// Only this platform; default: every platform of the release.
    pub platform: Option<String>,
    pub rollout: Option<u8>,
    pub critical: Option<bool>,
}

#[derive(Clone, Debug)]
pub struct PromoteReport {
    pub targets: Vec<String>,
    pub outcome: Outcome,
}

fn check(opts: &PromoteOptions) -> Result<semver::Version> {
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
    if let Some(p) = &opts.platform {
        check_platform(p)?;
    }
    if let Some(pct) = opts.rollout.filter(|p| *p > 100) {
        return Err(PackError::bad_value(
            "--rollout",
            pct,
            "a percentage is 0 to 100",
        ));
    }
    Ok(version)
}

pub fn promote(project: &Project, ctx: Context, opts: &PromoteOptions) -> Result<PromoteReport> {
    let version = check(opts)?.to_string();
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
    let sources: Vec<(TargetPath, updater_core::tuf::metadata::TargetFile)> = session
        .state()
        .channels
        .get(&opts.from)
        .map(|c| {
            c.value
                .targets
                .iter()
                .filter_map(|(path, file)| TargetPath::parse(path).map(|p| (p, file.clone())))
                .filter(|(p, _)| p.is_release(&opts.app, &version, opts.platform.as_deref()))
                .collect()
        })
        .unwrap_or_default();
    if sources.is_empty() {
        return Err(PackError::NoSuchRelease {
            what: release_name(&opts.app, &version, opts.platform.as_deref()),
            channel: opts.from.clone(),
        });
    }
    let mut promoted = Vec::new();
    let mut additions = Vec::new();
    for (source, file) in sources {
        if let Some((channel, _)) =
            released_on_channel(&session, &opts.to, &source.app, &version, &source.platform)
        {
            return Err(PackError::AlreadyReleased {
                what: release_name(&source.app, &version, Some(&source.platform)),
                channel,
                hint: String::new(),
            });
        }
        let sha256 = file
            .hashes
            .get("sha256")
            .cloned()
            .ok_or_else(|| PackError::inconsistent(format!("{source} has no sha256 hash")))?;
        let from_file = stored_path(&session.project, &source, &sha256);
        check_stored(&from_file, file.length, &sha256)?;
        let dest = source.on_channel(&opts.to);
        let to_file = stored_path(&session.project, &dest, &sha256);
        session.txn.add_link(Phase::Targets, &to_file, &from_file)?;
        let mut file = file;
        let mut custom = match file.custom.take() {
            Some(Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        custom.insert("published".into(), json!(format_time(&session.now)));
        if let Some(pct) = opts.rollout {
            custom.insert("rollout".into(), json!({ "percent": pct }));
        }
        if let Some(critical) = opts.critical {
            custom.insert("critical".into(), json!(critical));
        }
        file.custom = Some(Value::Object(custom));
        promoted.push(dest.to_string());
        additions.push((dest.to_string(), file));
    }
    let channel = session.draft.channel_mut(&opts.to)?;
    for (path, file) in additions {
        channel.targets.insert(path, file);
    }
    let outcome = session.commit()?;
    Ok(PromoteReport {
        targets: promoted,
        outcome,
    })
}

fn released_on_channel(
    session: &Session,
    channel: &str,
    app: &str,
    version: &str,
    platform: &str,
) -> Option<(String, TargetPath)> {
    let role = session.state().channels.get(channel)?;
    role.value
        .targets
        .keys()
        .filter_map(|path| TargetPath::parse(path))
        .find(|p| p.is_release(app, version, Some(platform)))
        .map(|p| (channel.to_string(), p))
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

pub fn release_name(app: &str, version: &str, platform: Option<&str>) -> String {
    match platform {
        Some(p) => format!("{app} {version} for {p}"),
        None => format!("{app} {version}"),
    }
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
