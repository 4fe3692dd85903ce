//! `release`: adds an artifact to a channel as `<channel>/<app>/<version>/<platform>/<file>`
//! with the custom fields of the design brief, stored as `<sha256>.<file>`, and re-signs the
//! channel role, snapshot and timestamp.
//!
//! Any regular file is accepted: what `tauri build` produces (AppImage, `.app.tar.gz`,
//! NSIS or MSI installers), a plain executable or an archive.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};
use updater_core::files::{self, Capped};
use updater_core::tuf::metadata::TargetFile;

use crate::clock::format_time;
use crate::error::{PackError, Result};
use crate::names::{check_app, check_file_name, check_platform, parse_version, TargetPath};
use crate::ops::session::{Context, Outcome, Session};
use crate::project::Project;
use crate::txn::Phase;

#[derive(Clone, Debug, Default)]
pub struct ReleaseOptions {
    pub app: String,
    pub version: String,
    pub platform: String,
    pub channel: String,
    pub artifact: PathBuf,
    /// The target's file name; default: the artifact's.
    pub name: Option<String>,
    /// A Markdown file of release notes.
    pub notes: Option<PathBuf>,
    /// Percentage of installs offered the release; default 100.
    pub rollout: Option<u8>,
    pub critical: bool,
    pub min_version: Option<String>,
}

#[derive(Clone, Debug)]
pub struct ReleaseReport {
    pub target: String,
    pub length: u64,
    pub sha256: String,
    pub stored: PathBuf,
    pub outcome: Outcome,
}

/// Largest notes file: they travel in the channel metadata every client downloads.
const MAX_NOTES: u64 = 64 * 1024;

/// Checks everything that does not need the repository; returns the target path and notes.
fn check(opts: &ReleaseOptions) -> Result<(TargetPath, semver::Version, String)> {
    check_app(&opts.app)?;
    let version = parse_version(&opts.version)?;
    check_platform(&opts.platform)?;
    if let Some(min) = &opts.min_version {
        let min = parse_version(min)?;
        if min > version {
            return Err(PackError::bad_value(
                "--min-version",
                min,
                format!("above the release's version {version}"),
            ));
        }
    }
    if let Some(pct) = opts.rollout {
        if pct > 100 {
            return Err(PackError::bad_value(
                "--rollout",
                pct,
                "a percentage is 0 to 100",
            ));
        }
    }
    let artifact = &opts.artifact;
    let meta = std::fs::metadata(artifact).map_err(|e| PackError::BadArtifact {
        path: artifact.clone(),
        reason: match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".into(),
            _ => e.to_string(),
        },
    })?;
    if meta.is_dir() {
        return Err(PackError::BadArtifact {
            path: artifact.clone(),
            reason: "is a directory; publish an archive of it (tauri build makes .app.tar.gz \
                     for macOS bundles)"
                .into(),
        });
    }
    if !meta.is_file() {
        return Err(PackError::BadArtifact {
            path: artifact.clone(),
            reason: "is not a regular file".into(),
        });
    }
    if meta.len() == 0 {
        return Err(PackError::BadArtifact {
            path: artifact.clone(),
            reason: "is empty".into(),
        });
    }
    let file = match &opts.name {
        Some(name) => name.clone(),
        None => artifact
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
            .ok_or_else(|| PackError::BadArtifact {
                path: artifact.clone(),
                reason: "has no UTF-8 file name; give one with --name".into(),
            })?,
    };
    check_file_name(&file)?;
    let notes = match &opts.notes {
        Some(path) => read_notes(path)?,
        None => String::new(),
    };
    let target = TargetPath {
        channel: opts.channel.clone(),
        app: opts.app.clone(),
        version: version.to_string(),
        platform: opts.platform.clone(),
        file,
    };
    Ok((target, version, notes))
}

fn read_notes(path: &Path) -> Result<String> {
    let bad = |reason: String| PackError::BadNotes {
        path: path.to_path_buf(),
        reason,
    };
    let data = match files::read_capped(path, MAX_NOTES).map_err(|e| bad(e.source.to_string()))? {
        Capped::Data(data) => data,
        Capped::TooLarge => return Err(bad(format!("larger than {MAX_NOTES} bytes"))),
        Capped::Missing => return Err(bad("no such file".into())),
    };
    String::from_utf8(data).map_err(|_| bad("not UTF-8 text".into()))
}

/// The custom fields of a release target (design brief, "The update repository").
pub fn custom_fields(
    version: &semver::Version,
    notes: &str,
    published: &str,
    critical: bool,
    min_version: Option<&str>,
    rollout: u8,
) -> Value {
    let mut map = Map::new();
    map.insert("version".into(), json!(version.to_string()));
    map.insert("notes".into(), json!(notes));
    map.insert("published".into(), json!(published));
    map.insert("kind".into(), json!("full"));
    map.insert("critical".into(), json!(critical));
    if let Some(min) = min_version {
        map.insert("min_version".into(), json!(min));
    }
    map.insert("rollout".into(), json!({ "percent": rollout }));
    Value::Object(map)
}

/// Where the bytes of `target` are stored: `targets/<dir>/<sha256>.<file>`.
pub fn stored_path(project: &Project, target: &TargetPath, sha256: &str) -> PathBuf {
    let mut path = project.targets_dir();
    for segment in target.dir().split('/') {
        path.push(segment);
    }
    path.join(target.stored_name(sha256))
}

