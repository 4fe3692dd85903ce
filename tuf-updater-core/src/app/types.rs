//! What the facade hands the app: the update found, the check's outcome, the errors.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use semver::Version;
use thiserror::Error;

use crate::files::FileError;
use crate::install::InstallError;
use crate::policy::Disabled;
use crate::release::{Direction, HeldBack, ReleaseError};
use crate::settings::SettingsError;
use crate::tuf::fetch::FetchError;
use crate::tuf::metadata::TargetFile;
use crate::tuf::TufError;

/// Launches a new version may take before it must have called [`AppUpdater::confirm`].
pub const DEFAULT_MAX_UNCONFIRMED_LAUNCHES: u32 = 3;

/// Everything that can go wrong in the update engine, with the module's own error inside.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum UpdateError {
    /// The builder was given an unusable configuration (no root, no data directory, a bad URL…).
    #[error("invalid updater configuration: {0}")]
    Config(String),
    /// The app's own version, given to the builder, does not parse.
    #[error("app version {version:?} is not a semantic version: {reason}")]
    InvalidVersion {
        /// The version string given.
        version: String,
        /// The semver parser's complaint.
        reason: String,
    },
    /// The running OS and architecture have no release platform name; the app must set one.
    #[error("no release platform is known for {os}-{arch}; set one with `platform()`")]
    UnknownPlatform {
        /// The OS, as `std::env::consts::OS` names it.
        os: &'static str,
        /// The architecture, as `std::env::consts::ARCH` names it.
        arch: &'static str,
    },
    /// The HTTP client could not be built (an invalid proxy or header).
    #[error("cannot set up the HTTP client: {0}")]
    Http(#[source] FetchError),
    /// The repository (or the last of the mirrors tried) failed or was refused.
    #[error("update repository {url}: {source}")]
    Repository {
        /// The repository base URL.
        url: String,
        /// The TUF client's refusal or failure.
        #[source]
        source: TufError,
    },
    /// The channel asked for has no role in the repository.
    #[error("channel {channel:?} is not published by the update repository (it has: {})", available.join(", "))]
    UnknownChannel {
        /// The channel asked for.
        channel: String,
        /// The channels the repository publishes.
        available: Vec<String>,
    },
    /// The target found for the update is not a valid release (its path or custom fields).
    #[error("release {path}: {source}")]
    Release {
        /// The TUF target path.
        path: String,
        /// What is wrong with the release.
        #[source]
        source: ReleaseError,
    },
    /// Reading or writing the user's settings failed.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// Staging, installing, rolling back or confirming failed.
    #[error(transparent)]
    Install(#[from] InstallError),
    /// Install was called for an update whose verified download is not there.
    #[error("update {version} is not downloaded, or its file no longer matches the signed hashes: call download() first")]
    NotDownloaded {
        /// The version asked to install.
        version: Version,
    },
    /// A version other than the one installed tried to confirm the pending install.
    #[error("version {running} cannot confirm the pending install of {pending}: a new version confirms itself, after it started")]
    ConfirmByOtherVersion {
        /// The running version.
        running: Version,
        /// The version whose install awaits confirmation.
        pending: String,
    },
    /// Starting the new version or the installer failed.
    #[error("cannot restart {path}: {source}")]
    Restart {
        /// The program that could not be started.
        path: PathBuf,
        /// The error from starting it.
        #[source]
        source: std::io::Error,
    },
    /// A local file operation failed.
    #[error(transparent)]
    Io(#[from] FileError),
}

/// A result whose error defaults to [`UpdateError`].
pub type Result<T, E = UpdateError> = std::result::Result<T, E>;

/// An update that [`AppUpdater::check`] found in verified metadata. Only a check makes one:
/// the signed length and hashes it carries are what download and install verify against.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    /// The version offered.
    pub version: Version,
    /// The running version.
    pub current_version: Version,
    /// Release notes (markdown).
    pub notes: String,
    /// When the release was published.
    pub date: DateTime<Utc>,
    /// Size of the artifact in bytes.
    pub size: u64,
    /// What the download will cost: the patch's size when one applies to the installed
    /// bytes, else `size` (a patch that fails falls back to the full download).
    pub download_size: u64,
    /// The channel it was found on.
    pub channel: String,
    /// A critical release skips the staged rollout; an app may install it without asking.
    pub critical: bool,
    /// An upgrade, or a step down the administrator allowed (pin, leaving a channel).
    pub direction: Direction,
    /// The TUF target path, `<channel>/<app>/<version>/<platform>/<file>`.
    pub target_path: String,
    /// The artifact's file name.
    pub file_name: String,
    /// Newer releases that were not offered, and why.
    pub held_back: Vec<HeldBack>,
    pub(super) target: TargetFile,
    /// The patch from the installed bytes, when the repository has one and the installed
    /// bytes match the version it patches.
    pub(super) patch: Option<PatchPlan>,
    /// For an app installed by a package manager: the running version's package, kept for
    /// a rollback (`rollback_package`).
    pub(super) rollback_package: Option<RollbackPackage>,
    /// The repository base that answered the check; downloads try it first.
    pub(super) repository: String,
}

impl Update {
    /// The release's custom data as signed in the TUF target (`custom`: version, channel,
    /// notes, date, and whatever else the publisher added), for an app to read fields of its
    /// own; tauri-plugin-updater's `rawJson`.
    pub fn custom(&self) -> Option<&serde_json::Value> {
        self.target.custom.as_ref()
    }
}

/// The running version's release, which a packaged app's rollback installs again.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct RollbackPackage {
    pub target_path: String,
    pub target: TargetFile,
}

/// A patch the check found usable: signed, from the installed version, to apply to what
/// `base` says.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct PatchPlan {
    pub target_path: String,
    pub target: TargetFile,
    pub from_version: Version,
    pub base: PatchBase,
}

/// What a patch applies to, and what its result must match.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum PatchBase {
    /// A whole-file patch of the installed file, whose signed bytes it matched at the check.
    File {
        /// The signed length and hashes the installed file must still match when applied.
        from_target: TargetFile,
        /// The installed file the patch applies to.
        installed: PathBuf,
    },
    /// A tar patch: rebuilds the release's uncompressed tar from the installed bundle's
    /// files (each checked as it is used).
    Bundle {
        dir: PathBuf,
        /// The release's signed tar digest, as a length and hashes the rebuilt tar must
        /// match (the artifact's own hashes are of the gzip bytes).
        tar: TargetFile,
    },
}

/// What [`AppUpdater::check`] found.
// Made once per check and matched by value; a box would only get in the way.
#[allow(clippy::large_enum_variant)]
// Exhaustive on purpose: an app must handle every outcome (decisions.md).
#[derive(Debug, Clone, PartialEq)]
pub enum CheckResult {
    /// A newer (or administrator-allowed older) release to download and install.
    Available(Update),
    /// Nothing newer on the channel for this app and platform.
    UpToDate {
        /// The channel checked.
        channel: String,
    },
    /// Newer releases exist, but the policy, the rollout, a `min_version` or an earlier
    /// rollback holds them back: `held` says which and why.
    HeldBack {
        /// The channel checked.
        channel: String,
        /// The newer releases held back, each with its reason.
        held: Vec<HeldBack>,
    },
    /// Updates are off; `reason` says who turned them off (a broken policy file included).
    Disabled {
        /// Who turned updates off.
        reason: Disabled,
    },
}
