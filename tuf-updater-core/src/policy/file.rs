//! The policy file: its fields, strict parsing, and reading it (capped).

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Url;
use semver::VersionReq;
use serde::Deserialize;
use thiserror::Error;

use crate::files::{read_capped, Capped};

/// The policy file's name.
pub const POLICY_FILE: &str = "update-policy.json";
/// The largest policy file read.
pub const MAX_POLICY_LEN: u64 = 64 * 1024;
/// The shortest `check_interval` a policy may set.
pub const MIN_CHECK_INTERVAL: Duration = Duration::from_secs(60);
/// The longest `check_interval` a policy may set (365 days).
pub const MAX_CHECK_INTERVAL: Duration = Duration::from_secs(365 * 24 * 3600);

/// Why the policy could not be read. Each keeps updates off.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    /// The file exists but cannot be read.
    #[error("cannot read update policy {path}: {reason}")]
    Io {
        /// The policy file.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// The file is larger than [`MAX_POLICY_LEN`].
    #[error("update policy {path} is larger than {limit} bytes")]
    TooLarge {
        /// The policy file.
        path: PathBuf,
        /// The limit, in bytes.
        limit: u64,
    },
    /// Not valid JSON, an unknown field, or a value out of range.
    #[error("malformed update policy {path}: {reason}")]
    Malformed {
        /// The policy file.
        path: PathBuf,
        /// What is wrong, by field.
        reason: String,
    },
    /// The app's name cannot be a directory name, so no policy file can be found for it.
    #[error("app name {0:?} cannot name a policy directory")]
    BadAppName(String),
    /// The file is not the administrator's: someone else owns or may write it, or a folder
    /// above it.
    #[error("update policy {path} is not the administrator's, so it is not used: {reason}")]
    Untrusted {
        /// The policy file.
        path: PathBuf,
        /// Who else owns or may write it.
        reason: String,
    },
}

/// The administrator's policy, checked. `None` fields leave the decision to the user and
/// the app.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Policy {
    /// `Some(false)` turns updates off, `Some(true)` on even if the user turned them off.
    pub enabled: Option<bool>,
    /// The channel every user is on.
    pub channel: Option<String>,
    /// The channels a user may choose; never empty.
    pub allowed_channels: Option<Vec<String>>,
    /// Only releases matching this requirement are offered (e.g. `~1.4`).
    pub pinned_version: Option<VersionReq>,
    /// Whether an install above the pin goes down to it.
    pub allow_rollback: bool,
    /// How often the app checks, overriding the app's interval.
    pub check_interval: Option<Duration>,
    /// Base URL of the repository to use instead of the app's.
    pub repository_mirror: Option<Url>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    enabled: Option<bool>,
    channel: Option<String>,
    allowed_channels: Option<Vec<String>>,
    pinned_version: Option<String>,
    allow_rollback: Option<bool>,
    check_interval: Option<String>,
    repository_mirror: Option<String>,
}

/// Loads the policy file at `path`. `Ok(None)`: the file does not exist.
pub fn load_from(path: &Path) -> Result<Option<Policy>, PolicyError> {
    let data = match read_capped(path, MAX_POLICY_LEN) {
        Ok(Capped::Missing) => return Ok(None),
        Ok(Capped::TooLarge) => {
            return Err(PolicyError::TooLarge {
                path: path.to_path_buf(),
                limit: MAX_POLICY_LEN,
            })
        }
        Ok(Capped::Data(data)) => data,
        Err(e) => {
            return Err(PolicyError::Io {
                path: path.to_path_buf(),
                reason: e.source.to_string(),
            })
        }
    };
    parse(&data)
        .map(Some)
        .map_err(|reason| PolicyError::Malformed {
            path: path.to_path_buf(),
            reason,
        })
}

/// Parses and checks a policy document; the error is the reason, without the path.
pub fn parse(data: &[u8]) -> Result<Policy, String> {
    let raw: RawPolicy = serde_json::from_slice(data).map_err(|e| e.to_string())?;
    // The schema's own rule and its reason (one place says what a channel name is).
    let check_channel = |field: &str, name: &str| {
        crate::release::names::check_channel(name).map_err(|e| format!("{field}: {e}"))
    };
    if let Some(channel) = &raw.channel {
        check_channel("channel", channel)?;
    }
    if let Some(allowed) = &raw.allowed_channels {
        if allowed.is_empty() {
            return Err(
                "allowed_channels is empty (use \"enabled\": false to turn updates off)".into(),
            );
        }
        for name in allowed {
            check_channel("allowed_channels", name)?;
        }
        if let Some(channel) = &raw.channel {
            if !allowed.contains(channel) {
                return Err(format!(
                    "channel {channel:?} is not one of allowed_channels {allowed:?}"
                ));
            }
        }
    }
    let pinned_version = raw
        .pinned_version
        .map(|text| {
            VersionReq::parse(&text)
                .map_err(|e| format!("pinned_version: {text:?} is not a semver requirement: {e}"))
        })
        .transpose()?;
    let check_interval = raw
        .check_interval
        .map(|text| parse_interval(&text).map_err(|e| format!("check_interval: {e}")))
        .transpose()?;
    let repository_mirror = raw
        .repository_mirror
        .map(|text| parse_mirror(&text).map_err(|e| format!("repository_mirror: {e}")))
        .transpose()?;
    Ok(Policy {
        enabled: raw.enabled,
        channel: raw.channel,
        allowed_channels: raw.allowed_channels,
        pinned_version,
        allow_rollback: raw.allow_rollback.unwrap_or(false),
        check_interval,
        repository_mirror,
    })
}

