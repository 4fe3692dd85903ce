//! The facade an app calls: [`AppUpdater`].
//!
//! ```no_run
//! # async fn run() -> Result<(), updater_core::UpdateError> {
//! use updater_core::{AppUpdater, CheckResult, StartupOutcome};
//!
//! # const ROOT_JSON: &[u8] = b"{}";
//! // ROOT_JSON: the repository's 1.root.json, embedded in the app (include_bytes!).
//! let updater = AppUpdater::builder("my-app", env!("CARGO_PKG_VERSION"))
//!     .repository("https://updates.example.com/my-app")
//!     .trusted_root(ROOT_JSON)
//!     .data_dir("/home/me/.local/share/my-app")
//!     .build()?;
//! // First thing in main: finish or undo an interrupted install, count this launch.
//! if let StartupOutcome::RolledBack { .. } = updater.startup()? {
//!     updater.restart()?; // the previous version is back in place: run it
//! }
//! // ... once the app is known to work:
//! updater.confirm()?;
//! if let CheckResult::Available(update) = updater.check().await? {
//!     updater.download(&update, |_progress| {}).await?;
//!     updater.install(&update)?;
//!     updater.restart()?;
//! }
//! # Ok(()) }
//! ```
//!
//! Each step does its own I/O and holds nothing between calls but configuration, so an app
//! can check in the background, show the update, download later, and install on its own
//! schedule. What is kept on disk, under the data dir:
//!
//! - `tuf/`: the trusted metadata (the exact verified bytes);
//! - `downloads/`: the verified artifact, and the `.part` of an interrupted download;
//! - `install/`: the install journal, the staged new version, the previous version;
//! - `update-settings.json`: the user's channel, install id (rollout bucket) and the versions
//!   this install rolled back, which are not offered again.
//!
//! A check refreshes the TUF metadata from the first repository that answers (the
//! administrator's mirror when the policy names one, else the app's repository, then its
//! mirrors in order), lists the releases that the channel's delegated role signs for this
//! app and platform, and lets [`release::select`] choose; the chosen target is then looked
//! up again through the whole delegation graph (spec 5.6.7), so a role earlier in the
//! search order cannot be bypassed.

use std::convert::Infallible;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use semver::Version;
use serde_json::Value;
use thiserror::Error;

use crate::install::{InstallError, InstallTarget, Installer, StartupOutcome, State};
use crate::policy::{self, AppDefaults, Disabled, Effective, Policy, PolicyError};
use crate::release::{
    self, valid_channel_name, Direction, HoldReason, Platform, Release, ReleaseError,
    SelectionInput,
};
use crate::settings::{SettingsError, SettingsStore, UserSettings};
use crate::tuf::download::{file_matches, DownloadOptions, Progress};
use crate::tuf::fetch::{FetchError, Fetcher, HttpConfig, HttpFetcher};
use crate::tuf::metadata::TargetFile;
use crate::tuf::{ClientConfig, Limits, TufError};

/// Launches a new version may take before it must have called [`AppUpdater::confirm`].
pub const DEFAULT_MAX_UNCONFIRMED_LAUNCHES: u32 = 3;

/// The key in the user's settings listing the versions this install rolled back.
const ROLLED_BACK_KEY: &str = "rolled_back_versions";
/// The key in the user's settings holding the rollback the app has not reported yet.
const ROLLBACK_NOTICE_KEY: &str = "rollback_notice";
/// How many rolled-back versions are remembered.
const MAX_ROLLED_BACK: usize = 16;

/// Everything that can go wrong in the update engine, with the module's own error inside.
#[derive(Debug, Error)]
pub enum UpdateError {
    #[error("invalid updater configuration: {0}")]
    Config(String),
    #[error("app version {version:?} is not a semantic version: {reason}")]
    InvalidVersion { version: String, reason: String },
    #[error("no release platform is known for {os}-{arch}; set one with `platform()`")]
    UnknownPlatform {
        os: &'static str,
        arch: &'static str,
    },
    #[error("cannot set up the HTTP client: {0}")]
    Http(#[source] FetchError),
    /// The repository (or the last of the mirrors tried) failed or was refused.
    #[error("update repository {url}: {source}")]
    Repository {
        url: String,
        #[source]
        source: TufError,
    },
    #[error("channel {channel:?} is not published by the update repository (it has: {})", available.join(", "))]
    UnknownChannel {
        channel: String,
        available: Vec<String>,
    },
    #[error("release {path}: {source}")]
    Release {
        path: String,
        #[source]
        source: ReleaseError,
    },
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Install(#[from] InstallError),
    #[error("update {version} is not downloaded, or its file no longer matches the signed hashes: call download() first")]
    NotDownloaded { version: Version },
    #[error("version {running} cannot confirm the pending install of {pending}: a new version confirms itself, after it started")]
    ConfirmByOtherVersion { running: Version, pending: String },
    #[error("cannot restart {path}: {source}")]
    Restart {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = UpdateError> = std::result::Result<T, E>;

/// Why a release newer than the running version is not offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    /// A rule of release selection: rollout, `min_version`, the administrator's pin,
    /// pre-release on this channel, rollback not allowed.
    Rule(HoldReason),
    /// This install ran the version before, and rolled it back because it did not confirm.
    RolledBack,
}

impl fmt::Display for Hold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Hold::Rule(reason) => reason.fmt(f),
            Hold::RolledBack => {
                f.write_str("rolled back on this install before (it did not confirm)")
            }
        }
    }
}

