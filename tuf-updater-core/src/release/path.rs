//! The target path of a release: `<channel>/<app>/<version>/<platform>[-<format>]/<file>`.
//! The one parser and writer of it, for the publisher and the client.

use std::fmt;
use std::str::FromStr;

use semver::Version;
use thiserror::Error;

use super::names::{check_app, check_channel, check_file_name, NameError};
use super::platform::{InstallFormat, Platform, PlatformSegment};

/// Why a target path is not a release path.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathError {
    /// Not five `/`-separated segments.
    #[error("target path is not <channel>/<app>/<version>/<platform>/<file>")]
    Shape,
    /// A segment breaks its naming rule.
    #[error(transparent)]
    Name(#[from] NameError),
}

/// A release's target path, every segment checked.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ReleasePath {
    /// The channel (first segment).
    pub channel: String,
    /// The app's name.
    pub app: String,
    /// The release's version.
    pub version: Version,
    /// The platform, and the install format when the path has one.
    pub segment: PlatformSegment,
    /// The artifact's file name, with its extension.
    pub file: String,
}

impl ReleasePath {
    /// The platform the release runs on.
    pub fn platform(&self) -> Platform {
        self.segment.platform
    }

    /// The install format, `None` for releases published before formats were in the path.
    pub fn format(&self) -> Option<InstallFormat> {
        self.segment.format
    }

    /// The same release on another channel.
    pub fn on_channel(&self, channel: &str) -> ReleasePath {
        ReleasePath {
            channel: channel.to_string(),
            ..self.clone()
        }
    }

    /// The directory part, `<channel>/<app>/<version>/<platform>`.
    pub fn dir(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.channel, self.app, self.version, self.segment
        )
    }

    /// Whether this is a release of `app` `version`, on any platform and format or on
    /// `segment` only.
    pub fn is_release(
        &self,
        app: &str,
        version: &Version,
        segment: Option<&PlatformSegment>,
    ) -> bool {
        self.app == app && &self.version == version && segment.is_none_or(|s| &self.segment == s)
    }
}

impl fmt::Display for ReleasePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.dir(), self.file)
    }
}

impl FromStr for ReleasePath {
    type Err = PathError;

    fn from_str(path: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = path.split('/').collect();
        let [channel, app, version, segment, file] = parts.as_slice() else {
            return Err(PathError::Shape);
        };
        check_channel(channel)?;
        check_app(app)?;
        let version = super::names::parse_version(version)?;
        let segment: PlatformSegment = segment.parse()?;
        check_file_name(file)?;
        Ok(ReleasePath {
            channel: channel.to_string(),
            app: app.to_string(),
            version,
            segment,
            file: file.to_string(),
        })
    }
}

/// The delegation pattern of a channel role, `<channel>/*/*/*/*`: a channel's key signs
/// release paths of that channel only.
pub fn channel_pattern(channel: &str) -> String {
    format!("{channel}/*/*/*/*")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_writes_back() {
        for text in [
            "beta/demo/1.0.0/linux-x86_64/demo.AppImage",
            "stable/demo/2.0.0-rc.1+b.5/windows-x86_64-nsis/Demo_2.0.0_x64-setup.exe",
        ] {
            let p: ReleasePath = text.parse().unwrap();
            assert_eq!(p.to_string(), text);
        }
        let p: ReleasePath = "beta/demo/1.0.0/darwin-aarch64-app/demo.app.tar.gz"
            .parse()
            .unwrap();
        assert_eq!(p.platform(), Platform::DarwinAarch64);
        assert_eq!(p.format(), Some(InstallFormat::App));
        assert_eq!(
            p.on_channel("stable").to_string(),
            "stable/demo/1.0.0/darwin-aarch64-app/demo.app.tar.gz"
        );
        assert!(p.is_release("demo", &Version::new(1, 0, 0), None));
        assert!(!p.is_release(
            "demo",
            &Version::new(1, 0, 0),
            Some(&"darwin-aarch64".parse().unwrap())
        ));
    }

    #[test]
    fn refuses_every_other_shape() {
        for bad in [
            "beta/demo/1.0.0/linux-x86_64",
            "beta/demo/1.0.0/linux-x86_64/a/b",
            "",
        ] {
            assert_eq!(
                bad.parse::<ReleasePath>().unwrap_err(),
                PathError::Shape,
                "{bad}"
            );
        }
        for bad in [
            "Beta/demo/1.0.0/linux-x86_64/a",
            "beta/demo/../linux-x86_64/a",
            "beta/demo//linux-x86_64/a",
            "beta/demo/1.0.0/linux-x86_64/..",
            "beta/de mo/1.0.0/linux-x86_64/a",
            "beta/demo/1.0/linux-x86_64/a",
            "beta/demo/1.0.0/macos-x86_64/a",
            "beta/demo/1.0.0/linux-x86_64/.a",
        ] {
            assert!(
                matches!(bad.parse::<ReleasePath>(), Err(PathError::Name(_))),
                "{bad}"
            );
        }
    }
}
