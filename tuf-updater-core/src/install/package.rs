//! Apps installed by the system's package manager (a `.deb` through dpkg, an `.rpm` through
//! rpm): which package owns this app, which version of it is installed, and installing a
//! verified package, as root directly or else through `pkexec`.
//!
//! The package manager, not the updater, writes the files: an app in `/usr/bin` or `/opt`
//! is not writable by its user, and a package whose files were swapped behind dpkg's back
//! would fail `dpkg --verify` and be overwritten by the next upgrade. Rollback installs the
//! previous package again, kept in the data dir as `installed.<ext>` (the package of the
//! version that runs now; see `Installer`).

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde::{Deserialize, Serialize};

use super::error::InstallError;
use crate::release::InstallFormat;

/// A system package manager the updater can hand a package to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PackageManager {
    /// Debian's dpkg: `.deb` packages.
    Dpkg,
    /// RPM: `.rpm` packages.
    Rpm,
}

/// How many times a query of the installed version is tried before it is an error.
const QUERY_TRIES: u32 = 5;

/// Most of a package manager's output kept for an error message: its tail.
const MAX_OUTPUT: usize = 4 * 1024;

/// `pkexec`'s exit statuses when the user dismissed the dialog or was not authorized (or
/// no authentication agent runs), rather than the command failing.
const PKEXEC_DISMISSED: i32 = 126;
const PKEXEC_NOT_AUTHORIZED: i32 = 127;

impl PackageManager {
    /// Every package manager, in the order detection asks them.
    pub const ALL: [PackageManager; 2] = [PackageManager::Dpkg, PackageManager::Rpm];

    /// The release format this package manager installs.
    pub fn format(self) -> InstallFormat {
        match self {
            PackageManager::Dpkg => InstallFormat::Deb,
            PackageManager::Rpm => InstallFormat::Rpm,
        }
    }

