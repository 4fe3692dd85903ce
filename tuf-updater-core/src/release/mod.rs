//! The release schema, shared by the publisher and the client, and the choice of the update.
//!
//! A release is the TUF target `<channel>/<app>/<version>/<os>-<arch>[-<format>]/<file>`
//! ([`ReleasePath`]) whose `custom` object holds the release's fields ([`ReleaseFields`]). This
//! module is the only place that parses or writes either:
//!
//! - [`names`]: the rules for channel, app, version and file names;
//! - [`platform`]: [`Platform`] (`<os>-<arch>`) and [`InstallFormat`], and the path segment
//!   that carries both;
//! - [`path`]: the target path;
//! - [`fields`]: the custom fields;
//! - [`target`]: a [`Release`], what a TUF target is when path and fields both check out;
//! - [`bucket`]: an install's place in a staged rollout;
//! - [`delta`]: the patch, if any, from the installed version to the chosen release;
//! - [`select`]: a pure function, candidates and a [`SelectionInput`] in, a [`Selection`] out,
//!   saying which release to install and why better ones were held back.

pub mod bucket;
pub mod delta;
pub mod fields;
pub mod names;
pub mod path;
pub mod platform;
pub mod select;
pub mod target;
#[cfg(test)]
mod test_support;

pub use bucket::Bucket;
pub use delta::{find_patch, patch_path, PatchOffer};
pub use fields::{DeltaFormat, FieldError, ReleaseFields, ReleaseKind, TarDigest};
pub use names::{channel_carries_prereleases, valid_channel_name, NameError};
pub use path::{PathError, ReleasePath};
pub use platform::{InstallFormat, Platform, PlatformSegment};
pub use select::{
    select, Chosen, Direction, HeldBack, HeldBackReason, Selection, SelectionInput, Skipped,
};
pub use target::{Release, ReleaseError};
