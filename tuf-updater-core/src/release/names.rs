//! The names that become parts of a release's target path, URLs and file names: channels,
//! apps, versions and file names. The publisher checks each before it writes anything and the
//! client reads the same rules, so a name one accepts the other never refuses.

use semver::Version;
use thiserror::Error;

/// Names a channel cannot take: the top-level TUF roles (a channel is a delegated role of the
/// same namespace) and `retired` (the publisher keeps rotated-out keys in `keys/retired/`).
pub const RESERVED_CHANNELS: [&str; 5] = ["root", "timestamp", "snapshot", "targets", "retired"];

/// A name that breaks a rule of the release schema, with the rule.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameError {
    /// A channel name [`check_channel`] refuses.
    #[error("invalid channel name {name:?}: {reason}")]
    Channel {
        /// The name.
        name: String,
        /// The rule it breaks.
        reason: String,
    },
    /// An app name [`check_app`] refuses.
    #[error("invalid app name {name:?}: {reason}")]
    App {
        /// The name.
        name: String,
        /// The rule it breaks.
        reason: String,
    },
    /// A version that is not strict semver ([`parse_version`]).
    #[error(
        "version {version:?} is not a semantic version (MAJOR.MINOR.PATCH, like 1.4.0): {reason}"
    )]
    Version {
        /// The version string.
        version: String,
        /// The semver parser's complaint.
        reason: String,
    },
    /// A platform name that is not valid.
    #[error("invalid platform {name:?}: {reason}")]
    Platform {
        /// The name.
        name: String,
        /// The rule it breaks.
        reason: String,
    },
    /// A target file name [`check_file_name`] refuses.
    #[error("invalid target file name {name:?}: {reason}")]
    File {
        /// The name.
        name: String,
        /// The rule it breaks.
        reason: String,
    },
}

/// A channel name becomes a role name, a file name (`N.<channel>.json`) and a URL segment:
/// 1 to 32 lower-case letters, digits and `-`, starting with a letter or digit, not reserved.
pub fn check_channel(name: &str) -> Result<(), NameError> {
    let bad = |reason: &str| NameError::Channel {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if name.is_empty() || name.len() > 32 {
        return Err(bad("must be 1 to 32 characters"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(bad("use lower-case letters, digits and '-'"));
    }
    if name.starts_with('-') {
        return Err(bad("must start with a letter or digit"));
    }
    match name {
        "retired" => Err(bad("is reserved (keys/retired/ holds rotated-out keys)")),
        _ if RESERVED_CHANNELS.contains(&name) => Err(bad("is the name of a top-level TUF role")),
        _ => Ok(()),
    }
}

/// Whether [`check_channel`] accepts `name`.
pub fn valid_channel_name(name: &str) -> bool {
    check_channel(name).is_ok()
}

/// Whether a channel offers pre-release versions unless told otherwise: `beta`, `alpha`,
/// `nightly`, `canary`, `dev` and `preview` do; `stable` and any other channel do not.
pub fn channel_carries_prereleases(channel: &str) -> bool {
    matches!(
        channel,
        "beta" | "alpha" | "nightly" | "canary" | "dev" | "preview"
    )
}

/// The app name a product goes by when none is given: its Tauri `productName`,
/// lowercased. The publisher (`release --bundle-dir`) and the plugin both use it, so that an
/// app looks for its releases where they are published.
pub fn default_app_name(product: &str) -> String {
    product.to_lowercase()
}

/// An app name: 1 to 64 ASCII letters, digits, `.`, `_` and `-`, starting with a letter or
/// digit (one path segment, one file name part).
pub fn check_app(name: &str) -> Result<(), NameError> {
    let bad = |reason: &str| NameError::App {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if name.is_empty() || name.len() > 64 {
        return Err(bad("must be 1 to 64 characters"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(bad("use letters, digits, '.', '_' and '-'"));
    }
    if !name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric())
    {
        return Err(bad("must start with a letter or digit"));
    }
    Ok(())
}

/// A release version: strict semver (`1.4.0`, `2.0.0-beta.1`).
pub fn parse_version(version: &str) -> Result<Version, NameError> {
    Version::parse(version).map_err(|e| {
        let reason = if version.starts_with(['v', 'V']) {
            format!("{e}; write it without the leading 'v'")
        } else {
            e.to_string()
        };
        NameError::Version {
            version: version.to_string(),
            reason,
        }
    })
}

/// The last segment of a target path. It keeps its extension (the installer tells an
/// `.AppImage` from an `.app.tar.gz` or an `.msi`) and stays one safe URL segment.
pub fn check_file_name(name: &str) -> Result<(), NameError> {
    let bad = |reason: &str| NameError::File {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if name.is_empty() || name.len() > 200 {
        return Err(bad("must be 1 to 200 characters"));
    }
    if name.starts_with('.') || name.starts_with(' ') || name.ends_with(' ') {
        return Err(bad("must not start with '.' or start or end with a space"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+' | b' '))
    {
        return Err(bad(
            "use letters, digits, spaces, '.', '_', '-' and '+' (pick another with --name)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels() {
        for ok in ["stable", "beta-2", "nightly", "0"] {
            assert!(check_channel(ok).is_ok(), "{ok}");
        }
        for bad in [
            "Beta",
            "targets",
            "retired",
            "a/b",
            "",
            "-x",
            "a.b",
            &"x".repeat(33),
        ] {
            assert!(check_channel(bad).is_err(), "{bad}");
        }
        let err = check_channel("root").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid channel name \"root\": is the name of a top-level TUF role"
        );
    }

    #[test]
    fn apps() {
        assert!(check_app("My.App_2-x").is_ok());
        for bad in ["", "-a", "a/b", "a b", &"a".repeat(65)] {
            assert!(check_app(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn versions() {
        assert!(parse_version("1.4.0").is_ok());
        assert!(parse_version("2.0.0-beta.1+build.5").is_ok());
        assert!(parse_version("1.4").is_err());
        let e = parse_version("v1.4.0").unwrap_err().to_string();
        assert!(e.contains("leading 'v'"), "{e}");
    }

    #[test]
    fn file_names() {
        assert!(check_file_name("My App_1.0.0_amd64.AppImage").is_ok());
        assert!(check_file_name("demo.app.tar.gz").is_ok());
        for bad in ["../x", ".hidden", "a%20b", "a/b", "", " a"] {
            assert!(check_file_name(bad).is_err(), "{bad}");
        }
    }
}
