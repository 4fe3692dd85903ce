//! The administrator's update policy, and its merge over the user's settings and the app's
//! defaults (policy > user > app).
//!
//! The policy is a JSON file, `update-policy.json`, in a system-wide directory that only
//! the administrator may change (checked: [`location`]):
//! - Linux and other Unix: `/etc/<app>/update-policy.json`
//! - macOS: `/Library/Application Support/<app>/update-policy.json`
//! - Windows: `<ProgramData>\<app>\update-policy.json` (ProgramData as the OS reports it)
//!
//! ```json
//! { "enabled": true, "channel": "stable", "allowed_channels": ["stable", "beta"],
//!   "pinned_version": "~1.4", "allow_rollback": false, "check_interval": "6h",
//!   "repository_mirror": "https://updates.example.internal/app/" }
//! ```
//!
//! Every field is optional (`null` counts as absent); unknown fields are an error.
//! `check_interval` is a string `<n><unit>`, unit `s`, `m`, `h` or `d`, between one minute
//! and 365 days. `pinned_version` is a semver requirement as Cargo writes them. The file is
//! read up to 64 KiB. A missing file is no policy; any other problem (unreadable, too large,
//! malformed) is a [`PolicyError`], which [`effective`] turns into "updates off". A file
//! the administrator does not control is [`PolicyError::Untrusted`]: the app chooses whether
//! updates then go on without it (the default) or stop.

mod effective;
mod file;
mod location;

pub use effective::{
    effective, AppDefaults, ChannelNote, Disabled, Effective, Source, UntrustedPolicy,
};
pub use file::{
    load_from, parse, parse_interval, Policy, PolicyError, MAX_CHECK_INTERVAL, MAX_POLICY_LEN,
    MIN_CHECK_INTERVAL, POLICY_FILE,
};
pub use location::{
    env_var_name, load, load_admin_file, load_with_env_override, system_policy_path,
};
