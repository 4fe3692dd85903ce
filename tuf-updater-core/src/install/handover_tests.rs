//! Apps a Windows installer installed: the command lines, the journal, and the state
//! machine through [`Installer`], with the installed version told by the version the
//! process runs (no uninstall entry holds these test apps, on Linux or under Wine).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use super::super::installer_app::{Handover, InstallMode, Installed, InstallerApp, InstallerKind};
use super::super::journal::{InstallTarget, Journal, State};
use super::super::{InstallError, Installer, StartupOutcome};

/// The smallest file `file_kind` takes for an NSIS setup: a PE with NSIS's first header.
fn nsis_bytes(tag: u8) -> Vec<u8> {
    let mut pe = vec![0u8; 4096];
    pe[..2].copy_from_slice(b"MZ");
    pe[0x3C..0x40].copy_from_slice(&0x80u32.to_le_bytes());
    pe[0x80..0x84].copy_from_slice(b"PE\0\0");
    pe[1024 + 4..1024 + 20].copy_from_slice(b"\xEF\xBE\xAD\xDENullsoftInst");
    pe[4000] = tag;
    pe
}

/// ... and for an MSI: an OLE compound file's signature.
fn msi_bytes() -> Vec<u8> {
    let mut msi = vec![0u8; 1024];
    msi[..8].copy_from_slice(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1");
    msi
}

fn app(kind: InstallerKind, mode: InstallMode) -> InstallerApp {
    InstallerApp {
        kind,
        exe: PathBuf::from(r"C:\Program Files\Demo\demo.exe"),
        mode,
        per_machine: true,
    }
}

fn args(h: &Handover) -> Vec<String> {
    h.args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

#[test]
fn nsis_command_lines_follow_the_install_mode() {
    let setup = Path::new(r"C:\data\install\staged-1.1.0.exe");
    let cases = [
        (InstallMode::Passive, vec!["/P", "/R", "/UPDATE"]),
        (InstallMode::Quiet, vec!["/S", "/R", "/UPDATE"]),
        (InstallMode::BasicUi, vec!["/UPDATE"]),
    ];
    for (mode, expected) in cases {
        let h = Handover::for_installer(&app(InstallerKind::Nsis, mode), setup, None);
        assert_eq!(h.program, setup, "{mode:?}");
        assert_eq!(args(&h), expected, "{mode:?}");
    }
}

#[test]
fn msi_command_lines_run_msiexec_from_system32() {
    let msi = Path::new(r"C:\Users\Me Too\data\install\staged-1.1.0.msi");
    let system = Path::new(r"C:\Windows\System32");
    let cases = [
        (InstallMode::Passive, "/passive"),
        (InstallMode::Quiet, "/quiet"),
        (InstallMode::BasicUi, "/qb+"),
    ];
    for (mode, ui) in cases {
        let h = Handover::for_installer(&app(InstallerKind::Msi, mode), msi, Some(system));
        assert_eq!(h.program, system.join("msiexec.exe"));
        let msi = msi.to_string_lossy().into_owned();
        let expected = ["/i", &msi, ui, "/promptrestart", "AUTOLAUNCHAPP=True"];
        assert_eq!(args(&h), expected, "{mode:?}");
    }
    let h = Handover::for_installer(&app(InstallerKind::Msi, InstallMode::Quiet), msi, None);
    assert_eq!(h.program, Path::new("msiexec.exe"));
}

#[test]
fn an_elevated_handover_goes_through_start_process_run_as() {
    let h = Handover {
        program: PathBuf::from(r"C:\Users\O'Neil\data\staged-1.1.0.exe"),
        args: vec![
            OsString::from("/P"),
            OsString::from("/R"),
            OsString::from("a b"),
        ],
    };
    let e = h.elevated(Some(Path::new(r"C:\Windows\System32")));
    assert_eq!(
        e.program,
        Path::new(r"C:\Windows\System32").join(r"WindowsPowerShell\v1.0\powershell.exe")
    );
    let a = args(&e);
    assert_eq!(a[..3], ["-NoProfile", "-NonInteractive", "-Command"]);
    assert_eq!(
        a[3],
        r#"Start-Process -FilePath 'C:\Users\O''Neil\data\staged-1.1.0.exe' -Verb RunAs -ArgumentList '/P','/R','"a b"'"#
    );
    let bare = Handover {
        program: PathBuf::from("setup.exe"),
        args: Vec::new(),
    };
    assert_eq!(
        args(&bare.elevated(None))[3],
        "Start-Process -FilePath 'setup.exe' -Verb RunAs"
    );
}

#[test]
fn kinds_give_their_formats_and_modes_read_as_tauri_names_them() {
    use crate::release::InstallFormat;
    let nsis = InstallTarget::Installer(app(InstallerKind::Nsis, InstallMode::Passive));
    assert_eq!(nsis.formats(), [InstallFormat::Nsis]);
    let msi = InstallTarget::Installer(app(InstallerKind::Msi, InstallMode::Passive));
    assert_eq!(msi.formats(), [InstallFormat::Msi]);
    assert_eq!(msi.path(), Path::new(r"C:\Program Files\Demo\demo.exe"));
    for (name, mode) in [
        ("passive", InstallMode::Passive),
        ("basicUi", InstallMode::BasicUi),
        ("quiet", InstallMode::Quiet),
    ] {
        let read: InstallMode = serde_json::from_str(&format!("\"{name}\"")).unwrap();
        assert_eq!(read, mode);
    }
}

fn journal_of(target: InstallTarget, state: State) -> Journal {
    Journal {
        state,
        from_version: "1.0.0".into(),
        to_version: "1.1.0".into(),
        target,
        staged: PathBuf::from("staged-1.1.0.exe"),
        backup: PathBuf::from("installed.exe"),
        new_id: "1.1.0".into(),
        scratch: None,
        staged_sha256: Some("ab".repeat(32)),
        max_launches: Some(3),
    }
}

#[test]
fn journals_round_trip_and_older_ones_still_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.json");
    let target = InstallTarget::Installer(app(InstallerKind::Msi, InstallMode::Quiet));
    for state in [
        State::Staged,
        State::HandedOver,
        State::Swapped { launches: 2 },
    ] {
        let journal = journal_of(target.clone(), state);
        journal.save(&path).unwrap();
        assert_eq!(Journal::load(&path).unwrap().unwrap(), journal);
    }
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains(r#""kind": "installer""#), "{text}");

    // An installer journal without the fields that have defaults.
    let minimal = r#"{"state":"handed_over","from_version":"1.0.0","to_version":"1.1.0",
        "target":{"kind":"installer","path":{"kind":"nsis","exe":"C:\\Demo\\demo.exe"}},
        "staged":"s","backup":"b","new_id":"1.1.0"}"#;
    fs::write(&path, minimal).unwrap();
    let j = Journal::load(&path).unwrap().unwrap();
    assert_eq!(j.state, State::HandedOver);
    let InstallTarget::Installer(a) = j.target else {
        panic!("{:?}", j.target)
    };
    assert_eq!(
        (a.kind, a.mode, a.per_machine),
        (InstallerKind::Nsis, InstallMode::Passive, false)
    );

    // A journal an older version wrote, before installers (and before later fields).
    let older = r#"{"state":"swapped","launches":1,"from_version":"1.0.0","to_version":"2.0.0",
        "target":{"kind":"executable","path":"/opt/app"},"staged":"s","backup":"b",
        "new_id":"abc"}"#;
    fs::write(&path, older).unwrap();
    let j = Journal::load(&path).unwrap().unwrap();
    assert_eq!(j.state, State::Swapped { launches: 1 });
    assert_eq!(j.target, InstallTarget::Executable("/opt/app".into()));
    assert_eq!((j.staged_sha256, j.max_launches), (None, None));
}