    /// The file extension of its packages (the package manager's tools look at it).
    pub fn extension(self) -> &'static str {
        match self {
            PackageManager::Dpkg => "deb",
            PackageManager::Rpm => "rpm",
        }
    }

    /// The package that owns the file `path`, if this package manager is installed and one
    /// of its packages does (`dpkg -S`, `rpm -qf`).
    pub fn owner_of(self, path: &Path) -> Option<String> {
        let output = match self {
            PackageManager::Dpkg => query("dpkg", [OsStr::new("-S"), path.as_os_str()]),
            PackageManager::Rpm => query(
                "rpm",
                [
                    OsStr::new("-qf"),
                    OsStr::new("--qf=%{NAME}\\n"),
                    path.as_os_str(),
                ],
            ),
        }?;
        match self {
            // `name[:arch][, other]: /path`; a path two packages divert is not ours to take.
            PackageManager::Dpkg => {
                let (names, _) = output.split_once(": ")?;
                let name = names.split(':').next()?.trim();
                (!name.is_empty() && !names.contains(',')).then(|| name.to_string())
            }
            PackageManager::Rpm => {
                let mut lines = output.lines().filter(|l| !l.trim().is_empty());
                let name = lines.next()?.trim().to_string();
                // Owned by more than one package (a shared file): not an app's executable.
                lines.next().is_none().then_some(name)
            }
        }
    }

    /// The version of the package `name` that is installed now, fully configured; `None`
    /// if it is not (absent, removed, or left half-installed by an interrupted run). An
    /// answer the package manager could not give (its database busy or unreadable) is an
    /// error, after a few tries: recovery must not mistake it for "not installed".
    pub fn installed_version(self, name: &str) -> Result<Option<String>, InstallError> {
        let command: Vec<OsString> = match self {
            PackageManager::Dpkg => vec![
                "dpkg-query".into(),
                "-W".into(),
                "-f=${db:Status-Abbrev}|${Version}".into(),
                name.into(),
            ],
            PackageManager::Rpm => vec![
                "rpm".into(),
                "-q".into(),
                "--qf=ii |%{VERSION}-%{RELEASE}".into(),
                name.into(),
            ],
        };
        let mut last = String::new();
        for attempt in 0..QUERY_TRIES {
            if attempt > 0 {
                std::thread::sleep(LOCK_RETRY);
            }
            let output = run(&command).map_err(|e| InstallError::PackageManager {
                command: shown(&command),
                reason: e.to_string(),
            })?;
            let text = String::from_utf8_lossy(&output.stdout);
            if output.status.success() {
                let Some((status, version)) = text.trim_end().split_once('|') else {
                    return Ok(None);
                };
                let installed = status.trim_end() == "ii" && !version.is_empty();
                return Ok(installed.then(|| version.to_string()));
            }
            let said = tail(&output);
            // dpkg-query: "no packages found matching"; rpm: "package x is not installed".
            if said.contains("no packages found") || said.contains("is not installed") {
                return Ok(None);
            }
            last = said;
        }
        Err(InstallError::PackageManager {
            command: shown(&command),
            reason: last,
        })
    }

    /// The command line that installs `package`; `downgrade` when it is older than what is
    /// installed (a rollback).
    fn install_command(self, package: &Path, downgrade: bool) -> Vec<OsString> {
        let mut args: Vec<OsString> = match self {
            // dpkg installs an older version when asked (with a warning).
            PackageManager::Dpkg => vec!["dpkg".into(), "--install".into()],
            PackageManager::Rpm if downgrade => {
                vec!["rpm".into(), "--upgrade".into(), "--oldpackage".into()]
            }
            PackageManager::Rpm => vec!["rpm".into(), "--upgrade".into()],
        };
        args.push(package.as_os_str().to_owned());
        args
    }

    /// Installs the package file `package` (root is needed: run directly when this process
    /// is root, else through `pkexec`, which asks the user). A refused elevation and a
    /// failed install are errors; what the package manager said is in the error.
    pub fn install(self, package: &Path, downgrade: bool) -> Result<(), InstallError> {
        let command = self.install_command(package, downgrade);
        let command = elevated(command)?;
        let shown = shown(&command);
        tracing::info!(command = %shown, "installing the package");
        let output = run_waiting_for_lock(&command).map_err(|e| InstallError::PackageManager {
            command: shown.clone(),
            reason: e.to_string(),
        })?;
        if output.status.success() {
            return Ok(());
        }
        let said = tail(&output);
        if command.first().is_some_and(|c| c == "pkexec")
            && matches!(
                output.status.code(),
                Some(PKEXEC_DISMISSED | PKEXEC_NOT_AUTHORIZED)
            )
        {
            return Err(InstallError::ElevationRefused {
                command: shown,
                reason: said,
            });
        }
        Err(InstallError::PackageManager {
            command: shown,
            reason: format!("{} ({said})", output.status),
        })
    }
}

/// Which package manager owns `exe`, and as which package.
pub(crate) fn owner(exe: &Path) -> Option<(PackageManager, String)> {
    PackageManager::ALL
        .into_iter()
        .find_map(|m| m.owner_of(exe).map(|name| (m, name)))
}

/// Runs a read-only query; its standard output when it succeeds, `None` when the tool is
/// missing or says no.
fn query<I, S>(program: &str, args: I) -> Option<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let output = Command::new(program)
        .args(args)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8(output.stdout).ok()
}

/// `command` as this process may run it: unchanged when it is root, else behind `pkexec`.
fn elevated(command: Vec<OsString>) -> Result<Vec<OsString>, InstallError> {
    if is_root() {
        return Ok(command);
    }
    if query("pkexec", ["--version"]).is_none() {
        return Err(InstallError::ElevationUnavailable {
            command: shown(&command),
        });
    }
    Ok(std::iter::once(OsString::from("pkexec"))
        .chain(command)
        .collect())
}

#[cfg(unix)]
fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

#[cfg(not(unix))]
fn is_root() -> bool {
    false
}

fn run(command: &[OsString]) -> std::io::Result<Output> {
    let (program, args) = command
        .split_first()
        .ok_or_else(|| std::io::Error::other("empty command"))?;
    Command::new(program)
        .args(args)
        .env("LC_ALL", "C")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .output()
}

/// How long an install waits for another run of the package manager (an upgrade, another
/// app's update) to release its database lock, retrying every [`LOCK_RETRY`].
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(120);
const LOCK_RETRY: std::time::Duration = std::time::Duration::from_secs(2);

