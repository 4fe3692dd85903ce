//! Apps installed by the system's package manager, updated through it: real packages built
//! with `dpkg-deb` and `rpmbuild`, installed into this machine's dpkg and rpm databases (the
//! CI machine's; these tests run as root), each under a package name of its own, removed
//! afterwards. Debian's rpm works with its own database: the test packages declare no
//! dependencies, which it could not resolve.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use tuf_updater_core::install::{
    InstallError, InstallTarget, Installer, PackageManager, PackagedApp, StartupOutcome,
};

/// A test package: its package manager, name, where it installs its executable, and a
/// builder of versions.
struct TestPackage {
    manager: PackageManager,
    name: String,
    exe: PathBuf,
    work: tempfile::TempDir,
}

impl TestPackage {
    fn new(manager: PackageManager, tag: &str) -> TestPackage {
        assert!(
            rustix::process::geteuid().is_root(),
            "these tests install packages into this machine's package databases: run them as root"
        );
        let ext = manager.extension();
        let name = format!("updater-test-{tag}-{ext}-{}", std::process::id());
        let exe = PathBuf::from(format!("/opt/{name}/app"));
        TestPackage {
            manager,
            name,
            exe,
            work: tempfile::tempdir().unwrap(),
        }
    }

    /// Builds a package `name` at `version` whose app prints `app <version>`; `postinst`,
    /// when given, is what its post-installation script does.
    fn package(&self, name: &str, version: &str, postinst: Option<Post>) -> PathBuf {
        match self.manager {
            PackageManager::Dpkg => self.deb(name, version, postinst),
            _ => self.rpm(name, version, postinst),
        }
    }