/// A release that was not offered, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub version: Version,
    pub reasons: Vec<Hold>,
}

impl fmt::Display for Held {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.version)?;
        for (i, reason) in self.reasons.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            reason.fmt(f)?;
        }
        Ok(())
    }
}

/// An update that [`AppUpdater::check`] found in verified metadata. Only a check makes one:
/// the signed length and hashes it carries are what download and install verify against.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub version: Version,
    /// The running version.
    pub current_version: Version,
    /// Release notes (markdown).
    pub notes: String,
    /// When the release was published.
    pub date: DateTime<Utc>,
    /// Size of the artifact in bytes.
    pub size: u64,
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
    pub held_back: Vec<Held>,
    target: TargetFile,
    /// The repository base that answered the check; downloads try it first.
    repository: String,
}

/// A rollback that happened at a start of the app and that the app has not shown yet:
/// the process that rolled back restarts into the previous version, which reads this with
/// [`AppUpdater::take_rollback_notice`] to tell the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackNotice {
    pub failed_version: String,
    pub restored_version: String,
    pub reason: String,
}

/// What [`AppUpdater::check`] found.
// Made once per check and matched by value; a box would only get in the way.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum CheckResult {
    Available(Update),
    /// Nothing newer on the channel for this app and platform.
    UpToDate {
        channel: String,
    },
    /// Newer releases exist, but the policy, the rollout, a `min_version` or an earlier
    /// rollback holds them back: `held` says which and why.
    HeldBack {
        channel: String,
        held: Vec<Held>,
    },
    /// Updates are off; `reason` says who turned them off (a broken policy file included).
    Disabled {
        reason: Disabled,
    },
}

/// Where the administrator's policy comes from.
#[derive(Debug, Clone)]
enum PolicySource {
    /// [`policy::load`] for this app name (system path or the `<APP>_UPDATE_POLICY` override).
    App(String),
    /// This file only.
    File(PathBuf),
}

/// Builds an [`AppUpdater`]; see [`AppUpdater::builder`].
pub struct AppUpdaterBuilder {
    app: String,
    version: String,
    repositories: Vec<String>,
    trusted_root: Option<Vec<u8>>,
    data_dir: Option<PathBuf>,
    defaults: AppDefaults,
    platform: Option<Platform>,
    http: HttpConfig,
    fetcher: Option<Arc<dyn Fetcher>>,
    limits: Limits,
    download: DownloadOptions,
    max_unconfirmed_launches: u32,
    install_target: Option<InstallTarget>,
    policy: Option<PolicySource>,
    allow_downgrade: bool,
}

impl fmt::Debug for AppUpdaterBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppUpdaterBuilder")
            .field("app", &self.app)
            .field("version", &self.version)
            .field("repositories", &self.repositories)
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

impl AppUpdaterBuilder {
    /// The base URL of the repository (holding `metadata/` and `targets/`). Replaces an
    /// earlier one; mirrors stay.
    pub fn repository(mut self, url: impl Into<String>) -> Self {
        let url = url.into();
        match self.repositories.first_mut() {
            Some(first) => *first = url,
            None => self.repositories.push(url),
        }
        self
    }

    /// A mirror of the same repository, tried in the order added when the ones before fail.
    pub fn mirror(mut self, url: impl Into<String>) -> Self {
        if self.repositories.is_empty() {
            // Keeps the first slot for `repository()`.
            self.repositories.push(String::new());
        }
        self.repositories.push(url.into());
        self
    }

    /// The trusted root shipped with the app (the repository's `1.root.json`, or a later
    /// one). Used when the data dir has no trusted root yet, or an unusable one.
    pub fn trusted_root(mut self, root: impl Into<Vec<u8>>) -> Self {
        self.trusted_root = Some(root.into());
        self
    }

    /// The app's data directory, where metadata, downloads, install state and settings go.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// The channel when neither the user nor the policy chose one (default `stable`).
    pub fn default_channel(mut self, channel: impl Into<String>) -> Self {
        self.defaults.channel = channel.into();
        self
    }

    /// Whether updates are on when neither the user nor the policy decided (default on).
    /// How often the app means to check when the policy does not say (default 6 hours);
    /// read back from [`AppUpdater::effective`]. The updater does not schedule checks itself.
    pub fn check_interval(mut self, interval: Duration) -> Self {
        self.defaults.check_interval = interval;
        self
    }

    pub fn enabled_by_default(mut self, enabled: bool) -> Self {
        self.defaults.enabled = enabled;
        self
    }

    /// The platform of the releases to install (default: this machine's).
    pub fn platform(mut self, platform: Platform) -> Self {
        self.platform = Some(platform);
        self
    }

