//! [`Updater`]: the plugin's state, one per app, reached with
//! [`UpdaterExt::updater`](crate::UpdaterExt::updater). It wraps tuf-updater-core's
//! [`AppUpdater`] and keeps what lives between calls: the update the last check found
//! (the webview only ever names its version), whether one is installed, and the rollback
//! to report.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tauri::{AppHandle, Emitter, Runtime};
use tuf_updater_core::policy::Effective;
use tuf_updater_core::{AppUpdater, CheckResult, RequestOverrides, Update};

use crate::error::{Error, Result};
use crate::models::{
    ChannelInfo, DownloadEvent, ErrorPayload, InstalledPayload, PolicyStatus, RollbackInfo,
    UpdateMetadata, UpdaterStatus,
};
use crate::progress::ProgressCounter;

/// Event names (every window receives them).
pub mod events {
    /// A background check found an update; the payload is its
    /// [`UpdateMetadata`](crate::UpdateMetadata).
    pub const UPDATE_AVAILABLE: &str = "tuf-updater://update-available";
    /// Download and install progress; the payload is a [`DownloadEvent`](crate::DownloadEvent).
    pub const DOWNLOAD_PROGRESS: &str = "tuf-updater://download-progress";
    /// An update was installed; the payload is `{ version }`.
    pub const INSTALLED: &str = "tuf-updater://installed";
    /// A start rolled the last update back; the payload is a [`RollbackInfo`](crate::RollbackInfo).
    pub const ROLLED_BACK: &str = "tuf-updater://rolled-back";
    /// A background step (check, confirm) failed; the payload is `{ kind, message }`.
    pub const ERROR: &str = "tuf-updater://error";
    /// The launch confirmation ran (the confirm window loaded, or the app called
    /// `confirm()`), in every mode; the payload is `{ version, confirmed }`: `confirmed`
    /// says whether a freshly installed version was confirmed then.
    pub const LAUNCH_CONFIRMED: &str = "tuf-updater://launch-confirmed";
}

/// A poisoned lock only means a panic elsewhere; the data (an `Option`) is still whole.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The plugin's state. Every method is safe to call from any thread or task.
pub struct Updater<R: Runtime> {
    app: AppHandle<R>,
    app_name: String,
    current_version: String,
    engine: std::result::Result<Arc<AppUpdater>, String>,
    /// The update the last check found.
    found: Mutex<Option<Update>>,
    /// The version this process installed (runs after a restart).
    installed: Mutex<Option<String>>,
    last_rollback: Mutex<Option<RollbackInfo>>,
    pending_confirmation: AtomicBool,
    /// Held for the length of a download or install: one at a time per app.
    operation: tokio::sync::Mutex<()>,
    /// The app's hook before a Windows installer takes over (`Builder::on_before_exit`).
    before_exit: crate::setup::BeforeExit,
}

impl<R: Runtime> Updater<R> {
    pub(crate) fn new(
        app: AppHandle<R>,
        app_name: String,
        current_version: String,
        engine: std::result::Result<Arc<AppUpdater>, String>,
        before_exit: crate::setup::BeforeExit,
    ) -> Self {
        Updater {
            before_exit,
            app,
            app_name,
            current_version,
            engine,
            found: Mutex::new(None),
            installed: Mutex::new(None),
            last_rollback: Mutex::new(None),
            pending_confirmation: AtomicBool::new(false),
            operation: tokio::sync::Mutex::new(()),
        }
    }

    /// tuf-updater-core's engine, for what the plugin does not wrap.
    pub fn engine(&self) -> Result<&Arc<AppUpdater>> {
        self.engine
            .as_ref()
            .map_err(|e| Error::NotConfigured(e.clone()))
    }

    /// Refreshes the TUF metadata and looks for an update on the channel in force. The
    /// update found is kept for [`download`](Self::download) and [`install`](Self::install).
    pub async fn check(&self) -> Result<CheckResult> {
        let result = self.engine()?.check().await?;
        *lock(&self.found) = match &result {
            CheckResult::Available(update) => Some(update.clone()),
            _ => None,
        };
        Ok(result)
    }

