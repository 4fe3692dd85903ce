//! Delta updates: a patch turns the installed version's bytes into the new release's.
//!
//! A patch is one zstd frame compressed with the old file as its reference prefix
//! (`zstd --patch-from`), with long-distance matching and a window that reaches back over
//! the whole old file. It proves nothing by itself: the client applies it only to bytes
//! that match the old version's signed hashes, stops at the full target's signed length,
//! and installs the result only if it matches the full target's signed hashes; anything
//! else falls back to the full download (`app/patch.rs`).
//!
//! A bundle published as `.tar.gz` gets a tar patch instead ([`tar_patch`]): per-file
//! records that rebuild the release's uncompressed tar from the installed bundle's files,
//! checked against the tar digest the full release signs.

pub mod mapped;
pub mod patch;
pub mod tar_patch;
#[cfg(test)]
mod test_support;

pub use mapped::Mapped;
pub use patch::{apply_patch, make_patch, ApplyError, MAX_WINDOW_LOG};
pub use tar_patch::{apply_tar_patch, make_tar_patch, TarPatchError};
