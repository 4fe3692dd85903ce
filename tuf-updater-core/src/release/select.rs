//! The choice of the update: a pure function of the verified candidates and what is known
//! about this install ([`SelectionInput`]), saying which release to install ([`Chosen`]) and
//! why better ones were held back ([`HeldBack`], one [`HeldBackReason`] per rule failed).

use std::cmp::Ordering;
use std::fmt;

use semver::{Version, VersionReq};

use super::bucket::Bucket;
use super::fields::ReleaseKind;
use super::names::channel_carries_prereleases;
use super::platform::{InstallFormat, Platform};
use super::target::{Release, ReleaseError};
use crate::tuf::metadata::TargetFile;

/// Everything [`select`] needs to know about this install.
#[derive(Clone, Debug, PartialEq)]
pub struct SelectionInput {
    /// The app's name, as in target paths.
    pub app: String,
    /// The running version.
    pub current: Version,
    /// The platform releases must be published for.
    pub platform: Platform,
    /// The channel to choose from.
    pub channel: String,
    /// This install's place in staged rollouts.
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
    /// The install formats this install can apply. A release published without a format
    /// (before formats were part of the path) is always a candidate.
    pub formats: Vec<InstallFormat>,
    /// Versions this install rolled back (they did not confirm): never offered again.
    pub rolled_back: Vec<Version>,
}

impl SelectionInput {
    /// No pin, no rollback, no downgrade, no formats (only releases published without one),
    /// nothing rolled back; pre-releases as [`channel_carries_prereleases`].
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
            formats: Vec::new(),
            rolled_back: Vec::new(),
        }
    }
}

/// How the chosen release relates to the running version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Up to a newer version.
    Upgrade,
    /// Down to the channel's newest release (allowed by `allow_downgrade`).
    Downgrade,
    /// Down to the pinned version (allowed by `allow_rollback`).
    RollbackToPin,
}

/// Why a release was not chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeldBackReason {
    /// The staged rollout has not reached this install yet.
    Rollout {
        /// The release's rollout percentage.
        percent: u8,
        /// This install's bucket, at or above it.
        bucket: Bucket,
    },
    /// The running version is below the release's `min_version`: an intermediate update
    /// (to a version of at least `min_version`) is needed first.
    MinVersion {
        /// The release's `min_version`.
        min_version: Version,
    },
    /// The version does not match the administrator's pinned requirement.
    Pin {
        /// The pin.
        requirement: VersionReq,
    },
    /// A pre-release, and this channel does not offer pre-releases.
    PreRelease {
        /// The channel.
        channel: String,
    },
    /// Older than the running version, which this channel does not carry; downgrades are
    /// not allowed.
    Downgrade,
    /// Matches the pin but is older than the running version; rollback is not allowed.
    RollbackNotAllowed {
        /// The pin.
        requirement: VersionReq,
    },
    /// This install ran the version before and rolled it back (it did not confirm).
    RolledBack,
    /// Published in an install format this install cannot apply (a `.deb` for an app that
    /// runs from an AppImage, say).
    Format {
        /// The release's format.
        format: InstallFormat,
    },
}

impl fmt::Display for HeldBackReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeldBackReason::Rollout { percent, bucket } => write!(
                f,
                "staged rollout at {percent}% has not reached this install (bucket {bucket})"
            ),
            HeldBackReason::MinVersion { min_version } => write!(
                f,
                "requires version {min_version} or later first: an intermediate update is needed"
            ),
            HeldBackReason::Pin { requirement } => {
                write!(f, "outside the pinned version requirement {requirement}")
            }
            HeldBackReason::PreRelease { channel } => {
                write!(f, "a pre-release; channel {channel} does not offer pre-releases")
            }
            HeldBackReason::Downgrade => {
                write!(f, "older than the running version; downgrades are not allowed")
            }
            HeldBackReason::RollbackNotAllowed { requirement } => write!(
                f,
                "matches the pin {requirement} but is older than the running version; rollback is not allowed"
            ),
            HeldBackReason::RolledBack => {
                f.write_str("rolled back on this install before (it did not confirm)")
            }
            HeldBackReason::Format { format } => write!(
                f,
                "published as {format}, an install format this install cannot apply"
            ),
        }
    }
}

