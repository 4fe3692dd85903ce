//! The plugin's errors. Commands send them to the webview as `{ kind, message, detail }`:
//! an [`ErrorKind`] the app can match on, a short plain sentence for users, and the whole
//! chain of causes for logs (a TUF refusal names its spec rule there).

use std::io;

use serde::{Serialize, Serializer};
use tuf_updater_core::install::InstallError;
use tuf_updater_core::policy::Disabled;
use tuf_updater_core::tuf::error::Rule;
use tuf_updater_core::tuf::fetch::FetchError;
use tuf_updater_core::tuf::{expiry, TufError};
use tuf_updater_core::UpdateError;

/// What a command or a method of [`Updater`](crate::Updater) can fail with; [`Error::kind`]
/// says what kind of failure it is.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The updater could not be set up (no repository or trusted root configured, a bad
    /// URL, no data directory); every command reports this.
    #[error("the updater is not set up: {0}")]
    NotConfigured(String),
    /// The update engine failed: a TUF refusal, a network, install or settings error.
    #[error(transparent)]
    Update(#[from] UpdateError),
    /// `download`/`install` named a version that the last check did not find.
    #[error("version {requested} is not the update found by the last check ({found}): call check() first")]
    NotChecked {
        /// The version asked for.
        requested: String,
        /// The version the last check found, or `none`.
        found: String,
    },
    /// A restart into the named version was asked for before it was installed.
    #[error("update {0} is not installed yet: call install() or downloadAndInstall() first")]
    NotInstalled(String),
    /// Another download or install of this app is running.
    #[error("an update is already being downloaded or installed by this app")]
    Busy,
    /// Updates are turned off (by the administrator's policy, the user or the app), so a
    /// download or install is refused too, not only a check.
    #[error(transparent)]
    Disabled(Disabled),
    /// A channel name that is not valid (held here).
    #[error("invalid channel name {0:?}")]
    InvalidChannel(String),
    /// Tauri failed (emitting an event, reaching a window).
    #[error(transparent)]
    Tauri(#[from] tauri::Error),
    /// The blocking install task panicked or was cancelled.
    #[error("the install task failed: {0}")]
    Task(String),
    /// A check option (a header, the timeout, the proxy, the target) is not usable.
    #[error("invalid check option: {0}")]
    InvalidOption(String),
    /// The update named by its resource id was closed, or no check in this page found it.
    #[error("this update was closed, or was not found by a check in this page: check again")]
    UpdateClosed,
}

/// A result whose error defaults to the plugin's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure an [`Error`] is, for an app to react to (its `kind` in the webview,
/// camelCase). The kind is read from the error's variants, never from its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The repository's signed metadata has expired: the publisher has not re-signed it in
    /// time (an outage of its signing job) or someone replays old metadata (a freeze
    /// attack). Nothing is trusted until it is re-signed.
    RepositoryExpired,
    /// The update server could not be reached: no network, DNS, a refused connection, a
    /// timeout, a download too slow, or a server error (HTTP 5xx).
    Offline,
    /// The server's answer or the update failed verification: signatures under the
    /// threshold, a rollback to older metadata, a length or hash mismatch, a role that is
    /// not delegated, a staged update changed on disk. Any refusal but expiry.
    AttackDetected,
    /// The updater may not write its data directory or the install location (permission
    /// denied, a read-only file system, administrator rights needed or refused).
    NotWritable,
    /// The disk (or the user's quota) is full.
    DiskFull,
    /// The administrator's policy turned updates off, or could not be used (which turns
    /// them off).
    DisabledByPolicy,
    /// The user's settings or the app turned updates off.
    Disabled,
    /// The updater is not set up: no repository, no trusted root, a bad configuration.
    NotConfigured,
    /// Another download or install of this app is under way (this process or another).
    Busy,
    /// The update server refused access (HTTP 401 or 403): a credential header is missing
    /// or wrong (`check({ headers })`). S3 also answers 403 for a file that is missing.
    AccessDenied,
    /// Anything else; `detail` says what.
    Other,
}

