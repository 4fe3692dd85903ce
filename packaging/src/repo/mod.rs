//! The repository's metadata: reading what is on disk ([`state`]) and signing a change
//! ([`draft`]).

pub mod draft;
pub mod state;

pub use draft::{meta_file, sign_value, Draft, RoleVersion};
pub use state::{RepoState, Signed};
