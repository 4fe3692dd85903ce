//! [`AppUpdater`]: the engine's configuration, and the settings in force (policy over user
//! over app). The jobs are in the sibling modules, each an `impl AppUpdater` block.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use semver::Version;

use super::types::Result;
use crate::install::Installer;
use crate::policy::{self, AppDefaults, Effective, Policy, PolicyError};
use crate::release::Platform;
use crate::settings::{SettingsStore, UserSettings};
use crate::tuf::download::DownloadOptions;
use crate::tuf::fetch::{Fetcher, HttpConfig};
use crate::tuf::Limits;

/// Where the administrator's policy comes from.
#[derive(Debug, Clone)]
pub(super) enum PolicySource {
    /// [`policy::load`] for this app name: the system path, the file checked to be the
    /// administrator's.
    App(String),
    /// [`policy::load_with_env_override`]: the same, unless `<APP>_UPDATE_POLICY` names a
    /// file (the app opted in).
    AppOrEnv(String),
    /// This file only.
    File(PathBuf),
}

/// The update engine of one app. `Send + Sync`: share it (in an `Arc`) between the app's
/// tasks; every method does its own I/O and holds no state between calls.
pub struct AppUpdater {
    pub(super) app: String,
    pub(super) current: Version,
    /// Base URLs, the repository first, then its mirrors.
    pub(super) repositories: Vec<String>,
    pub(super) trusted_root: Vec<u8>,
    pub(super) data_dir: PathBuf,
    pub(super) defaults: AppDefaults,
    pub(super) platform: Platform,
    pub(super) fetcher: Arc<dyn Fetcher>,
    /// The HTTP settings `fetcher` was built from; `None` for the app's own transport.
    pub(super) http: Option<HttpConfig>,
    pub(super) limits: Limits,
    pub(super) download: DownloadOptions,
    pub(super) installer: Installer,
    pub(super) policy: PolicySource,
    pub(super) allow_downgrade: bool,
    pub(super) settings: SettingsStore,
    /// The executable path this process started from (what a bundle restart runs).
    pub(super) exe_at_start: Option<PathBuf>,
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
    /// The app's name, as in target paths.
    pub fn app(&self) -> &str {
        &self.app
    }

    /// The running version.
    pub fn current_version(&self) -> &Version {
        &self.current
    }

    /// The platform whose releases are offered.
    pub fn platform(&self) -> Platform {
        self.platform
    }

    /// The directory of the updater's state: settings, trusted metadata, downloads, journal.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The installer of this app, for its install target and journal.
    pub fn installer(&self) -> &Installer {
        &self.installer
    }

    fn load_policy(&self) -> Result<Option<Policy>, PolicyError> {
        match &self.policy {
            PolicySource::App(name) => policy::load(name),
            PolicySource::AppOrEnv(name) => policy::load_with_env_override(name),
            PolicySource::File(path) => policy::load_from(path),
        }
    }

    pub(super) fn settings_and_effective(&self) -> Result<(UserSettings, Effective)> {
        let (settings, _) = self.settings.load()?;
        let policy = self.load_policy();
        let effective = policy::effective(&policy, &settings, &self.defaults);
        if let Some(e) = &effective.ignored_policy {
            tracing::warn!(error = %e, "update policy ignored");
        } else if let Err(e) = &policy {
            tracing::error!(error = %e, "update policy unusable; updates are off");
        }
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Update;

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
}