    /// All HTTP settings at once.
    pub fn http(mut self, config: HttpConfig) -> Self {
        self.http = config;
        self
    }

    /// Time to connect, and the longest wait for the next byte.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.http.connect_timeout = timeout;
        self.http.read_timeout = timeout;
        self
    }

    /// An HTTP(S) proxy for every request, e.g. `http://proxy.corp:3128`.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.http.proxy = Some(url.into());
        self
    }

    /// A header sent with every request (an API key for a private repository, say).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.http.headers.push((name.into(), value.into()));
        self
    }

    /// A transport of the app's own instead of the built-in HTTP client (which the HTTP
    /// settings then do not configure).
    pub fn fetcher(mut self, fetcher: Arc<dyn Fetcher>) -> Self {
        self.fetcher = Some(fetcher);
        self
    }

    /// Caps on metadata sizes and download speed.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Retries and back-off of downloads.
    pub fn download_options(mut self, options: DownloadOptions) -> Self {
        self.download = options;
        self
    }

    /// Launches a new version may take without confirming before it is rolled back
    /// (default [`DEFAULT_MAX_UNCONFIRMED_LAUNCHES`], at least 1).
    pub fn max_unconfirmed_launches(mut self, launches: u32) -> Self {
        self.max_unconfirmed_launches = launches;
        self
    }

    /// What to replace (default [`Installer::detect_target`]: this executable, the
    /// AppImage it runs from, or its macOS `.app` bundle).
    pub fn install_target(mut self, target: InstallTarget) -> Self {
        self.install_target = Some(target);
        self
    }

    /// The app name the policy file is looked up by (default: the app name), which gives
    /// the system path and the `<APP>_UPDATE_POLICY` environment override.
    pub fn policy_app_name(mut self, name: impl Into<String>) -> Self {
        self.policy = Some(PolicySource::App(name.into()));
        self
    }

    /// Reads the policy from this file only (no environment override).
    pub fn policy_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.policy = Some(PolicySource::File(path.into()));
        self
    }

    /// Whether a channel that does not carry the running version may move the app down to
    /// its newest release (leaving beta for stable). Off by default: the app stays on its
    /// version until the channel passes it.
    pub fn allow_downgrade(mut self, allow: bool) -> Self {
        self.allow_downgrade = allow;
        self
    }

    pub fn build(self) -> Result<AppUpdater> {
        if self.app.is_empty() || self.app.contains('/') || self.app.chars().any(char::is_control) {
            return Err(UpdateError::Config(format!(
                "app name {:?} must be one non-empty path segment",
                self.app
            )));
        }
        let current = Version::parse(&self.version).map_err(|e| UpdateError::InvalidVersion {
            version: self.version.clone(),
            reason: e.to_string(),
        })?;
        if self.repositories.first().is_none_or(String::is_empty) {
            return Err(UpdateError::Config(
                "no repository URL (mirrors need one)".into(),
            ));
        }
        let mut repositories = Vec::with_capacity(self.repositories.len());
        for url in &self.repositories {
            repositories.push(repository_base(url, self.fetcher.is_some())?);
        }
        let trusted_root = self
            .trusted_root
            .ok_or_else(|| UpdateError::Config("no trusted root".into()))?;
        let data_dir = self
            .data_dir
            .ok_or_else(|| UpdateError::Config("no data directory".into()))?;
        if !valid_channel_name(&self.defaults.channel) {
            return Err(UpdateError::Config(format!(
                "default channel {:?} is not a channel name",
                self.defaults.channel
            )));
        }
        let platform = match self.platform.or_else(Platform::current) {
            Some(p) => p,
            None => {
                return Err(UpdateError::UnknownPlatform {
                    os: std::env::consts::OS,
                    arch: std::env::consts::ARCH,
                })
            }
        };
        let fetcher: Arc<dyn Fetcher> = match self.fetcher {
            Some(f) => f,
            None => Arc::new(HttpFetcher::new(&self.http).map_err(UpdateError::Http)?),
        };
        let target = match self.install_target {
            Some(t) => t,
            None => Installer::detect_target()?,
        };
        let installer = Installer::new(&data_dir, target, self.max_unconfirmed_launches);
        let policy = self
            .policy
            .unwrap_or_else(|| PolicySource::App(self.app.clone()));
        Ok(AppUpdater {
            settings: SettingsStore::new(&data_dir),
            app: self.app,
            current,
            repositories,
            trusted_root,
            data_dir,
            defaults: self.defaults,
            platform,
            fetcher,
            limits: self.limits,
            download: self.download,
            installer,
            policy,
            allow_downgrade: self.allow_downgrade,
            exe_at_start: std::env::current_exe().ok(),
        })
    }
}

