//! The staged install on real files: swap, confirm, rollback after unconfirmed launches,
//! bundles exchanged as directories, the lock, and bad artifacts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::fs;
use std::path::{Path, PathBuf};

use tuf_updater_core::install::{InstallError, InstallTarget, Installer, StartupOutcome, State};

struct App {
    _dir: tempfile::TempDir,
    data: PathBuf,
    exe: PathBuf,
    artifact: PathBuf,
}

fn app() -> App {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let bin = dir.path().join("bin");
    fs::create_dir_all(&bin).unwrap();
    let exe = bin.join("app");
    fs::write(&exe, b"version 1").unwrap();
    let artifact = dir.path().join("app-2");
    fs::write(&artifact, b"version 2").unwrap();
    App {
        data,
        exe,
        artifact,
        _dir: dir,
    }
}

fn installer(app: &App) -> Installer {
    Installer::new(&app.data, InstallTarget::Executable(app.exe.clone()), 2)
}

fn stage_and_install(inst: &Installer, artifact: &Path) {
    let lock = inst.lock().unwrap();
    inst.stage(&lock, artifact, "app", "1.0.0", "2.0.0")
        .unwrap();
    assert_eq!(inst.journal().unwrap().unwrap().state, State::Staged);
    inst.install(&lock).unwrap();
}

#[test]
fn swap_then_confirm_keeps_the_new_version_and_forgets_the_old() {
    let app = app();
    let inst = installer(&app);
    stage_and_install(&inst, &app.artifact);
    assert_eq!(fs::read(&app.exe).unwrap(), b"version 2");
    let journal = inst.journal().unwrap().unwrap();
    assert_eq!(journal.state, State::Swapped { launches: 0 });
    assert_eq!(fs::read(&journal.backup).unwrap(), b"version 1");
    assert_eq!(
        inst.startup().unwrap(),
        StartupOutcome::PendingConfirmation {
            version: "2.0.0".into(),
            launch: 1
        }
    );
    assert!(inst.confirm().unwrap());
    assert!(inst.journal().unwrap().is_none());
    assert!(!journal.backup.exists());
    assert!(!journal.staged.exists());
    assert_eq!(inst.startup().unwrap(), StartupOutcome::Idle);
    assert_eq!(fs::read(&app.exe).unwrap(), b"version 2");
}

#[test]
fn a_writability_probe_a_killed_process_left_beside_the_app_is_removed_by_the_next_stage() {
    let app = app();
    let probe = app.exe.with_file_name(".app.update-probe");
    fs::write(&probe, b"").unwrap();
    stage_and_install(&installer(&app), &app.artifact);
    let mut names: Vec<String> = fs::read_dir(app.exe.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["app"]);
}

#[test]
fn an_unconfirmed_version_is_rolled_back_after_the_allowed_launches() {
    let app = app();
    let inst = installer(&app);
    stage_and_install(&inst, &app.artifact);
    for launch in 1..=2 {
        assert_eq!(
            inst.startup().unwrap(),
            StartupOutcome::PendingConfirmation {
                version: "2.0.0".into(),
                launch
            }
        );
    }
    match inst.startup().unwrap() {
        StartupOutcome::RolledBack {
            failed_version,
            restored_version,
            reason,
        } => {
            assert_eq!(failed_version, "2.0.0");
            assert_eq!(restored_version, "1.0.0");
            assert!(
                reason.contains("did not confirm within 2 launches"),
                "{reason}"
            );
        }
        other => panic!("expected a rollback, got {other:?}"),
    }
    assert_eq!(fs::read(&app.exe).unwrap(), b"version 1");
    // Confirming now is too late: nothing is pending.
    assert!(!inst.confirm().unwrap());
    // The next start (the restored version) says what was rolled back and cleans up; the
    // one after reports nothing; a new update can be staged.
    assert!(matches!(
        inst.startup().unwrap(),
        StartupOutcome::RollbackFinished { failed_version, restored_version, .. }
            if failed_version == "2.0.0" && restored_version == "1.0.0"
    ));
    assert_eq!(inst.startup().unwrap(), StartupOutcome::Idle);
    assert!(inst.journal().unwrap().is_none());
    stage_and_install(&inst, &app.artifact);
    assert_eq!(fs::read(&app.exe).unwrap(), b"version 2");
}

#[test]
fn a_crash_after_the_swap_but_before_its_journal_entry_is_recognised() {
    let app = app();
    let inst = installer(&app);
    stage_and_install(&inst, &app.artifact);
    // Put the journal back to what it said just before the swap.
    let path = app.data.join("install/journal.json");
    let mut journal = inst.journal().unwrap().unwrap();
    journal.state = State::BackedUp;
    journal.save(&path).unwrap();
    assert_eq!(
        inst.startup().unwrap(),
        StartupOutcome::PendingConfirmation {
            version: "2.0.0".into(),
            launch: 1
        }
    );
}

