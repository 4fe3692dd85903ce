//! Releases: TUF targets with custom fields, and the choice of the one to install.
//!
//! A release is the target `<channel>/<app>/<version>/<platform>/<file>` whose `custom`
//! object carries (DESIGN.md, "The update repository"):
//!
//! ```json
//! { "version": "1.4.0", "notes": "markdown", "published": "2026-11-24T10:00:00Z",
//!   "kind": "full", "critical": false, "min_version": "1.0.0",
//!   "rollout": { "percent": 25 } }
//! ```
//!
//! `version`, `published` and `kind` are required; a delta (`"kind": "delta"`) also needs
//! `from` and `full`. `notes` defaults to `""`, `critical` to `false`, `min_version` to none
//! and a missing `rollout` to 100 percent. A `null` counts as absent. Unknown custom fields
//! are ignored, so a publisher can add fields without breaking older clients. The version in
//! the path and in the custom data must be the same (build metadata included).
//!
//! [`select`] is a pure function: candidates and a [`SelectionInput`] in, a [`Selection`] out,
//! saying which release to install and why better ones were held back.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use semver::{Version, VersionReq};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::tuf::metadata::TargetFile;

/// Why a target could not be read as a release. The target is skipped, never fatal.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ReleaseError {
    #[error("target path is not <channel>/<app>/<version>/<platform>/<file>")]
    BadPath,
    #[error("unknown platform {0:?}")]
    UnknownPlatform(String),
    #[error("version {version:?} in the target path is not semver: {reason}")]
    PathVersion { version: String, reason: String },
    #[error("the target has no custom data")]
    NoCustom,
    #[error("the custom data is not a JSON object")]
    CustomNotObject,
    #[error("custom field {0:?} is missing")]
    Missing(&'static str),
    #[error("custom field {field:?}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("custom version {custom} differs from version {path} in the target path")]
    VersionMismatch { path: String, custom: String },
}

/// A target platform, named as Tauri names it (`linux-x86_64`, `darwin-aarch64`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Platform {
    LinuxX86_64,
    LinuxAarch64,
    DarwinX86_64,
    DarwinAarch64,
    WindowsX86_64,
    WindowsAarch64,
    WindowsI686,
}

impl Platform {
    /// Every platform, in declaration order.
    pub const ALL: [Platform; 7] = [
        Platform::LinuxX86_64,
        Platform::LinuxAarch64,
        Platform::DarwinX86_64,
        Platform::DarwinAarch64,
        Platform::WindowsX86_64,
        Platform::WindowsAarch64,
        Platform::WindowsI686,
    ];

    /// The name used in target paths.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::LinuxX86_64 => "linux-x86_64",
            Platform::LinuxAarch64 => "linux-aarch64",
            Platform::DarwinX86_64 => "darwin-x86_64",
            Platform::DarwinAarch64 => "darwin-aarch64",
            Platform::WindowsX86_64 => "windows-x86_64",
            Platform::WindowsAarch64 => "windows-aarch64",
            Platform::WindowsI686 => "windows-i686",
        }
    }

    /// The platform for `std::env::consts::{OS, ARCH}` values, if it is one we ship for.
    pub fn from_os_arch(os: &str, arch: &str) -> Option<Platform> {
        Some(match (os, arch) {
            ("linux", "x86_64") => Platform::LinuxX86_64,
            ("linux", "aarch64") => Platform::LinuxAarch64,
            ("macos", "x86_64") => Platform::DarwinX86_64,
            ("macos", "aarch64") => Platform::DarwinAarch64,
            ("windows", "x86_64") => Platform::WindowsX86_64,
            ("windows", "aarch64") => Platform::WindowsAarch64,
            ("windows", "x86") => Platform::WindowsI686,
            _ => return None,
        })
    }

    /// The platform this binary was built for; `None` on one we do not ship for.
    pub fn current() -> Option<Platform> {
        Platform::from_os_arch(std::env::consts::OS, std::env::consts::ARCH)
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Platform {
    type Err = ReleaseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Platform::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| ReleaseError::UnknownPlatform(s.to_string()))
    }
}

/// Whether a channel name is usable as a TUF role name and a path segment: 1 to 64 ASCII
/// letters, digits, `-`, `_` or `.`, not starting with `.`.
pub fn valid_channel_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Whether a channel offers pre-release versions unless told otherwise: `beta`, `alpha`,
/// `nightly`, `canary`, `dev` and `preview` do; `stable` and any other channel do not.
pub fn channel_carries_prereleases(channel: &str) -> bool {
    matches!(
        channel,
        "beta" | "alpha" | "nightly" | "canary" | "dev" | "preview"
    )
}

/// Full release or binary delta against an earlier version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReleaseKind {
    Full,
    /// Patches `from` into the target at path `full`, whose signed hashes the result must match.
    Delta {
        from: Version,
        full: String,
    },
}

/// One release: a target path and its custom data, typed and checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Release {
    /// The TUF target path.
    pub path: String,
    pub channel: String,
    pub app: String,
    pub version: Version,
    pub platform: Platform,
    /// The last path segment.
    pub file: String,
    /// Release notes (markdown).
    pub notes: String,
    pub published: DateTime<Utc>,
    pub kind: ReleaseKind,
    /// Critical releases ignore the rollout percentage.
    pub critical: bool,
    /// The lowest version this release can be installed over.
    pub min_version: Option<Version>,
    /// 0 to 100; 100 when the custom data has no `rollout`.
    pub rollout_percent: u8,
    /// The signed length and hashes.
    pub target: TargetFile,
}

/// The five segments of a release path.
struct PathParts<'a> {
    channel: &'a str,
    app: &'a str,
    version: &'a str,
    platform: &'a str,
    file: &'a str,
}

