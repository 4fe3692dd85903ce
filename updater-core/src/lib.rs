//! A self-updater for desktop apps where every update is verified by TUF.
//!
//! - [`tuf`]: the TUF 1.0.34 client and the signing side.
//! - [`install`]: the staged install with its journal and rollback.

pub mod install;
pub mod tuf;