#[test]
fn a_crash_after_the_backup_but_before_the_swap_goes_back_to_staged() {
    let app = app();
    let inst = installer(&app);
    let lock = inst.lock().unwrap();
    inst.stage(&lock, &app.artifact, "app", "1.0.0", "2.0.0")
        .unwrap();
    let path = app.data.join("install/journal.json");
    let mut journal = inst.journal().unwrap().unwrap();
    journal.state = State::BackedUp;
    journal.save(&path).unwrap();
    drop(lock);
    assert_eq!(
        inst.startup().unwrap(),
        StartupOutcome::Staged {
            version: "2.0.0".into()
        }
    );
    assert_eq!(fs::read(&app.exe).unwrap(), b"version 1");
    let lock = inst.lock().unwrap();
    inst.install(&lock).unwrap();
    assert_eq!(fs::read(&app.exe).unwrap(), b"version 2");
}

#[test]
fn a_second_process_cannot_update_at_the_same_time() {
    let app = app();
    let inst = installer(&app);
    let _held = inst.lock().unwrap();
    assert!(matches!(inst.lock(), Err(InstallError::Busy(_))));
    assert_eq!(inst.startup().unwrap(), StartupOutcome::Busy);
}

#[test]
fn a_staged_file_changed_after_verification_is_not_installed() {
    let app = app();
    let inst = installer(&app);
    let lock = inst.lock().unwrap();
    inst.stage(&lock, &app.artifact, "app", "1.0.0", "2.0.0")
        .unwrap();
    let staged = inst.journal().unwrap().unwrap().staged;
    fs::write(&staged, b"evil").unwrap();
    assert!(matches!(
        inst.install(&lock),
        Err(InstallError::StagedTampered(_))
    ));
    assert_eq!(fs::read(&app.exe).unwrap(), b"version 1");
}

#[test]
fn an_install_location_that_cannot_be_written_is_a_clear_error() {
    let app = app();
    // Tests run as root here, where permission bits do not stop writes: a location whose
    // directory does not exist stands in for one that cannot be written.
    let missing = app.exe.parent().unwrap().join("gone/app");
    let inst = Installer::new(&app.data, InstallTarget::Executable(missing), 2);
    let lock = inst.lock().unwrap();
    let err = inst
        .stage(&lock, &app.artifact, "app", "1.0.0", "2.0.0")
        .unwrap_err();
    assert!(matches!(err, InstallError::NotWritable { .. }), "{err}");
    assert!(err
        .to_string()
        .contains("cannot write the install location"));
    assert!(inst.journal().unwrap().is_none());
}

fn tar_gz(path: &Path, entries: &[(&str, &[u8])]) {
    let file = fs::File::create(path).unwrap();
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for (name, data) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o755);
        header.set_cksum();
        tar.append_data(&mut header, name, *data).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
}

#[test]
fn a_bundle_is_exchanged_as_a_directory_and_rolled_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("Demo.app");
    fs::create_dir_all(bundle.join("Contents/MacOS")).unwrap();
    fs::write(bundle.join("Contents/MacOS/demo"), b"v1").unwrap();
    fs::write(bundle.join("Contents/old-only"), b"x").unwrap();
    let archive = dir.path().join("Demo.app.tar.gz");
    tar_gz(
        &archive,
        &[
            ("Demo.app/Contents/MacOS/demo", b"v2"),
            ("Demo.app/Contents/Info.plist", b"plist"),
        ],
    );
    let inst = Installer::new(
        &dir.path().join("data"),
        InstallTarget::Bundle(bundle.clone()),
        1,
    );
    let lock = inst.lock().unwrap();
    inst.stage(&lock, &archive, "Demo.app.tar.gz", "1.0.0", "2.0.0")
        .unwrap();
    inst.install(&lock).unwrap();
    assert_eq!(fs::read(bundle.join("Contents/MacOS/demo")).unwrap(), b"v2");
    assert!(bundle.join("Contents/Info.plist").exists());
    assert!(!bundle.join("Contents/old-only").exists());
    inst.rollback(&lock, "health check failed").unwrap();
    assert_eq!(fs::read(bundle.join("Contents/MacOS/demo")).unwrap(), b"v1");
    assert!(bundle.join("Contents/old-only").exists());
    // Only the bundle is left beside it: no staged or backup directory.
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