/// Which channel already has `app version` for `platform`, if any; `prefer` is looked at
/// first, so that the error names the channel the user is releasing to.
pub fn released_on(
    session: &Session,
    app: &str,
    version: &str,
    platform: Option<&str>,
    prefer: &str,
) -> Option<(String, TargetPath)> {
    let channels = &session.state().channels;
    let preferred = channels.get_key_value(prefer);
    preferred
        .into_iter()
        .chain(channels.iter().filter(|(name, _)| name.as_str() != prefer))
        .flat_map(|(name, signed)| {
            signed
                .value
                .targets
                .keys()
                .filter_map(|path| TargetPath::parse(path))
                .map(move |p| (name.clone(), p))
        })
        .find(|(_, p)| p.is_release(app, version, platform))
}

/// Adds the release to the session's draft; the caller commits.
pub fn plan_release(session: &mut Session, opts: &ReleaseOptions) -> Result<ReleaseReportPlan> {
    let (target, version, notes) = check(opts)?;
    let known = session.state().channel_names();
    if !known.contains(&opts.channel) {
        return Err(PackError::UnknownChannel {
            name: opts.channel.clone(),
            known: known.join(", "),
        });
    }
    if let Some((channel, _)) = released_on(
        session,
        &target.app,
        &target.version,
        Some(&target.platform),
        &opts.channel,
    ) {
        let hint = if channel == opts.channel {
            "; versions are never reused: release a new version".to_string()
        } else {
            format!(
                "; to publish the same bytes on {}, run `updater-pack promote --from {channel} --to {}`",
                opts.channel, opts.channel
            )
        };
        return Err(PackError::AlreadyReleased {
            what: format!("{} {} for {}", target.app, target.version, target.platform),
            channel,
            hint,
        });
    }
    let (staged, length, sha256) = session.txn.add_copy_unplaced(&opts.artifact)?;
    let stored = stored_path(&session.project, &target, &sha256);
    session.txn.place(Phase::Targets, staged, &stored);

    let published = format_time(&session.now);
    let mut file = TargetFile::new(
        length,
        std::collections::BTreeMap::from([("sha256".to_string(), sha256.clone())]),
    );
    file.custom = Some(custom_fields(
        &version,
        &notes,
        &published,
        opts.critical,
        opts.min_version.as_deref(),
        opts.rollout.unwrap_or(100),
    ));
    let path = target.to_string();
    session
        .draft
        .channel_mut(&opts.channel)?
        .targets
        .insert(path.clone(), file);
    Ok(ReleaseReportPlan {
        target: path,
        length,
        sha256,
        stored,
    })
}

/// A release planned but not yet committed.
#[derive(Clone, Debug)]
pub struct ReleaseReportPlan {
    pub target: String,
    pub length: u64,
    pub sha256: String,
    pub stored: PathBuf,
}

pub fn release(project: &Project, ctx: Context, opts: &ReleaseOptions) -> Result<ReleaseReport> {
    // Arguments first: a typo is reported before the repository is even read.
    check(opts)?;
    let mut session = Session::open(project, ctx)?;
    let plan = plan_release(&mut session, opts)?;
    let outcome = session.commit()?;
    Ok(ReleaseReport {
        target: plan.target,
        length: plan.length,
        sha256: plan.sha256,
        stored: plan.stored,
        outcome,
    })
}

impl std::fmt::Display for ReleaseReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "Released {}", self.target)?;
        writeln!(f, "  {} bytes, sha256 {}", self.length, self.sha256)?;
        writeln!(f, "  stored as {}", self.stored.display())?;
        crate::ops::write_roles(f, &self.outcome.roles)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> ReleaseOptions {
        ReleaseOptions {
            app: "demo".into(),
            version: "1.2.0".into(),
            platform: "linux-x86_64".into(),
            channel: "beta".into(),
            artifact: PathBuf::from("/nonexistent/demo.AppImage"),
            ..ReleaseOptions::default()
        }
    }

    #[test]
    fn bad_options_name_their_flag() {
        let opts = ReleaseOptions {
            rollout: Some(101),
            ..options()
        };
        assert!(matches!(
            check(&opts),
            Err(PackError::BadArgument { flag: "--rollout", value: Some(v), .. }) if v == "101"
        ));
        let opts = ReleaseOptions {
            min_version: Some("2.0.0".into()),
            ..options()
        };
        assert!(matches!(
            check(&opts),
            Err(PackError::BadArgument {
                flag: "--min-version",
                ..
            })
        ));
        assert!(matches!(
            check(&options()),
            Err(PackError::BadArtifact { reason, .. }) if reason == "no such file"
        ));
        let dir = tempfile::tempdir().unwrap();
        let opts = ReleaseOptions {
            notes: Some(dir.path().join("missing.md")),
            artifact: dir.path().join("demo.AppImage"),
            ..options()
        };
        std::fs::write(&opts.artifact, b"bytes").unwrap();
        assert!(matches!(
            check(&opts),
            Err(PackError::BadNotes { reason, .. }) if reason == "no such file"
        ));
    }
}
