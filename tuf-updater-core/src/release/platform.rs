//! Where a release runs and how it installs: the [`Platform`] (`<os>-<arch>`, as Tauri names
//! it) and the [`InstallFormat`], written together as the platform segment of a target path,
//! `<os>-<arch>[-<format>]` (`linux-x86_64`, `windows-x86_64-nsis`). A segment without a
//! format is a release published before formats existed: the installer tells what it is from
//! the file name.

use std::fmt;
use std::str::FromStr;

use super::names::NameError;

/// A target platform, named as Tauri names it (`linux-x86_64`, `darwin-aarch64`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Platform {
    /// `linux-x86_64`.
    LinuxX86_64,
    /// `linux-aarch64`.
    LinuxAarch64,
    /// `linux-i686` (32-bit x86).
    LinuxI686,
    /// `linux-armv7` (32-bit ARM).
    LinuxArmv7,
    /// `darwin-x86_64` (Intel Mac).
    DarwinX86_64,
    /// `darwin-aarch64` (Apple silicon).
    DarwinAarch64,
    /// `windows-x86_64`.
    WindowsX86_64,
    /// `windows-aarch64`.
    WindowsAarch64,
    /// `windows-i686` (32-bit x86).
    WindowsI686,
}

impl Platform {
    /// Every platform, in declaration order.
    pub const ALL: [Platform; 9] = [
        Platform::LinuxX86_64,
        Platform::LinuxAarch64,
        Platform::LinuxI686,
        Platform::LinuxArmv7,
        Platform::DarwinX86_64,
        Platform::DarwinAarch64,
        Platform::WindowsX86_64,
        Platform::WindowsAarch64,
        Platform::WindowsI686,
    ];

    /// The name used in target paths.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::LinuxX86_64 => "linux-x86_64",
            Platform::LinuxAarch64 => "linux-aarch64",
            Platform::LinuxI686 => "linux-i686",
            Platform::LinuxArmv7 => "linux-armv7",
            Platform::DarwinX86_64 => "darwin-x86_64",
            Platform::DarwinAarch64 => "darwin-aarch64",
            Platform::WindowsX86_64 => "windows-x86_64",
            Platform::WindowsAarch64 => "windows-aarch64",
            Platform::WindowsI686 => "windows-i686",
        }
    }

    /// The platform for `std::env::consts::{OS, ARCH}` values, if it is one we ship for.
    pub fn from_os_arch(os: &str, arch: &str) -> Option<Platform> {
        Some(match (os, arch) {
            ("linux", "x86_64") => Platform::LinuxX86_64,
            ("linux", "aarch64") => Platform::LinuxAarch64,
            ("linux", "x86") => Platform::LinuxI686,
            ("linux", "arm") => Platform::LinuxArmv7,
            ("macos", "x86_64") => Platform::DarwinX86_64,
            ("macos", "aarch64") => Platform::DarwinAarch64,
            ("windows", "x86_64") => Platform::WindowsX86_64,
            ("windows", "aarch64") => Platform::WindowsAarch64,
            ("windows", "x86") => Platform::WindowsI686,
            _ => return None,
        })
    }

    /// The platform this binary was built for; `None` on one we do not ship for.
    pub fn current() -> Option<Platform> {
        Platform::from_os_arch(std::env::consts::OS, std::env::consts::ARCH)
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Platform {
    type Err = NameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Platform::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| NameError::Platform {
                name: s.to_string(),
                reason: expected_segment(),
            })
    }
}

/// How a release is installed: what `tauri build` makes for each OS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum InstallFormat {
    /// A bare executable, replaced in place.
    Exe,
    /// A Linux AppImage, replaced in place.
    AppImage,
    /// A macOS `.app` bundle in a `.tar.gz`, exchanged with the installed bundle.
    App,
    /// A Debian package, installed by the system's package manager.
    Deb,
    /// An RPM package, installed by the system's package manager.
    Rpm,
    /// A Windows NSIS setup program.
    Nsis,
    /// A Windows Installer package.
    Msi,
}

impl InstallFormat {
    /// Every format, in declaration order.
    pub const ALL: [InstallFormat; 7] = [
        InstallFormat::Exe,
        InstallFormat::AppImage,
        InstallFormat::App,
        InstallFormat::Deb,
        InstallFormat::Rpm,
        InstallFormat::Nsis,
        InstallFormat::Msi,
    ];