#[test]
fn an_executable_can_come_inside_a_tar_gz() {
    let app = app();
    let archive = app.artifact.with_extension("tar.gz");
    tar_gz(&archive, &[("app.AppImage", b"version 2 in a tarball")]);
    let inst = installer(&app);
    let lock = inst.lock().unwrap();
    inst.stage(&lock, &archive, "app.AppImage.tar.gz", "1.0.0", "2.0.0")
        .unwrap();
    inst.install(&lock).unwrap();
    assert_eq!(fs::read(&app.exe).unwrap(), b"version 2 in a tarball");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&app.exe).unwrap().permissions().mode() & 0o111,
            0o111
        );
    }
}

#[test]
fn an_archive_entry_escaping_the_directory_is_refused() {
    let app = app();
    let archive = app.artifact.with_extension("tar.gz");
    // tar::Builder refuses to write `..`, so write the raw header name ourselves.
    let file = fs::File::create(&archive).unwrap();
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    let mut header = tar::Header::new_gnu();
    header.as_gnu_mut().unwrap().name[..10].copy_from_slice(b"../evil.sh");
    header.set_size(4);
    header.set_mode(0o755);
    header.set_cksum();
    tar.append(&header, &b"evil"[..]).unwrap();
    tar.into_inner().unwrap().finish().unwrap();
    let inst = installer(&app);
    let lock = inst.lock().unwrap();
    let err = inst
        .stage(&lock, &archive, "app.tar.gz", "1.0.0", "2.0.0")
        .unwrap_err();
    assert!(
        err.to_string().contains("escapes the install directory"),
        "{err}"
    );
    assert!(inst.journal().unwrap().is_none());
    assert_eq!(fs::read(&app.exe).unwrap(), b"version 1");
}

#[test]
fn recovery_deletes_only_the_temporary_the_journal_named_beside_the_app() {
    // The app sits in a shared folder (an AppImage in ~/Downloads): other people's hidden
    // `.update-*` files and folders there are not ours to delete.
    let app = app();
    let dir = app.exe.parent().unwrap().to_path_buf();
    let theirs_dir = dir.join(".update-notes");
    fs::create_dir(&theirs_dir).unwrap();
    fs::write(theirs_dir.join("todo.txt"), b"someone's notes").unwrap();
    let theirs_file = dir.join(".update-1234");
    fs::write(&theirs_file, b"someone's file").unwrap();

    let inst = installer(&app);
    let lock = inst.lock().unwrap();
    inst.stage(&lock, &app.artifact, "app", "1.0.0", "2.0.0")
        .unwrap();
    let scratch = inst.journal().unwrap().unwrap().scratch.unwrap();
    assert_eq!(scratch.parent(), Some(dir.as_path()));
    let name = scratch.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with(".app.update-"), "{name}");
    // What a kill in the middle of copying the new version beside the app leaves.
    fs::write(&scratch, b"half a copy").unwrap();
    drop(lock);

    assert_eq!(
        inst.startup().unwrap(),
        StartupOutcome::Staged {
            version: "2.0.0".into()
        }
    );
    assert!(!scratch.exists(), "the recorded temporary is removed");
    assert_eq!(
        fs::read(theirs_dir.join("todo.txt")).unwrap(),
        b"someone's notes"
    );
    assert_eq!(fs::read(&theirs_file).unwrap(), b"someone's file");
    // The install still goes through the same name, and leaves nothing beside the app.
    let lock = inst.lock().unwrap();
    inst.install(&lock).unwrap();
    assert_eq!(fs::read(&app.exe).unwrap(), b"version 2");
    let mut names: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, [".update-1234", ".update-notes", "app"]);
}

#[test]
fn a_journal_written_before_temporaries_were_recorded_still_recovers() {
    let app = app();
    let inst = installer(&app);
    stage_and_install(&inst, &app.artifact);
    // The journal as an older version wrote it: no `scratch`.
    let path = app.data.join("install").join("journal.json");
    let mut journal: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    journal.as_object_mut().unwrap().remove("scratch").unwrap();
    fs::write(&path, serde_json::to_vec(&journal).unwrap()).unwrap();
    let stray = app.exe.parent().unwrap().join(".update-unknown");
    fs::write(&stray, b"not recorded: kept").unwrap();
    for launch in 1..=2 {
        assert_eq!(
            inst.startup().unwrap(),
            StartupOutcome::PendingConfirmation {
                version: "2.0.0".into(),
                launch
            }
        );
    }
    assert!(matches!(
        inst.startup().unwrap(),
        StartupOutcome::RolledBack { .. }
    ));
    assert_eq!(fs::read(&app.exe).unwrap(), b"version 1");
    assert!(stray.exists());
}

