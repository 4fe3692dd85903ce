//! Names that become parts of target paths and URLs: channels, apps, versions, platforms and
//! file names. Each is checked before anything is written, with an error that says which
//! rule it breaks.
//!
//! Target path: `<channel>/<app>/<version>/<platform>/<file>`.

use std::fmt;

use updater_core::tuf::metadata::TOP_LEVEL_ROLES;

use crate::error::{PackError, Result};

/// The directory of rotated-out key files, `keys/retired/`.
pub const RETIRED: &str = "retired";

/// A channel name becomes a role name, a file name (`N.<channel>.json`) and a URL segment.
pub fn check_channel(name: &str) -> Result<()> {
    let bad = |reason: &str| PackError::BadChannelName {
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
    if TOP_LEVEL_ROLES.contains(&name) {
        return Err(bad("is the name of a top-level TUF role"));
    }
    if name == RETIRED {
        return Err(bad("is reserved (keys/retired/ holds rotated-out keys)"));
    }
    Ok(())
}

/// Parses `stable,beta` into checked, distinct channel names.
pub fn parse_channels(list: &str) -> Result<Vec<String>> {
    let mut channels: Vec<String> = Vec::new();
    for name in list.split(',').map(str::trim) {
        check_channel(name)?;
        if channels.iter().any(|c| c == name) {
            return Err(PackError::BadChannelName {
                name: name.to_string(),
                reason: "listed twice".into(),
            });
        }
        channels.push(name.to_string());
    }
    Ok(channels)
}

pub fn check_app(name: &str) -> Result<()> {
    let bad = |reason: &str| PackError::BadAppName {
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
pub fn parse_version(version: &str) -> Result<semver::Version> {
    semver::Version::parse(version).map_err(|e| {
        let hint = if version.starts_with(['v', 'V']) {
            format!("{e}; write it without the leading 'v'")
        } else {
            e.to_string()
        };
        PackError::BadVersion {
            version: version.to_string(),
            reason: hint,
        }
    })
}

const OSES: [&str; 3] = ["linux", "darwin", "windows"];
const ARCHES: [&str; 4] = ["x86_64", "aarch64", "i686", "armv7"];
const INSTALLERS: [&str; 6] = ["appimage", "deb", "rpm", "app", "nsis", "msi"];

/// A platform as Tauri names it: `<os>-<arch>`, optionally `-<installer>`
/// (`linux-x86_64`, `darwin-aarch64`, `windows-x86_64-nsis`).
pub fn check_platform(name: &str) -> Result<()> {
    let bad = || {
        PackError::BadPlatform {
        name: name.to_string(),
        reason: format!(
            "expected <os>-<arch>[-<installer>] with os one of {}, arch one of {}, installer one of {}",
            OSES.join("/"),
            ARCHES.join("/"),
            INSTALLERS.join("/")
        ),
    }
    };
    let (os, rest) = name.split_once('-').ok_or_else(bad)?;
    if !OSES.contains(&os) {
        return Err(bad());
    }
    let arch_ok = ARCHES.iter().any(|arch| {
        rest == *arch
            || rest
                .strip_prefix(arch)
                .and_then(|r| r.strip_prefix('-'))
                .is_some_and(|installer| INSTALLERS.contains(&installer))
    });
    if arch_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

/// The last segment of a target path. It keeps its extension (the installer needs to know an
/// `.AppImage` from an `.app.tar.gz` or an `.msi`) and stays one safe URL segment.
pub fn check_file_name(name: &str) -> Result<()> {
    let bad = |reason: &str| PackError::BadFileName {
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

/// The parts of a release target path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TargetPath {
    pub channel: String,
    pub app: String,
    pub version: String,
    pub platform: String,
    pub file: String,
}

impl TargetPath {
    /// Splits `<channel>/<app>/<version>/<platform>/<file>`; `None` for any other shape,
    /// or if a segment is empty, `.` or `..` (it could not be stored under `targets/`).
    pub fn parse(path: &str) -> Option<Self> {
        if path
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == ".." || s.contains('\\'))
        {
            return None;
        }
        let mut parts = path.split('/');
        let p = TargetPath {
            channel: parts.next()?.to_string(),
            app: parts.next()?.to_string(),
            version: parts.next()?.to_string(),
            platform: parts.next()?.to_string(),
            file: parts.next()?.to_string(),
        };
        parts.next().is_none().then_some(p)
    }

    /// The same release on another channel.
    pub fn on_channel(&self, channel: &str) -> Self {
        TargetPath {
            channel: channel.to_string(),
            ..self.clone()
        }
    }

    /// The directory part, `<channel>/<app>/<version>/<platform>`.
    pub fn dir(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.channel, self.app, self.version, self.platform
        )
    }

    /// The file's name in a consistent-snapshot repository: `<sha256>.<file>`.
    pub fn stored_name(&self, sha256: &str) -> String {
        format!("{sha256}.{}", self.file)
    }

    /// Whether this is a release of `app` `version` (on any platform, or `platform`).
    pub fn is_release(&self, app: &str, version: &str, platform: Option<&str>) -> bool {
        self.app == app && self.version == version && platform.is_none_or(|p| self.platform == p)
    }
}

impl fmt::Display for TargetPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.dir(), self.file)
    }
}

/// The delegation pattern of a channel role: `<channel>/*/*/*/*`.
pub fn channel_pattern(channel: &str) -> String {
    format!("{channel}/*/*/*/*")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels() {
        assert!(check_channel("stable").is_ok());
        assert!(check_channel("beta-2").is_ok());
        assert!(check_channel("Beta").is_err());
        assert!(check_channel("targets").is_err());
        assert!(check_channel("a/b").is_err());
        assert!(check_channel("").is_err());
        assert!(parse_channels("stable,beta").is_ok());
        assert!(parse_channels("stable,stable").is_err());
        assert!(parse_channels("stable,").is_err());
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
    fn platforms() {
        for ok in [
            "linux-x86_64",
            "darwin-aarch64",
            "windows-x86_64-nsis",
            "linux-x86_64-appimage",
        ] {
            assert!(check_platform(ok).is_ok(), "{ok}");
        }
        for bad in [
            "linux",
            "macos-aarch64",
            "linux-x86_64-exe",
            "linux-x86_64-",
            "x",
        ] {
            assert!(check_platform(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn file_names() {
        assert!(check_file_name("My App_1.0.0_amd64.AppImage").is_ok());
        assert!(check_file_name("demo.app.tar.gz").is_ok());
        assert!(check_file_name("../x").is_err());
        assert!(check_file_name(".hidden").is_err());
        assert!(check_file_name("a%20b").is_err());
    }

    #[test]
    fn target_paths() {
        let p = TargetPath::parse("beta/demo/1.0.0/linux-x86_64/demo.AppImage").unwrap();
        assert_eq!(p.channel, "beta");
        assert_eq!(
            p.on_channel("stable").to_string(),
            "stable/demo/1.0.0/linux-x86_64/demo.AppImage"
        );
        assert!(TargetPath::parse("beta/demo/1.0.0/linux-x86_64").is_none());
        assert!(TargetPath::parse("beta/demo/1.0.0/linux-x86_64/a/b").is_none());
        assert!(TargetPath::parse("beta/demo/../linux-x86_64/a").is_none());
        assert!(TargetPath::parse("beta/demo//linux-x86_64/a").is_none());
        assert!(p.is_release("demo", "1.0.0", None));
        assert!(!p.is_release("demo", "1.0.0", Some("darwin-aarch64")));
    }
}
