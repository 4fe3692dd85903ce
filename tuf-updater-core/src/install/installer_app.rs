//! Apps a Windows installer installed: Tauri's NSIS setup (`*-setup.exe`) or its MSI. Such
//! an app is updated by running the verified installer of the new version, not by swapping
//! files: the installer knows its uninstall entry, shortcuts and per-machine folders, and
//! cannot replace the files of an app that still runs. So the install hands over: it says
//! what to run ([`Handover`]), and the app starts it and exits.
//!
//! The command lines are the ones tauri-plugin-updater runs, which Tauri's installer
//! templates understand: the NSIS setup takes `/P` (passive: progress only), `/S` (silent),
//! `/R` (start the app again when done) and `/UPDATE` (an update: keep the user's
//! shortcuts); the MSI is run by `msiexec /i` with `/passive`, `/qb+` or `/quiet`, and
//! `AUTOLAUNCHAPP=True` starts the app again (Tauri's WiX template).

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::package::FileKind;
use crate::release::InstallFormat;

/// Which Windows installer installed the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum InstallerKind {
    /// An NSIS setup program (`*-setup.exe`).
    Nsis,
    /// A Windows Installer package (`*.msi`), run by `msiexec`.
    Msi,
}

impl InstallerKind {
    /// The release format of its installers.
    pub fn format(self) -> InstallFormat {
        match self {
            InstallerKind::Nsis => InstallFormat::Nsis,
            InstallerKind::Msi => InstallFormat::Msi,
        }
    }

    /// The file extension of its installers (Windows and msiexec go by it).
    pub fn extension(self) -> &'static str {
        match self {
            InstallerKind::Nsis => "exe",
            InstallerKind::Msi => "msi",
        }
    }

    /// What an installer of this kind is, by content ([`crate::package::file_kind`]).
    pub fn file_kind(self) -> FileKind {
        match self {
            InstallerKind::Nsis => FileKind::Nsis,
            InstallerKind::Msi => FileKind::Msi,
        }
    }
}

/// How much of its user interface the installer shows; tauri-plugin-updater's
/// `installMode`, with its names in configuration (`passive`, `basicUi`, `quiet`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum InstallMode {
    /// A progress bar, no questions; the app starts again when done.
    #[default]
    Passive,
    /// The installer's own pages: the user clicks through them.
    BasicUi,
    /// Nothing shown; the app starts again when done. A per-machine install needs the
    /// process to have administrator rights already (nothing can ask for them).
    Quiet,
}

/// An app a Windows installer installed (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallerApp {
    /// NSIS setup or MSI.
    pub kind: InstallerKind,
    /// The app's executable, inside the installer's install location.
    pub exe: PathBuf,
    /// How the installer of an update is run (default passive).
    #[serde(default)]
    pub mode: InstallMode,
    /// Installed for all users (its uninstall entry is under `HKLM`): the installer asks
    /// for administrator rights.
    #[serde(default)]
    pub per_machine: bool,
}

/// A program to run after this process exits, which installs (or rolls back) the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handover {
    /// The program to start.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
}

/// What [`Installer::install`](super::Installer::install) did.
// Exhaustive on purpose: the app must run a handover (decisions.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installed {
    /// The new version is in place; a restart runs it.
    Swapped,
    /// The new version's installer must run, and this app exit: see
    /// [`AppUpdater::hand_over`](crate::AppUpdater::hand_over).
    HandOver(Handover),
}

/// `ERROR_ELEVATION_REQUIRED`: what starting a program whose manifest asks for
/// administrator rights fails with; only the shell (`ShellExecute`) can ask the user.
pub const ERROR_ELEVATION_REQUIRED: i32 = 740;