    fn deb(&self, name: &str, version: &str, postinst: Option<Post>) -> PathBuf {
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
        if let Some(script) = postinst.map(Post::shell) {
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

    fn rpm(&self, name: &str, version: &str, postinst: Option<Post>) -> PathBuf {
        let top = self.work.path().join(format!("rpm-{name}-{version}"));
        let dir = self.exe.parent().unwrap().display().to_string();
        let spec = top.join("app.spec");
        fs::create_dir_all(&top).unwrap();
        // In rpm's built-in Lua: a shell script would make the package need /bin/sh, which
        // Debian's rpm database does not have.
        // A failing %post does not fail rpm's install (it warns); a failing %pre does.
        let post = postinst.map_or(String::new(), |p| p.rpm_scriptlet());
        fs::write(
            &spec,
            format!(
                "Name: {name}\nVersion: {version}\nRelease: 1\nSummary: updater test app\n\
                 License: MIT\nBuildArch: noarch\nAutoReqProv: no\n%description\ntest\n\
                 %install\nmkdir -p %{{buildroot}}{dir}\n\
                 printf '#!/bin/sh\\necho app {version}\\n' > %{{buildroot}}{exe}\n\
                 chmod 755 %{{buildroot}}{exe}\n{post}%files\n{exe}\n",
                exe = self.exe.display()
            ),
        )
        .unwrap();
        run(Command::new("rpmbuild")
            .arg("--define")
            .arg(format!("_topdir {}", top.display()))
            .arg("-bb")
            .arg(&spec));
        let out = self.work.path().join(format!("{name}-{version}.rpm"));
        let built = top.join(format!("RPMS/noarch/{name}-{version}-1.noarch.rpm"));
        fs::rename(&built, &out).unwrap();
        out
    }

    fn install_directly(&self, package: &Path) {
        match self.manager {
            PackageManager::Dpkg => run(Command::new("dpkg").arg("--install").arg(package)),
            _ => run(Command::new("rpm").arg("--upgrade").arg(package)),
        }
    }

    fn installed(&self) -> Option<String> {
        let version = self.manager.installed_version(&self.name).unwrap()?;
        // rpm says version-release; the test packages' release is 1.
        Some(version.strip_suffix("-1").unwrap_or(&version).to_string())
    }

    fn output(&self) -> String {
        let out = Command::new(&self.exe).output().unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    fn verify(&self) {
        match self.manager {
            PackageManager::Dpkg => run(Command::new("dpkg").arg("--verify").arg(&self.name)),
            _ => run(Command::new("rpm").arg("--verify").arg(&self.name)),
        }
    }

    fn kept_path(&self, installer: &Installer) -> PathBuf {
        installer.installed_package_path(self.manager)
    }

    fn installer(&self, data: &Path) -> Installer {
        let app = PackagedApp {
            manager: self.manager,
            name: self.name.clone(),
            exe: self.exe.clone(),
        };
        Installer::new(data, InstallTarget::Package(app), 2)
    }
}

/// What a test package's post-installation script does.
#[derive(Clone, Copy)]
enum Post {
    /// Fails, saying "cannot configure".
    Fail,
    /// Creates `/tmp/owned` (as root).
    TouchOwned,
}

impl Post {
    fn shell(self) -> &'static str {
        match self {
            Post::Fail => "echo cannot configure >&2; exit 1",
            Post::TouchOwned => "touch /tmp/owned",
        }
    }

    fn rpm_scriptlet(self) -> String {
        match self {
            Post::Fail => "%pre -p <lua>\nerror(\"cannot configure\")\n".into(),
            Post::TouchOwned => "%post -p <lua>\nio.open(\"/tmp/owned\", \"w\")\n".into(),
        }
    }
}

impl Drop for TestPackage {
    fn drop(&mut self) {
        // Not `run`: a panic while a failed test unwinds would abort the others.
        let _ = match self.manager {
            PackageManager::Dpkg => {
                run_retrying(Command::new("dpkg").args(["--purge", &self.name]))
            }
            _ => run_retrying(Command::new("rpm").args(["--erase", &self.name])),
        };
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
    let v1 = pkg.package(&pkg.name, "1.0.0", None);
    let v2 = pkg.package(&pkg.name, "1.1.0", None);
    pkg.install_directly(&v1);
    let installer = pkg.installer(data);
    fs::create_dir_all(data.join("install")).unwrap();
    fs::copy(&v1, pkg.kept_path(&installer)).unwrap();
    assert!(installer.installed_package("1.0.0").is_some());
    let lock = installer.lock().unwrap();
    installer
        .stage(&lock, &v2, "app-1.1.0", "1.0.0", "1.1.0")
        .unwrap();
    assert_eq!(
        pkg.installed().as_deref(),
        Some("1.0.0"),
        "staging changed nothing"
    );
    installer.install(&lock).unwrap();
    installer
}

fn the_package_manager_names_the_package_that_owns_an_executable(manager: PackageManager) {
    let pkg = TestPackage::new(manager, "owner");
    pkg.install_directly(&pkg.package(&pkg.name, "1.0.0", None));
    assert_eq!(
        manager.owner_of(&pkg.exe).as_deref(),
        Some(pkg.name.as_str())
    );
    for other in PackageManager::ALL.into_iter().filter(|m| *m != manager) {
        assert_eq!(other.owner_of(&pkg.exe), None, "{other:?}");
    }
    let unowned = tempfile::NamedTempFile::new().unwrap();
    assert_eq!(manager.owner_of(unowned.path()), None);
}

fn an_update_goes_through_the_package_manager_and_confirms_keeping_its_package(
    manager: PackageManager,
) {
    let pkg = TestPackage::new(manager, "confirm");
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

fn an_unconfirmed_update_is_rolled_back_by_reinstalling_the_kept_package(manager: PackageManager) {
    let pkg = TestPackage::new(manager, "rollback");
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

fn a_package_of_another_name_or_version_is_refused_before_the_package_manager_runs(
    manager: PackageManager,
) {
    let pkg = TestPackage::new(manager, "refuse");
    let data = tempfile::tempdir().unwrap();
    pkg.install_directly(&pkg.package(&pkg.name, "1.0.0", None));
    let installer = pkg.installer(data.path());
    let lock = installer.lock().unwrap();
    // A signed release can still carry the wrong package: another app's, or another version.
    let other = pkg.package("some-other-package", "1.1.0", None);
    let err = installer
        .stage(&lock, &other, "x", "1.0.0", "1.1.0")
        .unwrap_err();
    assert!(
        matches!(&err, InstallError::Package { reason, .. } if reason.contains("some-other-package")),
        "{err}"
    );
    let wrong_version = pkg.package(&pkg.name, "1.2.0", None);
    let err = installer
        .stage(&lock, &wrong_version, "x", "1.0.0", "1.1.0")
        .unwrap_err();
    assert!(
        matches!(&err, InstallError::Package { reason, .. } if reason.contains("declares version 1.2.0")),
        "{err}"
    );
    assert!(installer.journal().unwrap().is_none(), "nothing staged");
    assert_eq!(pkg.installed().as_deref(), Some("1.0.0"));
}

fn a_package_whose_script_fails_leaves_the_old_version_installed(manager: PackageManager) {
    let pkg = TestPackage::new(manager, "failing");
    let data = tempfile::tempdir().unwrap();
    let v1 = pkg.package(&pkg.name, "1.0.0", None);
    pkg.install_directly(&v1);
    let installer = pkg.installer(data.path());
    fs::create_dir_all(data.path().join("install")).unwrap();
    fs::copy(&v1, pkg.kept_path(&installer)).unwrap();
    let broken = pkg.package(&pkg.name, "1.1.0", Some(Post::Fail));
    let lock = installer.lock().unwrap();
    installer
        .stage(&lock, &broken, "x", "1.0.0", "1.1.0")
        .unwrap();
    let err = installer.install(&lock).unwrap_err();
    let InstallError::PackageManager { command, reason } = &err else {
        panic!("{err}");
    };
    let expected = match manager {
        PackageManager::Dpkg => "dpkg --install",
        _ => "rpm --upgrade",
    };
    assert!(command.starts_with(expected), "{command}");
    assert!(
        reason.contains("cannot configure"),
        "its words are kept: {reason}"
    );
    // dpkg left 1.1.0 half-configured, rpm installed it despite the failed script; the
    // updater put 1.0.0 back.
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

fn a_staged_package_changed_after_staging_is_not_handed_to_the_package_manager(
    manager: PackageManager,
) {
    let pkg = TestPackage::new(manager, "tampered");
    let data = tempfile::tempdir().unwrap();
    let v1 = pkg.package(&pkg.name, "1.0.0", None);
    pkg.install_directly(&v1);
    let installer = pkg.installer(data.path());
    let lock = installer.lock().unwrap();
    let v2 = pkg.package(&pkg.name, "1.1.0", None);
    installer.stage(&lock, &v2, "x", "1.0.0", "1.1.0").unwrap();
    let staged = installer.journal().unwrap().unwrap().staged;
    // Swapped for another package between staging and the (root) install.
    let evil = pkg.package(&pkg.name, "1.1.0", Some(Post::TouchOwned));
    fs::copy(&evil, &staged).unwrap();
    let err = installer.install(&lock).unwrap_err();
    assert!(matches!(err, InstallError::StagedTampered(_)), "{err}");
    assert!(
        !Path::new("/tmp/owned").exists(),
        "the swapped package never ran"
    );
    assert_eq!(pkg.installed().as_deref(), Some("1.0.0"));
}

fn a_rollback_without_the_previous_package_says_so(manager: PackageManager) {
    let pkg = TestPackage::new(manager, "nobackup");
    let data = tempfile::tempdir().unwrap();
    pkg.install_directly(&pkg.package(&pkg.name, "1.0.0", None));
    let installer = pkg.installer(data.path());
    let lock = installer.lock().unwrap();
    let v2 = pkg.package(&pkg.name, "1.1.0", None);
    installer.stage(&lock, &v2, "x", "1.0.0", "1.1.0").unwrap();
    installer.install(&lock).unwrap();
    let err = installer.rollback(&lock, "test").unwrap_err();
    assert!(
        matches!(&err, InstallError::NoRollbackPackage { version } if version == "1.0.0"),
        "{err}"
    );
    assert_eq!(pkg.installed().as_deref(), Some("1.1.0"));
}

/// Each test above, once with dpkg and once with rpm.
macro_rules! with_each_package_manager {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::PackageManager;

            #[test]
            fn deb() {
                super::$name(PackageManager::Dpkg);
            }

            #[test]
            fn rpm() {
                super::$name(PackageManager::Rpm);
            }
        }
    )*};
}

with_each_package_manager!(
    the_package_manager_names_the_package_that_owns_an_executable,
    an_update_goes_through_the_package_manager_and_confirms_keeping_its_package,
    an_unconfirmed_update_is_rolled_back_by_reinstalling_the_kept_package,
    a_package_of_another_name_or_version_is_refused_before_the_package_manager_runs,
    a_package_whose_script_fails_leaves_the_old_version_installed,
    a_staged_package_changed_after_staging_is_not_handed_to_the_package_manager,
    a_rollback_without_the_previous_package_says_so,
);