    /// The engine with `overrides` applied: the app's own when there are none, else a new
    /// one on the same data dir (tuf-updater-core's `with_overrides`).
    pub(crate) fn engine_with(&self, overrides: &RequestOverrides) -> Result<Arc<AppUpdater>> {
        let engine = self.engine()?;
        if *overrides == RequestOverrides::default() {
            return Ok(engine.clone());
        }
        Ok(Arc::new(engine.with_overrides(overrides)?))
    }

    /// Refuses a download or install while updates are off (by the administrator's policy,
    /// the user or the app): the policy may have turned them off since the check, and after
    /// a check that found them off the app learns why rather than "call check() first".
    fn ensure_enabled(&self) -> Result<()> {
        match self.engine()?.effective()?.disabled {
            Some(reason) => Err(Error::Disabled(reason)),
            None => Ok(()),
        }
    }

    /// The update the last check found, if `version` names it.
    fn found(&self, version: &str) -> Result<Update> {
        match &*lock(&self.found) {
            Some(update) if update.version.to_string() == version => Ok(update.clone()),
            other => Err(Error::NotChecked {
                requested: version.to_string(),
                found: other
                    .as_ref()
                    .map_or_else(|| "none".to_string(), |u| u.version.to_string()),
            }),
        }
    }

    /// The update the last check found.
    pub fn found_update(&self) -> Option<UpdateMetadata> {
        lock(&self.found).as_ref().map(UpdateMetadata::from)
    }

    /// Sends `event` to `on_event` and as `tuf-updater://download-progress`.
    fn progress(&self, on_event: &mut (impl FnMut(DownloadEvent) + Send), event: DownloadEvent) {
        if let Err(e) = self.app.emit(events::DOWNLOAD_PROGRESS, &event) {
            tracing::debug!(error = %e, "cannot emit the download progress");
        }
        on_event(event);
    }

    /// Downloads the update `version` found by the last check, verified while it streams
    /// (resumes an interrupted download). Returns the verified file.
    pub async fn download(
        &self,
        version: &str,
        mut on_event: impl FnMut(DownloadEvent) + Send,
    ) -> Result<PathBuf> {
        // Disabled first: after a check that found updates off, say why, not "check first".
        self.ensure_enabled()?;
        let update = self.found(version)?;
        let _op = self.hold()?;
        self.download_locked(self.engine()?, &update, &mut on_event)
            .await
    }

    /// Downloads `update` with `engine` (the one whose check found it).
    pub(crate) async fn download_with(
        &self,
        engine: &Arc<AppUpdater>,
        update: &Update,
        mut on_event: impl FnMut(DownloadEvent) + Send,
    ) -> Result<PathBuf> {
        self.ensure_enabled()?;
        let _op = self.hold()?;
        self.download_locked(engine, update, &mut on_event).await
    }