impl Error {
    /// The kind of failure, for an app to react to.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NotConfigured(_) => ErrorKind::NotConfigured,
            Error::Update(e) => update_kind(e).unwrap_or_else(|| chain_kind(e)),
            Error::Busy => ErrorKind::Busy,
            Error::Disabled(reason) => disabled_kind(reason),
            Error::Tauri(e) => chain_kind(e),
            Error::NotChecked { .. }
            | Error::NotInstalled(_)
            | Error::InvalidChannel(_)
            | Error::InvalidOption(_)
            | Error::UpdateClosed
            | Error::Task(_) => ErrorKind::Other,
        }
    }

    /// One plain sentence for the user: no spec sections, no paths. [`full_chain`] has the
    /// whole story for the log.
    pub fn message(&self) -> String {
        match self {
            Error::Update(UpdateError::Repository {
                source:
                    TufError::Expired {
                        expires,
                        checked_at,
                        ..
                    },
                ..
            }) => format!(
                "The update server's signatures expired {} ago: the publisher has not re-signed \
                 them (an outage, or a freeze attack). Updates resume once they are re-signed.",
                expiry::elapsed(expires, checked_at)
            ),
            Error::Update(UpdateError::Install(InstallError::ElevationRefused { .. })) => {
                "Installing the update needs administrator rights, and they were refused.".into()
            }
            Error::Update(UpdateError::Install(InstallError::ElevationUnavailable { .. })) => {
                "Installing the update needs administrator rights.".into()
            }
            Error::Update(
                e @ (UpdateError::UnknownChannel { .. }
                | UpdateError::NotDownloaded { .. }
                | UpdateError::ConfirmByOtherVersion { .. }),
            ) => sentence(&e.to_string()),
            Error::Disabled(reason) => disabled_message(reason).into(),
            Error::NotChecked { .. }
            | Error::NotInstalled(_)
            | Error::InvalidChannel(_)
            | Error::InvalidOption(_)
            | Error::UpdateClosed => sentence(&self.to_string()),
            _ => kind_message(self.kind()).into(),
        }
    }
}

/// The message of an error that has no more specific one.
fn kind_message(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::RepositoryExpired => {
            "The update server's signatures have expired: the publisher has not re-signed them \
             (an outage, or a freeze attack). Updates resume once they are re-signed."
        }
        ErrorKind::Offline => {
            "The update server could not be reached: check the network connection, or try \
             again later."
        }
        ErrorKind::AttackDetected => {
            "The update was refused because it failed a security check (a signature, version \
             or checksum did not match); nothing unverified was used."
        }
        ErrorKind::NotWritable => {
            "The updater is not allowed to write the files it needs (permission denied)."
        }
        ErrorKind::DiskFull => "There is not enough disk space for the update.",
        ErrorKind::DisabledByPolicy => "Updates are turned off by the administrator's policy.",
        ErrorKind::Disabled => "Updates are turned off.",
        ErrorKind::NotConfigured => "The updater is not set up for this app.",
        ErrorKind::Busy => "Another update of this app is in progress: try again once it is done.",
        ErrorKind::AccessDenied => {
            "The update server refused access: the app's credentials are missing or wrong."
        }
        ErrorKind::Other => "The update could not be completed.",
    }
}

fn disabled_message(reason: &Disabled) -> &'static str {
    match reason {
        Disabled::PolicyError(_) => {
            "Updates are turned off because the administrator's update policy could not be used."
        }
        Disabled::User => "Updates are turned off in the settings.",
        Disabled::App => "Updates are turned off by the application.",
        _ => kind_message(disabled_kind(reason)),
    }
}

/// `text` as a sentence: a capital first letter and a full stop.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

fn disabled_kind(reason: &Disabled) -> ErrorKind {
    match reason {
        Disabled::User | Disabled::App => ErrorKind::Disabled,
        // The policy's own refusal, a policy that could not be used, and what a newer
        // tuf-updater-core may add: the administrator's doing.
        _ => ErrorKind::DisabledByPolicy,
    }
}

/// The kind of the engine's error, where its variant decides it.
fn update_kind(e: &UpdateError) -> Option<ErrorKind> {
    match e {
        UpdateError::Config(_)
        | UpdateError::InvalidVersion { .. }
        | UpdateError::UnknownPlatform { .. }
        // The HTTP client could not be built: its configuration, not the network.
        | UpdateError::Http(_) => Some(ErrorKind::NotConfigured),
        UpdateError::Repository { source, .. } => tuf_kind(source),
        UpdateError::Install(e) => install_kind(e),
        UpdateError::Restart { source, .. } => io_kind(source),
        UpdateError::Io(e) => io_kind(&e.source),
        _ => None,
    }
}

