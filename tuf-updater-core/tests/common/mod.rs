//! Shared by the `attacks_*` tests: a repository simulator served over real HTTP
//! ([`repo::RepoSim`], [`server::Server`]) and the client side ([`client::Client`]).
#![allow(dead_code, unused_imports)]

pub mod client;
pub mod repo;
pub mod server;

pub use client::*;
pub use repo::*;
pub use server::*;
pub use tuf_updater_core::tuf::error::{Role, Rule};
pub use tuf_updater_core::tuf::fetch::FetchError;
pub use tuf_updater_core::tuf::TufError;

/// Pseudo-random bytes (xorshift, a different stream per seed): incompressible without an
/// earlier copy, which is what a patch must find.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed * 2 + 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}
