//! [`AppUpdaterBuilder`]: the app's configuration, checked once in `build`.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use semver::Version;

use super::app_updater::{AppUpdater, PolicySource};
use super::types::{Result, UpdateError, DEFAULT_MAX_UNCONFIRMED_LAUNCHES};
use crate::install::{InstallMode, InstallTarget, Installer};
use crate::policy::{AppDefaults, UntrustedPolicy};
use crate::release::{valid_channel_name, Platform};
use crate::settings::SettingsStore;
use crate::tuf::download::DownloadOptions;
use crate::tuf::fetch::{Fetcher, HttpConfig, HttpFetcher};
use crate::tuf::Limits;

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
    policy_name: Option<String>,
    policy_file: Option<PathBuf>,
    policy_env_override: bool,
    allow_downgrade: bool,
    install_mode: Option<InstallMode>,
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

    /// Whether updates are on when neither the policy nor the user says (default on).
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

    /// How an app a Windows installer installed runs the installer of an update (default
    /// [`InstallMode::Passive`]); tauri-plugin-updater's `installMode`. Other targets
    /// ignore it.
    pub fn install_mode(mut self, mode: InstallMode) -> Self {
        self.install_mode = Some(mode);
        self
    }

    /// What to replace (default [`Installer::detect_target`]: this executable, the
    /// AppImage it runs from, or its macOS `.app` bundle).
    pub fn install_target(mut self, target: InstallTarget) -> Self {
        self.install_target = Some(target);
        self
    }

    /// The app name the policy file is looked up by (default: the app name), which gives
    /// the system path (`/etc/<name>/update-policy.json` and the like).
    pub fn policy_app_name(mut self, name: impl Into<String>) -> Self {
        self.policy_name = Some(name.into());
        self.policy_file = None;
        self
    }

    /// Reads the policy from this file only, whoever owns it: the app vouches for it.
    pub fn policy_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.policy_file = Some(path.into());
        self
    }

    /// Lets the environment variable `<APP>_UPDATE_POLICY` name the policy file instead of
    /// the system path. Off by default: whoever sets the app's environment (the user the
    /// policy restricts included) would choose the policy. For tests and demos.
    pub fn policy_env_override(mut self, allow: bool) -> Self {
        self.policy_env_override = allow;
        self
    }

    /// What a policy file the administrator does not control does (owned, or writable, by
    /// someone else, or in such a folder): ignored, updates go on
    /// ([`UntrustedPolicy::Ignore`], the default), or updates stop.
    pub fn untrusted_policy(mut self, choice: UntrustedPolicy) -> Self {
        self.defaults.untrusted_policy = choice;
        self
    }

    /// Whether a channel that does not carry the running version may move the app down to
    /// its newest release (leaving beta for stable). Off by default: the app stays on its
    /// version until the channel passes it.
    pub fn allow_downgrade(mut self, allow: bool) -> Self {
        self.allow_downgrade = allow;
        self
    }

    /// Checks the configuration and makes the updater. [`UpdateError::Config`] without a
    /// root, a data directory or a usable app name; also [`UpdateError::InvalidVersion`],
    /// [`UpdateError::UnknownPlatform`] and [`UpdateError::Http`].
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
        let (fetcher, http): (Arc<dyn Fetcher>, _) = match self.fetcher {
            Some(f) => (f, None),
            None => (
                Arc::new(HttpFetcher::new(&self.http).map_err(UpdateError::Http)?),
                Some(self.http),
            ),
        };
        let mut target = match self.install_target {
            Some(t) => t,
            None => Installer::detect_target()?,
        };
        if let (InstallTarget::Installer(app), Some(mode)) = (&mut target, self.install_mode) {
            app.mode = mode;
        }
        let installer = Installer::new(&data_dir, target, self.max_unconfirmed_launches)
            .with_running_version(current.to_string());
        let name = self.policy_name.unwrap_or_else(|| self.app.clone());
        let policy = match self.policy_file {
            Some(path) => PolicySource::File(path),
            None if self.policy_env_override => PolicySource::AppOrEnv(name),
            None => PolicySource::App(name),
        };
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
            http,
            limits: self.limits,
            download: self.download,
            installer,
            policy,
            allow_downgrade: self.allow_downgrade,
            exe_at_start: crate::install::early::exe_at_start(),
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
            policy_name: None,
            policy_file: None,
            policy_env_override: false,
            allow_downgrade: false,
            install_mode: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
