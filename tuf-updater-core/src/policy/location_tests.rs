use super::*;
use std::fs;

#[test]
fn env_var_names() {
    assert_eq!(env_var_name("selfupdate"), "SELFUPDATE_UPDATE_POLICY");
    assert_eq!(env_var_name("my-app.io"), "MY_APP_IO_UPDATE_POLICY");
    assert_eq!(env_var_name("Café 2"), "CAF__2_UPDATE_POLICY");
}

#[test]
fn system_paths_per_os() {
    let none = Path::new("");
    assert_eq!(
        system_path_for("linux", "selfupdate", none),
        PathBuf::from("/etc/selfupdate/update-policy.json")
    );
    assert_eq!(
        system_path_for("freebsd", "selfupdate", none),
        PathBuf::from("/etc/selfupdate/update-policy.json")
    );
    assert_eq!(
        system_path_for("macos", "selfupdate", none),
        PathBuf::from("/Library/Application Support/selfupdate/update-policy.json")
    );
    assert_eq!(
        system_path_for("windows", "selfupdate", Path::new(r"D:\PD")),
        PathBuf::from(r"D:\PD").join("selfupdate").join(POLICY_FILE)
    );
    #[cfg(target_os = "linux")]
    assert_eq!(
        system_policy_path("selfupdate").unwrap(),
        PathBuf::from("/etc/selfupdate/update-policy.json")
    );
}

#[test]
fn bad_app_names_are_refused() {
    for bad in [
        "",
        ".",
        "..",
        "a/b",
        r"a\b",
        "a:b",
        "a\nb",
        &"x".repeat(129),
    ] {
        assert_eq!(
            system_policy_path(bad),
            Err(PolicyError::BadAppName(bad.to_string())),
            "{bad:?}"
        );
    }
    assert!(system_policy_path("My App").is_ok());
}

#[test]
fn the_env_override_is_read_only_when_the_app_opted_in() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mine.json");
    fs::write(&path, br#"{"enabled": false}"#).unwrap();
    let env = |name: &str| (name == "SELFUPDATE_UPDATE_POLICY").then(|| path.clone().into());
    let loaded = load_with_env("selfupdate", env).unwrap().unwrap();
    assert_eq!(loaded.enabled, Some(false));
    // A missing override file is no policy, like a missing system file.
    let gone = dir.path().join("gone.json");
    let env = |_: &str| Some(gone.clone().into());
    assert_eq!(load_with_env("selfupdate", env), Ok(None));
    // Without the opt-in the variable is not even looked at: `load` reads the system path.
    std::env::set_var(env_var_name("updater-test-no-opt-in"), &path);
    assert_eq!(load("updater-test-no-opt-in"), Ok(None));
}

/// Whether this process can make files owned by someone else (the tests that plant files
/// as another user need it; CI runs as root).
#[cfg(unix)]
fn can_chown() -> bool {
    let root = rustix::process::geteuid().is_root();
    if !root {
        eprintln!("not root: the ownership cases of this test are skipped");
    }
    root
}

/// A policy folder and file as an administrator writes them: root's, 0755 and 0644.
#[cfg(unix)]
fn admin_policy(dir: &tempfile::TempDir) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let folder = dir.path().join("app");
    fs::create_dir(&folder).unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(&folder, fs::Permissions::from_mode(0o755)).unwrap();
    let path = folder.join(POLICY_FILE);
    fs::write(
        &path,
        br#"{"pinned_version": "=1.2.0", "allow_rollback": true}"#,
    )
    .unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    path
}

#[cfg(unix)]
fn untrusted_reason(path: &Path) -> String {
    match load_admin_file(path) {
        Err(e @ PolicyError::Untrusted { .. }) => {
            let message = e.to_string();
            assert!(message.contains(&path.display().to_string()), "{message}");
            message
        }
        other => panic!("expected Untrusted, got {other:?}"),
    }
}

#[cfg(unix)]
#[test]
fn a_policy_the_administrator_controls_is_read() {
    if !can_chown() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = admin_policy(&dir);
    let policy = load_admin_file(&path).unwrap().unwrap();
    assert!(policy.allow_rollback);
    assert_eq!(load_admin_file(&path.with_file_name("none.json")), Ok(None));
}

#[cfg(unix)]
#[test]
fn a_policy_planted_by_another_user_is_refused() {
    use std::os::unix::fs::{chown, PermissionsExt};
    if !can_chown() {
        return;
    }
    const NOBODY: u32 = 65534;
    // The file is someone else's.
    let dir = tempfile::tempdir().unwrap();
    let path = admin_policy(&dir);
    chown(&path, Some(NOBODY), None).unwrap();
    let message = untrusted_reason(&path);
    assert!(message.contains("65534"), "{message}");
    // Root's file, but anyone may write it.
    let dir = tempfile::tempdir().unwrap();
    let path = admin_policy(&dir);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o666)).unwrap();
    untrusted_reason(&path);
    // Root's file in a folder another user created: they can replace the file at will.
    let dir = tempfile::tempdir().unwrap();
    let path = admin_policy(&dir);
    chown(path.parent().unwrap(), Some(NOBODY), None).unwrap();
    let message = untrusted_reason(&path);
    assert!(message.contains("65534"), "{message}");
    // A folder anyone may write to, without the sticky bit.
    let dir = tempfile::tempdir().unwrap();
    let path = admin_policy(&dir);
    fs::set_permissions(path.parent().unwrap(), fs::Permissions::from_mode(0o777)).unwrap();
    untrusted_reason(&path);
    // A symbolic link another user placed, pointing at a root-owned policy.
    let dir = tempfile::tempdir().unwrap();
    let real = admin_policy(&dir);
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    std::os::unix::fs::lchown(&link, Some(NOBODY), None).unwrap();
    untrusted_reason(&link);
}