impl<'a> PathParts<'a> {
    fn split(path: &'a str) -> Option<PathParts<'a>> {
        let parts: Vec<&str> = path.split('/').collect();
        match parts.as_slice() {
            [channel, app, version, platform, file] if parts.iter().all(|p| !p.is_empty()) => {
                Some(PathParts {
                    channel,
                    app,
                    version,
                    platform,
                    file,
                })
            }
            _ => None,
        }
    }
}

impl Release {
    /// Reads the release at target `path`, or says what is wrong with it.
    pub fn parse(path: &str, target: &TargetFile) -> Result<Release, ReleaseError> {
        let parts = PathParts::split(path).ok_or(ReleaseError::BadPath)?;
        let platform: Platform = parts.platform.parse()?;
        let path_version =
            Version::parse(parts.version).map_err(|e| ReleaseError::PathVersion {
                version: parts.version.to_string(),
                reason: e.to_string(),
            })?;
        let custom = target.custom.as_ref().ok_or(ReleaseError::NoCustom)?;
        let obj = custom.as_object().ok_or(ReleaseError::CustomNotObject)?;

        let version = version_field(obj, "version")?.ok_or(ReleaseError::Missing("version"))?;
        if version != path_version {
            return Err(ReleaseError::VersionMismatch {
                path: path_version.to_string(),
                custom: version.to_string(),
            });
        }
        let published_text =
            str_field(obj, "published")?.ok_or(ReleaseError::Missing("published"))?;
        let published = DateTime::parse_from_rfc3339(published_text)
            .map_err(|e| ReleaseError::Invalid {
                field: "published",
                reason: format!("{published_text:?} is not an RFC 3339 date: {e}"),
            })?
            .with_timezone(&Utc);
        let kind = match str_field(obj, "kind")?.ok_or(ReleaseError::Missing("kind"))? {
            "full" => ReleaseKind::Full,
            "delta" => {
                let from = version_field(obj, "from")?.ok_or(ReleaseError::Missing("from"))?;
                let full = str_field(obj, "full")?.ok_or(ReleaseError::Missing("full"))?;
                if full.is_empty() {
                    return Err(invalid("full", "must name the full target"));
                }
                ReleaseKind::Delta {
                    from,
                    full: full.to_string(),
                }
            }
            other => {
                return Err(invalid(
                    "kind",
                    &format!("{other:?} is neither \"full\" nor \"delta\""),
                ))
            }
        };
        let notes = str_field(obj, "notes")?.unwrap_or_default().to_string();
        let critical = match field(obj, "critical") {
            None => false,
            Some(v) => v
                .as_bool()
                .ok_or_else(|| invalid("critical", "expected true or false"))?,
        };
        let min_version = version_field(obj, "min_version")?;
        let rollout_percent = match field(obj, "rollout") {
            None => 100,
            Some(v) => rollout_percent(v)?,
        };
        Ok(Release {
            path: path.to_string(),
            channel: parts.channel.to_string(),
            app: parts.app.to_string(),
            version,
            platform,
            file: parts.file.to_string(),
            notes,
            published,
            kind,
            critical,
            min_version,
            rollout_percent,
            target: target.clone(),
        })
    }

    /// The signed length of the artifact, in bytes.
    pub fn length(&self) -> u64 {
        self.target.length
    }
}

fn invalid(field: &'static str, reason: &str) -> ReleaseError {
    ReleaseError::Invalid {
        field,
        reason: reason.to_string(),
    }
}

/// A custom field; `null` counts as absent.
fn field<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).filter(|v| !v.is_null())
}

fn str_field<'a>(
    obj: &'a Map<String, Value>,
    name: &'static str,
) -> Result<Option<&'a str>, ReleaseError> {
    match field(obj, name) {
        None => Ok(None),
        Some(v) => v
            .as_str()
            .map(Some)
            .ok_or_else(|| invalid(name, "expected a string")),
    }
}

fn version_field(
    obj: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<Version>, ReleaseError> {
    match str_field(obj, name)? {
        None => Ok(None),
        Some(text) => Version::parse(text)
            .map(Some)
            .map_err(|e| ReleaseError::Invalid {
                field: name,
                reason: format!("{text:?} is not a semver version: {e}"),
            }),
    }
}

fn rollout_percent(rollout: &Value) -> Result<u8, ReleaseError> {
    let obj = rollout
        .as_object()
        .ok_or_else(|| invalid("rollout", "expected an object {\"percent\": 0..100}"))?;
    let percent = field(obj, "percent").ok_or_else(|| invalid("rollout", "no \"percent\""))?;
    percent
        .as_u64()
        .filter(|p| *p <= 100)
        .and_then(|p| u8::try_from(p).ok())
        .ok_or_else(|| {
            invalid(
                "rollout",
                &format!("percent {percent} is not an integer from 0 to 100"),
            )
        })
}

/// An install's place in a staged rollout: 0 to 99. A release at `percent` reaches the
/// installs whose bucket is below `percent`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bucket(u8);

impl Bucket {
    /// `None` unless `n < 100`.
    pub fn new(n: u8) -> Option<Bucket> {
        (n < 100).then_some(Bucket(n))
    }

    /// The bucket of an install running `current`: the first 8 bytes of
    /// `sha256(install_id ++ "/" ++ current)`, big-endian, mod 100.
    ///
    /// Stable while the app stays on one version, so raising a release's percentage only
    /// adds installs; drawn again after each update, so the same installs are not always
    /// the first to get a release.
    pub fn for_install(install_id: &str, current: &Version) -> Bucket {
        let digest = Sha256::new()
            .chain_update(install_id.as_bytes())
            .chain_update(b"/")
            .chain_update(current.to_string().as_bytes())
            .finalize();
        let head = digest.first_chunk::<8>().copied().unwrap_or_default();
        Bucket((u64::from_be_bytes(head) % 100) as u8)
    }

    pub fn get(self) -> u8 {
        self.0
    }

    /// Whether a rollout at `percent` reaches this bucket.
    pub fn admits(self, percent: u8) -> bool {
        self.0 < percent
    }
}

impl fmt::Display for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Everything [`select`] needs to know about this install.
#[derive(Clone, Debug, PartialEq)]
pub struct SelectionInput {
    pub app: String,
    /// The running version.
    pub current: Version,
    pub platform: Platform,
    pub channel: String,
    pub bucket: Bucket,
    /// Whether this channel offers pre-release versions (see [`channel_carries_prereleases`]).
    pub allow_prerelease: bool,
    /// The administrator's pinned version requirement.
    pub pin: Option<VersionReq>,
    /// Whether to go down to the pin when the current version does not match it.
    pub allow_rollback: bool,
    /// Whether to go down to this channel's newest release when the channel does not carry
    /// the current version (after leaving beta, say).
    pub allow_downgrade: bool,
}

impl SelectionInput {
    /// No pin, no rollback, no downgrade; pre-releases as [`channel_carries_prereleases`].
    pub fn new(
        app: impl Into<String>,
        current: Version,
        platform: Platform,
        channel: impl Into<String>,
        bucket: Bucket,
    ) -> SelectionInput {
        let channel = channel.into();
        SelectionInput {
            app: app.into(),
            current,
            platform,
            allow_prerelease: channel_carries_prereleases(&channel),
            channel,
            bucket,
            pin: None,
            allow_rollback: false,
            allow_downgrade: false,
        }
    }
}

/// How the chosen release relates to the running version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Upgrade,
    /// Down to the channel's newest release (allowed by `allow_downgrade`).
    Downgrade,
    /// Down to the pinned version (allowed by `allow_rollback`).
    RollbackToPin,
}

/// Why a release was not chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HoldReason {
    /// The staged rollout has not reached this install yet.
    Rollout { percent: u8, bucket: Bucket },
    /// The running version is below the release's `min_version`: an intermediate update
    /// (to a version of at least `min_version`) is needed first.
    MinVersion { min_version: Version },
    /// The version does not match the administrator's pinned requirement.
    Pin { requirement: VersionReq },
    /// A pre-release, and this channel does not offer pre-releases.
    PreRelease { channel: String },
    /// Older than the running version, which this channel does not carry; downgrades are
    /// not allowed.
    Downgrade,
    /// Matches the pin but is older than the running version; rollback is not allowed.
    RollbackNotAllowed { requirement: VersionReq },
}

