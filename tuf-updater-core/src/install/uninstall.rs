//! The uninstall entries Windows installers write, which tell whether an installer installed
//! this app, which kind, for whom, and at which version.
//!
//! Tauri's NSIS setup writes `Software\Microsoft\Windows\CurrentVersion\Uninstall\<product>`
//! with `InstallLocation`, `DisplayVersion` and `UninstallString`; Windows Installer writes
//! one named by the product code (a GUID, new with every MSI Tauri builds) with
//! `WindowsInstaller` = 1. Under `HKLM` for an install for all users, under `HKCU` for one
//! user. The entry of this app is the one whose `InstallLocation` holds the running
//! executable. Reading the registry ([`read_entries`], Windows only) is kept apart from the
//! decision ([`find_entry`]), which takes the values read and is tested everywhere.

use std::path::Path;

use super::installer_app::{is_version, InstallMode, InstallerApp, InstallerKind};

/// The uninstall key under `HKCU` and `HKLM`.
#[cfg_attr(not(windows), allow(dead_code))]
pub(crate) const UNINSTALL_KEY: &str = r"Software\Microsoft\Windows\CurrentVersion\Uninstall";

/// The values of one uninstall entry that matter here, as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct UninstallEntry {
    /// The entry's key name (the product's name, or an MSI's product code).
    pub key: String,
    /// Under `HKLM`.
    pub per_machine: bool,
    pub install_location: Option<String>,
    pub display_version: Option<String>,
    pub uninstall_string: Option<String>,
    pub windows_installer: Option<u32>,
}

impl UninstallEntry {
    /// Which installer wrote it: Windows Installer says so; an NSIS setup leaves an
    /// uninstaller to run. `None` for an entry that is neither.
    pub fn kind(&self) -> Option<InstallerKind> {
        if self.windows_installer == Some(1) {
            return Some(InstallerKind::Msi);
        }
        let uninstaller = self.uninstall_string.as_deref().unwrap_or_default();
        let lower = uninstaller.to_ascii_lowercase();
        (lower.contains(".exe") && !lower.contains("msiexec")).then_some(InstallerKind::Nsis)
    }
}

/// A path as compared here: without the `\\?\` a canonical path has, without quotes and
/// trailing separators, `\` for `/`, in lower case (Windows paths ignore case).
fn normalized(path: &str) -> String {
    let path = path.trim().trim_matches('"');
    let path = path.replace('/', "\\");
    let path = match path.strip_prefix(r"\\?\UNC\") {
        Some(rest) => format!(r"\\{rest}"),
        None => path.strip_prefix(r"\\?\").unwrap_or(&path).to_string(),
    };
    path.trim_end_matches('\\').to_lowercase()
}

/// Whether the folder `location` holds the file `exe` (at any depth).
pub(crate) fn location_contains(location: &str, exe: &str) -> bool {
    let location = normalized(location);
    let exe = normalized(exe);
    // A drive root alone ("C:") would hold every app on the drive: not an install location.
    location.len() > 3
        && exe
            .strip_prefix(&location)
            .is_some_and(|rest| rest.starts_with('\\'))
}

/// The entry of the installer that installed `exe`, with its kind: among the entries of an
/// installer whose `InstallLocation` holds `exe`, the one whose location is the deepest
/// (the most specific), the first one read on a tie (`HKCU` is read first).
pub(crate) fn find_entry<'a>(
    exe: &Path,
    entries: &'a [UninstallEntry],
) -> Option<(&'a UninstallEntry, InstallerKind)> {
    let exe = exe.to_string_lossy();
    let mut best: Option<(&UninstallEntry, InstallerKind, usize)> = None;
    for entry in entries {
        let (Some(kind), Some(location)) = (entry.kind(), entry.install_location.as_deref()) else {
            continue;
        };
        if !location_contains(location, &exe) {
            continue;
        }
        let depth = normalized(location).len();
        if best.is_none_or(|(_, _, d)| depth > d) {
            best = Some((entry, kind, depth));
        }
    }
    best.map(|(entry, kind, _)| (entry, kind))
}

