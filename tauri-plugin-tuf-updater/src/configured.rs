//! The API shape of tauri-plugin-updater: [`UpdaterBuilder`] (from
//! [`UpdaterExt::updater_builder`](crate::UpdaterExt::updater_builder)) sets HTTP headers,
//! timeout, proxy, target platform and downgrades for one check, and the
//! [`FoundUpdate`] that check returns downloads and installs with the same settings.
//! A [`FoundUpdate`] is also what the webview's `check` keeps in its resource table: the
//! page names it by resource id, and `close()` drops it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tauri::{AppHandle, Manager, Runtime};
use tuf_updater_core::{AppUpdater, CheckResult, Platform, RequestOverrides, Update};

use crate::check_options::{valid_header, valid_platform, valid_proxy, valid_timeout, MAX_HEADERS};
use crate::error::{Error, Result};
use crate::models::{CheckStatus, DownloadEvent, UpdateMetadata};
use crate::updater::Updater;

/// Settings for one check and the download and install of what it finds; see
/// [`UpdaterExt::updater_builder`](crate::UpdaterExt::updater_builder). What is not set
/// here is the plugin's configuration.
pub struct UpdaterBuilder<R: Runtime> {
    app: AppHandle<R>,
    overrides: RequestOverrides,
    timeout: Option<Duration>,
    proxy: Option<String>,
    target: Option<String>,
}