/// An installed app in a temporary directory: its executable, its data dir, and the next
/// version's installer as downloaded.
struct Setup {
    dir: tempfile::TempDir,
    app: InstallerApp,
    artifact: PathBuf,
}

impl Setup {
    fn new(kind: InstallerKind) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("Demo").join("demo.exe");
        fs::create_dir_all(exe.parent().unwrap()).unwrap();
        fs::write(&exe, b"the app").unwrap();
        let artifact = dir.path().join("download");
        let bytes = match kind {
            InstallerKind::Nsis => nsis_bytes(2),
            InstallerKind::Msi => msi_bytes(),
        };
        fs::write(&artifact, bytes).unwrap();
        let app = InstallerApp {
            kind,
            exe,
            mode: InstallMode::Passive,
            per_machine: false,
        };
        Setup { dir, app, artifact }
    }

    /// The installer of a process that runs `version`.
    fn running(&self, version: &str) -> Installer {
        Installer::new(
            &self.dir.path().join("data"),
            InstallTarget::Installer(self.app.clone()),
            2,
        )
        .with_running_version(version)
    }

    fn handed_over(&self, inst: &Installer) -> Handover {
        let lock = inst.lock().unwrap();
        inst.stage(&lock, &self.artifact, "demo-setup.exe", "1.0.0", "1.1.0")
            .unwrap();
        match inst.install(&lock).unwrap() {
            Installed::HandOver(h) => h,
            Installed::Swapped => panic!("an installer's target was swapped"),
        }
    }

    /// Keeps an installer as the running version's, as the download does.
    fn keep_previous(&self, inst: &Installer) -> PathBuf {
        let file = self.dir.path().join("previous-download");
        fs::write(&file, nsis_bytes(1)).unwrap();
        inst.keep_installed(&file, "1.0.0").unwrap()
    }
}

