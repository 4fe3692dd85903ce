//! `updater_pack`: creates, signs and publishes the static TUF repository the updater reads.
//! The `updater-pack` binary is a thin command line over [`ops`].
//!
//! - [`project`]: the layout of a project (keys, repository, settings);
//!   [`names`]: the `--channels` list and stored file names (every name of a release, its
//!   target path and its custom fields are the release schema's, [`tuf_updater_core::release`]);
//!   [`lifetime`]: expiry policy; [`clock`]: "now".
//! - [`keys`]: key files, encryption, the signers of a role.
//! - [`repo`]: the repository's metadata as read from disk and as changed and signed.
//! - [`txn`]: staged, ordered, all-or-nothing writes.
//! - [`ops`]: the commands; [`serve`]: the development server;
//!   [`dirfetch`]: our client's `Fetcher` over a local directory.

pub mod clock;
pub mod dirfetch;
pub mod error;
pub mod keys;
pub mod lifetime;
pub mod names;
pub mod ops;
pub mod project;
pub mod repo;
pub mod serve;
pub mod store;
pub mod txn;

pub use error::{PackError, Result};
pub use project::{KeyType, Layout, Project, ProjectConfig};