impl fmt::Display for HoldReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HoldReason::Rollout { percent, bucket } => write!(
                f,
                "staged rollout at {percent}% has not reached this install (bucket {bucket})"
            ),
            HoldReason::MinVersion { min_version } => write!(
                f,
                "requires version {min_version} or later first: an intermediate update is needed"
            ),
            HoldReason::Pin { requirement } => {
                write!(f, "outside the pinned version requirement {requirement}")
            }
            HoldReason::PreRelease { channel } => {
                write!(f, "a pre-release; channel {channel} does not offer pre-releases")
            }
            HoldReason::Downgrade => {
                write!(f, "older than the running version; downgrades are not allowed")
            }
            HoldReason::RollbackNotAllowed { requirement } => write!(
                f,
                "matches the pin {requirement} but is older than the running version; rollback is not allowed"
            ),
        }
    }
}

/// The release to install.
#[derive(Clone, Debug, PartialEq)]
pub struct Chosen {
    pub release: Release,
    pub direction: Direction,
}

/// A release that would have been preferred, and why it was not chosen.
#[derive(Clone, Debug, PartialEq)]
pub struct HeldBack {
    pub release: Release,
    pub reasons: Vec<HoldReason>,
}

/// A target of this app, channel and platform that is not a valid release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub path: String,
    pub error: ReleaseError,
}

/// The outcome of [`select`].
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Selection {
    /// The release to install; `None` when up to date or everything newer is held back.
    pub chosen: Option<Chosen>,
    /// Releases preferred over the outcome but held back, highest version first.
    pub held_back: Vec<HeldBack>,
    /// Malformed releases, ignored.
    pub skipped: Vec<Skipped>,
}

impl Selection {
    pub fn release(&self) -> Option<&Release> {
        self.chosen.as_ref().map(|c| &c.release)
    }

    /// Whether a newer release waits for an intermediate update (its `min_version`).
    pub fn intermediate_update_needed(&self) -> bool {
        self.held_back.iter().any(|h| {
            h.reasons
                .iter()
                .any(|r| matches!(r, HoldReason::MinVersion { .. }))
        })
    }
}

/// Higher version first; among equal precedence, build metadata decides, then the
/// lexicographically smaller path wins, so the choice never depends on input order.
fn rank(a: &Release, b: &Release) -> Ordering {
    a.version
        .cmp_precedence(&b.version)
        .then_with(|| a.version.cmp(&b.version))
        .then_with(|| b.path.cmp(&a.path))
}

/// The release gates other than direction: pre-release, pin, `min_version`, rollout.
fn gates(r: &Release, input: &SelectionInput) -> Vec<HoldReason> {
    let mut reasons = Vec::new();
    if !r.version.pre.is_empty() && !input.allow_prerelease {
        reasons.push(HoldReason::PreRelease {
            channel: input.channel.clone(),
        });
    }
    if let Some(pin) = &input.pin {
        if !pin.matches(&r.version) {
            reasons.push(HoldReason::Pin {
                requirement: pin.clone(),
            });
        }
    }
    if let Some(min) = &r.min_version {
        if input.current.cmp_precedence(min) == Ordering::Less {
            reasons.push(HoldReason::MinVersion {
                min_version: min.clone(),
            });
        }
    }
    if !r.critical && !input.bucket.admits(r.rollout_percent) {
        reasons.push(HoldReason::Rollout {
            percent: r.rollout_percent,
            bucket: input.bucket,
        });
    }
    reasons
}

/// Whether a target path may belong to this app, channel and platform (a path of another
/// shape under `<channel>/<app>/` counts, so that it is reported as malformed).
fn is_relevant(path: &str, input: &SelectionInput) -> bool {
    let mut segments = path.split('/');
    if segments.next() != Some(input.channel.as_str())
        || segments.next() != Some(input.app.as_str())
    {
        return false;
    }
    let rest: Vec<&str> = segments.collect();
    match rest.as_slice() {
        [_version, platform, _file] => *platform == input.platform.as_str(),
        _ => true,
    }
}

