//! The plugin's life cycle: configuration, the engine, the startup bookkeeping (rollback
//! included), the launch confirmation on page load (`confirm.rs` says when), Tauri's exit
//! (`handover.rs`), and the background checks.

use std::sync::Arc;
use std::time::Duration;

use tauri::plugin::{Builder as PluginBuilder, TauriPlugin};
use tauri::webview::PageLoadEvent;
use tauri::{AppHandle, Emitter, Manager, RunEvent, Runtime};
use tuf_updater_core::{AppUpdater, CheckResult, StartupOutcome};

use crate::config::{Config, RootSource, Settings};
use crate::confirm::ConfirmState;
use crate::handover::ExitHook;
use crate::models::{RollbackInfo, UpdateMetadata};
use crate::updater::events;
use crate::{commands, prompt, Updater, PLUGIN_NAME};

/// The first background check waits this long after setup, so that it does not compete
/// with the app's own start.
const FIRST_CHECK_DELAY: Duration = Duration::from_secs(2);
/// Background checks never run more often than this, whatever the configuration says.
const MIN_CHECK_INTERVAL: Duration = Duration::from_secs(60);

/// What the app sets on the engine in code only (no `tauri.conf.json` key).
#[derive(Debug, Default, Clone)]
pub(crate) struct EngineOptions {
    pub policy_env_override: bool,
    pub untrusted_policy: tuf_updater_core::policy::UntrustedPolicy,
    pub install_mode: Option<tuf_updater_core::InstallMode>,
    pub before_exit: BeforeExit,
}

/// The app's hook run before the process exits to let a Windows installer (NSIS, MSI)
/// replace it; none by default.
#[derive(Clone, Default)]
pub(crate) struct BeforeExit(pub Option<Arc<dyn Fn() + Send + Sync>>);

impl BeforeExit {
    pub fn run(&self) {
        if let Some(hook) = &self.0 {
            hook();
        }
    }
}

impl std::fmt::Debug for BeforeExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "BeforeExit(set)"
        } else {
            "BeforeExit(none)"
        })
    }
}

/// tuf-updater-core's engine for these settings; the error says what is missing.
fn engine<R: Runtime>(
    app: &AppHandle<R>,
    settings: &Settings,
    options: &EngineOptions,
) -> Result<AppUpdater, String> {
    let (repository, root) = settings.required()?;
    let root = match root {
        RootSource::Bytes(root) => root.to_vec(),
        RootSource::File(file) => {
            let path = if file.is_absolute() {
                file.to_path_buf()
            } else {
                app.path()
                    .resolve(file, tauri::path::BaseDirectory::Resource)
                    .map_err(|e| format!("trusted root file {}: {e}", file.display()))?
            };
            crate::config::read_root_file(&path)?
        }
    };
    let data_dir = data_dir(app)?;
    let version = app.package_info().version.to_string();
    let mut builder = AppUpdater::builder(&settings.app_name, version)
        .repository(repository)
        .trusted_root(root)
        .data_dir(data_dir)
        .policy_env_override(options.policy_env_override)
        .untrusted_policy(options.untrusted_policy);
    if let Some(mode) = options.install_mode {
        builder = builder.install_mode(mode);
    }
    for mirror in &settings.mirrors {
        builder = builder.mirror(mirror);
    }
    if let Some(channel) = &settings.channel {
        builder = builder.default_channel(channel);
    }
    if let Some(interval) = settings.check_interval {
        builder = builder.check_interval(interval);
    }
    if let Some(launches) = settings.max_unconfirmed_launches {
        builder = builder.max_unconfirmed_launches(launches);
    }
    if let Some(timeout) = settings.timeout {
        builder = builder.timeout(timeout);
    }
    builder.build().map_err(|e| crate::error::full_chain(&e))
}

/// Where the engine keeps its state: `<app data dir>/updates`.
pub(crate) fn data_dir<R: Runtime>(app: &AppHandle<R>) -> Result<std::path::PathBuf, String> {
    Ok(app
        .path()
        .app_data_dir()
        .map_err(|e| format!("no app data directory: {e}"))?
        .join("updates"))
}