/// Runs `command`, again while it fails because the package database is locked (dpkg and
/// rpm fail at once instead of waiting).
fn run_waiting_for_lock(command: &[OsString]) -> std::io::Result<Output> {
    let start = std::time::Instant::now();
    loop {
        let output = run(command)?;
        if output.status.success() || !is_lock_failure(&output) || start.elapsed() > LOCK_WAIT {
            return Ok(output);
        }
        tracing::info!("the package database is locked by another process; waiting");
        std::thread::sleep(LOCK_RETRY);
    }
}

/// Whether the package manager failed only because another holds its database lock.
fn is_lock_failure(output: &Output) -> bool {
    let err = String::from_utf8_lossy(&output.stderr);
    // dpkg: "dpkg frontend lock was locked by another process" (or "lock ... is locked");
    // rpm: "can't create transaction lock".
    err.contains("frontend lock")
        || err.contains("is locked by another process")
        || err.contains("transaction lock")
}

fn shown(command: &[OsString]) -> String {
    command
        .iter()
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The last few KiB of what a command printed, errors last.
fn tail(output: &Output) -> String {
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    let text = text.trim();
    let start = text.len().saturating_sub(MAX_OUTPUT);
    let start = (start..text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    text.get(start..).unwrap_or_default().to_string()
}

/// What a package says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageIdentity {
    /// The package's name.
    pub name: String,
    /// The version as the package declares it, without a Debian epoch (`1.1.0`, `1.1.0-1`).
    pub version: String,
    /// The version as [`PackageManager::installed_version`] reports it once installed
    /// (dpkg: `[epoch:]upstream[-revision]`; rpm: `version-release`).
    pub installed_as: String,
}

impl PackageManager {
    /// The name and version a package file declares, read from the package itself
    /// ([`crate::package`]: a `.deb`'s control file, an `.rpm`'s header), capped like any
    /// untrusted file.
    pub fn identity(self, package: &Path) -> Result<PackageIdentity, InstallError> {
        let fields = match self {
            PackageManager::Dpkg => crate::package::deb_fields(package),
            PackageManager::Rpm => crate::package::rpm_fields(package),
        }
        .map_err(|e| InstallError::Package {
            path: package.to_path_buf(),
            reason: e.to_string(),
        })?;
        let (version, installed_as) = match self {
            // dpkg-query reports the Version field as written, epoch included.
            PackageManager::Dpkg => {
                let no_epoch = fields
                    .version
                    .split_once(':')
                    .map_or(&*fields.version, |v| v.1);
                (no_epoch.to_string(), fields.version.clone())
            }
            PackageManager::Rpm => {
                let release = fields.release.as_deref().unwrap_or_default();
                (
                    fields.version.clone(),
                    format!("{}-{release}", fields.version),
                )
            }
        };
        Ok(PackageIdentity {
            name: fields.name,
            version,
            installed_as,
        })
    }
}

impl PackageIdentity {
    /// Whether the package is the app's `version`: its declared version is that version,
    /// or that version with a Debian revision (`1.1.0-1`).
    pub fn is_version(&self, version: &str) -> bool {
        self.version == version
            || self
                .version
                .rsplit_once('-')
                .is_some_and(|(upstream, _)| upstream == version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(version: &str) -> PackageIdentity {
        PackageIdentity {
            name: "app".into(),
            version: version.into(),
            installed_as: version.into(),
        }
    }

    #[test]
    fn a_package_is_its_version_with_or_without_a_debian_revision() {
        assert!(identity("1.1.0").is_version("1.1.0"));
        assert!(identity("1.1.0-1").is_version("1.1.0"));
        assert!(identity("1.1.0-rc.1").is_version("1.1.0-rc.1"));
        assert!(identity("1.1.0-rc.1-2").is_version("1.1.0-rc.1"));
        assert!(!identity("1.1.0").is_version("1.0.0"));
        assert!(!identity("1.1.01").is_version("1.1.0"));
        assert!(!identity("1.1.0").is_version("1.1"));
    }
}
