//! Errors of `updater-pack`. Each names the problem and, where there is one, the fix; none
//! of them leaves a half-changed repository behind (changes are staged and committed all or
//! nothing). This module depends on no other module of the crate.
//!
//! The variants go by kind: files, the project, arguments, release names, keys, the
//! repository's state. Every error makes the command exit with status 1.

use std::path::{Path, PathBuf};

use thiserror::Error;
use tuf_updater_core::files::FileError;
use tuf_updater_core::package::PackageError;
use tuf_updater_core::release::{NameError, ReleaseError};
use tuf_updater_core::tuf::signer::SignError;
use tuf_updater_core::tuf::TufError;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PackError {
    /// An I/O failure on a named path.
    #[error(transparent)]
    File(#[from] FileError),

    // The project.
    #[error("{0} is already an updater-pack project ({1} exists)")]
    AlreadyInitialized(PathBuf, PathBuf),

    #[error(
        "{dir} is not an updater-pack project: {detail} (create one with `updater-pack init`)"
    )]
    NotAProject { dir: PathBuf, detail: String },

    #[error("another updater-pack command is working on this project ({0} exists); if none is running, delete that file")]
    Locked(PathBuf),

    // Arguments.
    /// An option's value out of range, or at odds with another option.
    #[error("{flag}{}: {reason}", shown(value.as_deref()))]
    BadArgument {
        /// The option, like `--root-keys`.
        flag: &'static str,
        /// The value given, when there is one to show.
        value: Option<String>,
        reason: String,
    },

    /// A role named by an option (`--role`, `--encrypt`, `--expires`) that the repository
    /// does not have.
    #[error("{flag} {name}: not a role of this repository ({known})")]
    UnknownRole {
        flag: &'static str,
        name: String,
        /// The roles there are, as the message lists them.
        known: String,
    },

    /// A command asked to change nothing.
    #[error("{command}: nothing to change; use {options}")]
    NothingToChange {
        command: &'static str,
        options: &'static str,
    },

    /// An environment variable whose value cannot be used.
    #[error("{var}={value:?} is not {expected}: {reason}")]
    BadEnvironment {
        var: &'static str,
        value: String,
        expected: &'static str,
        reason: String,
    },

    // Names and releases.
    /// A channel, app, version, platform or file name that breaks a rule of the release
    /// schema; the message names the rule.
    #[error(transparent)]
    Name(#[from] NameError),

    #[error("unknown channel {name:?}: this repository has {known}")]
    UnknownChannel { name: String, known: String },

    #[error("{what} is already released on {channel}{hint}")]
    AlreadyReleased {
        what: String,
        channel: String,
        hint: String,
    },

    #[error("no release {what} on channel {channel}")]
    NoSuchRelease { what: String, channel: String },

    /// A target of the repository that is not a release as the client reads it.
    #[error("{path} is not a valid release: {reason}")]
    BadRelease { path: String, reason: ReleaseError },

    #[error("artifact {path}: {reason}")]
    BadArtifact { path: PathBuf, reason: String },

    /// An artifact that cannot be read as the package its first bytes say it is.
    #[error("artifact {0}")]
    Package(#[from] PackageError),

    /// The artifact's content is not the format its platform segment names.
    #[error("artifact {path} is published as {segment} but its content is {content}")]
    FormatMismatch {
        path: PathBuf,
        segment: String,
        /// What the content is, in words.
        content: String,
    },

    /// The artifact's content is for another operating system than its platform.
    #[error("artifact {path} is {content}, which does not run on {platform}")]
    PlatformMismatch {
        path: PathBuf,
        platform: String,
        content: &'static str,
    },

    /// A deb's or rpm's own version is not the release's.
    #[error("artifact {path}: the {package}'s {field} is {found:?}, not the release's version {version}")]
    PackageVersion {
        path: PathBuf,
        package: &'static str,
        field: &'static str,
        found: String,
        version: String,
    },

    /// The Tauri configuration (`tauri.conf.json`, or the package.json its `version` names)
    /// that `release --bundle-dir` reads the version and app name from.
    #[error("Tauri configuration {path}: {reason}")]
    TauriConfig { path: PathBuf, reason: String },

    /// A bundle found by `release --bundle-dir` that cannot be published as it is.
    #[error("bundle {path}: {reason}")]
    BadBundle { path: PathBuf, reason: String },

    #[error("notes file {path}: {reason}")]
    BadNotes { path: PathBuf, reason: String },

    /// zstd failed to make a patch (out of memory, a file too large for its window).
    #[error("cannot make the patch from {from}: {source}")]
    Patch {
        from: String,
        #[source]
        source: std::io::Error,
    },

    #[error("destination {dest} overlaps the repository {repository}")]
    DestinationOverlaps { dest: PathBuf, repository: PathBuf },

    // Destinations and sources (`publish`, `pull`, `verify` and `status` of a URL).
    #[error("{location}: {reason}")]
    BadLocation { location: String, reason: String },

    /// A bucket or web server refused or failed a request.
    #[error("{location}: cannot {op}{}{}", spaced(path), hinted(hint))]
    Store {
        location: String,
        op: &'static str,
        path: String,
        /// What to check, when the kind of failure says.
        hint: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    #[error("{what} is larger than {limit} bytes")]
    TooLarge { what: String, limit: u64 },

    /// The destination has releases this copy lacks: publishing would undo them.
    #[error("{location} has moved past this copy of the repository: {detail}; nothing was uploaded (run `updater-pack pull {location} PROJECT`, then release again)")]
    StaleCopy { location: String, detail: String },

    /// A file of the same name and other content: another publisher's, or another history.
    #[error("{location}: {path} exists with other content than this copy's: {detail}")]
    Conflict {
        location: String,
        path: String,
        detail: String,
    },

    // Keys.
    #[error(
        "role {role} needs {threshold} signature(s), but only {found} of its keys are in {dir} \
         (expected key files: {expected})"
    )]
    MissingKeys {
        role: String,
        threshold: u64,
        found: u64,
        dir: PathBuf,
        expected: String,
    },

    #[error("key file {path} holds key {found}, which is not a key of role {role} (expected {expected})")]
    WrongKey {
        path: PathBuf,
        role: String,
        found: String,
        expected: String,
    },

    #[error("key file {path} is not a usable private key: {reason}")]
    BadKeyFile { path: PathBuf, reason: String },

    /// A key in a PKCS#11 token (HSM, YubiKey, SoftHSM2) that cannot be used: `what` names
    /// it (module, token, key), `reason` says why and, where there is one, the fix.
    #[error("PKCS#11 {what}: {reason}")]
    Token { what: String, reason: String },

    /// `rotate --remove` names no key of the role.
    #[error("--remove {wanted}: role {role} has no such key (its keys: {known})")]
    UnknownKey {
        role: String,
        wanted: String,
        known: String,
    },

    #[error("role {role} would have {count} keys; at most {max}")]
    TooManyKeys {
        role: String,
        count: usize,
        max: usize,
    },

    #[error(
        "threshold {threshold} for {role}, which would have {keys} key(s): \
         the threshold must be 1 to the number of keys"
    )]
    BadThreshold {
        role: String,
        threshold: u64,
        keys: usize,
    },

    #[error("cannot encrypt the new key: {0}")]
    KeyEncryption(String),

    #[error("wrong passphrase for key file {path} (or the file is damaged)")]
    WrongPassphrase { path: PathBuf },

    #[error("key file {path} is encrypted: set {env} or run in a terminal to be asked for the passphrase")]
    NoPassphrase { path: PathBuf, env: &'static str },

    #[error("bad passphrase: {0}")]
    BadPassphrase(String),

    // The repository.
    #[error("the repository is damaged or half-written: {0} (run `updater-pack verify`)")]
    Inconsistent(String),

    #[error("verification failed: {0}")]
    Verify(String),

    /// `status --fail-on-warnings` found warnings (they are printed with the status).
    #[error("{0} warning(s)")]
    Warnings(usize),

    #[error("cannot write {what}: {source}")]
    Encode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },

    #[error("server: {0}")]
    Serve(String),

    #[error(transparent)]
    Tuf(#[from] TufError),

    #[error(transparent)]
    Sign(#[from] SignError),
}

/// ` TEXT`, or nothing.
fn spaced(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!(" {text}")
    }
}