/// `url` without trailing slashes, checked to be an absolute URL (http or https unless
/// the app brings its own transport).
fn repository_base(url: &str, any_scheme: bool) -> Result<String> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| UpdateError::Config(format!("repository URL {url:?}: {e}")))?;
    if !any_scheme && !matches!(parsed.scheme(), "http" | "https") {
        return Err(UpdateError::Config(format!(
            "repository URL {url:?} is not http or https"
        )));
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// The update engine of one app. `Send + Sync`: share it (in an `Arc`) between the app's
/// tasks; every method does its own I/O and holds no state between calls.
pub struct AppUpdater {
    app: String,
    current: Version,
    /// Base URLs, the repository first, then its mirrors.
    repositories: Vec<String>,
    trusted_root: Vec<u8>,
    data_dir: PathBuf,
    defaults: AppDefaults,
    platform: Platform,
    fetcher: Arc<dyn Fetcher>,
    limits: Limits,
    download: DownloadOptions,
    installer: Installer,
    policy: PolicySource,
    allow_downgrade: bool,
    settings: SettingsStore,
    /// The executable path this process started from (what a bundle restart runs).
    exe_at_start: Option<PathBuf>,
}

impl fmt::Debug for AppUpdater {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppUpdater")
            .field("app", &self.app)
            .field("current", &self.current)
            .field("repositories", &self.repositories)
            .field("data_dir", &self.data_dir)
            .field("platform", &self.platform)
            .field("target", self.installer.target())
            .finish_non_exhaustive()
    }
}

impl AppUpdater {
    /// A builder for app `app` running `current_version` (semver). Needs at least
    /// [`repository`](AppUpdaterBuilder::repository),
    /// [`trusted_root`](AppUpdaterBuilder::trusted_root) and
    /// [`data_dir`](AppUpdaterBuilder::data_dir).
    pub fn builder(
        app: impl Into<String>,
        current_version: impl Into<String>,
    ) -> AppUpdaterBuilder {
        AppUpdaterBuilder {
            app: app.into(),
            version: current_version.into(),
            repositories: Vec::new(),
            trusted_root: None,
            data_dir: None,
            defaults: AppDefaults::new("stable"),
            platform: None,
            http: HttpConfig::default(),
            fetcher: None,
            limits: Limits::default(),
            download: DownloadOptions::default(),
            max_unconfirmed_launches: DEFAULT_MAX_UNCONFIRMED_LAUNCHES,
            install_target: None,
            policy: None,
            allow_downgrade: false,
        }
    }

    pub fn app(&self) -> &str {
        &self.app
    }

    pub fn current_version(&self) -> &Version {
        &self.current
    }

    pub fn platform(&self) -> Platform {
        self.platform
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn installer(&self) -> &Installer {
        &self.installer
    }

    /// Call first thing in `main`. Finishes or undoes what an interrupted install left,
    /// counts a launch of a version that has not confirmed yet, and rolls it back after too
    /// many. On [`StartupOutcome::RolledBack`] the previous version is back on disk and this
    /// process is the failed one: call [`restart`](Self::restart) (or exit).
    pub fn startup(&self) -> Result<StartupOutcome> {
        // A rollback that a kill interrupted is finished silently by the installer when it
        // had got as far as `RolledBack`: the failed version is noted from the journal.
        let rolling_back = match self.installer.journal() {
            Ok(Some(j))
                if matches!(
                    j.state,
                    State::RollingBack { .. } | State::RolledBack { .. }
                ) =>
            {
                Some((j.to_version, j.from_version))
            }
            _ => None,
        };
        let outcome = self.installer.startup()?;
        if let (Some((failed, restored)), false) = (
            &rolling_back,
            matches!(
                outcome,
                StartupOutcome::RolledBack { .. } | StartupOutcome::Busy
            ),
        ) {
            let notice = RollbackNotice {
                failed_version: failed.clone(),
                restored_version: restored.clone(),
                reason: "an interrupted rollback was finished at this start".into(),
            };
            // The process that rolled back usually left its own, more precise notice.
            if let Err(e) = self.remember_rolled_back(&notice, false) {
                tracing::warn!(error = %e, "cannot record the rolled-back version");
            }
        }
        match &outcome {
            StartupOutcome::RolledBack {
                failed_version,
                restored_version,
                reason,
                ..
            } => {
                tracing::warn!(%failed_version, %restored_version, %reason, "update rolled back");
                let notice = RollbackNotice {
                    failed_version: failed_version.clone(),
                    restored_version: restored_version.clone(),
                    reason: reason.clone(),
                };
                if let Err(e) = self.remember_rolled_back(&notice, true) {
                    tracing::warn!(error = %e, "cannot record the rolled-back version");
                }
            }
            StartupOutcome::PendingConfirmation { version, launch } => {
                tracing::info!(%version, launch, "new version waits for confirmation");
            }
            StartupOutcome::Idle | StartupOutcome::Staged { .. } => {}
            StartupOutcome::Busy => return Ok(outcome),
        }
        self.remove_install_leftovers();
        Ok(outcome)
    }

    /// Removes what a killed process can leave in the install state directory: temporary
    /// files of a copy or a journal write (only the lock holder makes them, so with the
    /// lock held they are leftovers), and with no install in progress, everything but the
    /// lock (a staged copy written before its journal entry, the previous version whose
    /// removal a confirmation did not finish).
    fn remove_install_leftovers(&self) {
        let Ok(_lock) = self.installer.lock() else {
            return;
        };
        let idle = match self.installer.journal() {
            Ok(journal) => journal.is_none(),
            Err(_) => return,
        };
        let dir = self.data_dir.join("install");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let temporary = name.starts_with(".update-") || name.starts_with(".tmp-");
            if name == "lock" || !(temporary || idle) {
                continue;
            }
            let path = entry.path();
            tracing::info!(path = %path.display(), "removing what an interrupted update left");
            if let Err(e) = remove_any(&path) {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove");
            }
        }
    }

