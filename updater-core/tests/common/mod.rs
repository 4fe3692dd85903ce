//! Shared by the `attacks_*` tests: a repository simulator served over real HTTP
//! ([`repo::RepoSim`], [`server::Server`]) and the client side ([`client::Client`]).
#![allow(dead_code, unused_imports)]

pub mod client;
pub mod repo;
pub mod server;

pub use client::*;
pub use repo::*;
pub use server::*;
pub use updater_core::tuf::error::{Role, Rule};
pub use updater_core::tuf::fetch::FetchError;
pub use updater_core::tuf::TufError;