#[test]
fn an_install_is_handed_over_and_the_next_start_finds_it_done() {
    let s = Setup::new(InstallerKind::Nsis);
    let old = s.running("1.0.0");
    let h = s.handed_over(&old);
    let j = old.journal().unwrap().unwrap();
    assert_eq!(j.state, State::HandedOver);
    assert!(
        j.staged.ends_with("staged-1.1.0.exe"),
        "{}",
        j.staged.display()
    );
    assert_eq!(fs::read(&j.staged).unwrap(), fs::read(&s.artifact).unwrap());
    assert_eq!(h.program, j.staged);
    assert_eq!(args(&h), ["/P", "/R", "/UPDATE"]);
    assert_eq!(old.pending_handover().unwrap(), Some(h));
    // A second install of the same journal is refused: it was handed over.
    let lock = old.lock().unwrap();
    assert!(matches!(
        old.install(&lock),
        Err(InstallError::InProgress(_))
    ));
    drop(lock);

    // The installer ran and started the new version.
    let new = s.running("1.1.0");
    assert_eq!(
        new.startup().unwrap(),
        StartupOutcome::PendingConfirmation {
            version: "1.1.0".into(),
            launch: 1
        }
    );
    assert_eq!(new.pending_handover().unwrap(), None);
    assert!(new.confirm().unwrap());
    assert!(new.journal().unwrap().is_none());
    // Its installer is now the one a later rollback runs.
    let kept = new.installed_package("1.1.0").unwrap();
    assert!(kept.ends_with("installed.exe"));
    assert!(new.installed_package("1.0.0").is_none());
    assert!(!j.staged.exists());
}

#[test]
fn an_installer_that_did_not_run_leaves_the_update_staged() {
    let s = Setup::new(InstallerKind::Msi);
    let old = s.running("1.0.0");
    let h = s.handed_over(&old);
    assert_eq!(h.args[0], "/i");
    assert!(old
        .journal()
        .unwrap()
        .unwrap()
        .staged
        .ends_with("staged-1.1.0.msi"));
    // Cancelled: the old version starts again.
    let again = s.running("1.0.0");
    assert_eq!(
        again.startup().unwrap(),
        StartupOutcome::Staged {
            version: "1.1.0".into()
        }
    );
    assert_eq!(again.journal().unwrap().unwrap().state, State::Staged);
    assert_eq!(again.pending_handover().unwrap(), None);
    // ... and the update can be handed over again.
    let lock = again.lock().unwrap();
    assert!(matches!(
        again.install(&lock).unwrap(),
        Installed::HandOver(_)
    ));
}

#[test]
fn a_staged_installer_of_the_wrong_kind_or_changed_is_refused() {
    let s = Setup::new(InstallerKind::Nsis);
    let inst = s.running("1.0.0");
    let lock = inst.lock().unwrap();
    fs::write(&s.artifact, msi_bytes()).unwrap();
    let err = inst
        .stage(&lock, &s.artifact, "demo.msi", "1.0.0", "1.1.0")
        .unwrap_err();
    assert!(err.to_string().contains("an NSIS setup"), "{err}");
    assert!(inst.journal().unwrap().is_none());

    fs::write(&s.artifact, nsis_bytes(2)).unwrap();
    inst.stage(&lock, &s.artifact, "demo-setup.exe", "1.0.0", "1.1.0")
        .unwrap();
    let staged = inst.journal().unwrap().unwrap().staged;
    fs::write(&staged, nsis_bytes(66)).unwrap();
    assert!(matches!(
        inst.install(&lock),
        Err(InstallError::StagedTampered(_))
    ));
    assert_eq!(inst.journal().unwrap().unwrap().state, State::Staged);
    let tar = s.dir.path().join("rebuilt.tar");
    fs::write(&tar, b"tar").unwrap();
    assert!(inst.stage_tar(&lock, &tar, "1.0.0", "1.1.0").is_err());
}

