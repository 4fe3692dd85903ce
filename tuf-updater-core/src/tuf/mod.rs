//! A TUF 1.0.34 client (spec section 5, "Detailed client workflow") and the signing side
//! that the packaging tool and the tests share.
//!
//! - [`metadata`]: the metadata types, [`canonical`]: the bytes signatures cover,
//!   [`crypto`]: keys, signatures, hashes.
//! - [`trusted`]: the rules, as a state machine without I/O.
//! - [`client`]: the workflow around it ([`TufClient`]); [`fetch`]: the network; [`store`]: local files.
//! - [`signer`]: making metadata.

pub mod canonical;
pub mod client;
pub mod crypto;
pub mod download;
pub mod error;
pub mod expiry;
pub mod fetch;
pub mod metadata;
pub mod role;
pub mod signer;
pub mod store;
pub mod trusted;

pub use client::{ClientConfig, Limits, TufClient};
pub use error::{Result, TufError};