/// The startup bookkeeping that needs no configuration, run before it is read: a version
/// whose updater configuration is broken still counts its launches and is rolled back
/// (tuf_updater_core's `startup_before_config`). Returns whether it rolled back: this process
/// is then the failed version. With an engine, [`startup`] restarts it as usual (the
/// engine reports the same outcome); without one, [`restart_without_engine`] does.
fn early_startup<R: Runtime>(app: &AppHandle<R>, before_exit: &BeforeExit) -> bool {
    let outcome = data_dir(app).and_then(|dir| {
        crate::handover::run_if_never_started(&dir, &|| before_exit.run());
        tuf_updater_core::startup_before_config(&dir).map_err(|e| crate::error::full_chain(&e))
    });
    match outcome {
        Ok(StartupOutcome::RolledBack { .. }) => true,
        Ok(_) => false,
        Err(e) => {
            tracing::error!(error = %e, "update startup failed");
            false
        }
    }
}

/// A version rolled back by the early startup whose configuration gives no engine: the
/// previous version's installer runs (an app a Windows installer installed), else Tauri
/// restarts the app, now the restored version.
fn restart_without_engine<R: Runtime>(app: &AppHandle<R>, before_exit: &BeforeExit) {
    tracing::warn!("rolled back, and the updater's configuration is broken; restarting");
    hand_over_if_pending(app, before_exit);
    app.restart();
}

/// For an app a Windows installer installed, a rollback is the previous version's installer
/// run after this process exits: runs it (and exits) if one waits. Returns when none does,
/// or when it cannot be started (logged).
fn hand_over_if_pending<R: Runtime>(app: &AppHandle<R>, before_exit: &BeforeExit) {
    if let Ok(dir) = data_dir(app) {
        crate::handover::hand_over(&dir, &|| before_exit.run());
    }
}

/// Startup bookkeeping. Returns `false` when this process is a version that was just
/// rolled back and could not restart into the restored one.
fn startup<R: Runtime>(updater: &Updater<R>, engine: &AppUpdater) {
    match engine.startup() {
        Ok(StartupOutcome::RolledBack {
            failed_version,
            restored_version,
            reason,
            ..
        }) => {
            // This process is the failed version; the previous one is back on disk. No
            // window has opened yet: replace the process with it.
            tracing::warn!(%failed_version, %restored_version, %reason, "rolled back; restarting");
            let before_exit = updater.before_exit();
            let Err(e) = match engine.pending_handover() {
                Ok(Some(_)) => engine.hand_over(move || before_exit.run()),
                _ => engine.restart(),
            };
            tracing::error!(error = %e, "cannot start the restored version");
            updater.set_last_rollback(RollbackInfo {
                failed_version,
                restored_version,
                reason,
            });
        }
        Ok(StartupOutcome::PendingConfirmation { version, launch }) => {
            tracing::info!(%version, launch, "new version: waits for its launch confirmation");
            updater.set_pending_confirmation(true);
        }
        Ok(StartupOutcome::Busy) => {
            tracing::info!("another instance is updating; startup bookkeeping skipped");
        }
        Ok(StartupOutcome::RollbackFinished {
            failed_version,
            restored_version,
            ..
        }) => {
            tracing::info!(%failed_version, %restored_version, "running the restored version");
        }
        Ok(StartupOutcome::Idle | StartupOutcome::Staged { .. }) => {}
        Err(e) => tracing::error!(error = %crate::error::full_chain(&e), "update startup failed"),
    }
    match engine.take_rollback_notice() {
        Ok(Some(notice)) => updater.set_last_rollback(notice.into()),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "cannot read the rollback notice"),
    }
}

/// The confirm window has loaded: confirm a pending new version, report a rollback.
fn on_loaded<R: Runtime>(app: &AppHandle<R>) {
    if let Some(updater) = app.try_state::<Updater<R>>() {
        // An error is emitted as `tuf-updater://error` by confirm().
        let _ = updater.confirm();
    }
}

/// Checks now and then every interval (the policy's when it sets one); emits
/// `update-available` and shows the prompt when there is one.
async fn background_checks<R: Runtime>(
    app: AppHandle<R>,
    check_now: bool,
    interval: bool,
    mut prompt: Option<prompt::Prompt>,
) {
    tokio::time::sleep(FIRST_CHECK_DELAY).await;
    let mut first = true;
    loop {
        let Some(updater) = app.try_state::<Updater<R>>() else {
            return;
        };
        if check_now || !first {
            match updater.check().await {
                Ok(CheckResult::Available(update)) => {
                    let meta = UpdateMetadata::from(&update);
                    if let Err(e) = app.emit(events::UPDATE_AVAILABLE, &meta) {
                        tracing::debug!(error = %e, "cannot emit update-available");
                    }
                    // The prompt skips what the user skipped or postponed; the app's own UI
                    // can still offer it.
                    if let Some(prompt) = prompt.as_mut() {
                        prompt.offer(&updater, &meta).await;
                    }
                }
                Ok(other) => tracing::debug!(result = ?other, "background check"),
                Err(e) => updater.emit_error(&e),
            }
        }
        first = false;
        let wait = match (interval, updater.engine().and_then(|e| Ok(e.effective()?))) {
            (_, Ok(effective))
                if effective.check_interval_source == tuf_updater_core::policy::Source::Policy =>
            {
                effective.check_interval
            }
            (true, Ok(effective)) => effective.check_interval,
            _ => return,
        };
        tokio::time::sleep(wait.max(MIN_CHECK_INTERVAL)).await;
    }
}

