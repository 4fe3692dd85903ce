//! A self-updater for desktop apps where every update is verified by TUF.
//!
//! - [`tuf`]: the TUF 1.0.34 client and the signing side.
//! - [`release`]: releases on channels and the choice of the update.
//! - [`policy`] and [`settings`]: the administrator's policy over the user's settings.
//! - [`install`]: the staged install with its journal and rollback.

pub mod install;
pub mod policy;
pub mod release;
pub mod settings;
pub mod tuf;
