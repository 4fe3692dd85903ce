//! A Windows installer (NSIS, MSI) that updates the app runs after the app exits: the
//! plugin's `restart()` starts it and exits. An app may restart another way, through
//! Tauri's own `AppHandle::restart`/`request_restart` (what `@tauri-apps/plugin-process`'s
//! `relaunch()` calls); the installer must still run:
//!
//! - a restart requested from another thread goes through Tauri's exit sequence
//!   (`RunEvent::ExitRequested` with `RESTART_EXIT_CODE`, then `RunEvent::Exit`):
//!   [`ExitHook`] hands over at `Exit`, before Tauri would start the old executable again;
//! - a restart on the main thread (plugin-process's command) exits with no event: the
//!   next start finds the install handed over but its installer never started (no
//!   [`MARKER`]) and runs it then, before any window ([`run_if_never_started`]). So does
//!   the start after a quit with an update installed: on every platform, the start after
//!   an install runs the new version.
//!
//! On Linux and macOS nothing is handed over: the update is in place when `install`
//! returns, and Tauri's restart starts the executable at the path it was started from
//! (cached by tauri-utils before `main`, so not `/proc/self/exe`'s "… (deleted)"), which is
//! now the new version.

use std::io::Read;
use std::path::{Path, PathBuf};

use tauri::RunEvent;
use tuf_updater_core::install::{InstallTarget, Installer, Journal, State};

/// `<data dir>/updates/<MARKER>`: the version whose installer this app started, written
/// just before it starts it, read and removed at the next start.
pub(crate) const MARKER: &str = "installer-started";
/// A version string is short; more is not a marker this plugin wrote.
const MAX_MARKER: u64 = 256;

fn installer(data_dir: &Path) -> Installer {
    // The journal records the real target; this one is not used.
    Installer::new(data_dir, InstallTarget::Executable(PathBuf::new()), 1)
}

/// The install handed over to an installer and waiting for it, if there is one.
pub(crate) fn handed_over(data_dir: &Path) -> Option<Journal> {
    match installer(data_dir).journal() {
        Ok(Some(journal)) if journal.state == State::HandedOver => Some(journal),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(error = %crate::error::full_chain(&e), "cannot read the install journal");
            None
        }
    }
}

/// Records that the installer of the install handed over is being started: call it just
/// before starting it.
pub(crate) fn mark_started(data_dir: &Path) {
    let Some(journal) = handed_over(data_dir) else {
        return;
    };
    if let Err(e) = std::fs::write(data_dir.join(MARKER), journal.to_version.as_bytes()) {
        tracing::warn!(error = %e, "cannot record that the installer starts; the next start runs it again");
    }
}

/// Reads and removes the marker.
fn take_marker(data_dir: &Path) -> Option<String> {
    let path = data_dir.join(MARKER);
    let mut text = String::new();
    let read = std::fs::File::open(&path)
        .and_then(|f| f.take(MAX_MARKER).read_to_string(&mut text))
        .is_ok();
    if read {
        if let Err(e) = std::fs::remove_file(&path) {
            tracing::warn!(error = %e, "cannot remove {}", path.display());
        }
    }
    read.then_some(text)
}

/// Whether the installer of the install handed over to `to_version` never started: the
/// marker (what the last start of an installer recorded) does not name it.
pub(crate) fn never_started(to_version: &str, marker: Option<&str>) -> bool {
    marker.map(str::trim) != Some(to_version)
}

/// At start, before the startup bookkeeping: an install handed over whose installer never
/// started (the app restarted or quit another way than the plugin's `restart()`) is
/// handed over now: the app's `before_exit` hook runs, the installer starts, the process
/// exits. Returns when there is none, or when the installer cannot be started (logged;
/// the bookkeeping then keeps the update staged).
pub(crate) fn run_if_never_started(data_dir: &Path, before_exit: &dyn Fn()) {
    let marker = take_marker(data_dir);
    let Some(journal) = handed_over(data_dir) else {
        return;
    };
    if !never_started(&journal.to_version, marker.as_deref()) {
        return; // the installer ran: the bookkeeping finds out what it did
    }
    tracing::info!(version = %journal.to_version, "the update's installer never ran: running it now");
    hand_over(data_dir, before_exit);
}

/// Starts the installer of the install handed over (recording it) and exits; returns if
/// there is none or it cannot be started (logged).
pub(crate) fn hand_over(data_dir: &Path, before_exit: &dyn Fn()) {
    let installer = installer(data_dir);
    match installer.pending_handover() {
        Ok(Some(handover)) => {
            mark_started(data_dir);
            before_exit();
            tracing::info!(program = %handover.program.display(), "handing over to the installer");
            match handover.spawn() {
                Ok(()) => std::process::exit(0),
                Err(e) => {
                    let _ = take_marker(data_dir);
                    tracing::error!(error = %e, "cannot start the installer")
                }
            }
        }
        Ok(None) => {}
        Err(e) => {
            tracing::error!(error = %crate::error::full_chain(&e), "cannot read the install journal")
        }
    }
}

/// Follows Tauri's exit sequence: a restart requested through Tauri (not the plugin's
/// `restart()`) with an install handed over must run the installer at `RunEvent::Exit`.
#[derive(Default)]
pub(crate) struct ExitHook {
    restarting: bool,
}

impl ExitHook {
    /// Whether `event` is the exit of a restart requested through Tauri: the moment to
    /// [`hand_over`] (before Tauri starts the old executable again).
    pub(crate) fn restart_exits(&mut self, event: &RunEvent) -> bool {
        match event {
            RunEvent::ExitRequested {
                code: Some(code), ..
            } if *code == tauri::RESTART_EXIT_CODE => {
                self.restarting = true;
                false
            }
            RunEvent::Exit => self.restarting,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_installer_started_for_the_version_handed_over_is_not_started_again() {
        assert!(!never_started("1.1.0", Some("1.1.0")));
        assert!(!never_started("1.1.0", Some("1.1.0\n")));
        assert!(never_started("1.1.0", None));
        assert!(never_started("1.1.0", Some("1.0.0")));
        assert!(never_started("1.1.0", Some("")));
    }

    #[test]
    fn the_marker_is_read_once_and_capped() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(take_marker(dir.path()), None);
        std::fs::write(dir.path().join(MARKER), "1.1.0").unwrap();
        assert_eq!(take_marker(dir.path()).as_deref(), Some("1.1.0"));
        assert_eq!(take_marker(dir.path()), None);
        std::fs::write(dir.path().join(MARKER), "9".repeat(10_000)).unwrap();
        assert_eq!(take_marker(dir.path()).map(|m| m.len()), Some(256));
        // Nothing handed over: nothing recorded, nothing run.
        mark_started(dir.path());
        assert!(!dir.path().join(MARKER).exists());
        run_if_never_started(dir.path(), &|| panic!("nothing to hand over"));
    }
}