/// The release to install.
#[derive(Clone, Debug, PartialEq)]
pub struct Chosen {
    /// The release to install.
    pub release: Release,
    /// Upgrade, or which kind of step down.
    pub direction: Direction,
}

/// A release that would have been preferred, and why it was not chosen.
#[derive(Clone, Debug, PartialEq)]
pub struct HeldBack {
    /// The release held back.
    pub release: Release,
    /// Every rule it failed.
    pub reasons: Vec<HeldBackReason>,
}

impl HeldBack {
    /// The held-back release's version.
    pub fn version(&self) -> &Version {
        self.release.version()
    }
}

impl fmt::Display for HeldBack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.version())?;
        for (i, reason) in self.reasons.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            reason.fmt(f)?;
        }
        Ok(())
    }
}

/// A target of this app, channel and platform that is not a valid release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The target path.
    pub path: String,
    /// Why it is not a valid release.
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
    /// The chosen release, if any.
    pub fn release(&self) -> Option<&Release> {
        self.chosen.as_ref().map(|c| &c.release)
    }

    /// Whether a newer release waits for an intermediate update (its `min_version`).
    pub fn intermediate_update_needed(&self) -> bool {
        self.held_back.iter().any(|h| {
            h.reasons
                .iter()
                .any(|r| matches!(r, HeldBackReason::MinVersion { .. }))
        })
    }
}

/// Higher version first; among equal precedence, build metadata decides, then the
/// lexicographically smaller path wins, so the choice never depends on input order.
fn rank(a: &Release, b: &Release) -> Ordering {
    a.version()
        .cmp_precedence(b.version())
        .then_with(|| a.version().cmp(b.version()))
        .then_with(|| b.target_path().cmp(&a.target_path()))
}

/// The release gates other than direction: pre-release, pin, `min_version`, rollout.
fn gates(r: &Release, input: &SelectionInput) -> Vec<HeldBackReason> {
    let mut reasons = Vec::new();
    if let Some(format) = r.path.format().filter(|f| !input.formats.contains(f)) {
        reasons.push(HeldBackReason::Format { format });
    }
    if input.rolled_back.contains(r.version()) {
        reasons.push(HeldBackReason::RolledBack);
    }
    if !r.version().pre.is_empty() && !input.allow_prerelease {
        reasons.push(HeldBackReason::PreRelease {
            channel: input.channel.clone(),
        });
    }
    if let Some(pin) = &input.pin {
        if !pin.matches(r.version()) {
            reasons.push(HeldBackReason::Pin {
                requirement: pin.clone(),
            });
        }
    }
    if let Some(min) = &r.fields.min_version {
        if input.current.cmp_precedence(min) == Ordering::Less {
            reasons.push(HeldBackReason::MinVersion {
                min_version: min.clone(),
            });
        }
    }
    if !r.fields.critical && !input.bucket.admits(r.fields.rollout_percent) {
        reasons.push(HeldBackReason::Rollout {
            percent: r.fields.rollout_percent,
            bucket: input.bucket,
        });
    }
    reasons
}

/// Whether a target path may belong to this app, channel and platform: a path of another
/// shape under `<channel>/<app>/`, or a platform segment of this platform with a format this
/// version does not know, counts, so that it is reported as malformed, never silently left
/// out.
fn is_relevant(path: &str, input: &SelectionInput) -> bool {
    let mut segments = path.split('/');
    if segments.next() != Some(input.channel.as_str())
        || segments.next() != Some(input.app.as_str())
    {
        return false;
    }
    let rest: Vec<&str> = segments.collect();
    match rest.as_slice() {
        [_version, segment, _file] => {
            let platform = input.platform.as_str();
            segment
                .strip_prefix(platform)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
        }
        _ => true,
    }
}