    /// The new version works: keep it and delete the previous one. `Ok(false)` when no
    /// install waits for confirmation. Only the new version may confirm itself.
    pub fn confirm(&self) -> Result<bool> {
        if let Some(journal) = self.installer.journal()? {
            if matches!(journal.state, State::Swapped { .. })
                && Version::parse(&journal.to_version).ok().as_ref() != Some(&self.current)
            {
                return Err(UpdateError::ConfirmByOtherVersion {
                    running: self.current.clone(),
                    pending: journal.to_version,
                });
            }
        }
        let confirmed = self.installer.confirm()?;
        if confirmed {
            self.remove_install_leftovers();
        }
        Ok(confirmed)
    }

    fn load_policy(&self) -> Result<Option<Policy>, PolicyError> {
        match &self.policy {
            PolicySource::App(name) => policy::load(name),
            PolicySource::File(path) => policy::load_from(path),
        }
    }

    fn settings_and_effective(&self) -> Result<(UserSettings, Effective)> {
        let (settings, _) = self.settings.load()?;
        let policy = self.load_policy();
        if let Err(e) = &policy {
            tracing::error!(error = %e, "update policy unusable; updates are off");
        }
        let effective = policy::effective(&policy, &settings, &self.defaults);
        Ok((settings, effective))
    }

    /// The settings in force (policy over user over app) and who decided each: what an app
    /// shows on its update settings page.
    pub fn effective(&self) -> Result<Effective> {
        Ok(self.settings_and_effective()?.1)
    }

    /// Remembers the user's channel; returns the settings now in force, whose
    /// `channel_note` says when the policy overrides the choice. Moving to a channel whose
    /// newest release is older than the running version changes nothing until that channel
    /// passes it, unless the builder allowed downgrades.
    pub fn set_channel(&self, channel: &str) -> Result<Effective> {
        self.settings.set_channel(Some(channel))?;
        self.effective()
    }

    /// Forgets the user's channel: back to the app's default.
    pub fn use_default_channel(&self) -> Result<Effective> {
        self.settings.set_channel(None)?;
        self.effective()
    }

    /// The repositories to try, in order.
    fn bases(&self, effective: &Effective) -> Vec<String> {
        match &effective.repository_mirror {
            Some(url) => vec![url.as_str().trim_end_matches('/').to_string()],
            None => self.repositories.clone(),
        }
    }

    fn tuf_client(&self, base: &str) -> Result<crate::tuf::TufClient, TufError> {
        let mut config = ClientConfig::new(format!("{base}/metadata/"), self.data_dir.join("tuf"));
        config.targets_url = Some(format!("{base}/targets/"));
        config.limits = self.limits.clone();
        config.download = self.download.clone();
        crate::tuf::TufClient::new(config, self.fetcher.clone(), Some(&self.trusted_root))
    }

    /// Looks for an update: reads the policy and the user's settings, refreshes the
    /// verified metadata, and chooses among the channel's releases for this app and
    /// platform. A repository that fails or is refused is followed by the next mirror; the
    /// error of the last one is returned.
    pub async fn check(&self) -> Result<CheckResult> {
        let (settings, effective) = self.settings_and_effective()?;
        if let Some(reason) = effective.disabled.clone() {
            return Ok(CheckResult::Disabled { reason });
        }
        if let Some(note) = &effective.channel_note {
            tracing::info!(%note, channel = %effective.channel, "channel set by policy");
        }
        let bases = self.bases(&effective);
        let mut last = None;
        for base in &bases {
            match self.check_at(base, &settings, &effective).await {
                Ok(result) => {
                    self.prune_downloads(match &result {
                        CheckResult::Available(update) => Some(update),
                        _ => None,
                    });
                    return Ok(result);
                }
                Err(CheckFailure::Repository(source)) => {
                    tracing::warn!(repository = %base, error = %source, "update check failed");
                    last = Some(UpdateError::Repository {
                        url: base.clone(),
                        source,
                    });
                }
                Err(CheckFailure::Other(e)) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| UpdateError::Config("no repository URL".into())))
    }

