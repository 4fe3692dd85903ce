//! The repository's metadata: reading what is on disk ([`state`]), the roles a change starts
//! from ([`roles`]), where a release's target goes ([`placement`]) and signing a change
//! ([`draft`]).

pub mod draft;
pub mod placement;
pub mod roles;
pub mod state;

pub use draft::{meta_file, sign_value, Draft, RoleVersion};
pub use roles::Roles;
pub use state::{RepoState, Signed};
