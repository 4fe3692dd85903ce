//! `release`: adds an artifact to a channel as the release
//! `<channel>/<app>/<version>/<os>-<arch>[-<format>]/<file>` ([`ReleasePath`]) with its
//! [`ReleaseFields`] as the target's custom data, stored as `<sha256>.<file>`, and re-signs
//! the channel role, snapshot and timestamp.
//!
//! Any regular file is accepted: what `tauri build` produces (AppImage, `.app.tar.gz`,
//! NSIS or MSI installers, `.deb`, `.rpm`), a plain executable or an archive. Its content is
//! checked first ([`content`](crate::ops::content)): a segment that names a format must get
//! a file of that format; one that names none gets the format the content has, if any.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use semver::Version;
use tuf_updater_core::files::{self, Capped};
use tuf_updater_core::release::names::{check_app, check_file_name, parse_version};
use tuf_updater_core::release::{
    PlatformSegment, Release, ReleaseError, ReleaseFields, ReleasePath,
};
use tuf_updater_core::tuf::metadata::TargetFile;

use crate::error::{PackError, Result};
use crate::ops::content::{check_content, Content};
pub use crate::ops::listing::{listed, stored_path};
use crate::ops::patches::{plan_patches, PatchReport, DEFAULT_DELTAS};
use crate::ops::session::{Context, Outcome, Session};
use crate::ops::tarball::tar_digest;
use crate::project::Project;
use crate::txn::Phase;

#[derive(Clone, Debug)]
pub struct ReleaseOptions {
    pub app: String,
    pub version: String,
    /// The platform segment, `<os>-<arch>[-<format>]` (`linux-x86_64`, `windows-x86_64-nsis`).
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
    /// Patches to this release from up to this many earlier releases of the channel, app
    /// and platform ([`patches`](crate::ops::patches)); 0: none.
    pub deltas: usize,
}

impl Default for ReleaseOptions {
    fn default() -> Self {
        ReleaseOptions {
            app: String::new(),
            version: String::new(),
            platform: String::new(),
            channel: String::new(),
            artifact: PathBuf::new(),
            name: None,
            notes: None,
            rollout: None,
            critical: false,
            min_version: None,
            deltas: DEFAULT_DELTAS,
        }
    }
}

#[derive(Clone, Debug)]
pub struct ReleaseReport {
    pub target: String,
    pub length: u64,
    pub sha256: String,
    pub stored: PathBuf,
    /// What the content check found: the file's kind, whether the format was inferred.
    pub content: Content,
    /// The patches to the release from earlier ones, published or not.
    pub patches: Vec<PatchReport>,
    pub outcome: Outcome,
}

/// Largest notes file: they travel in the channel metadata every client downloads.
const MAX_NOTES: u64 = 64 * 1024;

/// The options, checked: everything about the release but the time it is published.
#[derive(Clone, Debug)]
struct Checked {
    path: ReleasePath,
    notes: String,
    min_version: Option<Version>,
    critical: bool,
    rollout_percent: u8,
    content: Content,
}

impl Checked {
    /// The release's custom fields, published at `published`.
    fn fields(&self, published: DateTime<Utc>) -> ReleaseFields {
        ReleaseFields {
            notes: self.notes.clone(),
            critical: self.critical,
            min_version: self.min_version.clone(),
            rollout_percent: self.rollout_percent,
            ..ReleaseFields::full(self.path.version.clone(), published)
        }
    }
}

/// Checks everything that does not need the repository.
fn check(opts: &ReleaseOptions) -> Result<Checked> {
    check_app(&opts.app)?;
    let version = parse_version(&opts.version)?;
    let segment: PlatformSegment = opts.platform.parse()?;
    let min_version = match &opts.min_version {
        Some(min) => Some(parse_version(min)?),
        None => None,
    };
    if let Some(min) = min_version.as_ref().filter(|min| **min > version) {
        return Err(PackError::bad_value(
            "--min-version",
            min,
            format!("above the release's version {version}"),
        ));
    }
    let rollout_percent = opts.rollout.unwrap_or(100);
    if rollout_percent > 100 {
        return Err(PackError::bad_value(
            "--rollout",
            rollout_percent,
            "a percentage is 0 to 100",
        ));
    }
    let file = check_artifact(opts)?;
    check_file_name(&file)?;
    let notes = match &opts.notes {
        Some(path) => read_notes(path)?,
        None => String::new(),
    };
    let content = check_content(&opts.artifact, segment, &version)?;
    Ok(Checked {
        path: ReleasePath {
            channel: opts.channel.clone(),
            app: opts.app.clone(),
            version,
            segment: content.segment,
            file,
        },
        notes,
        min_version,
        critical: opts.critical,
        rollout_percent,
        content,
    })
}