/// ` (HINT)`, or nothing.
fn hinted(hint: &str) -> String {
    if hint.is_empty() {
        String::new()
    } else {
        format!(" ({hint})")
    }
}

/// ` VALUE` after a flag, or nothing.
fn shown(value: Option<&str>) -> String {
    value.map(|v| format!(" {v}")).unwrap_or_default()
}

impl PackError {
    /// An I/O failure on `path`; the same as `FileError::new(path, source).into()`. New code
    /// writes `.map_err(FileError::at(path))?` instead.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        PackError::File(FileError::new(path.as_ref(), source))
    }

    /// `flag VALUE: reason`.
    pub fn bad_value(flag: &'static str, value: impl ToString, reason: impl Into<String>) -> Self {
        PackError::BadArgument {
            flag,
            value: Some(value.to_string()),
            reason: reason.into(),
        }
    }

    pub fn inconsistent(msg: impl Into<String>) -> Self {
        PackError::Inconsistent(msg.into())
    }
}

pub type Result<T, E = PackError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_argument_shows_the_flag_and_the_value_if_any() {
        let e = PackError::bad_value("--root-keys", 17, "must be 1 to 16");
        assert_eq!(e.to_string(), "--root-keys 17: must be 1 to 16");
        let e = PackError::BadArgument {
            flag: "--channels",
            value: None,
            reason: "give at least one channel".into(),
        };
        assert_eq!(e.to_string(), "--channels: give at least one channel");
    }

    #[test]
    fn a_name_error_reads_as_the_schema_wrote_it() {
        let name = tuf_updater_core::release::names::check_app("-x").unwrap_err();
        let e = PackError::from(name.clone());
        assert_eq!(e.to_string(), name.to_string());
        assert_eq!(
            e.to_string(),
            "invalid app name \"-x\": must start with a letter or digit"
        );
        assert!(std::error::Error::source(&e).is_none());
    }

    #[test]
    fn a_file_error_keeps_its_path_and_cause() {
        let e: PackError = FileError::new("/x/y", std::io::ErrorKind::NotFound.into()).into();
        assert!(e.to_string().starts_with("/x/y: "), "{e}");
        assert!(std::error::Error::source(&e).is_some());
    }
}