/// The app `exe` as an installer's target, if an installer's entry holds it.
#[cfg_attr(not(windows), allow(dead_code))]
pub(crate) fn installer_app(exe: &Path, entries: &[UninstallEntry]) -> Option<InstallerApp> {
    let (entry, kind) = find_entry(exe, entries)?;
    Some(InstallerApp {
        kind,
        exe: exe.to_path_buf(),
        mode: InstallMode::default(),
        per_machine: entry.per_machine,
    })
}

/// Whether an entry of `app`'s kind that holds its executable registers `version`. An MSI
/// upgrade can leave two entries for a moment (the old product code's and the new one's):
/// any of them counts.
pub(crate) fn registers_version(
    app: &InstallerApp,
    entries: &[UninstallEntry],
    version: &str,
) -> bool {
    let exe = app.exe.to_string_lossy();
    entries.iter().any(|e| {
        e.kind() == Some(app.kind)
            && e.install_location
                .as_deref()
                .is_some_and(|l| location_contains(l, &exe))
            && e.display_version
                .as_deref()
                .is_some_and(|v| is_version(v, version))
    })
}

/// The uninstall entries of this user (`HKCU`) and of the machine (`HKLM`, in its 64-bit
/// and 32-bit views). Keys and values that cannot be read are left out.
#[cfg(windows)]
pub(crate) fn read_entries() -> Vec<UninstallEntry> {
    use winreg::enums::{
        HKEY_CURRENT_USER, HKEY_LOCAL_MACHINE, KEY_READ, KEY_WOW64_32KEY, KEY_WOW64_64KEY,
    };
    use winreg::RegKey;

    let hives = [
        (HKEY_CURRENT_USER, false, KEY_READ),
        (HKEY_LOCAL_MACHINE, true, KEY_READ | KEY_WOW64_64KEY),
        (HKEY_LOCAL_MACHINE, true, KEY_READ | KEY_WOW64_32KEY),
    ];
    let mut entries = Vec::new();
    for (hive, per_machine, flags) in hives {
        let Ok(root) = RegKey::predef(hive).open_subkey_with_flags(UNINSTALL_KEY, flags) else {
            continue;
        };
        for name in root.enum_keys().flatten() {
            let Ok(key) = root.open_subkey_with_flags(&name, flags) else {
                continue;
            };
            let text = |value: &str| key.get_value::<String, _>(value).ok();
            let entry = UninstallEntry {
                per_machine,
                install_location: text("InstallLocation"),
                display_version: text("DisplayVersion"),
                uninstall_string: text("UninstallString"),
                windows_installer: key.get_value::<u32, _>("WindowsInstaller").ok(),
                key: name,
            };
            if !entries.contains(&entry) {
                entries.push(entry);
            }
        }
    }
    entries
}

