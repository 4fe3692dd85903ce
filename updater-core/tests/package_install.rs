//! Apps installed by the system's package manager, updated through it: real `.deb` packages
//! built with `dpkg-deb` and installed into this machine's dpkg database (the CI machine's;
//! these tests run as root), each under a package name of its own, purged afterwards.
//! (The rpm path is in `package_install_rpm.rs`.)

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use updater_core::install::{
    InstallError, InstallTarget, Installer, PackageManager, PackagedApp, StartupOutcome,
};

/// A test package: its name, where it installs its executable, and a builder of versions.
struct TestPackage {
    name: String,
    exe: PathBuf,
    work: tempfile::TempDir,
}

impl TestPackage {
    fn new(tag: &str) -> TestPackage {
        assert!(
            rustix::process::geteuid().is_root(),
            "these tests install packages into this machine's dpkg database: run them as root"
        );
        let name = format!("updater-test-{tag}-{}", std::process::id());
        let exe = PathBuf::from(format!("/opt/{name}/app"));
        TestPackage {
            name,
            exe,
            work: tempfile::tempdir().unwrap(),
        }
    }

    /// Builds `<name>_<version>.deb` whose app prints `app <version>`; `postinst`, when
    /// given, is its post-installation script.
    fn deb(&self, name: &str, version: &str, postinst: Option<&str>) -> PathBuf {
        let root = self.work.path().join(format!("root-{name}-{version}"));
        let control = root.join("DEBIAN");
        fs::create_dir_all(&control).unwrap();
        fs::write(
            control.join("control"),
            format!(
                "Package: {name}\nVersion: {version}\nArchitecture: all\n\
                 Maintainer: Tests <tests@example.com>\nDescription: updater test app\n"
            ),
        )
        .unwrap();
        if let Some(script) = postinst {
            let path = control.join("postinst");
            fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
            chmod(&path, 0o755);
        }
        let exe = root.join(self.exe.strip_prefix("/").unwrap());
        fs::create_dir_all(exe.parent().unwrap()).unwrap();
        fs::write(&exe, format!("#!/bin/sh\necho app {version}\n")).unwrap();
        chmod(&exe, 0o755);
        let out = self.work.path().join(format!("{name}_{version}.deb"));
        run(Command::new("dpkg-deb")
            .args(["--build", "--root-owner-group"])
            .arg(&root)
            .arg(&out));
        out
    }

    fn install_directly(&self, deb: &Path) {
        run(Command::new("dpkg").arg("--install").arg(deb));
    }

    fn installed(&self) -> Option<String> {
        PackageManager::Dpkg.installed_version(&self.name)
    }