/// The artifact must be a non-empty regular file; returns the target's file name.
fn check_artifact(opts: &ReleaseOptions) -> Result<String> {
    let artifact = &opts.artifact;
    let bad = |reason: String| PackError::BadArtifact {
        path: artifact.clone(),
        reason,
    };
    let meta = std::fs::metadata(artifact).map_err(|e| {
        bad(match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".into(),
            _ => e.to_string(),
        })
    })?;
    if meta.is_dir() {
        return Err(bad(
            "is a directory; publish an archive of it (tauri build makes .app.tar.gz \
             for macOS bundles)"
                .into(),
        ));
    }
    if !meta.is_file() {
        return Err(bad("is not a regular file".into()));
    }
    if meta.len() == 0 {
        return Err(bad("is empty".into()));
    }
    match &opts.name {
        Some(name) => Ok(name.clone()),
        None => artifact
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
            .ok_or_else(|| bad("has no UTF-8 file name; give one with --name".into())),
    }
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

/// Why a target a channel lists is not one of its releases: clients skip it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ListingError {
    #[error("not a valid release: {0}")]
    Invalid(#[from] ReleaseError),
    /// A client never finds it: the channel's delegation covers its own paths only.
    #[error("a release of channel {release} listed by channel {listed}")]
    OtherChannel { release: String, listed: String },
}

/// The target `path` listed by `channel`, read as the client reads it.
pub fn channel_release(
    channel: &str,
    path: &str,
    file: &TargetFile,
) -> Result<Release, ListingError> {
    let release = Release::parse(path, file)?;
    if release.path.channel != channel {
        return Err(ListingError::OtherChannel {
            release: release.path.channel,
            listed: channel.to_string(),
        });
    }
    Ok(release)
}

/// Which channel already has `app version` for `segment` (any segment if `None`), if any;
/// `prefer` is looked at first, so that the error names the channel the user is releasing to.
pub fn released_on(
    session: &Session,
    app: &str,
    version: &Version,
    segment: Option<&PlatformSegment>,
    prefer: &str,
) -> Option<(String, ReleasePath)> {
    let channels = session.state().channel_names();
    let others = channels.iter().filter(|c| c.as_str() != prefer);
    std::iter::once(prefer)
        .chain(others.map(String::as_str))
        .flat_map(|channel| listed(session, channel).map(move |(p, _)| (channel.to_string(), p)))
        .find(|(_, p)| p.is_release(app, version, segment))
}

/// Adds the release to the session's draft; the caller commits.
pub fn plan_release(session: &mut Session, opts: &ReleaseOptions) -> Result<ReleaseReportPlan> {
    let checked = check(opts)?;
    let target = &checked.path;
    let known = session.state().channel_names();
    if !known.contains(&opts.channel) {
        return Err(PackError::UnknownChannel {
            name: opts.channel.clone(),
            known: known.join(", "),
        });
    }
    let segment = target.segment.to_string();
    for channel in &known {
        session
            .draft
            .state
            .load_segment(channel, &segment, &target.version)?;
    }
    if let Some((channel, _)) = released_on(
        session,
        &target.app,
        &target.version,
        Some(&target.segment),
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
            what: release_name(&target.app, &target.version, Some(&target.segment)),
            channel,
            hint,
        });
    }
    let (staged, length, sha256) = session.txn.add_copy_unplaced(&opts.artifact)?;
    let mut fields = checked.fields(session.now);
    // Of the staged copy: the bytes hashed and published. Bundle patches are checked
    // against it (ops/tarball.rs).
    if tuf_updater_core::install::is_tar_gz(&target.file) {
        fields.tar = tar_digest(staged.path(), &opts.artifact)?;
    }
    let stored = stored_path(&session.project, target, &sha256);
    session.txn.place(Phase::Targets, staged, &stored);

    let mut file = TargetFile::new(length, BTreeMap::from([("sha256".into(), sha256.clone())]));
    file.custom = Some(fields.to_custom());
    let path = target.to_string();
    session.insert_target(&opts.channel, &path, &file)?;
    Ok(ReleaseReportPlan {
        path: target.clone(),
        target: path,
        length,
        sha256,
        stored,
        content: checked.content,
    })
}

/// `demo 1.4.0 for linux-x86_64-appimage`, or `demo 1.4.0` for every platform.
pub fn release_name(app: &str, version: &Version, segment: Option<&PlatformSegment>) -> String {
    match segment {
        Some(s) => format!("{app} {version} for {s}"),
        None => format!("{app} {version}"),
    }
}

/// A release planned but not yet committed.
#[derive(Clone, Debug)]
pub struct ReleaseReportPlan {
    pub path: ReleasePath,
    pub target: String,
    pub length: u64,
    pub sha256: String,
    pub stored: PathBuf,
    pub content: Content,
}

pub fn release(project: &Project, ctx: Context, opts: &ReleaseOptions) -> Result<ReleaseReport> {
    // Arguments first: a typo is reported before the repository is even read.
    check(opts)?;
    let mut session = Session::open_app(project, ctx, &opts.app)?;
    let plan = plan_release(&mut session, opts)?;
    let patches = plan_patches(&mut session, &plan.path, &plan.stored, opts.deltas)?;
    let outcome = session.commit()?;
    Ok(ReleaseReport {
        target: plan.target,
        length: plan.length,
        sha256: plan.sha256,
        stored: plan.stored,
        content: plan.content,
        patches,
        outcome,
    })
}