    /// The name used in target paths.
    pub fn as_str(self) -> &'static str {
        match self {
            InstallFormat::Exe => "exe",
            InstallFormat::AppImage => "appimage",
            InstallFormat::App => "app",
            InstallFormat::Deb => "deb",
            InstallFormat::Rpm => "rpm",
            InstallFormat::Nsis => "nsis",
            InstallFormat::Msi => "msi",
        }
    }

    fn from_name(s: &str) -> Option<InstallFormat> {
        InstallFormat::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

impl fmt::Display for InstallFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The platform segment of a target path: `<os>-<arch>[-<format>]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PlatformSegment {
    /// The OS and architecture.
    pub platform: Platform,
    /// `None` in releases published before formats were part of the path.
    pub format: Option<InstallFormat>,
}

impl PlatformSegment {
    /// The segment for `platform`, with `format` or (`None`) without one.
    pub fn new(platform: Platform, format: Option<InstallFormat>) -> PlatformSegment {
        PlatformSegment { platform, format }
    }
}

impl fmt::Display for PlatformSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.format {
            Some(format) => write!(f, "{}-{format}", self.platform),
            None => f.write_str(self.platform.as_str()),
        }
    }
}

impl FromStr for PlatformSegment {
    type Err = NameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || NameError::Platform {
            name: s.to_string(),
            reason: expected_segment(),
        };
        if let Ok(platform) = s.parse::<Platform>() {
            return Ok(PlatformSegment::new(platform, None));
        }
        let (head, format) = s.rsplit_once('-').ok_or_else(bad)?;
        let platform = head.parse::<Platform>().map_err(|_| bad())?;
        let format = InstallFormat::from_name(format).ok_or_else(bad)?;
        Ok(PlatformSegment::new(platform, Some(format)))
    }
}

fn expected_segment() -> String {
    let names = |it: &mut dyn Iterator<Item = &'static str>| it.collect::<Vec<_>>().join(", ");
    format!(
        "expected <os>-<arch>[-<format>] with <os>-<arch> one of {} and format one of {}",
        names(&mut Platform::ALL.iter().map(|p| p.as_str())),
        names(&mut InstallFormat::ALL.iter().map(|f| f.as_str())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_names_round_trip() {
        for p in Platform::ALL {
            assert_eq!(p.as_str().parse::<Platform>().unwrap(), p);
            assert_eq!(p.to_string(), p.as_str());
        }
        assert!("macos-aarch64".parse::<Platform>().is_err());
        assert!("linux".parse::<Platform>().is_err());
    }

    #[test]
    fn platform_from_std_consts() {
        assert_eq!(
            Platform::from_os_arch("macos", "aarch64"),
            Some(Platform::DarwinAarch64)
        );
        assert_eq!(
            Platform::from_os_arch("windows", "x86"),
            Some(Platform::WindowsI686)
        );
        assert_eq!(Platform::from_os_arch("freebsd", "x86_64"), None);
        if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
            assert_eq!(Platform::current(), Some(Platform::LinuxX86_64));
        }
    }

    #[test]
    fn segments_carry_platform_and_format() {
        let seg: PlatformSegment = "windows-x86_64-nsis".parse().unwrap();
        assert_eq!(seg.platform, Platform::WindowsX86_64);
        assert_eq!(seg.format, Some(InstallFormat::Nsis));
        assert_eq!(seg.to_string(), "windows-x86_64-nsis");
        let plain: PlatformSegment = "linux-x86_64".parse().unwrap();
        assert_eq!(plain.format, None);
        for f in InstallFormat::ALL {
            let s = format!("darwin-aarch64-{f}");
            assert_eq!(s.parse::<PlatformSegment>().unwrap().to_string(), s);
        }
        for bad in [
            "linux",
            "macos-aarch64",
            "linux-x86_64-zip",
            "linux-x86_64-",
            "x",
            "-nsis",
        ] {
            let err = bad.parse::<PlatformSegment>().unwrap_err();
            assert!(matches!(err, NameError::Platform { .. }), "{bad}");
        }
    }
}