    fn output(&self) -> String {
        let out = Command::new(&self.exe).output().unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    fn verify(&self) {
        run(Command::new("dpkg").arg("--verify").arg(&self.name));
    }

    fn installer(&self, data: &Path) -> Installer {
        let app = PackagedApp {
            manager: PackageManager::Dpkg,
            name: self.name.clone(),
            exe: self.exe.clone(),
        };
        Installer::new(data, InstallTarget::Package(app), 2)
    }
}

impl Drop for TestPackage {
    fn drop(&mut self) {
        // Not `run`: a panic while a failed test unwinds would abort the others.
        let _ = run_retrying(Command::new("dpkg").args(["--purge", &self.name]));
    }
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// Runs `command`, asserting it succeeds.
fn run(command: &mut Command) {
    let out = run_retrying(command);
    assert!(
        out.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `command`, again while another test's dpkg holds the database lock.
fn run_retrying(command: &mut Command) -> std::process::Output {
    let mut out = command.output().unwrap();
    for _ in 0..120 {
        if !String::from_utf8_lossy(&out.stderr).contains("lock") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
        out = command.output().unwrap();
    }
    out
}

/// A package installed at 1.0.0, its 1.1.0 staged and installed through dpkg, the 1.0.0
/// package kept for a rollback.
fn updated(pkg: &TestPackage, data: &Path) -> Installer {
    let v1 = pkg.deb(&pkg.name, "1.0.0", None);
    let v2 = pkg.deb(&pkg.name, "1.1.0", None);
    pkg.install_directly(&v1);
    let installer = pkg.installer(data);
    fs::create_dir_all(data.join("install")).unwrap();
    fs::copy(&v1, installer.installed_package_path(PackageManager::Dpkg)).unwrap();
    assert!(installer.installed_package("1.0.0").is_some());
    let lock = installer.lock().unwrap();
    installer
        .stage(&lock, &v2, "app_1.1.0.deb", "1.0.0", "1.1.0")
        .unwrap();
    assert_eq!(
        pkg.installed().as_deref(),
        Some("1.0.0"),
        "staging changed nothing"
    );
    installer.install(&lock).unwrap();
    installer
}

#[test]
fn dpkg_names_the_package_that_owns_an_executable() {
    let pkg = TestPackage::new("owner");
    pkg.install_directly(&pkg.deb(&pkg.name, "1.0.0", None));
    assert_eq!(
        PackageManager::Dpkg.owner_of(&pkg.exe).as_deref(),
        Some(pkg.name.as_str())
    );
    let unowned = tempfile::NamedTempFile::new().unwrap();
    assert_eq!(PackageManager::Dpkg.owner_of(unowned.path()), None);
}

#[test]
fn a_deb_update_goes_through_dpkg_and_confirms_keeping_its_package() {
    let pkg = TestPackage::new("confirm");
    let data = tempfile::tempdir().unwrap();
    let installer = updated(&pkg, data.path());
    assert_eq!(pkg.installed().as_deref(), Some("1.1.0"));
    assert_eq!(pkg.output(), "app 1.1.0");
    pkg.verify();
    assert!(matches!(
        installer.startup().unwrap(),
        StartupOutcome::PendingConfirmation { launch: 1, .. }
    ));
    assert!(installer.confirm().unwrap());
    // The kept package is now 1.1.0's: the backup of the next update.
    assert!(installer.installed_package("1.1.0").is_some());
    assert!(installer.installed_package("1.0.0").is_none());
    assert_eq!(installer.startup().unwrap(), StartupOutcome::Idle);
    let left: Vec<_> = fs::read_dir(data.path().join("install"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        left.len(),
        2,
        "only the lock and the kept package: {left:?}"
    );
}

#[test]
fn an_unconfirmed_deb_update_is_rolled_back_by_reinstalling_the_kept_package() {
    let pkg = TestPackage::new("rollback");
    let data = tempfile::tempdir().unwrap();
    let installer = updated(&pkg, data.path());
    for launch in 1..=2 {
        assert_eq!(
            installer.startup().unwrap(),
            StartupOutcome::PendingConfirmation {
                version: "1.1.0".into(),
                launch
            }
        );
    }
    assert!(matches!(
        installer.startup().unwrap(),
        StartupOutcome::RolledBack { .. }
    ));
    assert_eq!(pkg.installed().as_deref(), Some("1.0.0"));
    assert_eq!(pkg.output(), "app 1.0.0");
    pkg.verify();
    assert!(
        installer.installed_package("1.0.0").is_some(),
        "the package of the version that runs is kept"
    );
}

#[test]
fn a_package_of_another_name_or_version_is_refused_before_dpkg_runs() {
    let pkg = TestPackage::new("refuse");
    let data = tempfile::tempdir().unwrap();
    pkg.install_directly(&pkg.deb(&pkg.name, "1.0.0", None));
    let installer = pkg.installer(data.path());
    let lock = installer.lock().unwrap();
    // A signed release can still carry the wrong package: another app's, or another version.
    let other = pkg.deb("some-other-package", "1.1.0", None);
    let err = installer
        .stage(&lock, &other, "x.deb", "1.0.0", "1.1.0")
        .unwrap_err();
    assert!(
        matches!(&err, InstallError::Package { reason, .. } if reason.contains("some-other-package")),
        "{err}"
    );
    let wrong_version = pkg.deb(&pkg.name, "1.2.0", None);
    let err = installer
        .stage(&lock, &wrong_version, "x.deb", "1.0.0", "1.1.0")
        .unwrap_err();
    assert!(
        matches!(&err, InstallError::Package { reason, .. } if reason.contains("declares version 1.2.0")),
        "{err}"
    );
    assert!(installer.journal().unwrap().is_none(), "nothing staged");
    assert_eq!(pkg.installed().as_deref(), Some("1.0.0"));
}

#[test]
fn a_package_whose_script_fails_leaves_the_old_version_installed() {
    let pkg = TestPackage::new("failing");
    let data = tempfile::tempdir().unwrap();
    let v1 = pkg.deb(&pkg.name, "1.0.0", None);
    pkg.install_directly(&v1);
    let installer = pkg.installer(data.path());
    fs::create_dir_all(data.path().join("install")).unwrap();
    fs::copy(&v1, installer.installed_package_path(PackageManager::Dpkg)).unwrap();
    let broken = pkg.deb(
        &pkg.name,
        "1.1.0",
        Some("echo cannot configure >&2; exit 1"),
    );
    let lock = installer.lock().unwrap();
    installer
        .stage(&lock, &broken, "x.deb", "1.0.0", "1.1.0")
        .unwrap();
    let err = installer.install(&lock).unwrap_err();
    let InstallError::PackageManager { command, reason } = &err else {
        panic!("{err}");
    };
    assert!(command.starts_with("dpkg --install"), "{command}");
    assert!(
        reason.contains("cannot configure"),
        "dpkg's words are kept: {reason}"
    );
    // dpkg left 1.1.0 half-configured; the updater put 1.0.0 back.
    assert_eq!(pkg.installed().as_deref(), Some("1.0.0"));
    assert_eq!(pkg.output(), "app 1.0.0");
    pkg.verify();
    assert!(
        installer.journal().unwrap().is_none(),
        "a later attempt starts afresh"
    );
    drop(lock);
    assert_eq!(installer.startup().unwrap(), StartupOutcome::Idle);
}

#[test]
fn a_staged_package_changed_after_staging_is_not_handed_to_dpkg() {
    let pkg = TestPackage::new("tampered");
    let data = tempfile::tempdir().unwrap();
    let v1 = pkg.deb(&pkg.name, "1.0.0", None);
    pkg.install_directly(&v1);
    let installer = pkg.installer(data.path());
    let lock = installer.lock().unwrap();
    let v2 = pkg.deb(&pkg.name, "1.1.0", None);
    installer
        .stage(&lock, &v2, "x.deb", "1.0.0", "1.1.0")
        .unwrap();
    let staged = installer.journal().unwrap().unwrap().staged;
    // Swapped for another package between staging and the (root) install.
    let evil = pkg.deb(&pkg.name, "1.1.0", Some("touch /tmp/owned"));
    fs::copy(&evil, &staged).unwrap();
    let err = installer.install(&lock).unwrap_err();
    assert!(matches!(err, InstallError::StagedTampered(_)), "{err}");
    assert!(
        !Path::new("/tmp/owned").exists(),
        "the swapped package never ran"
    );
    assert_eq!(pkg.installed().as_deref(), Some("1.0.0"));
}

#[test]
fn a_rollback_without_the_previous_package_says_so() {
    let pkg = TestPackage::new("nobackup");
    let data = tempfile::tempdir().unwrap();
    pkg.install_directly(&pkg.deb(&pkg.name, "1.0.0", None));
    let installer = pkg.installer(data.path());
    let lock = installer.lock().unwrap();
    let v2 = pkg.deb(&pkg.name, "1.1.0", None);
    installer
        .stage(&lock, &v2, "x.deb", "1.0.0", "1.1.0")
        .unwrap();
    installer.install(&lock).unwrap();
    let err = installer.rollback(&lock, "test").unwrap_err();
    assert!(
        matches!(&err, InstallError::NoRollbackPackage { version } if version == "1.0.0"),
        "{err}"
    );
    assert_eq!(pkg.installed().as_deref(), Some("1.1.0"));
}