/// The kind of a TUF client error: expiry, the network, or a refusal.
fn tuf_kind(e: &TufError) -> Option<ErrorKind> {
    match e {
        TufError::Expired { .. } => Some(ErrorKind::RepositoryExpired),
        TufError::Fetch(e) => fetch_kind(e),
        TufError::Io { source, .. } => io_kind(source),
        TufError::Threshold { .. }
        | TufError::VersionMismatch { .. }
        | TufError::Rollback { .. }
        | TufError::LengthOrHash { .. }
        | TufError::NotDelegated { .. }
        // A repository trusted before now hides its timestamp: refused, as hiding is an
        // attack on freshness.
        | TufError::TrustedRepositoryMissing { .. } => Some(ErrorKind::AttackDetected),
        TufError::Missing { rule, .. } if *rule == Rule::TrustedRoot => {
            Some(ErrorKind::NotConfigured)
        }
        TufError::Missing { .. } => Some(ErrorKind::AttackDetected),
        // Malformed metadata (a broken server, a captive portal's page, a publisher's bug),
        // a version already trusted, a stored root to delete, a bug: not an attack.
        _ => Some(ErrorKind::Other),
    }
}

/// The kind of a failed fetch: the network, a server error, or a refused answer.
fn fetch_kind(e: &FetchError) -> Option<ErrorKind> {
    match e {
        FetchError::Transport { .. }
        | FetchError::Timeout { .. }
        | FetchError::TooSlow { .. }
        | FetchError::DownloadTimeout { .. } => Some(ErrorKind::Offline),
        FetchError::Status { status, .. } if *status >= 500 => Some(ErrorKind::Offline),
        // 403 comes as `NotFound` (S3 answers it for a missing file too): for files a
        // repository must have, a refusal of access is the likely cause.
        FetchError::Status { status: 401, .. } | FetchError::NotFound { status: 403, .. } => {
            Some(ErrorKind::AccessDenied)
        }
        // More than the signed length or the metadata limit: an endless-data attack.
        FetchError::TooLarge { .. } => Some(ErrorKind::AttackDetected),
        _ => Some(ErrorKind::Other),
    }
}

fn install_kind(e: &InstallError) -> Option<ErrorKind> {
    match e {
        InstallError::Io(e) => io_kind(&e.source),
        InstallError::NotWritable { source, .. } => {
            Some(io_kind(source).unwrap_or(ErrorKind::NotWritable))
        }
        InstallError::ElevationRefused { .. } | InstallError::ElevationUnavailable { .. } => {
            Some(ErrorKind::NotWritable)
        }
        InstallError::Busy(_) | InstallError::InProgress(_) => Some(ErrorKind::Busy),
        InstallError::StagedTampered(_) => Some(ErrorKind::AttackDetected),
        _ => None,
    }
}

/// The kinds an I/O error can tell: no permission, no space.
fn io_kind(e: &io::Error) -> Option<ErrorKind> {
    match e.kind() {
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
            Some(ErrorKind::NotWritable)
        }
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => Some(ErrorKind::DiskFull),
        _ => None,
    }
}

/// Walks the chain of causes for an error type whose variants tell a kind, for errors
/// that carry one deeper than the variants matched above.
fn chain_kind(error: &(dyn std::error::Error + 'static)) -> ErrorKind {
    let mut cause = Some(error);
    while let Some(e) = cause {
        let kind = if let Some(e) = e.downcast_ref::<TufError>() {
            tuf_kind(e)
        } else if let Some(e) = e.downcast_ref::<FetchError>() {
            fetch_kind(e)
        } else if let Some(e) = e.downcast_ref::<io::Error>() {
            io_kind(e)
        } else {
            None
        };
        if let Some(kind) = kind {
            return kind;
        }
        cause = e.source();
    }
    ErrorKind::Other
}

/// What the webview receives: `{ kind, message, detail }`.
#[derive(Serialize)]
struct Wire {
    kind: ErrorKind,
    message: String,
    detail: String,
}

impl Serialize for Error {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Wire {
            kind: self.kind(),
            message: self.message(),
            detail: full_chain(self),
        }
        .serialize(serializer)
    }
}

/// `error: cause: cause ...`, skipping causes whose text the message already contains.
pub fn full_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let part = cause.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