/// Chooses the release to install from the targets of a channel's role.
///
/// Considers the full releases at `<channel>/<app>/<version>/<platform>/<file>` for the
/// input's channel, app and platform (deltas are ignored for now; malformed ones are
/// skipped with a reason) and picks the highest version, by semver precedence, that:
/// - is above the running version (equal precedence, e.g. a build-metadata-only difference,
///   is not an update), or is below it and either matches the pin while the running version
///   does not (with `allow_rollback`), or is the channel's newest while the channel does not
///   carry the running version (with `allow_downgrade`);
/// - is not a pre-release, unless the channel offers them;
/// - matches the pin, if any (a pre-release matches only a requirement naming one);
/// - has a `min_version` the running version reaches;
/// - is admitted by the rollout at the install's bucket, unless critical.
///
/// `held_back` lists the releases above the outcome (the chosen release, or else the running
/// version) that failed a rule, with every rule they failed; when nothing is chosen and a
/// downgrade or rollback was considered, also the best older release that the pre-release
/// and pin rules allow, with what kept it out (e.g. [`HoldReason::Downgrade`]).
pub fn select<'a, P, I>(candidates: I, input: &SelectionInput) -> Selection
where
    P: AsRef<str>,
    I: IntoIterator<Item = (P, &'a TargetFile)>,
{
    let mut skipped = Vec::new();
    let mut releases = Vec::new();
    for (path, target) in candidates {
        let path = path.as_ref();
        if !is_relevant(path, input) {
            continue;
        }
        match Release::parse(path, target) {
            Ok(r) if r.kind == ReleaseKind::Full => releases.push(r),
            Ok(_) => tracing::debug!(path, "delta release ignored"),
            Err(error) => {
                tracing::warn!(path, %error, "malformed release skipped");
                skipped.push(Skipped {
                    path: path.to_string(),
                    error,
                });
            }
        }
    }
    let mut selection = select_releases(releases, input);
    selection.skipped = skipped;
    selection
}

/// One release as the rules see it.
struct Judged {
    release: Release,
    /// The direction rule: `None` when the release is not a candidate at all (the running
    /// version, or older while the channel carries the running version), `Err` when the
    /// move is not allowed.
    direction: Option<Result<Direction, HoldReason>>,
    /// The other rules it fails.
    gates: Vec<HoldReason>,
}

impl Judged {
    fn eligible(&self) -> Option<Direction> {
        match &self.direction {
            Some(Ok(d)) if self.gates.is_empty() => Some(*d),
            _ => None,
        }
    }
}

fn select_releases(releases: Vec<Release>, input: &SelectionInput) -> Selection {
    let current = &input.current;
    let pin_excludes_current = input.pin.as_ref().filter(|p| !p.matches(current));
    let channel_has_current = releases.iter().any(|r| {
        r.version.cmp_precedence(current) == Ordering::Equal
            && (input.allow_prerelease || r.version.pre.is_empty())
    });

    let judged: Vec<Judged> = releases
        .into_iter()
        .map(|release| {
            let direction = match release.version.cmp_precedence(current) {
                Ordering::Greater => Some(Ok(Direction::Upgrade)),
                Ordering::Equal => None,
                Ordering::Less => match pin_excludes_current {
                    Some(_) if input.allow_rollback => Some(Ok(Direction::RollbackToPin)),
                    Some(pin) => Some(Err(HoldReason::RollbackNotAllowed {
                        requirement: pin.clone(),
                    })),
                    None if channel_has_current => None,
                    None if input.allow_downgrade => Some(Ok(Direction::Downgrade)),
                    None => Some(Err(HoldReason::Downgrade)),
                },
            };
            let gates = gates(&release, input);
            Judged {
                release,
                direction,
                gates,
            }
        })
        .collect();

    let chosen = judged
        .iter()
        .filter_map(|j| j.eligible().map(|d| (&j.release, d)))
        .max_by(|(a, _), (b, _)| rank(a, b))
        .map(|(r, direction)| Chosen {
            release: r.clone(),
            direction,
        });

    // Above the outcome (the chosen release, or else the running version) but gated.
    let mut held_back: Vec<HeldBack> = judged
        .iter()
        .filter(|j| {
            let above = match &chosen {
                Some(c) => rank(&j.release, &c.release) == Ordering::Greater,
                None => j.release.version.cmp_precedence(current) == Ordering::Greater,
            };
            matches!(j.direction, Some(Ok(_))) && !j.gates.is_empty() && above
        })
        .map(|j| HeldBack {
            release: j.release.clone(),
            reasons: j.gates.clone(),
        })
        .collect();
    // Nothing chosen: the best older release that the pre-release and pin rules allow, if
    // a downgrade or rollback was considered at all, with what kept it out.
    if chosen.is_none() {
        let best_lower = judged
            .iter()
            .filter(|j| {
                j.direction.is_some()
                    && j.release.version.cmp_precedence(current) == Ordering::Less
                    && !j.gates.iter().any(|g| {
                        matches!(g, HoldReason::PreRelease { .. } | HoldReason::Pin { .. })
                    })
            })
            .max_by(|a, b| rank(&a.release, &b.release));
        if let Some(j) = best_lower {
            let mut reasons: Vec<HoldReason> = j
                .direction
                .clone()
                .and_then(Result::err)
                .into_iter()
                .collect();
            reasons.extend(j.gates.iter().cloned());
            held_back.push(HeldBack {
                release: j.release.clone(),
                reasons,
            });
        }
    }
    held_back.sort_by(|a, b| rank(&b.release, &a.release));

    Selection {
        chosen,
        held_back,
        skipped: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    const APP: &str = "selfupdate";

    fn target(custom: Value) -> TargetFile {
        let mut t = TargetFile::new(1234, BTreeMap::from([("sha256".into(), "ab".repeat(32))]));
        t.custom = Some(custom);
        t
    }

    fn custom(version: &str) -> Value {
        json!({ "version": version, "published": "2026-11-24T10:00:00Z", "kind": "full" })
    }

    fn with(version: &str, extra: Value) -> Value {
        let mut c = custom(version);
        if let (Some(obj), Some(more)) = (c.as_object_mut(), extra.as_object()) {
            obj.extend(more.clone());
        }
        c
    }

    fn path(channel: &str, version: &str) -> String {
        format!("{channel}/{APP}/{version}/linux-x86_64/{APP}.tar.gz")
    }

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    fn input(channel: &str, current: &str, bucket: u8) -> SelectionInput {
        SelectionInput::new(
            APP,
            v(current),
            Platform::LinuxX86_64,
            channel,
            Bucket::new(bucket).unwrap(),
        )
    }

    /// Targets on `channel`, each full, published, 100 % rollout unless `extra` says otherwise.
    fn repo(channel: &str, releases: &[(&str, Value)]) -> Vec<(String, TargetFile)> {
        releases
            .iter()
            .map(|(ver, extra)| (path(channel, ver), target(with(ver, extra.clone()))))
            .collect()
    }

    fn plain(channel: &str, versions: &[&str]) -> Vec<(String, TargetFile)> {
        let rs: Vec<(&str, Value)> = versions.iter().map(|x| (*x, json!({}))).collect();
        repo(channel, &rs)
    }

    fn run(targets: &[(String, TargetFile)], input: &SelectionInput) -> Selection {
        select(targets.iter().map(|(p, t)| (p.as_str(), t)), input)
    }

    fn chosen_version(s: &Selection) -> Option<String> {
        s.release().map(|r| r.version.to_string())
    }

    fn held(s: &Selection) -> Vec<(String, Vec<HoldReason>)> {
        s.held_back
            .iter()
            .map(|h| (h.release.version.to_string(), h.reasons.clone()))
            .collect()
    }

    fn parse_err(path: &str, custom: Value) -> ReleaseError {
        Release::parse(path, &target(custom)).unwrap_err()
    }

    // ---- Platform ----

    #[test]
    fn platform_names_round_trip() {
        for p in Platform::ALL {
            assert_eq!(p.as_str().parse::<Platform>().unwrap(), p);
            assert_eq!(p.to_string(), p.as_str());
        }
        assert_eq!(
            "freebsd-x86_64".parse::<Platform>(),
            Err(ReleaseError::UnknownPlatform("freebsd-x86_64".into()))
        );
        assert!("Linux-x86_64".parse::<Platform>().is_err());
    }

    #[test]
    fn platform_from_std_consts() {
        let cases = [
            ("linux", "x86_64", Some(Platform::LinuxX86_64)),
            ("linux", "aarch64", Some(Platform::LinuxAarch64)),
            ("macos", "x86_64", Some(Platform::DarwinX86_64)),
            ("macos", "aarch64", Some(Platform::DarwinAarch64)),
            ("windows", "x86_64", Some(Platform::WindowsX86_64)),
            ("windows", "aarch64", Some(Platform::WindowsAarch64)),
            ("windows", "x86", Some(Platform::WindowsI686)),
            ("linux", "riscv64", None),
            ("freebsd", "x86_64", None),
        ];
        for (os, arch, want) in cases {
            assert_eq!(Platform::from_os_arch(os, arch), want, "{os} {arch}");
        }
        assert_eq!(
            Platform::current(),
            Platform::from_os_arch(std::env::consts::OS, std::env::consts::ARCH)
        );
        #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
        assert_eq!(Platform::current(), Some(Platform::LinuxX86_64));
    }

    #[test]
    fn channel_names() {
        for ok in ["stable", "beta", "lts-2", "a", "x.y_z", &"a".repeat(64)] {
            assert!(valid_channel_name(ok), "{ok}");
        }
        for bad in ["", ".hidden", "a/b", "..", "b eta", "béta", &"a".repeat(65)] {
            assert!(!valid_channel_name(bad), "{bad}");
        }
        assert!(channel_carries_prereleases("beta"));
        assert!(!channel_carries_prereleases("stable"));
        assert!(!channel_carries_prereleases("lts"));
    }

    // ---- Release::parse ----

    #[test]
    fn parses_a_full_release() {
        let c = with(
            "1.4.0",
            json!({ "notes": "# New", "critical": true, "min_version": "1.0.0",
                    "rollout": { "percent": 25 }, "future_field": [1, 2] }),
        );
        let r = Release::parse(&path("stable", "1.4.0"), &target(c)).unwrap();
        assert_eq!(r.channel, "stable");
        assert_eq!(r.app, APP);
        assert_eq!(r.version, v("1.4.0"));
        assert_eq!(r.platform, Platform::LinuxX86_64);
        assert_eq!(r.file, "selfupdate.tar.gz");
        assert_eq!(r.notes, "# New");
        assert_eq!(r.published.to_rfc3339(), "2026-11-24T10:00:00+00:00");
        assert_eq!(r.kind, ReleaseKind::Full);
        assert!(r.critical);
        assert_eq!(r.min_version, Some(v("1.0.0")));
        assert_eq!(r.rollout_percent, 25);
        assert_eq!(r.length(), 1234);
    }

    #[test]
    fn optional_fields_default() {
        let r = Release::parse(&path("stable", "1.4.0"), &target(custom("1.4.0"))).unwrap();
        assert_eq!(r.notes, "");
        assert!(!r.critical);
        assert_eq!(r.min_version, None);
        assert_eq!(r.rollout_percent, 100);
        // null counts as absent
        let c = with(
            "1.4.0",
            json!({ "notes": null, "critical": null, "min_version": null, "rollout": null }),
        );
        let r = Release::parse(&path("stable", "1.4.0"), &target(c)).unwrap();
        assert_eq!(
            (r.critical, r.rollout_percent, r.min_version),
            (false, 100, None)
        );
    }

    #[test]
    fn published_accepts_offsets() {
        let c = with("1.4.0", json!({ "published": "2026-11-24T12:00:00+02:00" }));
        let r = Release::parse(&path("stable", "1.4.0"), &target(c)).unwrap();
        assert_eq!(r.published.to_rfc3339(), "2026-11-24T10:00:00+00:00");
    }

    #[test]
    fn parses_a_delta() {
        let c = with(
            "1.4.0",
            json!({ "kind": "delta", "from": "1.3.2", "full": "stable/selfupdate/1.4.0/linux-x86_64/selfupdate.tar.gz" }),
        );
        let r = Release::parse(&path("stable", "1.4.0"), &target(c)).unwrap();
        assert_eq!(
            r.kind,
            ReleaseKind::Delta {
                from: v("1.3.2"),
                full: path("stable", "1.4.0")
            }
        );
    }

    #[test]
    fn malformed_paths() {
        let c = custom("1.4.0");
        for p in [
            "stable/selfupdate/1.4.0/linux-x86_64",
            "stable/selfupdate/1.4.0/linux-x86_64/a/b",
            "stable/selfupdate/1.4.0/linux-x86_64/",
            "stable//1.4.0/linux-x86_64/f",
            "",
        ] {
            assert_eq!(parse_err(p, c.clone()), ReleaseError::BadPath, "{p:?}");
        }
        assert_eq!(
            parse_err("stable/selfupdate/1.4.0/haiku-x86_64/f", c.clone()),
            ReleaseError::UnknownPlatform("haiku-x86_64".into())
        );
        assert!(matches!(
            parse_err("stable/selfupdate/1.4/linux-x86_64/f", c),
            ReleaseError::PathVersion { .. }
        ));
    }

    #[test]
    fn malformed_custom_data() {
        let p = path("stable", "1.4.0");
        let no_custom = TargetFile::new(1, BTreeMap::new());
        assert_eq!(Release::parse(&p, &no_custom), Err(ReleaseError::NoCustom));
        assert_eq!(parse_err(&p, json!([1])), ReleaseError::CustomNotObject);
        assert_eq!(parse_err(&p, json!("1.4.0")), ReleaseError::CustomNotObject);

        let missing = |field: &str| {
            let mut c = custom("1.4.0");
            c.as_object_mut().unwrap().remove(field);
            parse_err(&p, c)
        };
        assert_eq!(missing("version"), ReleaseError::Missing("version"));
        assert_eq!(missing("published"), ReleaseError::Missing("published"));
        assert_eq!(missing("kind"), ReleaseError::Missing("kind"));

        let invalid_field = |extra: Value| match parse_err(&p, with("1.4.0", extra)) {
            ReleaseError::Invalid { field, .. } => field,
            other => panic!("expected Invalid, got {other:?}"),
        };
        assert_eq!(invalid_field(json!({ "version": 140 })), "version");
        assert_eq!(
            invalid_field(json!({ "published": "yesterday" })),
            "published"
        );
        assert_eq!(
            invalid_field(json!({ "published": "2026-11-24" })),
            "published"
        );
        assert_eq!(
            invalid_field(json!({ "published": 1_700_000_000 })),
            "published"
        );
        assert_eq!(invalid_field(json!({ "kind": "patch" })), "kind");
        assert_eq!(invalid_field(json!({ "kind": true })), "kind");
        assert_eq!(invalid_field(json!({ "notes": ["a"] })), "notes");
        assert_eq!(invalid_field(json!({ "critical": "yes" })), "critical");
        assert_eq!(invalid_field(json!({ "critical": 1 })), "critical");
        assert_eq!(
            invalid_field(json!({ "min_version": "1.0" })),
            "min_version"
        );
        assert_eq!(invalid_field(json!({ "min_version": 1 })), "min_version");
        for rollout in [
            json!(25),
            json!({}),
            json!({ "percent": 101 }),
            json!({ "percent": -1 }),
            json!({ "percent": 12.5 }),
            json!({ "percent": "25" }),
            json!({ "percent": u64::MAX }),
        ] {
            assert_eq!(invalid_field(json!({ "rollout": rollout })), "rollout");
        }
        // delta requirements
        assert_eq!(
            parse_err(&p, with("1.4.0", json!({ "kind": "delta", "full": "x" }))),
            ReleaseError::Missing("from")
        );
        assert_eq!(
            parse_err(
                &p,
                with("1.4.0", json!({ "kind": "delta", "from": "1.3.0" }))
            ),
            ReleaseError::Missing("full")
        );
        assert_eq!(
            invalid_field(json!({ "kind": "delta", "from": "1.3", "full": "x" })),
            "from"
        );
        assert_eq!(
            invalid_field(json!({ "kind": "delta", "from": "1.3.0", "full": "" })),
            "full"
        );
    }

    #[test]
    fn path_and_custom_versions_must_agree() {
        assert_eq!(
            parse_err(&path("stable", "1.4.0"), custom("1.4.1")),
            ReleaseError::VersionMismatch {
                path: "1.4.0".into(),
                custom: "1.4.1".into()
            }
        );
        // build metadata is part of the identity of a file
        assert!(matches!(
            parse_err(&path("stable", "1.4.0+b1"), custom("1.4.0+b2")),
            ReleaseError::VersionMismatch { .. }
        ));
        assert!(matches!(
            parse_err(&path("stable", "1.4.0-beta.1"), custom("1.4.0")),
            ReleaseError::VersionMismatch { .. }
        ));
        assert!(Release::parse(&path("stable", "1.4.0+b1"), &target(custom("1.4.0+b1"))).is_ok());
    }

    #[test]
    fn errors_read_well() {
        let e = parse_err(
            &path("stable", "1.4.0"),
            with("1.4.0", json!({ "rollout": { "percent": 101 } })),
        );
        assert_eq!(
            e.to_string(),
            "custom field \"rollout\": percent 101 is not an integer from 0 to 100"
        );
    }

    // ---- Bucket ----

    #[test]
    fn bucket_is_stable_bounded_and_spread() {
        let id = "5f0c3e2a9b8d4c7e1f6a2b3c4d5e6f70";
        let b = Bucket::for_install(id, &v("1.2.0"));
        assert_eq!(b, Bucket::for_install(id, &v("1.2.0")));
        assert!(b.get() < 100);
        // the documented formula
        let d = Sha256::digest(format!("{id}/1.2.0").as_bytes());
        let head: [u8; 8] = d[..8].try_into().unwrap();
        assert_eq!(u64::from(b.get()), u64::from_be_bytes(head) % 100);

        let mut counts = [0u32; 100];
        for i in 0..20_000 {
            let b = Bucket::for_install(&format!("{i:032x}"), &v("1.2.0"));
            counts[usize::from(b.get())] += 1;
        }
        // ~200 each; a fair hash never lands outside 100..300 here
        assert!(counts.iter().all(|c| (100..300).contains(c)), "{counts:?}");
        // drawn again per version: not every install keeps its bucket
        let moved = (0..100)
            .filter(|i| {
                let id = format!("{i:032x}");
                Bucket::for_install(&id, &v("1.2.0")) != Bucket::for_install(&id, &v("1.3.0"))
            })
            .count();
        assert!(moved > 80, "{moved}");
    }

    #[test]
    fn bucket_bounds_and_admission() {
        assert!(Bucket::new(99).is_some());
        assert!(Bucket::new(100).is_none());
        let zero = Bucket::new(0).unwrap();
        let last = Bucket::new(99).unwrap();
        assert!(!zero.admits(0));
        assert!(zero.admits(1));
        assert!(!last.admits(99));
        assert!(last.admits(100));
    }

    // ---- select ----

    #[test]
    fn picks_the_highest_version_above_current() {
        let t = plain("stable", &["1.0.0", "1.2.0", "1.9.0", "1.10.0", "1.1.0"]);
        let s = run(&t, &input("stable", "1.1.0", 0));
        assert_eq!(chosen_version(&s).as_deref(), Some("1.10.0"));
        assert_eq!(s.chosen.as_ref().unwrap().direction, Direction::Upgrade);
        assert!(s.held_back.is_empty() && s.skipped.is_empty());
    }

    #[test]
    fn result_does_not_depend_on_input_order() {
        let mut t = plain("stable", &["1.9.0", "1.10.0", "1.2.0"]);
        let a = run(&t, &input("stable", "1.0.0", 0));
        t.reverse();
        let b = run(&t, &input("stable", "1.0.0", 0));
        assert_eq!(a, b);
    }

    #[test]
    fn up_to_date_and_lower_versions_offer_nothing() {
        let t = plain("stable", &["1.0.0", "1.1.0"]);
        let s = run(&t, &input("stable", "1.1.0", 0));
        assert_eq!(s, Selection::default());
        let s = run(&t, &input("stable", "2.0.0", 0));
        assert_eq!(s.release(), None);
    }

    #[test]
    fn build_metadata_alone_is_not_an_update() {
        let t = plain("stable", &["1.2.0+build.2"]);
        let s = run(&t, &input("stable", "1.2.0+build.1", 0));
        assert_eq!(s.release(), None);
        assert!(s.held_back.is_empty());
        let s = run(&t, &input("stable", "1.2.0", 0));
        assert_eq!(s.release(), None);
        // but it orders a tie deterministically, and 1.2.1 beats any 1.2.0+build
        let t = plain(
            "stable",
            &["1.2.0+build.1", "1.2.0+build.2", "1.2.1+build.0"],
        );
        assert_eq!(
            chosen_version(&run(&t, &input("stable", "1.1.0", 0))).as_deref(),
            Some("1.2.1+build.0")
        );
        let t = plain("stable", &["1.2.0+build.1", "1.2.0+build.2"]);
        assert_eq!(
            chosen_version(&run(&t, &input("stable", "1.1.0", 0))).as_deref(),
            Some("1.2.0+build.2")
        );
    }

    #[test]
    fn prerelease_ordering_on_beta() {
        let t = plain(
            "beta",
            &["1.2.0-beta.1", "1.2.0-beta.2", "1.2.0-beta.10", "1.1.0"],
        );
        // numeric identifiers compare as numbers: beta.10 > beta.2
        let s = run(&t, &input("beta", "1.2.0-beta.1", 0));
        assert_eq!(chosen_version(&s).as_deref(), Some("1.2.0-beta.10"));
        let t = plain("beta", &["1.2.0-beta.1", "1.2.0-beta.2"]);
        let s = run(&t, &input("beta", "1.2.0-beta.1", 0));
        assert_eq!(chosen_version(&s).as_deref(), Some("1.2.0-beta.2"));
        let t = plain("beta", &["1.2.0-beta.1", "1.2.0-beta.2", "1.2.0"]);
        let s = run(&t, &input("beta", "1.2.0-beta.2", 0));
        assert_eq!(chosen_version(&s).as_deref(), Some("1.2.0"));
        // 1.2.0-beta.2 is below 1.2.0: nothing for a 1.2.0 install
        let s = run(&t, &input("beta", "1.2.0", 0));
        assert_eq!(s.release(), None);
        // alpha < beta < rc lexically
        let t = plain("beta", &["2.0.0-alpha.3", "2.0.0-rc.1", "2.0.0-beta.7"]);
        let s = run(&t, &input("beta", "1.9.0", 0));
        assert_eq!(chosen_version(&s).as_deref(), Some("2.0.0-rc.1"));
    }

    #[test]
    fn stable_never_offers_a_prerelease() {
        let t = plain("stable", &["1.1.0", "1.2.0-beta.1"]);
        let s = run(&t, &input("stable", "1.0.0", 0));
        assert_eq!(chosen_version(&s).as_deref(), Some("1.1.0"));
        assert_eq!(
            held(&s),
            vec![(
                "1.2.0-beta.1".into(),
                vec![HoldReason::PreRelease {
                    channel: "stable".into()
                }]
            )]
        );
        // a channel may be told to carry them
        let mut i = input("stable", "1.0.0", 0);
        i.allow_prerelease = true;
        assert_eq!(
            chosen_version(&run(&t, &i)).as_deref(),
            Some("1.2.0-beta.1")
        );
    }

    #[test]
    fn other_channels_apps_and_platforms_are_ignored() {
        let mut t = plain("beta", &["3.0.0"]);
        t.push((
            "stable/otherapp/4.0.0/linux-x86_64/x".into(),
            target(custom("4.0.0")),
        ));
        t.push((
            format!("stable/{APP}/5.0.0/darwin-aarch64/x"),
            target(custom("5.0.0")),
        ));
        t.push((
            format!("stable/{APP}/6.0.0/windows-x86_64/x"),
            target(json!("garbage for another platform")),
        ));
        t.extend(plain("stable", &["1.1.0"]));
        let s = run(&t, &input("stable", "1.0.0", 0));
        assert_eq!(chosen_version(&s).as_deref(), Some("1.1.0"));
        assert!(s.held_back.is_empty());
        assert!(s.skipped.is_empty());
    }

    #[test]
    fn rollout_admits_buckets_below_the_percentage() {
        let t = repo(
            "stable",
            &[
                ("1.1.0", json!({})),
                ("1.2.0", json!({ "rollout": { "percent": 25 } })),
            ],
        );
        let s = run(&t, &input("stable", "1.0.0", 24));
        assert_eq!(chosen_version(&s).as_deref(), Some("1.2.0"));
        let s = run(&t, &input("stable", "1.0.0", 25));
        assert_eq!(chosen_version(&s).as_deref(), Some("1.1.0"));
        assert_eq!(
            held(&s),
            vec![(
                "1.2.0".into(),
                vec![HoldReason::Rollout {
                    percent: 25,
                    bucket: Bucket::new(25).unwrap()
                }]
            )]
        );
        // 0 % reaches nobody, 100 % everybody
        let t = repo(
            "stable",
            &[("1.2.0", json!({ "rollout": { "percent": 0 } }))],
        );
        assert_eq!(run(&t, &input("stable", "1.0.0", 0)).release(), None);
        let t = repo(
            "stable",
            &[("1.2.0", json!({ "rollout": { "percent": 100 } }))],
        );
        assert!(run(&t, &input("stable", "1.0.0", 99)).release().is_some());
    }

    #[test]
    fn critical_ignores_rollout_only() {
        let t = repo(
            "stable",
            &[(
                "1.2.0",
                json!({ "critical": true, "rollout": { "percent": 0 } }),
            )],
        );
        let s = run(&t, &input("stable", "1.0.0", 99));
        assert_eq!(chosen_version(&s).as_deref(), Some("1.2.0"));
        // but not min_version
        let t = repo(
            "stable",
            &[("1.2.0", json!({ "critical": true, "min_version": "1.1.0" }))],
        );
        let s = run(&t, &input("stable", "1.0.0", 0));
        assert_eq!(s.release(), None);
        assert!(s.intermediate_update_needed());
    }

    #[test]
    fn min_version_needs_an_intermediate_update() {
        let t = repo(
            "stable",
            &[
                ("1.5.0", json!({})),
                ("2.0.0", json!({ "min_version": "1.5.0" })),
            ],
        );
        let s = run(&t, &input("stable", "1.0.0", 0));
        assert_eq!(chosen_version(&s).as_deref(), Some("1.5.0"));
        assert!(s.intermediate_update_needed());
        assert_eq!(
            held(&s),
            vec![(
                "2.0.0".into(),
                vec![HoldReason::MinVersion {
                    min_version: v("1.5.0")
                }]
            )]
        );
        assert!(s.held_back[0].reasons[0]
            .to_string()
            .contains("intermediate update"));
        // current == min_version is enough
        let s = run(&t, &input("stable", "1.5.0", 0));
        assert_eq!(chosen_version(&s).as_deref(), Some("2.0.0"));
        assert!(!s.intermediate_update_needed());
        // a pre-release of the min version is below it
        let s = run(&t, &input("beta", "1.5.0-beta.3", 0));
        assert_eq!(s.release(), None);
        let t = repo("beta", &[("2.0.0", json!({ "min_version": "1.5.0" }))]);
        let s = run(&t, &input("beta", "1.5.0-beta.3", 0));
        assert_eq!(s.release(), None);
        assert!(s.intermediate_update_needed());
        // build metadata does not count: 1.5.0+b1 reaches 1.5.0
        let s = run(&t, &input("beta", "1.5.0+b1", 0));
        assert_eq!(chosen_version(&s).as_deref(), Some("2.0.0"));
    }

    #[test]
    fn pin_limits_upgrades() {
        let t = plain("stable", &["1.4.2", "1.4.5", "1.5.0", "2.0.0"]);
        let mut i = input("stable", "1.3.0", 0);
        i.pin = Some(VersionReq::parse("~1.4").unwrap());
        let s = run(&t, &i);
        assert_eq!(chosen_version(&s).as_deref(), Some("1.4.5"));
        let pin = HoldReason::Pin {
            requirement: VersionReq::parse("~1.4").unwrap(),
        };
        assert_eq!(
            held(&s),
            vec![
                ("2.0.0".into(), vec![pin.clone()]),
                ("1.5.0".into(), vec![pin])
            ]
        );
        i.pin = Some(VersionReq::parse("=1.4.2").unwrap());
        assert_eq!(chosen_version(&run(&t, &i)).as_deref(), Some("1.4.2"));
        // a pin does not admit pre-releases unless it names one
        let t = plain("beta", &["1.4.6-beta.1"]);
        let mut i = input("beta", "1.4.5", 0);
        i.pin = Some(VersionReq::parse("~1.4").unwrap());
        assert_eq!(run(&t, &i).release(), None);
        i.pin = Some(VersionReq::parse(">=1.4.6-beta.1").unwrap());
        assert_eq!(
            chosen_version(&run(&t, &i)).as_deref(),
            Some("1.4.6-beta.1")
        );
    }

    #[test]
    fn rollback_to_the_pin_only_when_allowed() {
        let t = plain("stable", &["1.4.1", "1.4.2", "1.5.0"]);
        let mut i = input("stable", "1.5.0", 0);
        i.pin = Some(VersionReq::parse("=1.4.2").unwrap());
        let s = run(&t, &i);
        assert_eq!(s.release(), None);
        assert_eq!(
            held(&s),
            vec![(
                "1.4.2".into(),
                vec![HoldReason::RollbackNotAllowed {
                    requirement: VersionReq::parse("=1.4.2").unwrap()
                }]
            )]
        );
        i.allow_rollback = true;
        let s = run(&t, &i);
        assert_eq!(chosen_version(&s).as_deref(), Some("1.4.2"));
        assert_eq!(
            s.chosen.as_ref().unwrap().direction,
            Direction::RollbackToPin
        );
        assert!(s.held_back.is_empty());
        // allow_downgrade does not cross the administrator's pin
        i.allow_rollback = false;
        i.allow_downgrade = true;
        assert_eq!(run(&t, &i).release(), None);
    }

    #[test]
    fn rollback_goes_to_the_highest_admitted_version_matching_the_pin() {
        let t = repo(
            "stable",
            &[
                ("1.4.1", json!({})),
                ("1.4.2", json!({})),
                ("1.4.3", json!({ "rollout": { "percent": 10 } })),
                ("1.6.0", json!({})),
            ],
        );
        let mut i = input("stable", "1.6.0", 50);
        i.pin = Some(VersionReq::parse("~1.4").unwrap());
        i.allow_rollback = true;
        let s = run(&t, &i);
        assert_eq!(chosen_version(&s).as_deref(), Some("1.4.2"));
        assert_eq!(held(&s).len(), 1);
        assert_eq!(held(&s)[0].0, "1.4.3");
    }

    #[test]
    fn no_rollback_when_current_matches_the_pin() {
        let t = plain("stable", &["1.4.2", "1.4.3", "1.4.5"]);
        let mut i = input("stable", "1.4.5", 0);
        i.pin = Some(VersionReq::parse("~1.4").unwrap());
        i.allow_rollback = true;
        assert_eq!(run(&t, &i), Selection::default());
        // the channel lacks 1.4.5: the downgrade rule, not the rollback rule, applies
        let t = plain("stable", &["1.4.2", "1.4.3"]);
        let s = run(&t, &i);
        assert_eq!(s.release(), None);
        assert_eq!(
            held(&s),
            vec![("1.4.3".into(), vec![HoldReason::Downgrade])]
        );
    }

    #[test]
    fn leaving_beta_never_downgrades_unless_allowed() {
        let t = plain("stable", &["1.1.0", "1.2.0"]);
        let i = input("stable", "1.3.0-beta.2", 0);
        let s = run(&t, &i);
        assert_eq!(s.release(), None);
        assert_eq!(
            held(&s),
            vec![("1.2.0".into(), vec![HoldReason::Downgrade])]
        );
        let mut i = i;
        i.allow_downgrade = true;
        let s = run(&t, &i);
        assert_eq!(chosen_version(&s).as_deref(), Some("1.2.0"));
        assert_eq!(s.chosen.as_ref().unwrap().direction, Direction::Downgrade);
        // once stable catches up it is an upgrade
        let t = plain("stable", &["1.2.0", "1.3.0"]);
        let s = run(&t, &input("stable", "1.3.0-beta.2", 0));
        assert_eq!(chosen_version(&s).as_deref(), Some("1.3.0"));
        assert_eq!(s.chosen.as_ref().unwrap().direction, Direction::Upgrade);
    }

    #[test]
    fn no_downgrade_when_the_channel_carries_the_current_version() {
        // 1.3.0 is on stable, its newer 1.4.0 held by rollout: stay, do not go to 1.2.0
        let t = repo(
            "stable",
            &[
                ("1.2.0", json!({})),
                ("1.3.0", json!({})),
                ("1.4.0", json!({ "rollout": { "percent": 0 } })),
            ],
        );
        let mut i = input("stable", "1.3.0", 0);
        i.allow_downgrade = true;
        let s = run(&t, &i);
        assert_eq!(s.release(), None);
        assert_eq!(held(&s).len(), 1);
        assert_eq!(held(&s)[0].0, "1.4.0");
        // a non-pre-release from beta that stable does not carry: down to stable's newest
        let t = plain("stable", &["1.2.0"]);
        let s = run(&t, &i);
        assert_eq!(chosen_version(&s).as_deref(), Some("1.2.0"));
    }

    #[test]
    fn every_failed_rule_is_reported() {
        let t = repo(
            "stable",
            &[
                ("1.1.0", json!({})),
                (
                    "2.0.0-beta.1",
                    json!({ "min_version": "1.5.0", "rollout": { "percent": 5 } }),
                ),
            ],
        );
        let mut i = input("stable", "1.0.0", 50);
        i.pin = Some(VersionReq::parse("^1").unwrap());
        let s = run(&t, &i);
        assert_eq!(chosen_version(&s).as_deref(), Some("1.1.0"));
        let reasons = &s.held_back[0].reasons;
        assert_eq!(reasons.len(), 4, "{reasons:?}");
        assert!(matches!(reasons[0], HoldReason::PreRelease { .. }));
        assert!(matches!(reasons[1], HoldReason::Pin { .. }));
        assert!(matches!(reasons[2], HoldReason::MinVersion { .. }));
        assert!(matches!(reasons[3], HoldReason::Rollout { .. }));
        for r in reasons {
            assert!(!r.to_string().is_empty());
        }
    }

    #[test]
    fn held_back_lists_only_releases_above_the_outcome_highest_first() {
        let t = repo(
            "stable",
            &[
                ("1.1.0", json!({ "rollout": { "percent": 0 } })),
                ("1.2.0", json!({})),
                ("1.3.0", json!({ "rollout": { "percent": 0 } })),
                ("1.4.0", json!({ "min_version": "1.2.0" })),
            ],
        );
        let s = run(&t, &input("stable", "1.0.0", 10));
        assert_eq!(chosen_version(&s).as_deref(), Some("1.2.0"));
        let versions: Vec<String> = held(&s).into_iter().map(|(v, _)| v).collect();
        assert_eq!(versions, ["1.4.0", "1.3.0"]);
    }

    #[test]
    fn deltas_are_ignored() {
        let t = repo(
            "stable",
            &[
                ("1.1.0", json!({})),
                (
                    "1.2.0",
                    json!({ "kind": "delta", "from": "1.1.0", "full": "stable/selfupdate/1.2.0/linux-x86_64/full" }),
                ),
            ],
        );
        let s = run(&t, &input("stable", "1.0.0", 0));
        assert_eq!(chosen_version(&s).as_deref(), Some("1.1.0"));
        assert!(s.held_back.is_empty() && s.skipped.is_empty());
    }

    #[test]
    fn malformed_releases_are_skipped_with_a_reason() {
        let mut t = plain("stable", &["1.1.0"]);
        t.push((
            path("stable", "1.9.0"),
            target(json!({ "version": "1.9.0" })),
        ));
        t.push((path("stable", "1.8.0"), target(custom("1.8.1"))));
        t.push((
            format!("stable/{APP}/1.7.0/linux-x86_64"),
            target(custom("1.7.0")),
        ));
        t.push((
            format!("stable/{APP}/1.6.0/plan9-mips/x"),
            target(custom("1.6.0")),
        ));
        t.push((path("stable", "1.5.0"), TargetFile::new(1, BTreeMap::new())));
        let s = run(&t, &input("stable", "1.0.0", 0));
        assert_eq!(chosen_version(&s).as_deref(), Some("1.1.0"));
        let mut errors: Vec<(String, ReleaseError)> = s
            .skipped
            .iter()
            .map(|k| (k.path.clone(), k.error.clone()))
            .collect();
        errors.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            errors,
            vec![
                (path("stable", "1.5.0"), ReleaseError::NoCustom),
                (
                    format!("stable/{APP}/1.7.0/linux-x86_64"),
                    ReleaseError::BadPath
                ),
                (
                    path("stable", "1.8.0"),
                    ReleaseError::VersionMismatch {
                        path: "1.8.0".into(),
                        custom: "1.8.1".into()
                    }
                ),
                (path("stable", "1.9.0"), ReleaseError::Missing("published")),
            ]
        );
    }

    #[test]
    fn equal_versions_pick_the_first_path() {
        let t = vec![
            (
                format!("stable/{APP}/1.2.0/linux-x86_64/b.AppImage"),
                target(custom("1.2.0")),
            ),
            (
                format!("stable/{APP}/1.2.0/linux-x86_64/a.tar.gz"),
                target(custom("1.2.0")),
            ),
        ];
        let s = run(&t, &input("stable", "1.0.0", 0));
        assert_eq!(s.release().unwrap().file, "a.tar.gz");
    }

    #[test]
    fn accepts_a_targets_map_directly() {
        let map: BTreeMap<String, TargetFile> = plain("stable", &["1.1.0"]).into_iter().collect();
        let s = select(&map, &input("stable", "1.0.0", 0));
        assert_eq!(chosen_version(&s).as_deref(), Some("1.1.0"));
    }
}