impl Handover {
    /// The command that runs `installer`, an installer of `app`'s kind, in `app`'s mode.
    /// `system_dir` is Windows' `System32`, where `msiexec.exe` is (`None`: found by the
    /// usual search).
    pub fn for_installer(app: &InstallerApp, installer: &Path, system_dir: Option<&Path>) -> Self {
        let flags = |list: &[&str]| list.iter().map(OsString::from).collect::<Vec<_>>();
        match app.kind {
            InstallerKind::Nsis => {
                let mut args = flags(match app.mode {
                    InstallMode::Passive => &["/P", "/R"],
                    InstallMode::Quiet => &["/S", "/R"],
                    InstallMode::BasicUi => &[],
                });
                args.push("/UPDATE".into());
                Handover {
                    program: installer.to_path_buf(),
                    args,
                }
            }
            InstallerKind::Msi => {
                let mut args = flags(&["/i"]);
                args.push(installer.as_os_str().to_owned());
                args.extend(flags(match app.mode {
                    InstallMode::Passive => &["/passive"],
                    InstallMode::Quiet => &["/quiet"],
                    InstallMode::BasicUi => &["/qb+"],
                }));
                args.extend(flags(&["/promptrestart", "AUTOLAUNCHAPP=True"]));
                let msiexec = Path::new("msiexec.exe");
                Handover {
                    program: system_dir.map_or_else(|| msiexec.to_path_buf(), |d| d.join(msiexec)),
                    args,
                }
            }
        }
    }

    /// The same command started through PowerShell's `Start-Process -Verb RunAs`, which
    /// asks the user for administrator rights (UAC): for an installer whose manifest
    /// requires them, which a plain start refuses ([`ERROR_ELEVATION_REQUIRED`]).
    pub fn elevated(&self, system_dir: Option<&Path>) -> Handover {
        let quote = |s: &OsStr| {
            let s = s.to_string_lossy();
            // In a PowerShell single-quoted string, a quote is doubled; an argument with a
            // space is quoted again for the program's own command line.
            let s = if s.contains(' ') {
                format!("\"{s}\"")
            } else {
                s.into_owned()
            };
            format!("'{}'", s.replace('\'', "''"))
        };
        let mut script = format!(
            "Start-Process -FilePath {} -Verb RunAs",
            quote(self.program.as_os_str())
        );
        if !self.args.is_empty() {
            let list: Vec<String> = self.args.iter().map(|a| quote(a)).collect();
            script.push_str(&format!(" -ArgumentList {}", list.join(",")));
        }
        let powershell = Path::new(r"WindowsPowerShell\v1.0\powershell.exe");
        Handover {
            program: system_dir
                .map_or_else(|| PathBuf::from("powershell.exe"), |d| d.join(powershell)),
            args: ["-NoProfile", "-NonInteractive", "-Command", &script]
                .iter()
                .map(OsString::from)
                .collect(),
        }
    }

    /// Starts the program, detached from this process (it outlives it). On Windows, a
    /// program that requires administrator rights is started again through
    /// [`elevated`](Self::elevated).
    pub fn spawn(&self) -> std::io::Result<()> {
        match self.start() {
            Err(e) if e.raw_os_error() == Some(ERROR_ELEVATION_REQUIRED) => {
                tracing::info!(program = %self.program.display(), "the installer asks for administrator rights");
                self.elevated(system_dir().as_deref()).start()
            }
            other => other,
        }
    }

    fn start(&self) -> std::io::Result<()> {
        let mut command = std::process::Command::new(&self.program);
        command.args(&self.args);
        #[cfg(windows)]
        {
            use std::os::windows::process::CommandExt;
            const DETACHED_PROCESS: u32 = 0x0000_0008;
            const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
            command.creation_flags(DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP);
        }
        command.spawn().map(drop)
    }
}

/// Windows' `System32` directory, from `SystemRoot` (`None` elsewhere, or unset).
pub fn system_dir() -> Option<PathBuf> {
    if !cfg!(windows) {
        return None;
    }
    let root = std::env::var_os("SystemRoot").filter(|r| !r.is_empty())?;
    Some(PathBuf::from(root).join("System32"))
}

/// Whether the version an installer registered (`DisplayVersion`) is `version`.
pub(crate) fn is_version(registered: &str, version: &str) -> bool {
    let registered = registered.trim();
    !registered.is_empty() && registered == version.trim()
}
