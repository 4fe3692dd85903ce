//! The plugin's errors. Commands send them to the webview as one string that carries the
//! whole chain of causes (a TUF refusal names its spec rule).

use serde::{Serialize, Serializer};
use updater_core::UpdateError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The updater could not be set up (no repository or trusted root configured, a bad
    /// URL, no data directory); every command reports this.
    #[error("the updater is not set up: {0}")]
    NotConfigured(String),
    #[error(transparent)]
    Update(#[from] UpdateError),
    /// `download`/`install` named a version that the last check did not find.
    #[error("version {requested} is not the update found by the last check ({found}): call check() first")]
    NotChecked { requested: String, found: String },
    #[error("update {0} is not installed yet: call install() or downloadAndInstall() first")]
    NotInstalled(String),
    #[error("an update is already being downloaded or installed by this app")]
    Busy,
    #[error("invalid channel name {0:?}")]
    InvalidChannel(String),
    #[error(transparent)]
    Tauri(#[from] tauri::Error),
    #[error("the install task failed: {0}")]
    Task(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Serialize for Error {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&full_chain(self))
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
mod tests {
    use super::*;

    #[test]
    fn serialized_error_is_the_message_with_its_causes() {
        let err = Error::Update(UpdateError::Io(updater_core::files::FileError::new(
            "/data/x",
            std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied"),
        )));
        assert_eq!(serde_json::to_value(&err).unwrap(), "/data/x: denied");
        let err = Error::NotChecked {
            requested: "2.0.0".into(),
            found: "none".into(),
        };
        assert!(serde_json::to_string(&err)
            .unwrap()
            .contains("call check() first"));
    }
}
