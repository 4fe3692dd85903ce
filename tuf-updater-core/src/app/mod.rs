//! The facade an app calls: [`AppUpdater`], split by job: [`builder`] (configuration),
//! [`check`] (verified metadata in, an [`Update`] out), [`download`] (the verified artifact and
//! its install), [`lifecycle`] (startup bookkeeping, confirmation, restart), [`types`] (what
//! crosses to the app).
//!
//! ```no_run
//! # async fn run() -> Result<(), tuf_updater_core::UpdateError> {
//! use tuf_updater_core::{AppUpdater, CheckResult, StartupOutcome};
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
//! - `tuf/`: the trusted metadata (the exact verified bytes) of the shared repository;
//! - `tuf-app/`: that of the app's own repository (`<base>/apps/<app>/metadata/`), and the
//!   marker `per-app-trusted` once it was trusted ([`layout`]);
//! - `downloads/`: the verified artifact, nothing else;
//! - `partial/`: the `.part` of an interrupted download, resumed from there;
//! - `patching/`: a patch being applied to the installed file (emptied by the next check);
//! - `install/`: the install journal, the staged new version, the previous version;
//! - `update-settings.json`: the user's channel, install id (rollout bucket) and the versions
//!   this install rolled back, which are not offered again.
//!
//! A check refreshes the TUF metadata from the first repository that answers (the
//! administrator's mirror when the policy names one, else the app's repository, then its
//! mirrors in order), lists the releases that the channel's delegated role signs for this
//! app and platform, and lets [`release::select`] choose; the chosen target is then looked
//! up again through the whole delegation graph (spec 5.6.7), so a role earlier in the

mod app_updater;
mod builder;
mod check;
mod download;
mod handover;
mod layout;
mod lifecycle;
mod overrides;
mod patch;
mod rollback_package;
mod types;

pub use crate::settings::RollbackNotice;
pub use app_updater::AppUpdater;
pub use builder::AppUpdaterBuilder;
pub use overrides::RequestOverrides;
pub use types::{CheckResult, Result, Update, UpdateError, DEFAULT_MAX_UNCONFIRMED_LAUNCHES};
