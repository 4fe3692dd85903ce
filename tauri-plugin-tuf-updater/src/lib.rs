//! `tuf-updater`: TUF-verified updates for Tauri v2 apps, with channels, the
//! administrator's policy, a progress stream, an optional native prompt and automatic
//! rollback. See `docs/tauri-plugin.md` for the app developer's guide.
//!
//! ```no_run
//! # const ROOT_JSON: &[u8] = b"{}";
//! // ROOT_JSON: the repository's 1.root.json, `include_bytes!` in a real app.
//! tauri::Builder::default()
//!     .plugin(tauri_plugin_tuf_updater::Builder::new().trusted_root(ROOT_JSON).build())
//! # ;
//! ```
//!
//! What the plugin does by itself:
//! - at setup, finishes or undoes what an interrupted install left, counts a launch of a
//!   version that has not confirmed yet, and rolls it back (and restarts into the previous
//!   version) after too many;
//! - confirms the launch once the app's first window has loaded its page (or the window
//!   the app names, or when the app calls [`Updater::confirm`]: [`ConfirmLaunch`]), so a
//!   version that never gets that far is rolled back with no code in the app;
//! - checks in the background when configured, and emits `tuf-updater://…` events, or
//!   shows the native prompt.
//!
//! Everything else is the app's call, from Rust ([`UpdaterExt::updater`]) or from the
//! webview (the commands in [`commands`], the TypeScript API in `guest-js/`).

#![deny(missing_docs)]

mod check_options;
mod commands;
mod config;
mod configured;
mod confirm;
mod error;
mod handover;
mod models;
mod progress;
mod prompt;
mod setup;
mod updater;

use std::time::Duration;

use tauri::plugin::TauriPlugin;
use tauri::{Manager, Runtime};

pub use config::Config;
pub use configured::{ConfiguredUpdater, FoundUpdate, UpdaterBuilder};
pub use confirm::ConfirmLaunch;
pub use error::{Error, ErrorKind, Result};
pub use models::{
    ChannelInfo, CheckStatus, DownloadEvent, HeldBackInfo, PolicyStatus, RollbackInfo,
    UpdateMetadata, UpdaterStatus,
};
pub use tuf_updater_core;
pub use updater::{events, Updater};

/// The plugin's name: commands are `plugin:tuf-updater|<command>`, permissions
/// `tuf-updater:<permission>`, and the configuration is `plugins."tuf-updater"`.
pub const PLUGIN_NAME: &str = "tuf-updater";

/// Reaches the plugin's [`Updater`] from an `App`, `AppHandle`, `Window` or `Webview`.
pub trait UpdaterExt<R: Runtime> {
    /// The updater. Panics only if the plugin was not registered, like `app.state()`.
    fn updater(&self) -> tauri::State<'_, Updater<R>>;

    /// A check with its own HTTP headers, timeout, proxy, target platform or downgrade
    /// rule, as tauri-plugin-updater's `updater_builder()`; the update it finds downloads
    /// and installs with the same settings.
    ///
    /// ```no_run
    /// use tauri_plugin_tuf_updater::UpdaterExt;
    ///
    /// async fn update(app: tauri::AppHandle) -> tauri_plugin_tuf_updater::Result<()> {
    ///     let updater = app
    ///         .updater_builder()
    ///         .header("Authorization", "Bearer my-token")?
    ///         .timeout(std::time::Duration::from_secs(30))
    ///         .build()?;
    ///     if let Some(update) = updater.check().await? {
    ///         println!("{} (notes: {:?})", update.version(), update.raw_json().get("notes"));
    ///         update.download_and_install(|event| println!("{event:?}")).await?;
    ///         app.updater().restart();
    ///     }
    ///     Ok(())
    /// }
    /// ```
    fn updater_builder(&self) -> UpdaterBuilder<R>;
}

impl<R: Runtime, T: Manager<R>> UpdaterExt<R> for T {
    fn updater(&self) -> tauri::State<'_, Updater<R>> {
        self.state::<Updater<R>>()
    }

    fn updater_builder(&self) -> UpdaterBuilder<R> {
        UpdaterBuilder::new(self.app_handle().clone())
    }
}

/// Builds the plugin. Every setting here overrides the same key of `tauri.conf.json`.
#[derive(Debug, Default, Clone)]
pub struct Builder {
    overrides: Config,
    trusted_root: Option<Vec<u8>>,
    engine: setup::EngineOptions,
}

impl Builder {
    /// A builder that takes everything from `tauri.conf.json`.
    pub fn new() -> Self {
        Self::default()
    }

    /// The repository's base URL (metadata under `metadata/`, artifacts under `targets/`).
    pub fn repository(mut self, url: impl Into<String>) -> Self {
        self.overrides.repository = Some(url.into());
        self
    }

    /// A further base URL, tried when the ones before it fail.
    pub fn mirror(mut self, url: impl Into<String>) -> Self {
        self.overrides.mirrors.push(url.into());
        self
    }