/// The plugin's `on_event`: a restart through Tauri's own `restart`/`request_restart` (not
/// the plugin's) with a Windows installer waiting runs the installer as the app exits.
fn exit_hook<R: Runtime>(before_exit: BeforeExit) -> impl FnMut(&AppHandle<R>, &RunEvent) {
    let mut hook = ExitHook::default();
    move |app, event| {
        if !hook.restart_exits(event) {
            return;
        }
        if let Ok(dir) = data_dir(app) {
            if crate::handover::handed_over(&dir).is_some() {
                crate::handover::hand_over(&dir, &|| before_exit.run());
            }
        }
    }
}

pub(crate) fn plugin<R: Runtime>(
    code: Config,
    code_root: Option<Vec<u8>>,
    options: EngineOptions,
) -> TauriPlugin<R, Option<serde_json::Value>> {
    // The configuration is taken as JSON and parsed here, after the early startup: a
    // `tauri.conf.json` section that does not parse turns updates off but still lets the
    // launch count (and a broken version roll back).
    let before_exit = options.before_exit.clone();
    PluginBuilder::<R, Option<serde_json::Value>>::new(PLUGIN_NAME)
        .invoke_handler(tauri::generate_handler![
            commands::check,
            commands::download,
            commands::install,
            commands::download_and_install,
            commands::restart,
            commands::get_channel,
            commands::set_channel,
            commands::policy_status,
            commands::status,
            commands::confirm,
        ])
        .setup(move |app, api| {
            let rolled_back = early_startup(app, &options.before_exit);
            let (config, config_error) = match api.config().clone().map(serde_json::from_value) {
                None => (Config::default(), None),
                Some(Ok(config)) => (config, None),
                Some(Err(e)) => (
                    Config::default(),
                    Some(format!("plugins.{PLUGIN_NAME} in tauri.conf.json: {e}")),
                ),
            };
            // As `updater-pack release --bundle-dir` names the app's releases.
            let default_name = tuf_updater_core::release::names::default_app_name(
                app.config()
                    .product_name
                    .as_deref()
                    .unwrap_or(app.package_info().crate_name),
            );
            let settings = Settings::merge(config, code, code_root, default_name);
            let current = app.package_info().version.to_string();
            let confirm_mode = settings.confirm_launch.clone();
            let engine = match (&config_error, &confirm_mode) {
                (Some(e), _) | (None, Err(e)) => Err(e.clone()),
                (None, Ok(_)) => engine(app, &settings, &options).map(Arc::new),
            };
            if let Err(e) = &engine {
                tracing::error!(error = %e, "updates are off");
                if rolled_back {
                    restart_without_engine(app.app_handle(), &options.before_exit);
                }
            }
            let updater = Updater::new(
                app.clone(),
                settings.app_name.clone(),
                current,
                engine.clone(),
                options.before_exit.clone(),
            );
            if let Ok(engine) = &engine {
                startup(&updater, engine);
            }
            app.manage(updater);
            let confirm_mode = confirm_mode.unwrap_or_default();
            tracing::debug!(mode = %confirm_mode.describe(), "launch confirmation");
            app.manage(ConfirmState::new(confirm_mode));
            let interval = settings.check_interval.is_some();
            if engine.is_ok() && (settings.check_on_start || interval || settings.prompt) {
                let check_now = settings.check_on_start || settings.prompt;
                let prompt = settings
                    .prompt
                    .then(|| prompt::Prompt::new(&settings, data_dir(app).ok()));
                tauri::async_runtime::spawn(background_checks(
                    app.clone(),
                    check_now,
                    interval,
                    prompt,
                ));
            }
            Ok(())
        })
        .on_page_load(|webview, payload| {
            if payload.event() != PageLoadEvent::Finished {
                return;
            }
            let app = webview.app_handle();
            let confirms = app
                .try_state::<ConfirmState>()
                .is_some_and(|state| state.on_page_loaded(webview.label()));
            if confirms {
                on_loaded(app);
            }
        })
        .on_event(exit_hook(before_exit))
        .build()
}
