//! A self-updater for desktop apps where every update is verified by TUF.
//!
//! - [`tuf`]: the TUF 1.0.34 client and the signing side.
//! - [`release`]: releases on channels and the choice of the update.
//! - [`policy`] and [`settings`]: the administrator's policy over the user's settings.
//! - [`files`]: the file toolbox (capped read, atomic durable write, directory sync, remove).
//! - [`package`]: what a release file is from its content (ELF, Mach-O, PE, NSIS, MSI, deb,
//!   rpm, AppImage, `.app.tar.gz`), and the name and version a deb or rpm declares.
//! - [`install`]: the staged install with its journal and rollback.
//! - [`app`]: [`AppUpdater`], the facade an app calls (check, download, install,
//!   restart, confirm). Not to be confused with [`tuf::TufClient`], the TUF client inside it.

pub mod app;
pub mod delta;
pub mod files;
pub mod install;
pub mod package;
pub mod policy;
pub mod release;
pub mod settings;
pub mod tuf;

pub use app::{
    AppUpdater, AppUpdaterBuilder, CheckResult, RequestOverrides, RollbackNotice, Update,
    UpdateError,
};
pub use install::early::startup_before_config;
pub use install::{
    Handover, InstallMode, InstallTarget, InstallerApp, InstallerKind, PackageManager, PackagedApp,
    StartupOutcome,
};
pub use release::{Direction, InstallFormat, Platform};
pub use release::{HeldBack, HeldBackReason};
pub use tuf::download::Progress;
pub use tuf::fetch::HttpConfig;