    /// The repository's `1.root.json`, embedded in the app: `include_bytes!`.
    pub fn trusted_root(mut self, root: impl Into<Vec<u8>>) -> Self {
        self.trusted_root = Some(root.into());
        self
    }

    /// The app's default channel.
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.overrides.channel = Some(channel.into());
        self
    }

    /// Whether to check in the background once the app has started (default off).
    pub fn check_on_start(mut self, check: bool) -> Self {
        self.overrides.check_on_start = Some(check);
        self
    }

    /// Check in the background at this interval (whole seconds; the policy's interval wins).
    pub fn check_interval(mut self, interval: Duration) -> Self {
        self.overrides.check_interval_secs = Some(interval.as_secs());
        self
    }

    /// The built-in native prompt for updates found by background checks.
    pub fn prompt(mut self, prompt: bool) -> Self {
        self.overrides.prompt = Some(prompt);
        self
    }

    /// The built-in prompt's language: `en`, `de` or `fr` (a locale such as `de-DE` works
    /// too). Default: the OS's language if the prompt speaks it, else English.
    pub fn prompt_language(mut self, language: impl Into<String>) -> Self {
        self.overrides.prompt_language = Some(language.into());
        self
    }

    /// How long the built-in prompt waits after the user chose "Later" (whole seconds;
    /// default a day). Kept across restarts.
    pub fn remind_later(mut self, delay: Duration) -> Self {
        self.overrides.remind_later_secs = Some(delay.as_secs());
        self
    }

    /// The window whose page load confirms a freshly installed version: the same as
    /// `confirm_launch(ConfirmLaunch::Window(label))`.
    pub fn confirm_window(mut self, label: impl Into<String>) -> Self {
        self.overrides.confirm_window = Some(label.into());
        self
    }

    /// How a freshly installed version confirms its launch (default
    /// [`ConfirmLaunch::FirstWindow`]). A tray-only app, or one that confirms after checks
    /// of its own, uses [`ConfirmLaunch::Manual`] and calls
    /// `app.updater().confirm()`.
    pub fn confirm_launch(mut self, mode: ConfirmLaunch) -> Self {
        self.overrides.confirm_launch = Some(mode);
        self
    }

    /// Launches an unconfirmed new version may take before it is rolled back (default 3).
    pub fn max_unconfirmed_launches(mut self, launches: u32) -> Self {
        self.overrides.max_unconfirmed_launches = Some(launches);
        self
    }

    /// The app's name in the repository and for the policy file.
    pub fn app_name(mut self, name: impl Into<String>) -> Self {
        self.overrides.app_name = Some(name.into());
        self
    }

    /// HTTP connect and read timeout (whole seconds).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.overrides.timeout_secs = Some(timeout.as_secs());
        self
    }

    /// Lets the environment variable `<APP>_UPDATE_POLICY` name the administrator's policy
    /// file. Off by default: whoever starts the app (the user the policy restricts included)
    /// could choose the policy with it. For tests and demos.
    pub fn policy_env_override(mut self, allow: bool) -> Self {
        self.engine.policy_env_override = allow;
        self
    }

    /// How a Windows installer (NSIS, MSI) that updates the app shows itself, as
    /// tauri-plugin-updater's `installMode`: `Passive` (a progress bar, no questions; the
    /// default), `BasicUi` (the installer's own pages) or `Quiet` (nothing; needs the
    /// rights the install needs already).
    pub fn install_mode(mut self, mode: tuf_updater_core::InstallMode) -> Self {
        self.engine.install_mode = Some(mode);
        self
    }

    /// Runs `hook` just before the app exits for a Windows installer (NSIS, MSI) to update
    /// it, or to roll it back: the app saves its state and closes what it must. Not called
    /// on Linux or macOS, where the update is installed while the app runs.
    pub fn on_before_exit(mut self, hook: impl Fn() + Send + Sync + 'static) -> Self {
        self.engine.before_exit = setup::BeforeExit(Some(std::sync::Arc::new(hook)));
        self
    }

    /// What a policy file the administrator does not control does: ignored, updates go on
    /// (the default; `policyStatus().ignoredPolicy` says why), or updates stop.
    pub fn untrusted_policy(mut self, choice: tuf_updater_core::policy::UntrustedPolicy) -> Self {
        self.engine.untrusted_policy = choice;
        self
    }

    /// The plugin, to pass to `tauri::Builder::plugin`.
    pub fn build<R: Runtime>(self) -> TauriPlugin<R, Option<serde_json::Value>> {
        setup::plugin(self.overrides, self.trusted_root, self.engine)
    }
}

/// The plugin with its configuration from `tauri.conf.json` only.
pub fn init<R: Runtime>() -> TauriPlugin<R, Option<serde_json::Value>> {
    Builder::new().build()
}