impl<R: Runtime> std::fmt::Debug for UpdaterBuilder<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // RequestOverrides' Debug shows header names only.
        f.debug_struct("UpdaterBuilder")
            .field("overrides", &self.overrides)
            .field("timeout", &self.timeout)
            .field("proxy", &self.proxy.as_ref().map(|_| "set"))
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl<R: Runtime> UpdaterBuilder<R> {
    pub(crate) fn new(app: AppHandle<R>) -> Self {
        Self::with_overrides(app, RequestOverrides::default())
    }

    /// A builder starting from `overrides`, already validated (the webview's options).
    pub(crate) fn with_overrides(app: AppHandle<R>, overrides: RequestOverrides) -> Self {
        UpdaterBuilder {
            app,
            overrides,
            timeout: None,
            proxy: None,
            target: None,
        }
    }

    /// Adds a header to every request (after the configured ones). Fails on a name or
    /// value HTTP does not allow (the error never shows the value).
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Result<Self> {
        if self.overrides.headers.len() >= MAX_HEADERS {
            return Err(Error::InvalidOption(format!(
                "more than {MAX_HEADERS} headers"
            )));
        }
        let header = valid_header(name.as_ref(), value.as_ref())?;
        self.overrides.headers.push(header);
        Ok(self)
    }

    /// [`header`](Self::header) for each pair.
    pub fn headers<K: AsRef<str>, V: AsRef<str>>(
        mut self,
        headers: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self> {
        for (name, value) in headers {
            self = self.header(name, value)?;
        }
        Ok(self)
    }

    /// Time to connect, and the longest wait for the next byte (not zero, at most a day:
    /// [`build`](Self::build) checks).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// An `http`, `https` or `socks5` proxy for every request (a `&str`, `String` or
    /// `Url`; [`build`](Self::build) checks it).
    pub fn proxy(mut self, url: impl AsRef<str>) -> Self {
        self.proxy = Some(url.as_ref().to_string());
        self
    }

    /// The platform whose releases to look for, e.g. `linux-x86_64` (default: this
    /// machine's; [`build`](Self::build) checks the name).
    pub fn target(mut self, platform: impl Into<String>) -> Self {
        self.target = Some(platform.into());
        self
    }

    /// The platform, as tuf-updater-core's type.
    pub fn platform(mut self, platform: Platform) -> Self {
        self.target = Some(platform.as_str().to_string());
        self
    }

    /// Whether a channel that does not carry the running version may move the app down
    /// to its newest release (default: the plugin's setting, off).
    pub fn allow_downgrades(mut self, allow: bool) -> Self {
        self.overrides.allow_downgrade = Some(allow);
        self
    }

    /// The updater with these settings. Fails on a zero timeout, a proxy that is not a
    /// URL, an unknown platform, when the plugin is not set up, or when the HTTP client
    /// refuses the settings.
    pub fn build(mut self) -> Result<ConfiguredUpdater<R>> {
        if let Some(timeout) = self.timeout {
            self.overrides.timeout = Some(valid_timeout(timeout)?);
        }
        if let Some(proxy) = &self.proxy {
            self.overrides.proxy = Some(valid_proxy(proxy)?);
        }
        if let Some(target) = &self.target {
            self.overrides.platform = Some(valid_platform(target)?);
        }
        let engine = self
            .app
            .state::<Updater<R>>()
            .engine_with(&self.overrides)?;
        Ok(ConfiguredUpdater {
            app: self.app,
            engine,
        })
    }
}

/// Checks with the settings of an [`UpdaterBuilder`].
pub struct ConfiguredUpdater<R: Runtime> {
    app: AppHandle<R>,
    engine: Arc<AppUpdater>,
}

impl<R: Runtime> std::fmt::Debug for ConfiguredUpdater<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfiguredUpdater")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

impl<R: Runtime> ConfiguredUpdater<R> {
    /// Looks for an update; `None` when there is none ([`check_status`](Self::check_status)
    /// says why).
    pub async fn check(&self) -> Result<Option<FoundUpdate<R>>> {
        Ok(self.check_status().await?.1)
    }

    /// Looks for an update: the full answer, and the update when there is one.
    pub async fn check_status(&self) -> Result<(CheckStatus, Option<FoundUpdate<R>>)> {
        let result = self.engine.check().await?;
        let found = FoundUpdate::of(&self.app, &self.engine, &result);
        Ok((CheckStatus::from(&result), found))
    }
}

/// An update a check found, with the settings of that check: its download and install use
/// them too. Through the plugin's [`Updater`], so one download or install runs at a time.
pub struct FoundUpdate<R: Runtime> {
    app: AppHandle<R>,
    engine: Arc<AppUpdater>,
    update: Update,
    metadata: UpdateMetadata,
}

impl<R: Runtime> std::fmt::Debug for FoundUpdate<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FoundUpdate")
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

impl<R: Runtime> tauri::Resource for FoundUpdate<R> {}

impl<R: Runtime> FoundUpdate<R> {
    pub(crate) fn new(app: AppHandle<R>, engine: Arc<AppUpdater>, update: Update) -> Self {
        let metadata = UpdateMetadata::from(&update);
        FoundUpdate {
            app,
            engine,
            update,
            metadata,
        }
    }

    /// The update `result` offers, found by `engine`.
    pub(crate) fn of(
        app: &AppHandle<R>,
        engine: &Arc<AppUpdater>,
        result: &CheckResult,
    ) -> Option<Self> {
        match result {
            CheckResult::Available(update) => Some(FoundUpdate::new(
                app.clone(),
                engine.clone(),
                update.clone(),
            )),
            _ => None,
        }
    }

    /// What the webview and the `update-available` event see of it.
    pub fn metadata(&self) -> &UpdateMetadata {
        &self.metadata
    }

    /// The version offered.
    pub fn version(&self) -> &semver::Version {
        &self.update.version
    }

    /// The release's signed custom data (tauri-plugin-updater's `raw_json`).
    pub fn raw_json(&self) -> &serde_json::Value {
        &self.metadata.raw_json
    }

    /// tuf-updater-core's update.
    pub fn update(&self) -> &Update {
        &self.update
    }

    /// Downloads and verifies it (resuming an interrupted download). Returns the file.
    pub async fn download(&self, on_event: impl FnMut(DownloadEvent) + Send) -> Result<PathBuf> {
        self.updater()
            .download_with(&self.engine, &self.update, on_event)
            .await
    }

    /// Installs it once downloaded; it runs after [`Updater::restart`].
    pub async fn install(&self) -> Result<()> {
        self.updater()
            .install_with(&self.engine, self.update.clone())
            .await
    }

    /// Downloads, verifies and installs it.
    pub async fn download_and_install(
        &self,
        on_event: impl FnMut(DownloadEvent) + Send,
    ) -> Result<()> {
        self.updater()
            .download_and_install_with(&self.engine, self.update.clone(), on_event)
            .await
    }

    fn updater(&self) -> tauri::State<'_, Updater<R>> {
        self.app.state::<Updater<R>>()
    }
}

/// The update a page's check left under `rid`; [`Error::UpdateClosed`] once it is closed.
pub(crate) fn from_table<R: Runtime>(
    webview: &tauri::Webview<R>,
    rid: tauri::ResourceId,
) -> Result<Arc<FoundUpdate<R>>> {
    webview
        .resources_table()
        .get::<FoundUpdate<R>>(rid)
        .map_err(|_| Error::UpdateClosed)
}