    async fn check_at(
        &self,
        base: &str,
        settings: &UserSettings,
        effective: &Effective,
    ) -> Result<CheckResult, CheckFailure> {
        let channel = effective.channel.as_str();
        let mut tuf = self.tuf_client(base)?;
        tuf.refresh().await?;
        let prefix = format!("{channel}/{}/", self.app);
        // The channel's role, verified through the top-level targets: only the paths its
        // delegation grants it.
        let authorized = match tuf.delegated_targets(channel).await {
            Ok(authorized) => authorized,
            Err(TufError::NotDelegated { delegated, .. }) => {
                return Err(CheckFailure::Other(UpdateError::UnknownChannel {
                    channel: channel.to_string(),
                    available: delegated,
                }))
            }
            Err(e) => return Err(CheckFailure::Repository(e)),
        };
        let rolled_back = rolled_back_versions(settings);
        let mut excluded = Vec::new();
        let candidates: Vec<(String, TargetFile)> = authorized
            .iter()
            .filter(|(path, _)| path.starts_with(&prefix))
            .map(|(path, target)| (path.to_string(), target.clone()))
            .filter(|(path, _)| match path_version(path) {
                Some(v) if rolled_back.contains(&v) => {
                    excluded.push(v);
                    false
                }
                _ => true,
            })
            .collect();
        let mut input = SelectionInput::new(
            self.app.clone(),
            self.current.clone(),
            self.platform,
            channel,
            settings.install_id.bucket(&self.current),
        );
        input.pin = effective.pinned_version.clone();
        input.allow_rollback = effective.allow_rollback;
        input.allow_downgrade = self.allow_downgrade;
        let selection = release::select(candidates.iter().map(|(p, t)| (p, t)), &input);
        for skipped in &selection.skipped {
            tracing::warn!(path = %skipped.path, error = %skipped.error, "malformed release ignored");
        }

        let floor = selection
            .release()
            .map_or(&self.current, |r| &r.version)
            .clone();
        // Releases above the outcome: those a rule held back (an older release kept out
        // only because it is older is not an update), and those rolled back here before.
        let mut held: Vec<Held> = selection
            .held_back
            .iter()
            .filter(|h| !h.reasons.contains(&HoldReason::Downgrade))
            .map(|h| Held {
                version: h.release.version.clone(),
                reasons: h.reasons.iter().cloned().map(Hold::Rule).collect(),
            })
            .collect();
        excluded.sort();
        excluded.dedup();
        for version in excluded {
            if version.cmp_precedence(&floor).is_gt() {
                held.push(Held {
                    version,
                    reasons: vec![Hold::RolledBack],
                });
            }
        }
        held.sort_by(|a, b| b.version.cmp(&a.version));

        let Some(chosen) = selection.chosen else {
            return Ok(if held.is_empty() {
                CheckResult::UpToDate {
                    channel: channel.to_string(),
                }
            } else {
                CheckResult::HeldBack {
                    channel: channel.to_string(),
                    held,
                }
            });
        };
        // The same path looked up through the whole delegation graph, in the spec's search
        // order: a role searched before the channel's has the last word on it.
        let path = chosen.release.path.clone();
        let release = match tuf.get_target_info(&path).await? {
            Some(info) if info == chosen.release.target => chosen.release,
            Some(info) => {
                tracing::warn!(%path, "target info differs from the channel role's; using the lookup's");
                Release::parse(&path, &info).map_err(|source| {
                    CheckFailure::Other(UpdateError::Release {
                        path: path.clone(),
                        source,
                    })
                })?
            }
            None => return Err(CheckFailure::Repository(TufError::TargetNotFound(path))),
        };
        Ok(CheckResult::Available(Update {
            version: release.version.clone(),
            current_version: self.current.clone(),
            notes: release.notes.clone(),
            date: release.published,
            size: release.length(),
            channel: channel.to_string(),
            critical: release.critical,
            direction: chosen.direction,
            target_path: release.path.clone(),
            file_name: release.file.clone(),
            held_back: held,
            target: release.target,
            repository: base.to_string(),
        }))
    }

    fn downloads_dir(&self) -> PathBuf {
        self.data_dir.join("downloads")
    }

    /// Where the verified artifact of `update` is kept.
    pub fn download_path(&self, update: &Update) -> PathBuf {
        crate::tuf::TufClient::local_target_path(&self.downloads_dir(), &update.target_path)
    }

    /// Downloads the artifact of `update` into the data dir, verified against the signed
    /// length and hashes while it streams; an interrupted download (a cut connection, or a
    /// process that was killed) resumes where it stopped. A file already downloaded is
    /// re-verified and reused. Mirrors are tried in order when one fails. Returns the path
    /// of the verified file.
    pub async fn download<F>(&self, update: &Update, mut progress: F) -> Result<PathBuf>
    where
        F: FnMut(Progress) + Send,
    {
        let _lock = self.installer.lock()?;
        let dest = self.download_path(update);
        self.remove_other_downloads(Some(&dest));
        let cached = verify_local(&dest, update)?;
        if cached {
            progress(Progress::Started {
                content_length: update.size,
                resumed_from: update.size,
            });
            progress(Progress::Verifying);
            progress(Progress::Finished);
            return Ok(dest);
        }
        let mut bases = vec![update.repository.clone()];
        bases.extend(
            self.repositories
                .iter()
                .filter(|b| **b != update.repository)
                .cloned(),
        );
        let mut last = None;
        for base in bases {
            let result = match self.tuf_client(&base) {
                Ok(tuf) => {
                    tuf.download_target_with_progress(
                        &update.target_path,
                        &update.target,
                        &dest,
                        &mut progress,
                    )
                    .await
                }
                Err(e) => Err(e),
            };
            match result {
                Ok(path) => return Ok(path),
                Err(source) => {
                    let source = if range_not_satisfiable(&source) {
                        // Resuming past the end of the server's file: the file is shorter
                        // than its signed length, and what we have is of no use.
                        let part = crate::tuf::download::part_path(&dest);
                        if let Err(e) = remove_any(&part) {
                            tracing::warn!(path = %part.display(), error = %e, "cannot remove");
                        }
                        TufError::LengthOrHash {
                            rule: crate::tuf::error::Rule::TargetLengthAndHashes,
                            what: format!("target {}", update.target_path),
                            detail: "the server has fewer bytes than the signed length \
                                     (HTTP 416 when resuming)"
                                .into(),
                        }
                    } else {
                        source
                    };
                    tracing::warn!(repository = %base, error = %source, "download failed");
                    last = Some(UpdateError::Repository { url: base, source });
                }
            }
        }
        Err(last.unwrap_or_else(|| UpdateError::Config("no repository URL".into())))
    }