/// Parses `<n><unit>` (unit `s`, `m`, `h` or `d`) within the interval bounds.
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let bad = || format!("{text:?} is not <number><s|m|h|d>, e.g. \"6h\"");
    let split = text.len().checked_sub(1).ok_or_else(bad)?;
    let (number, unit) = (text.get(..split), text.get(split..));
    let (Some(number), Some(unit)) = (number, unit) else {
        return Err(bad());
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u64 = number.parse().map_err(|_| bad())?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    let secs = n.checked_mul(scale).ok_or_else(bad)?;
    let interval = Duration::from_secs(secs);
    if interval < MIN_CHECK_INTERVAL || interval > MAX_CHECK_INTERVAL {
        return Err(format!("{text:?} is outside 1 minute to 365 days"));
    }
    Ok(interval)
}

fn parse_mirror(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err(format!("{text:?} is not an http(s) URL with a host"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn write(dir: &tempfile::TempDir, text: &[u8]) -> PathBuf {
        let path = dir.path().join(POLICY_FILE);
        fs::write(&path, text).unwrap();
        path
    }

    fn load_text(text: &str) -> Result<Option<Policy>, PolicyError> {
        let dir = tempfile::tempdir().unwrap();
        load_from(&write(&dir, text.as_bytes()))
    }

    /// The reason of a `Malformed` error for `text`, checking the path is named.
    fn malformed(text: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, text.as_bytes());
        match load_from(&path) {
            Err(e @ PolicyError::Malformed { .. }) => {
                let message = e.to_string();
                assert!(message.contains(&path.display().to_string()), "{message}");
                match e {
                    PolicyError::Malformed { reason, .. } => reason,
                    _ => unreachable!(),
                }
            }
            other => panic!("{text}: expected Malformed, got {other:?}"),
        }
    }

    // ---- reading ----

    #[test]
    fn missing_file_is_no_policy() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load_from(&dir.path().join("absent.json")), Ok(None));
        assert_eq!(load_from(&dir.path().join("no/such/dir/p.json")), Ok(None));
    }

    #[test]
    fn reads_every_field() {
        let p = load_text(
            r#"{ "enabled": true, "channel": "beta", "allowed_channels": ["stable", "beta"],
                 "pinned_version": "~1.4", "allow_rollback": true, "check_interval": "6h",
                 "repository_mirror": "https://mirror.example.com/app/" }"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(p.enabled, Some(true));
        assert_eq!(p.channel.as_deref(), Some("beta"));
        assert_eq!(
            p.allowed_channels,
            Some(vec!["stable".to_string(), "beta".to_string()])
        );
        assert_eq!(p.pinned_version, Some(VersionReq::parse("~1.4").unwrap()));
        assert!(p.allow_rollback);
        assert_eq!(p.check_interval, Some(Duration::from_secs(6 * 3600)));
        assert_eq!(
            p.repository_mirror.unwrap().as_str(),
            "https://mirror.example.com/app/"
        );
    }

    #[test]
    fn empty_object_and_nulls_are_defaults() {
        assert_eq!(load_text("{}").unwrap().unwrap(), Policy::default());
        assert_eq!(
            load_text(r#"{"enabled": null, "channel": null, "pinned_version": null}"#)
                .unwrap()
                .unwrap(),
            Policy::default()
        );
        // UTF-8 BOM-free whitespace is fine
        assert_eq!(load_text(" \n{ }\n").unwrap().unwrap(), Policy::default());
    }

    #[test]
    fn pin_requirements() {
        for req in ["=1.4.2", "~1.4", "^1", ">=1.2, <1.5", "1.4.*"] {
            let p = load_text(&format!(r#"{{"pinned_version": "{req}"}}"#))
                .unwrap()
                .unwrap();
            assert_eq!(p.pinned_version, Some(VersionReq::parse(req).unwrap()));
        }
        for bad in ["", "latest", "=1.4.2.1", "~>1.4", "1.4 || 1.5"] {
            let reason = malformed(&format!(r#"{{"pinned_version": "{bad}"}}"#));
            assert!(reason.starts_with("pinned_version:"), "{bad}: {reason}");
        }
    }

    #[test]
    fn malformed_json_is_an_error() {
        for text in [
            "",
            "{",
            "{\"enabled\": true,}",
            "not json",
            "{} {}",
            "[]",
            "null",
            "true",
        ] {
            malformed(text);
        }
        // not UTF-8
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, b"{\"channel\": \"\xff\"}");
        assert!(matches!(
            load_from(&path),
            Err(PolicyError::Malformed { .. })
        ));
    }

    #[test]
    fn wrong_types_are_an_error() {
        for (text, field) in [
            (r#"{"enabled": "yes"}"#, "boolean"),
            (r#"{"enabled": 1}"#, "boolean"),
            (r#"{"channel": 5}"#, "string"),
            (r#"{"allowed_channels": "stable"}"#, "sequence"),
            (r#"{"allowed_channels": [1]}"#, "string"),
            (r#"{"pinned_version": 1.4}"#, "string"),
            (r#"{"allow_rollback": "false"}"#, "boolean"),
            (r#"{"check_interval": 3600}"#, "string"),
            (r#"{"repository_mirror": {}}"#, "string"),
        ] {
            let reason = malformed(text);
            assert!(
                reason.contains("invalid type") && reason.contains(field),
                "{text}: {reason}"
            );
        }
    }

    #[test]
    fn unknown_fields_are_an_error() {
        let reason = malformed(r#"{"enabled": true, "chanel": "beta"}"#);
        assert!(reason.contains("unknown field `chanel`"), "{reason}");
    }

    #[test]
    fn duplicate_fields_are_an_error() {
        let reason = malformed(r#"{"enabled": true, "enabled": false}"#);
        assert!(reason.contains("duplicate field"), "{reason}");
    }

    #[test]
    fn channel_rules() {
        assert!(malformed(r#"{"channel": ""}"#).starts_with("channel:"));
        assert!(malformed(r#"{"channel": "../x"}"#).starts_with("channel:"));
        assert!(malformed(r#"{"allowed_channels": ["stable", "b/eta"]}"#)
            .starts_with("allowed_channels:"));
        assert!(malformed(r#"{"allowed_channels": []}"#).contains("empty"));
        assert!(
            malformed(r#"{"channel": "beta", "allowed_channels": ["stable"]}"#)
                .contains("not one of allowed_channels")
        );
    }

    #[test]
    fn check_intervals() {
        let ok = [
            ("60s", 60),
            ("90s", 90),
            ("30m", 1800),
            ("6h", 21_600),
            ("1d", 86_400),
            ("365d", 365 * 86_400),
        ];
        for (text, secs) in ok {
            assert_eq!(
                parse_interval(text),
                Ok(Duration::from_secs(secs)),
                "{text}"
            );
        }
        for bad in [
            "",
            "h",
            "6",
            "6x",
            "-1h",
            "+1h",
            "1.5h",
            " 6h",
            "6h ",
            "6 h",
            "6H",
            "0s",
            "59s",
            "366d",
            "99999999999999999999d",
            "18446744073709551615d",
            "6é",
        ] {
            assert!(parse_interval(bad).is_err(), "{bad:?}");
            let reason = malformed(&format!(
                r#"{{"check_interval": {}}}"#,
                serde_json::json!(bad)
            ));
            assert!(reason.starts_with("check_interval:"), "{reason}");
        }
    }

    #[test]
    fn mirror_urls() {
        for ok in ["https://m.example.com/", "http://127.0.0.1:8080/repo"] {
            assert!(load_text(&format!(r#"{{"repository_mirror": "{ok}"}}"#)).is_ok());
        }
        for bad in [
            "",
            "mirror.example.com",
            "ftp://m.example.com/",
            "file:///srv/repo",
            "https://",
        ] {
            let reason = malformed(&format!(r#"{{"repository_mirror": "{bad}"}}"#));
            assert!(reason.starts_with("repository_mirror:"), "{bad}: {reason}");
        }
    }

    #[test]
    fn oversized_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        // exactly at the cap: read
        let mut text = b"{}".to_vec();
        text.resize(MAX_POLICY_LEN as usize, b' ');
        assert_eq!(load_from(&write(&dir, &text)), Ok(Some(Policy::default())));
        // one byte over: refused
        text.push(b' ');
        let path = write(&dir, &text);
        assert_eq!(
            load_from(&path),
            Err(PolicyError::TooLarge {
                path,
                limit: MAX_POLICY_LEN
            })
        );
    }

    #[test]
    fn unreadable_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        // a directory where the file should be
        let path = dir.path().join(POLICY_FILE);
        fs::create_dir(&path).unwrap();
        assert!(matches!(load_from(&path), Err(PolicyError::Io { .. })));
    }
}