impl std::fmt::Display for ReleaseReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "Released {}", self.target)?;
        writeln!(f, "  {} bytes, sha256 {}", self.length, self.sha256)?;
        writeln!(f, "  stored as {}", self.stored.display())?;
        match self.content.kind {
            Some(kind) if self.content.inferred => writeln!(
                f,
                "  format {} inferred from the content ({})",
                kind.format(),
                kind.describe()
            )?,
            Some(_) => {}
            None => writeln!(
                f,
                "  content of no known release format: published without a format in its \
                 platform segment ({})",
                self.content.segment
            )?,
        }
        for patch in &self.patches {
            writeln!(f, "  {patch}")?;
        }
        crate::ops::write_roles(f, &self.outcome.roles)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tuf_updater_core::release::NameError;

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

    /// The start of an NSIS setup: DOS header, PE signature, NSIS first header at 512.
    fn nsis_setup() -> Vec<u8> {
        let mut pe = vec![0u8; 1024];
        pe[..2].copy_from_slice(b"MZ");
        pe[0x3C..0x40].copy_from_slice(&0x80u32.to_le_bytes());
        pe[0x80..0x84].copy_from_slice(b"PE\0\0");
        pe[516..532].copy_from_slice(b"\xEF\xBE\xAD\xDENullsoftInst");
        pe
    }

    #[test]
    fn checked_options_are_a_release_path_and_its_fields() {
        let dir = tempfile::tempdir().unwrap();
        let notes = dir.path().join("notes.md");
        std::fs::write(&notes, "## 1.2.0").unwrap();
        let opts = ReleaseOptions {
            platform: "windows-x86_64-nsis".into(),
            artifact: dir.path().join("Demo_1.2.0_x64-setup.exe"),
            notes: Some(notes),
            min_version: Some("1.0.0".into()),
            rollout: Some(30),
            critical: true,
            ..options()
        };
        std::fs::write(&opts.artifact, nsis_setup()).unwrap();
        let checked = check(&opts).unwrap();
        assert_eq!(
            checked.path.to_string(),
            "beta/demo/1.2.0/windows-x86_64-nsis/Demo_1.2.0_x64-setup.exe"
        );
        let now = crate::clock::parse_time("2030-01-01T00:00:00Z").unwrap();
        let custom = checked.fields(now).to_custom();
        assert_eq!(
            custom,
            serde_json::json!({
                "version": "1.2.0", "notes": "## 1.2.0", "published": "2030-01-01T00:00:00Z",
                "kind": "full", "critical": true, "min_version": "1.0.0",
                "rollout": { "percent": 30 }
            })
        );
        assert_eq!(
            ReleaseFields::parse(Some(&custom)).unwrap(),
            checked.fields(now)
        );
    }

    #[test]
    fn a_channel_lists_its_own_valid_releases() {
        let mut file = TargetFile::new(1, BTreeMap::new());
        let custom = |version: &str| {
            serde_json::json!({"version": version, "published": "2030-01-01T00:00:00Z",
                "kind": "full"})
        };
        file.custom = Some(custom("1.0.0"));
        let path = "beta/demo/1.0.0/linux-x86_64-deb/demo.deb";
        let release = channel_release("beta", path, &file).unwrap();
        assert_eq!(release.target_path(), path);
        let err = channel_release("stable", path, &file).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a release of channel beta listed by channel stable"
        );
        file.custom = Some(custom("1.0.1"));
        let err = channel_release("beta", path, &file).unwrap_err();
        assert!(matches!(
            err,
            ListingError::Invalid(ReleaseError::VersionMismatch { .. })
        ));
        assert!(
            err.to_string().starts_with("not a valid release: "),
            "{err}"
        );
    }

    #[test]
    fn platform_and_format_follow_the_schema() {
        for bad in ["darwin-i686", "linux-x86_64-zip", "macos-aarch64", "linux"] {
            let opts = ReleaseOptions {
                platform: bad.into(),
                ..options()
            };
            let err = check(&opts).unwrap_err();
            assert!(
                matches!(&err, PackError::Name(NameError::Platform { name, .. }) if name == bad),
                "{bad}: {err}"
            );
            assert!(
                err.to_string().contains("expected <os>-<arch>[-<format>]"),
                "{err}"
            );
        }
        let segment = |s: &str| s.parse::<PlatformSegment>().ok();
        let v = Version::new(1, 0, 0);
        assert_eq!(
            release_name("demo", &v, segment("linux-x86_64-exe").as_ref()),
            "demo 1.0.0 for linux-x86_64-exe"
        );
        assert_eq!(release_name("demo", &v, None), "demo 1.0.0");
    }
}
