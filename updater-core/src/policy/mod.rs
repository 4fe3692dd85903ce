//! The administrator's update policy, and its merge over the user's settings and the app's
//! defaults (policy > user > app).
//!
//! The policy is a JSON file, `update-policy.json`, in a system-wide directory:
//! - Linux and other Unix: `/etc/<app>/update-policy.json`
//! - macOS: `/Library/Application Support/<app>/update-policy.json`
//! - Windows: `%ProgramData%\<app>\update-policy.json` (`C:\ProgramData` if unset)
//!
//! The environment variable `<APP>_UPDATE_POLICY` (the app name uppercased, every other
//! character than an ASCII letter or digit as `_`; e.g. `SELFUPDATE_UPDATE_POLICY`), when set
//! and not empty, names the file to read instead. It exists for tests; note that whoever
//! controls the app's environment can use it to replace the policy. An app that must not
//! allow that reads [`system_policy_path`] with [`load_from`].
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
//! malformed) is a [`PolicyError`], which [`effective`] turns into "updates off".

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Url;
use semver::VersionReq;
use serde::Deserialize;
use thiserror::Error;

use crate::files::{read_capped, Capped};
use crate::release::valid_channel_name;
use crate::settings::UserSettings;

/// The policy file's name.
pub const POLICY_FILE: &str = "update-policy.json";
/// The largest policy file read.
pub const MAX_POLICY_LEN: u64 = 64 * 1024;
/// Bounds of `check_interval`.
pub const MIN_CHECK_INTERVAL: Duration = Duration::from_secs(60);
pub const MAX_CHECK_INTERVAL: Duration = Duration::from_secs(365 * 24 * 3600);

/// Why the policy could not be read. Each keeps updates off.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    #[error("cannot read update policy {path}: {reason}")]
    Io { path: PathBuf, reason: String },
    #[error("update policy {path} is larger than {limit} bytes")]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("malformed update policy {path}: {reason}")]
    Malformed { path: PathBuf, reason: String },
    #[error("app name {0:?} cannot name a policy directory")]
    BadAppName(String),
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
    pub pinned_version: Option<VersionReq>,
    /// Whether an install above the pin goes down to it.
    pub allow_rollback: bool,
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

/// The environment variable naming a policy file for `app`: `SELFUPDATE_UPDATE_POLICY`
/// for `selfupdate`, `MY_APP_UPDATE_POLICY` for `my-app`.
pub fn env_var_name(app: &str) -> String {
    let mut name: String = app
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    name.push_str("_UPDATE_POLICY");
    name
}

/// Whether `app` is usable as one directory name: not empty, not `.` or `..`, at most 128
/// bytes, no path separator, `:` or control character.
fn valid_app_dir(app: &str) -> bool {
    !app.is_empty()
        && app.len() <= 128
        && app != "."
        && app != ".."
        && !app
            .chars()
            .any(|c| c.is_control() || matches!(c, '/' | '\\' | ':'))
}

/// The system-wide policy path on `os` (a `std::env::consts::OS` value).
fn system_path_for(os: &str, app: &str, program_data: Option<OsString>) -> PathBuf {
    match os {
        "macos" => Path::new("/Library/Application Support")
            .join(app)
            .join(POLICY_FILE),
        "windows" => PathBuf::from(
            program_data
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| OsString::from(r"C:\ProgramData")),
        )
        .join(app)
        .join(POLICY_FILE),
        _ => Path::new("/etc").join(app).join(POLICY_FILE),
    }
}

/// The system-wide policy path of `app` on this OS (the environment override aside).
pub fn system_policy_path(app: &str) -> Result<PathBuf, PolicyError> {
    if !valid_app_dir(app) {
        return Err(PolicyError::BadAppName(app.to_string()));
    }
    Ok(system_path_for(
        std::env::consts::OS,
        app,
        std::env::var_os("ProgramData"),
    ))
}

/// The policy path of `app`: the environment override if set, else the system path.
pub fn policy_path(app: &str) -> Result<PathBuf, PolicyError> {
    policy_path_with_env(app, |name| std::env::var_os(name))
}

fn policy_path_with_env(
    app: &str,
    env: impl Fn(&str) -> Option<OsString>,
) -> Result<PathBuf, PolicyError> {
    match env(&env_var_name(app)).filter(|v| !v.is_empty()) {
        Some(path) => Ok(PathBuf::from(path)),
        None => system_policy_path(app),
    }
}

/// Loads the policy of `app` from [`policy_path`]. `Ok(None)`: there is no policy file.
pub fn load(app: &str) -> Result<Option<Policy>, PolicyError> {
    load_with_env(app, |name| std::env::var_os(name))
}