    /// After a check: a download of anything but the update found (an artifact an
    /// interrupted install left, an older partial download) is of no more use.
    fn prune_downloads(&self, keep: Option<&Update>) {
        let Ok(_lock) = self.installer.lock() else {
            return; // another process is updating; it keeps its own download
        };
        let keep = keep.map(|u| self.download_path(u));
        self.remove_other_downloads(keep.as_deref());
    }

    /// Deletes everything in the downloads directory but `keep` and its partial file.
    fn remove_other_downloads(&self, keep: Option<&Path>) {
        let keep_part = keep.map(crate::tuf::download::part_path);
        let Ok(entries) = std::fs::read_dir(self.downloads_dir()) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if Some(path.as_path()) != keep && Some(&path) != keep_part.as_ref() {
                if let Err(e) = remove_any(&path) {
                    tracing::warn!(path = %path.display(), error = %e, "cannot remove an old download");
                }
            }
        }
    }

    /// Installs the downloaded `update`: re-verifies the file, stages it, keeps the current
    /// version as the backup and swaps the new one in, each step in the journal. On return
    /// the new version is in place and waits for its own [`confirm`](Self::confirm) after
    /// a [`restart`](Self::restart). Fails with `Busy` when another process is updating.
    pub fn install(&self, update: &Update) -> Result<()> {
        let lock = self.installer.lock()?;
        let artifact = self.download_path(update);
        if !verify_local(&artifact, update)? {
            return Err(UpdateError::NotDownloaded {
                version: update.version.clone(),
            });
        }
        self.installer.stage(
            &lock,
            &artifact,
            &update.file_name,
            &self.current.to_string(),
            &update.version.to_string(),
        )?;
        self.installer.install(&lock)?;
        tracing::info!(from = %self.current, to = %update.version, "update installed; restart to run it");
        if let Err(e) = std::fs::remove_file(&artifact) {
            tracing::debug!(path = %artifact.display(), error = %e, "download not removed");
        }
        Ok(())
    }

    /// The program to start for a restart: the installed executable, or the executable
    /// this process started from inside a bundle.
    fn restart_program(&self) -> Result<PathBuf> {
        match self.installer.target() {
            InstallTarget::Executable(path) => Ok(path.clone()),
            InstallTarget::Bundle(_) => self.exe_at_start.clone().ok_or_else(|| {
                UpdateError::Config("the path of the running executable is unknown".into())
            }),
        }
    }

    /// Replaces this process with the installed version, with the same arguments. Returns
    /// only on failure. (On Unix the process is replaced with `exec`; elsewhere the new
    /// version is started and this process exits.)
    pub fn restart(&self) -> Result<Infallible> {
        let program = self.restart_program()?;
        let args: Vec<OsString> = std::env::args_os().skip(1).collect();
        use std::io::Write;
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        let mut command = std::process::Command::new(&program);
        command.args(args);
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            let source = command.exec();
            Err(UpdateError::Restart {
                path: program,
                source,
            })
        }
        #[cfg(not(unix))]
        {
            match command.spawn() {
                Ok(_) => std::process::exit(0),
                Err(source) => Err(UpdateError::Restart {
                    path: program,
                    source,
                }),
            }
        }
    }

    /// The rollback of an earlier start that the app has not reported yet, once: the notice
    /// is removed from the settings as it is read.
    pub fn take_rollback_notice(&self) -> Result<Option<RollbackNotice>> {
        let (mut settings, _) = self.settings.load()?;
        let Some(value) = settings.extra.remove(ROLLBACK_NOTICE_KEY) else {
            return Ok(None);
        };
        self.settings.save(&settings)?;
        let field = |name: &str| {
            value
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Ok(Some(RollbackNotice {
            failed_version: field("failed_version"),
            restored_version: field("restored_version"),
            reason: field("reason"),
        }))
    }

    /// Adds the failed version to the versions this install rolled back, and keeps the
    /// notice for [`take_rollback_notice`](Self::take_rollback_notice) (replacing one not
    /// yet taken only if `replace`).
    fn remember_rolled_back(&self, notice: &RollbackNotice, replace: bool) -> Result<()> {
        let version = notice.failed_version.as_str();
        let (mut settings, _) = self.settings.load()?;
        if replace || !settings.extra.contains_key(ROLLBACK_NOTICE_KEY) {
            settings.extra.insert(
                ROLLBACK_NOTICE_KEY.to_string(),
                serde_json::json!({
                    "failed_version": notice.failed_version,
                    "restored_version": notice.restored_version,
                    "reason": notice.reason,
                }),
            );
        }
        let mut list: Vec<Value> = match settings.extra.get(ROLLED_BACK_KEY) {
            Some(Value::Array(items)) => items.clone(),
            _ => Vec::new(),
        };
        let entry = Value::String(version.to_string());
        if !list.contains(&entry) {
            list.push(entry);
        }
        let excess = list.len().saturating_sub(MAX_ROLLED_BACK);
        list.drain(..excess);
        settings
            .extra
            .insert(ROLLED_BACK_KEY.to_string(), Value::Array(list));
        self.settings.save(&settings)?;
        Ok(())
    }
}