#[test]
fn an_unconfirmed_version_is_rolled_back_by_the_previous_installer() {
    let s = Setup::new(InstallerKind::Nsis);
    let old = s.running("1.0.0");
    let previous = s.keep_previous(&old);
    assert_eq!(old.installed_package("1.0.0"), Some(previous.clone()));
    s.handed_over(&old);
    let new = s.running("1.1.0");
    for launch in 1..=2 {
        let outcome = new.startup().unwrap();
        assert_eq!(
            outcome,
            StartupOutcome::PendingConfirmation {
                version: "1.1.0".into(),
                launch
            }
        );
    }
    let StartupOutcome::RolledBack { failed_version, .. } = new.startup().unwrap() else {
        panic!("not rolled back");
    };
    assert_eq!(failed_version, "1.1.0");
    // The restart hands over to the kept installer of 1.0.0.
    let h = new.pending_handover().unwrap().unwrap();
    assert_eq!(h.program, previous);
    assert!(matches!(
        new.journal().unwrap().unwrap().state,
        State::RollingBack { .. }
    ));
    // It did not run: still 1.1.0, which must restart again.
    assert!(matches!(
        s.running("1.1.0").startup().unwrap(),
        StartupOutcome::RolledBack { .. }
    ));
    // It ran: 1.0.0 starts, and the rollback is over.
    let restored = s.running("1.0.0");
    let StartupOutcome::RollbackFinished {
        restored_version, ..
    } = restored.startup().unwrap()
    else {
        panic!("not finished");
    };
    assert_eq!(restored_version, "1.0.0");
    assert!(restored.journal().unwrap().is_none());
    assert_eq!(restored.installed_package("1.0.0"), Some(previous));
    assert_eq!(restored.pending_handover().unwrap(), None);
}

#[test]
fn a_rollback_without_the_previous_installer_says_so() {
    let s = Setup::new(InstallerKind::Nsis);
    let old = s.running("1.0.0");
    s.handed_over(&old);
    let new = s.running("1.1.0");
    new.startup().unwrap();
    let lock = new.lock().unwrap();
    let err = new.rollback(&lock, "test").unwrap_err();
    assert!(
        matches!(err, InstallError::NoRollbackPackage { .. }),
        "{err}"
    );
}

/// Under Wine (or on Windows): an uninstall entry written to `HKCU` the way Tauri's NSIS
/// setup writes it is read back and holds the app; a version it registers tells the
/// installed version, whatever version the process says it runs.
#[cfg(windows)]
#[test]
fn an_uninstall_entry_in_the_registry_is_found() {
    use super::super::uninstall::{find_entry, read_entries, UNINSTALL_KEY};
    use winreg::enums::HKEY_CURRENT_USER;
    use winreg::RegKey;

    let s = Setup::new(InstallerKind::Nsis);
    let location = s.app.exe.parent().unwrap();
    let name = format!("tuf-updater-core-test-{}", std::process::id());
    let hkcu = RegKey::predef(HKEY_CURRENT_USER);
    let path = format!(r"{UNINSTALL_KEY}\{name}");
    let (key, _) = hkcu.create_subkey(&path).unwrap();
    let location_text = location.to_string_lossy().into_owned();
    key.set_value("InstallLocation", &location_text).unwrap();
    key.set_value("DisplayVersion", &"1.1.0").unwrap();
    let uninstaller = format!("\"{location_text}\\uninstall.exe\"");
    key.set_value("UninstallString", &uninstaller).unwrap();

    let entries = read_entries();
    let found = find_entry(&s.app.exe, &entries).map(|(e, k)| (e.clone(), k));
    // The process's own view of the exe, canonical (`\\?\C:\...`), is found as well.
    let canonical = fs::canonicalize(&s.app.exe).unwrap();
    let found_canonical = find_entry(&canonical, &entries).is_some();
    let app = super::super::uninstall::installer_app(&canonical, &entries);
    // The running version says 1.0.0; the registry's 1.1.0 wins.
    let old = s.running("1.0.0");
    s.handed_over(&old);
    let outcome = s.running("1.0.0").startup();
    hkcu.delete_subkey_all(&path).unwrap();

    let (entry, kind) = found.expect("the entry written is read back");
    assert_eq!(entry.key, name);
    assert_eq!(kind, InstallerKind::Nsis);
    assert!(!entry.per_machine);
    assert!(found_canonical);
    assert_eq!(
        app.map(|a| (a.kind, a.per_machine)),
        Some((InstallerKind::Nsis, false))
    );
    assert_eq!(
        outcome.unwrap(),
        StartupOutcome::PendingConfirmation {
            version: "1.1.0".into(),
            launch: 1
        }
    );
}