fn load_with_env(
    app: &str,
    env: impl Fn(&str) -> Option<OsString>,
) -> Result<Option<Policy>, PolicyError> {
    load_from(&policy_path_with_env(app, env)?)
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
    let check_channel = |field: &str, name: &str| {
        if valid_channel_name(name) {
            Ok(())
        } else {
            Err(format!(
                "{field}: {name:?} is not a channel name (1 to 64 ASCII letters, digits, '-', '_', '.')"
            ))
        }
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

/// What the app decides when neither policy nor user does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppDefaults {
    pub channel: String,
    pub enabled: bool,
    pub check_interval: Duration,
}

impl AppDefaults {
    /// Updates on, checked every 6 hours, on `channel`.
    pub fn new(channel: impl Into<String>) -> AppDefaults {
        AppDefaults {
            channel: channel.into(),
            enabled: true,
            check_interval: Duration::from_secs(6 * 3600),
        }
    }
}

/// Who decided a setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Policy,
    User,
    App,
}

/// Why updates are off.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Disabled {
    #[error("updates are off because the update policy could not be used: {0}")]
    PolicyError(PolicyError),
    #[error("updates are turned off by the administrator's policy")]
    Policy,
    #[error("updates are turned off in the user's settings")]
    User,
    #[error("updates are turned off by the application")]
    App,
}

/// Why the channel is not the one asked for.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ChannelNote {
    #[error("the administrator's policy sets the channel; {requested:?} is not used")]
    Forced { requested: String },
    #[error("channel {requested:?} is not allowed by the administrator's policy (allowed: {allowed:?}); using the first allowed channel")]
    NotAllowed {
        requested: String,
        requested_by: Source,
        allowed: Vec<String>,
    },
}

/// The settings in force, and who decided them.
#[derive(Clone, Debug, PartialEq)]
pub struct Effective {
    /// `None`: updates are on.
    pub disabled: Option<Disabled>,
    pub channel: String,
    pub channel_source: Source,
    /// Set when the channel asked for by the user (or the app) is not the one used.
    pub channel_note: Option<ChannelNote>,
    pub pinned_version: Option<VersionReq>,
    pub allow_rollback: bool,
    pub repository_mirror: Option<Url>,
    pub check_interval: Duration,
    pub check_interval_source: Source,
}

impl Effective {
    pub fn enabled(&self) -> bool {
        self.disabled.is_none()
    }
}