/// Why one repository could not answer a check: worth trying the next mirror, or not.
enum CheckFailure {
    Repository(TufError),
    Other(UpdateError),
}

impl From<TufError> for CheckFailure {
    fn from(e: TufError) -> Self {
        CheckFailure::Repository(e)
    }
}

fn range_not_satisfiable(e: &TufError) -> bool {
    matches!(e, TufError::Fetch(FetchError::Status { status: 416, .. }))
}

/// Whether the file at `path` has the signed length and hashes of `update`'s artifact.
fn verify_local(path: &Path, update: &Update) -> Result<bool> {
    file_matches(path, &update.target).map_err(|e| match e {
        TufError::Io { source, .. } => UpdateError::Io {
            path: path.to_path_buf(),
            source,
        },
        // An unusable hash algorithm in the signed metadata, say.
        other => UpdateError::Repository {
            url: update.repository.clone(),
            source: other,
        },
    })
}

/// Removes a file or a directory tree (not following a symbolic link).
fn remove_any(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// The version segment of a release path, if it is semver.
fn path_version(path: &str) -> Option<Version> {
    path.split('/').nth(2).and_then(|v| Version::parse(v).ok())
}

fn rolled_back_versions(settings: &UserSettings) -> Vec<Version> {
    match settings.extra.get(ROLLED_BACK_KEY) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().and_then(|s| Version::parse(s).ok()))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    fn assert_send<T: Send>(_: T) {}

    /// An app runs checks and downloads on a multi-thread runtime (Tauri does): the
    /// updater and its futures must move between threads.
    #[allow(dead_code)]
    fn futures_are_send(updater: &AppUpdater, update: &Update) {
        assert_send_sync(updater);
        assert_send(updater.check());
        assert_send(updater.download(update, |_| {}));
    }

    #[test]
    fn repository_bases_lose_trailing_slashes_and_must_be_http() {
        assert_eq!(
            repository_base("https://u.example.com/app/", false).ok(),
            Some("https://u.example.com/app".to_string())
        );
        assert!(repository_base("file:///srv/repo", false).is_err());
        assert!(repository_base("file:///srv/repo", true).is_ok());
        assert!(repository_base("/srv/repo", true).is_err());
    }

    #[test]
    fn release_paths_give_their_version() {
        assert_eq!(
            path_version("stable/app/1.2.3-beta.1/linux-x86_64/app"),
            Version::parse("1.2.3-beta.1").ok()
        );
        assert_eq!(path_version("stable/app/latest/linux-x86_64/app"), None);
        assert_eq!(path_version("stable"), None);
    }

    #[test]
    fn a_held_release_says_every_reason() {
        let held = Held {
            version: Version::new(2, 0, 0),
            reasons: vec![Hold::Rule(HoldReason::Downgrade), Hold::RolledBack],
        };
        assert_eq!(
            held.to_string(),
            "2.0.0: older than the running version; downgrades are not allowed; \
             rolled back on this install before (it did not confirm)"
        );
    }

    #[test]
    fn rolled_back_versions_are_read_leniently() {
        let mut settings = UserSettings::new(
            crate::settings::InstallId::parse(&"0".repeat(32)).unwrap_or_else(|| unreachable!()),
        );
        assert!(rolled_back_versions(&settings).is_empty());
        settings.extra.insert(
            ROLLED_BACK_KEY.into(),
            serde_json::json!(["1.1.0", "not a version", 3]),
        );
        assert_eq!(rolled_back_versions(&settings), [Version::new(1, 1, 0)]);
    }

    #[test]
    fn only_a_mirror_is_not_a_repository() {
        let err = AppUpdater::builder("app", "1.0.0")
            .mirror("https://mirror.example.com/")
            .trusted_root(b"{}".to_vec())
            .data_dir("/nonexistent")
            .install_target(InstallTarget::Executable("/nonexistent/app".into()))
            .build()
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("invalid updater configuration: no repository URL (mirrors need one)")
        );
    }
}