    /// The hold on the one download or install that may run at a time.
    fn hold(&self) -> Result<tokio::sync::MutexGuard<'_, ()>> {
        self.operation.try_lock().map_err(|_| Error::Busy)
    }

    async fn download_locked(
        &self,
        engine: &AppUpdater,
        update: &Update,
        on_event: &mut (impl FnMut(DownloadEvent) + Send),
    ) -> Result<PathBuf> {
        let mut counter = ProgressCounter::default();
        let path = engine
            .download(update, |p| {
                for event in counter.events(p) {
                    self.progress(on_event, event);
                }
            })
            .await?;
        Ok(path)
    }

    /// Installs the downloaded update `version`: the new version is in place when this
    /// returns, and runs after [`restart`](Self::restart).
    pub async fn install(&self, version: &str) -> Result<()> {
        // Disabled first: after a check that found updates off, say why, not "check first".
        self.ensure_enabled()?;
        let update = self.found(version)?;
        let _op = self.hold()?;
        self.install_locked(self.engine()?.clone(), update, &mut |_| {})
            .await
    }

    /// Installs `update`, downloaded by `engine`.
    pub(crate) async fn install_with(
        &self,
        engine: &Arc<AppUpdater>,
        update: Update,
    ) -> Result<()> {
        self.ensure_enabled()?;
        let _op = self.hold()?;
        self.install_locked(engine.clone(), update, &mut |_| {})
            .await
    }

    async fn install_locked(
        &self,
        engine: Arc<AppUpdater>,
        update: Update,
        on_event: &mut (impl FnMut(DownloadEvent) + Send),
    ) -> Result<()> {
        self.progress(on_event, DownloadEvent::Installing);
        let version = update.version.to_string();
        // Copies and fsyncs the new version: blocking file work, off the async runtime.
        tauri::async_runtime::spawn_blocking(move || engine.install(&update))
            .await
            .map_err(|e| Error::Task(e.to_string()))??;
        *lock(&self.installed) = Some(version.clone());
        *lock(&self.found) = None;
        if let Err(e) = self
            .app
            .emit(events::INSTALLED, InstalledPayload { version })
        {
            tracing::debug!(error = %e, "cannot emit the installed event");
        }
        Ok(())
    }

    /// [`download`](Self::download) then [`install`](Self::install).
    pub async fn download_and_install(
        &self,
        version: &str,
        mut on_event: impl FnMut(DownloadEvent) + Send,
    ) -> Result<()> {
        // Disabled first: after a check that found updates off, say why, not "check first".
        self.ensure_enabled()?;
        let update = self.found(version)?;
        let _op = self.hold()?;
        let engine = self.engine()?;
        self.download_locked(engine, &update, &mut on_event).await?;
        self.install_locked(engine.clone(), update, &mut on_event)
            .await
    }

    /// Downloads and installs `update` with `engine`, under one hold of the operation.
    pub(crate) async fn download_and_install_with(
        &self,
        engine: &Arc<AppUpdater>,
        update: Update,
        mut on_event: impl FnMut(DownloadEvent) + Send,
    ) -> Result<()> {
        self.ensure_enabled()?;
        let _op = self.hold()?;
        self.download_locked(engine, &update, &mut on_event).await?;
        self.install_locked(engine.clone(), update, &mut on_event)
            .await
    }

    /// Restarts the app into the installed version. Goes through Tauri's exit sequence
    /// (`RunEvent::ExitRequested` with `RESTART_EXIT_CODE`, then `RunEvent::Exit`), so the
    /// app can save its state; an app that prevents that exit cancels the restart.
    ///
    /// An app a Windows installer (NSIS, MSI) installed is updated by that installer, which
    /// must run after the app exits: the app's `on_before_exit` hook runs, the installer
    /// starts, the process exits, and the installer starts the new version when done.
    pub fn restart(&self) {
        if let Ok(engine) = self.engine() {
            if let Ok(Some(_)) = engine.pending_handover() {
                let hook = self.before_exit.clone();
                let app = self.app.clone();
                let Err(e) = engine.hand_over(move || {
                    if let Ok(dir) = crate::setup::data_dir(&app) {
                        crate::handover::mark_started(&dir);
                    }
                    hook.run()
                });
                tracing::error!(error = %crate::error::full_chain(&e), "cannot start the installer");
                return;
            }
        }
        self.app.request_restart();
    }

    /// The app's hook before a Windows installer takes over.
    pub(crate) fn before_exit(&self) -> crate::setup::BeforeExit {
        self.before_exit.clone()
    }

    /// The channel in force and who chose it.
    pub fn channel(&self) -> Result<ChannelInfo> {
        Ok((&self.engine()?.effective()?).into())
    }

    /// Opts into `channel` (`None`: back to the app's default). The policy may override
    /// the choice: the answer's `note` then says so. Forgets the update found on the old
    /// channel.
    pub fn set_channel(&self, channel: Option<&str>) -> Result<ChannelInfo> {
        let engine = self.engine()?;
        let effective: Effective = match channel {
            Some(name) => {
                if !tuf_updater_core::release::valid_channel_name(name) {
                    return Err(Error::InvalidChannel(name.to_string()));
                }
                engine.set_channel(name)?
            }
            None => engine.use_default_channel()?,
        };
        *lock(&self.found) = None;
        Ok((&effective).into())
    }

    /// The administrator's policy as it applies to this app.
    pub fn policy_status(&self) -> Result<PolicyStatus> {
        Ok((&self.engine()?.effective()?).into())
    }

    /// What an update page shows: versions, set-up errors, the last rollback.
    pub fn status(&self) -> UpdaterStatus {
        UpdaterStatus {
            app: self.app_name.clone(),
            current_version: self.current_version.clone(),
            configured: self.engine.is_ok(),
            error: self.engine.as_ref().err().cloned(),
            last_rollback: self.last_rollback(),
            pending_confirmation: self.pending_confirmation.load(Ordering::SeqCst),
            installed: lock(&self.installed).clone(),
        }
    }

    pub(crate) fn set_pending_confirmation(&self, pending: bool) {
        self.pending_confirmation.store(pending, Ordering::SeqCst);
    }

    /// The rollback of an earlier start, if this start followed one.
    pub fn last_rollback(&self) -> Option<RollbackInfo> {
        lock(&self.last_rollback).clone()
    }

    pub(crate) fn set_last_rollback(&self, info: RollbackInfo) {
        *lock(&self.last_rollback) = Some(info);
    }

    /// Confirms a freshly installed version (the confirm window has loaded). Returns
    /// whether there was one to confirm.
    pub(crate) fn confirm_launch(&self) -> Result<bool> {
        let Ok(engine) = &self.engine else {
            return Ok(false); // not set up: reported by status(), nothing to confirm
        };
        let confirmed = engine.confirm()?;
        self.set_pending_confirmation(false);
        Ok(confirmed)
    }

    /// Confirms the launch of this version: a freshly installed version is kept (the
    /// previous one deleted) and will not be rolled back. Returns whether there was one to
    /// confirm (`false` on a version already confirmed, or when updates are not set up).
    /// Emits `tuf-updater://launch-confirmed`, and `tuf-updater://rolled-back` when this
    /// start followed a rollback. Called by the plugin when the confirm window has loaded;
    /// call it yourself with [`ConfirmLaunch::Manual`](crate::ConfirmLaunch::Manual) (a
    /// tray-only app: once it is up). Safe to call more than once.
    pub fn confirm(&self) -> Result<bool> {
        let result = self.confirm_launch();
        match &result {
            Ok(true) => tracing::info!(version = %self.current_version, "launch confirmed"),
            Ok(false) => {}
            Err(e) => self.emit_error(e),
        }
        let payload = crate::models::LaunchPayload {
            version: self.current_version.clone(),
            confirmed: matches!(result, Ok(true)),
        };
        if let Err(e) = self.app.emit(events::LAUNCH_CONFIRMED, payload) {
            tracing::debug!(error = %e, "cannot emit launch-confirmed");
        }
        if let Some(rollback) = self.last_rollback() {
            if let Err(e) = self.app.emit(events::ROLLED_BACK, rollback) {
                tracing::debug!(error = %e, "cannot emit rolled-back");
            }
        }
        result
    }

    pub(crate) fn emit_error(&self, error: &Error) {
        let message = crate::error::full_chain(error);
        let kind = error.kind();
        tracing::warn!(%message, ?kind, "update failed");
        if let Err(e) = self.app.emit(events::ERROR, ErrorPayload { kind, message }) {
            tracing::debug!(error = %e, "cannot emit the error event");
        }
    }
}