#[test]
fn launches_are_counted_before_the_configuration_is_read_and_not_twice() {
    use tuf_updater_core::startup_before_config;
    let app = app();
    // Installed by a build configured for 2 unconfirmed launches.
    stage_and_install(&installer(&app), &app.artifact);
    assert_eq!(fs::read(&app.exe).unwrap(), b"version 2");
    // Launch 1: the early startup counts it; the configured one that follows reports the
    // same launch, even with another (here: larger) setting.
    let first = startup_before_config(&app.data).unwrap();
    let pending = |launch| StartupOutcome::PendingConfirmation {
        version: "2.0.0".into(),
        launch,
    };
    assert_eq!(first, pending(1));
    let configured = Installer::new(&app.data, InstallTarget::Executable(app.exe.clone()), 9);
    assert_eq!(configured.startup().unwrap(), pending(1));
    // Launches 2 and 3 of a version whose configuration is broken: only the early startup
    // runs; the limit recorded at install time (2) rolls it back.
    assert_eq!(startup_before_config(&app.data).unwrap(), pending(2));
    let rolled_back = startup_before_config(&app.data).unwrap();
    assert!(
        matches!(&rolled_back, StartupOutcome::RolledBack { failed_version, .. } if failed_version == "2.0.0"),
        "{rolled_back:?}"
    );
    assert_eq!(fs::read(&app.exe).unwrap(), b"version 1");
}

/// A bundle `Demo.app` at 1.0.0 beside its 2.0.0 archive, and an installer for it.
fn bundle_and_archive(dir: &Path) -> (PathBuf, PathBuf, Installer) {
    let bundle = dir.join("Demo.app");
    fs::create_dir_all(bundle.join("Contents/MacOS")).unwrap();
    fs::write(bundle.join("Contents/MacOS/demo"), b"v1").unwrap();
    let archive = dir.join("Demo.app.tar.gz");
    tar_gz(&archive, &[("Demo.app/Contents/MacOS/demo", b"v2")]);
    let inst = Installer::new(&dir.join("data"), InstallTarget::Bundle(bundle.clone()), 1);
    (bundle, archive, inst)
}

#[test]
fn a_staged_bundle_changed_inside_after_staging_is_not_swapped_in() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, archive, inst) = bundle_and_archive(dir.path());
    let lock = inst.lock().unwrap();
    inst.stage(&lock, &archive, "Demo.app.tar.gz", "1.0.0", "2.0.0")
        .unwrap();
    let staged = inst.journal().unwrap().unwrap().staged;
    // Same directory (same inode), one file changed inside it.
    fs::write(staged.join("Contents/MacOS/demo"), b"planted").unwrap();
    let err = inst.install(&lock).unwrap_err();
    assert!(matches!(err, InstallError::StagedTampered(_)), "{err}");
    assert_eq!(fs::read(bundle.join("Contents/MacOS/demo")).unwrap(), b"v1");
    // A file added is a change too.
    inst.stage(&lock, &archive, "Demo.app.tar.gz", "1.0.0", "2.0.0")
        .unwrap();
    let staged = inst.journal().unwrap().unwrap().staged;
    fs::write(staged.join("Contents/MacOS/extra"), b"").unwrap();
    let err = inst.install(&lock).unwrap_err();
    assert!(matches!(err, InstallError::StagedTampered(_)), "{err}");
    assert_eq!(fs::read(bundle.join("Contents/MacOS/demo")).unwrap(), b"v1");
}

#[test]
fn a_bundle_stages_under_a_fresh_random_name_and_a_killed_stagings_leftover_goes() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, archive, inst) = bundle_and_archive(dir.path());
    // What a process killed while unpacking leaves: a staged tree no journal names.
    let leftover = dir.path().join(".Demo.app.staged-00000000deadbeef");
    fs::create_dir_all(leftover.join("Contents")).unwrap();
    let lock = inst.lock().unwrap();
    inst.stage(&lock, &archive, "Demo.app.tar.gz", "1.0.0", "2.0.0")
        .unwrap();
    let first = inst.journal().unwrap().unwrap().staged;
    assert!(!leftover.exists());
    let name = first.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with(".Demo.app.staged-") && name.len() == 17 + 16,
        "{name}"
    );
    // Staged again (a newer release, say): another name, the first one gone.
    inst.stage(&lock, &archive, "Demo.app.tar.gz", "1.0.0", "2.0.0")
        .unwrap();
    let second = inst.journal().unwrap().unwrap().staged;
    assert_ne!(second, first);
    assert!(!first.exists() && second.is_dir());
    // Someone else's names beside the bundle are not touched.
    let other = dir.path().join(".Other.app.staged-1");
    fs::create_dir_all(&other).unwrap();
    inst.install(&lock).unwrap();
    assert_eq!(fs::read(bundle.join("Contents/MacOS/demo")).unwrap(), b"v2");
    assert!(other.is_dir());
}