/// Merges policy over user over app.
///
/// - A policy that failed to load turns updates off (and nothing else of it applies).
/// - `enabled`: the policy's if set, else the user's, else the app's.
/// - Channel: the policy's forced channel; else the user's choice, else the app's default,
///   if `allowed_channels` (when set) lists it; else the first allowed channel, with a note.
/// - Pin, rollback and mirror come only from the policy; the check interval from the
///   policy, else the app.
pub fn effective(
    policy: &Result<Option<Policy>, PolicyError>,
    user: &UserSettings,
    app: &AppDefaults,
) -> Effective {
    let (policy, broken) = match policy {
        Ok(p) => (p.as_ref(), None),
        Err(e) => (None, Some(e.clone())),
    };
    let disabled = if let Some(e) = broken {
        Some(Disabled::PolicyError(e))
    } else {
        match (policy.and_then(|p| p.enabled), user.enabled) {
            (Some(false), _) => Some(Disabled::Policy),
            (Some(true), _) => None,
            (None, Some(false)) => Some(Disabled::User),
            (None, Some(true)) => None,
            (None, None) => (!app.enabled).then_some(Disabled::App),
        }
    };

    let (requested, requested_by) = match &user.channel {
        Some(c) => (c.clone(), Source::User),
        None => (app.channel.clone(), Source::App),
    };
    let forced = policy.and_then(|p| p.channel.clone());
    let allowed = policy.and_then(|p| p.allowed_channels.as_ref());
    let (channel, channel_source, channel_note) = if let Some(forced) = forced {
        let note = (requested_by == Source::User && requested != forced)
            .then_some(ChannelNote::Forced { requested });
        (forced, Source::Policy, note)
    } else {
        match allowed {
            Some(list) if !list.contains(&requested) => match list.first() {
                Some(first) => (
                    first.clone(),
                    Source::Policy,
                    Some(ChannelNote::NotAllowed {
                        requested,
                        requested_by,
                        allowed: list.clone(),
                    }),
                ),
                None => (requested, requested_by, None),
            },
            _ => (requested, requested_by, None),
        }
    };

    let (check_interval, check_interval_source) = match policy.and_then(|p| p.check_interval) {
        Some(i) => (i, Source::Policy),
        None => (app.check_interval, Source::App),
    };
    Effective {
        disabled,
        channel,
        channel_source,
        channel_note,
        pinned_version: policy.and_then(|p| p.pinned_version.clone()),
        allow_rollback: policy.is_some_and(|p| p.allow_rollback),
        repository_mirror: policy.and_then(|p| p.repository_mirror.clone()),
        check_interval,
        check_interval_source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::InstallId;
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

    fn user(channel: Option<&str>, enabled: Option<bool>) -> UserSettings {
        let mut u = UserSettings::new(InstallId::parse(&"0".repeat(32)).unwrap());
        u.channel = channel.map(str::to_string);
        u.enabled = enabled;
        u
    }

    fn policy(json: &str) -> Result<Option<Policy>, PolicyError> {
        parse(json.as_bytes())
            .map(Some)
            .map_err(|reason| PolicyError::Malformed {
                path: PathBuf::from("/etc/app/update-policy.json"),
                reason,
            })
    }

    // ---- paths ----

    #[test]
    fn env_var_names() {
        assert_eq!(env_var_name("selfupdate"), "SELFUPDATE_UPDATE_POLICY");
        assert_eq!(env_var_name("my-app.io"), "MY_APP_IO_UPDATE_POLICY");
        assert_eq!(env_var_name("Café 2"), "CAF__2_UPDATE_POLICY");
    }

    #[test]
    fn system_paths_per_os() {
        assert_eq!(
            system_path_for("linux", "selfupdate", None),
            PathBuf::from("/etc/selfupdate/update-policy.json")
        );
        assert_eq!(
            system_path_for("freebsd", "selfupdate", None),
            PathBuf::from("/etc/selfupdate/update-policy.json")
        );
        assert_eq!(
            system_path_for("macos", "selfupdate", None),
            PathBuf::from("/Library/Application Support/selfupdate/update-policy.json")
        );
        let win =
            |pd: Option<&str>| system_path_for("windows", "selfupdate", pd.map(OsString::from));
        assert_eq!(
            win(Some(r"D:\PD")),
            PathBuf::from(r"D:\PD").join("selfupdate").join(POLICY_FILE)
        );
        assert_eq!(
            win(None),
            PathBuf::from(r"C:\ProgramData")
                .join("selfupdate")
                .join(POLICY_FILE)
        );
        assert_eq!(win(Some("")), win(None));
        #[cfg(target_os = "linux")]
        assert_eq!(
            system_policy_path("selfupdate").unwrap(),
            PathBuf::from("/etc/selfupdate/update-policy.json")
        );
    }

    #[test]
    fn bad_app_names_are_refused() {
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            r"a\b",
            "a:b",
            "a\nb",
            &"x".repeat(129),
        ] {
            assert_eq!(
                system_policy_path(bad),
                Err(PolicyError::BadAppName(bad.to_string())),
                "{bad:?}"
            );
        }
        assert!(system_policy_path("My App").is_ok());
    }

    #[test]
    fn env_override_names_the_file() {
        let env = |value: Option<&str>| {
            let value = value.map(OsString::from);
            move |name: &str| {
                assert_eq!(name, "SELFUPDATE_UPDATE_POLICY");
                value.clone()
            }
        };
        assert_eq!(
            policy_path_with_env("selfupdate", env(Some("/tmp/p.json"))).unwrap(),
            PathBuf::from("/tmp/p.json")
        );
        assert_eq!(
            policy_path_with_env("selfupdate", env(None)).unwrap(),
            system_policy_path("selfupdate").unwrap()
        );
        assert_eq!(
            policy_path_with_env("selfupdate", env(Some(""))).unwrap(),
            system_policy_path("selfupdate").unwrap()
        );
    }

    #[test]
    fn load_reads_the_env_override() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, br#"{"enabled": false}"#);
        let env = |name: &str| (name == "SELFUPDATE_UPDATE_POLICY").then(|| path.clone().into());
        let loaded = load_with_env("selfupdate", env).unwrap().unwrap();
        assert_eq!(loaded.enabled, Some(false));
        // a missing override file is no policy, like a missing system file
        let gone = dir.path().join("gone.json");
        let env = |_: &str| Some(gone.clone().into());
        assert_eq!(load_with_env("selfupdate", env), Ok(None));
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

    // ---- effective ----

    #[test]
    fn no_policy_user_then_app() {
        let app = AppDefaults::new("stable");
        let e = effective(&Ok(None), &user(None, None), &app);
        assert!(e.enabled());
        assert_eq!(
            (e.channel.as_str(), e.channel_source),
            ("stable", Source::App)
        );
        assert_eq!(e.channel_note, None);
        assert_eq!(
            (e.check_interval, e.check_interval_source),
            (app.check_interval, Source::App)
        );
        assert_eq!(
            (e.pinned_version, e.allow_rollback, e.repository_mirror),
            (None, false, None)
        );

        let e = effective(&Ok(None), &user(Some("beta"), None), &app);
        assert_eq!(
            (e.channel.as_str(), e.channel_source),
            ("beta", Source::User)
        );
    }

    #[test]
    fn broken_policy_keeps_updates_off() {
        let broken = policy(r#"{"enabled": "yes"}"#);
        assert!(broken.is_err());
        let e = effective(
            &broken,
            &user(Some("beta"), Some(true)),
            &AppDefaults::new("stable"),
        );
        assert!(!e.enabled());
        let Some(Disabled::PolicyError(err)) = &e.disabled else {
            panic!("{:?}", e.disabled)
        };
        assert!(err.to_string().contains("/etc/app/update-policy.json"));
        assert!(e
            .disabled
            .unwrap()
            .to_string()
            .contains("could not be used"));
    }

    #[test]
    fn enabled_policy_over_user_over_app() {
        let on = policy(r#"{"enabled": true}"#);
        let off = policy(r#"{"enabled": false}"#);
        let none = policy("{}");
        let app_on = AppDefaults::new("stable");
        let app_off = AppDefaults {
            enabled: false,
            ..AppDefaults::new("stable")
        };
        let d = |p: &Result<Option<Policy>, PolicyError>, u: Option<bool>, a: &AppDefaults| {
            effective(p, &user(None, u), a).disabled
        };
        assert_eq!(d(&off, Some(true), &app_on), Some(Disabled::Policy));
        assert_eq!(d(&on, Some(false), &app_off), None);
        assert_eq!(d(&none, Some(false), &app_on), Some(Disabled::User));
        assert_eq!(d(&none, Some(true), &app_off), None);
        assert_eq!(d(&none, None, &app_off), Some(Disabled::App));
        assert_eq!(d(&none, None, &app_on), None);
        assert_eq!(d(&Ok(None), Some(false), &app_on), Some(Disabled::User));
    }

    #[test]
    fn forced_channel_wins() {
        let p = policy(r#"{"channel": "stable"}"#);
        let app = AppDefaults::new("beta");
        let e = effective(&p, &user(Some("beta"), None), &app);
        assert_eq!(
            (e.channel.as_str(), e.channel_source),
            ("stable", Source::Policy)
        );
        assert_eq!(
            e.channel_note,
            Some(ChannelNote::Forced {
                requested: "beta".into()
            })
        );
        // the same choice, or no choice: no note
        let e = effective(&p, &user(Some("stable"), None), &app);
        assert_eq!(e.channel_note, None);
        let e = effective(&p, &user(None, None), &app);
        assert_eq!((e.channel.as_str(), e.channel_note), ("stable", None));
    }

    #[test]
    fn channel_outside_allowed_falls_back_to_the_first_allowed() {
        let p = policy(r#"{"allowed_channels": ["lts", "stable"]}"#);
        let app = AppDefaults::new("stable");
        let e = effective(&p, &user(Some("beta"), None), &app);
        assert_eq!(
            (e.channel.as_str(), e.channel_source),
            ("lts", Source::Policy)
        );
        assert_eq!(
            e.channel_note,
            Some(ChannelNote::NotAllowed {
                requested: "beta".into(),
                requested_by: Source::User,
                allowed: vec!["lts".into(), "stable".into()],
            })
        );
        assert!(e.channel_note.unwrap().to_string().contains("not allowed"));
        // an allowed choice stands
        let e = effective(&p, &user(Some("stable"), None), &app);
        assert_eq!(
            (e.channel.as_str(), e.channel_source, e.channel_note),
            ("stable", Source::User, None)
        );
        // the app default is checked too
        let e = effective(&p, &user(None, None), &AppDefaults::new("beta"));
        assert_eq!(e.channel, "lts");
        assert!(matches!(
            e.channel_note,
            Some(ChannelNote::NotAllowed {
                requested_by: Source::App,
                ..
            })
        ));
        let e = effective(&p, &user(None, None), &app);
        assert_eq!(
            (e.channel.as_str(), e.channel_source),
            ("stable", Source::App)
        );
    }

    #[test]
    fn pin_mirror_interval_come_from_policy() {
        let p = policy(
            r#"{"pinned_version": "=1.4.2", "allow_rollback": true, "check_interval": "30m",
                "repository_mirror": "https://mirror.example.com/"}"#,
        );
        let e = effective(&p, &user(None, None), &AppDefaults::new("stable"));
        assert_eq!(e.pinned_version, Some(VersionReq::parse("=1.4.2").unwrap()));
        assert!(e.allow_rollback);
        assert_eq!(
            e.repository_mirror.unwrap().as_str(),
            "https://mirror.example.com/"
        );
        assert_eq!(
            (e.check_interval, e.check_interval_source),
            (Duration::from_secs(1800), Source::Policy)
        );
        assert!(e.disabled.is_none());
    }
}