/// No registry elsewhere.
#[cfg(not(windows))]
pub(crate) fn read_entries() -> Vec<UninstallEntry> {
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nsis(location: &str, version: &str, per_machine: bool) -> UninstallEntry {
        UninstallEntry {
            key: "Demo".into(),
            per_machine,
            install_location: Some(location.into()),
            display_version: Some(version.into()),
            uninstall_string: Some(format!("\"{location}\\uninstall.exe\"")),
            windows_installer: None,
        }
    }

    fn msi(location: &str, version: &str) -> UninstallEntry {
        UninstallEntry {
            key: "{9F2C6E3A-0000-4000-8000-000000000001}".into(),
            per_machine: true,
            install_location: Some(location.into()),
            display_version: Some(version.into()),
            uninstall_string: Some("MsiExec.exe /X{9F2C6E3A-0000-4000-8000-000000000001}".into()),
            windows_installer: Some(1),
        }
    }

    const EXE: &str = r"C:\Users\Me\AppData\Local\Demo\demo.exe";

    #[test]
    fn the_kind_comes_from_the_entry() {
        assert_eq!(
            nsis(r"C:\Demo", "1.0.0", false).kind(),
            Some(InstallerKind::Nsis)
        );
        assert_eq!(msi(r"C:\Demo", "1.0.0").kind(), Some(InstallerKind::Msi));
        let other = UninstallEntry {
            uninstall_string: Some("MsiExec.exe /X{...}".into()),
            ..UninstallEntry::default()
        };
        assert_eq!(other.kind(), None, "msiexec without WindowsInstaller=1");
        assert_eq!(UninstallEntry::default().kind(), None);
    }

    #[test]
    fn a_location_holds_what_is_under_it_whatever_the_spelling() {
        assert!(location_contains(r"C:\Users\Me\AppData\Local\Demo", EXE));
        assert!(location_contains(r"c:\users\me\appdata\local\demo\", EXE));
        assert!(location_contains(
            r#""C:\Users\Me\AppData\Local\Demo""#,
            EXE
        ));
        assert!(location_contains("C:/Users/Me/AppData/Local/Demo", EXE));
        assert!(location_contains(
            r"C:\Users\Me\AppData\Local\Demo",
            r"\\?\C:\Users\Me\AppData\Local\Demo\demo.exe"
        ));
        assert!(location_contains(
            r"\\server\apps\Demo",
            r"\\?\UNC\server\apps\Demo\demo.exe"
        ));
        // A sibling whose name starts the same, a drive root, nothing.
        assert!(!location_contains(r"C:\Users\Me\AppData\Local\Dem", EXE));
        assert!(!location_contains(r"C:\Users\Me\AppData\Local\Demo2", EXE));
        assert!(!location_contains(r"C:\", EXE));
        assert!(!location_contains("", EXE));
        assert!(!location_contains(
            r"C:\Users\Me\AppData\Local\Demo",
            r"C:\Users\Me\AppData\Local\Demo"
        ));
    }

    #[test]
    fn detection_takes_the_entry_that_holds_the_executable() {
        let entries = vec![
            nsis(r"C:\Program Files\Other", "2.0.0", true),
            UninstallEntry {
                key: "no location".into(),
                uninstall_string: Some("x.exe".into()),
                ..UninstallEntry::default()
            },
            nsis(r"C:\Users\Me\AppData\Local\Demo", "1.0.0", false),
        ];
        let app = installer_app(Path::new(EXE), &entries).unwrap();
        assert_eq!(app.kind, InstallerKind::Nsis);
        assert!(!app.per_machine);
        assert_eq!(app.mode, InstallMode::Passive);
        assert_eq!(app.exe, Path::new(EXE));

        let exe = Path::new(r"C:\Program Files\Demo\demo.exe");
        let app = installer_app(exe, &[msi(r"C:\Program Files\Demo\", "1.0.0")]).unwrap();
        assert_eq!((app.kind, app.per_machine), (InstallerKind::Msi, true));

        assert_eq!(
            installer_app(Path::new(r"D:\portable\demo.exe"), &entries),
            None
        );
    }

    #[test]
    fn the_deepest_location_wins() {
        // An entry for a whole folder of apps (a suite) and the app's own.
        let entries = vec![
            nsis(r"C:\Users\Me\AppData\Local", "9.9.9", false),
            msi(r"C:\Users\Me\AppData\Local\Demo", "1.0.0"),
        ];
        let (entry, kind) = find_entry(Path::new(EXE), &entries).unwrap();
        assert_eq!(kind, InstallerKind::Msi);
        assert_eq!(entry.display_version.as_deref(), Some("1.0.0"));
    }

    #[test]
    fn the_version_is_read_from_any_matching_entry_of_the_kind() {
        let app = InstallerApp {
            kind: InstallerKind::Msi,
            exe: EXE.into(),
            mode: InstallMode::Quiet,
            per_machine: true,
        };
        let location = r"C:\Users\Me\AppData\Local\Demo";
        let entries = vec![msi(location, "1.0.0"), msi(location, "1.1.0")];
        assert!(registers_version(&app, &entries, "1.1.0"));
        assert!(registers_version(&app, &entries, " 1.0.0 "));
        assert!(!registers_version(&app, &entries, "1.2.0"));
        // An NSIS entry at the same place is not the MSI's.
        assert!(!registers_version(
            &app,
            &[nsis(location, "1.2.0", true)],
            "1.2.0"
        ));
        assert!(!registers_version(
            &app,
            &[msi(r"C:\Elsewhere", "1.1.0")],
            "1.1.0"
        ));
    }
}