/// Chooses the release to install from the targets of a channel's role.
///
/// Considers the full releases at `<channel>/<app>/<version>/<platform>[-<format>]/<file>`
/// for the input's channel, app and platform (deltas are ignored for now; malformed ones are
/// skipped with a reason) and picks the highest version, by semver precedence, that:
/// - is above the running version (equal precedence, e.g. a build-metadata-only difference,
///   is not an update), or is below it and either matches the pin while the running version
///   does not (with `allow_rollback`), or is the channel's newest while the channel does not
///   carry the running version (with `allow_downgrade`);
/// - is not a pre-release, unless the channel offers them;
/// - matches the pin, if any (a pre-release matches only a requirement naming one);
/// - has a `min_version` the running version reaches;
/// - is admitted by the rollout at the install's bucket, unless critical;
/// - is in an install format this install can apply (or was published without one);
/// - was not rolled back on this install before.
///
/// `held_back` lists the releases above the outcome (the chosen release, or else the running
/// version) that failed a rule, with every rule they failed; when nothing is chosen and a
/// downgrade or rollback was considered, also the best older release that the pre-release
/// and pin rules allow, with what kept it out (e.g. [`HeldBackReason::Downgrade`]).
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
            Ok(r) if r.fields.kind == ReleaseKind::Full => releases.push(r),
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
    direction: Option<Result<Direction, HeldBackReason>>,
    /// The other rules it fails.
    gates: Vec<HeldBackReason>,
}

impl Judged {
    fn eligible(&self) -> Option<Direction> {
        match &self.direction {
            Some(Ok(d)) if self.gates.is_empty() => Some(*d),
            _ => None,
        }
    }
}

/// Every release with its direction and the rules it fails.
fn judge(releases: Vec<Release>, input: &SelectionInput) -> Vec<Judged> {
    let current = &input.current;
    let pin_excludes_current = input.pin.as_ref().filter(|p| !p.matches(current));
    let channel_has_current = releases.iter().any(|r| {
        r.version().cmp_precedence(current) == Ordering::Equal
            && (input.allow_prerelease || r.version().pre.is_empty())
    });
    releases
        .into_iter()
        .map(|release| {
            let direction = match release.version().cmp_precedence(current) {
                Ordering::Greater => Some(Ok(Direction::Upgrade)),
                Ordering::Equal => None,
                Ordering::Less => match pin_excludes_current {
                    Some(_) if input.allow_rollback => Some(Ok(Direction::RollbackToPin)),
                    Some(pin) => Some(Err(HeldBackReason::RollbackNotAllowed {
                        requirement: pin.clone(),
                    })),
                    None if channel_has_current => None,
                    None if input.allow_downgrade => Some(Ok(Direction::Downgrade)),
                    None => Some(Err(HeldBackReason::Downgrade)),
                },
            };
            let gates = gates(&release, input);
            Judged {
                release,
                direction,
                gates,
            }
        })
        .collect()
}

fn select_releases(releases: Vec<Release>, input: &SelectionInput) -> Selection {
    let current = &input.current;
    let judged = judge(releases, input);
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
                None => j.release.version().cmp_precedence(current) == Ordering::Greater,
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
                    && j.release.version().cmp_precedence(current) == Ordering::Less
                    && !j.gates.iter().any(|g| {
                        matches!(
                            g,
                            HeldBackReason::PreRelease { .. } | HeldBackReason::Pin { .. }
                        )
                    })
            })
            .max_by(|a, b| rank(&a.release, &b.release));
        if let Some(j) = best_lower {
            let mut reasons: Vec<HeldBackReason> = j
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
    // A format this install cannot apply is no news when the same version is chosen in one
    // it can.
    if let Some(c) = &chosen {
        held_back.retain(|h| {
            !(h.reasons
                .iter()
                .any(|r| matches!(r, HeldBackReason::Format { .. }))
                && h.version().cmp_precedence(c.release.version()) == Ordering::Equal)
        });
    }
    held_back.sort_by(|a, b| rank(&b.release, &a.release));

    Selection {
        chosen,
        held_back,
        skipped: Vec::new(),
    }
}

#[cfg(test)]
#[path = "select_tests.rs"]
mod tests;
