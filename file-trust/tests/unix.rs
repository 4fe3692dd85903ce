//! The Unix rules on real files, from the attacker's side: files, directories and links that
//! another user owns or can write. Tests that need to hand a file to another user (chown to
//! uid 65534, `nobody`) need root, as in CI; run as anyone else they say so and pass.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::fs;
use std::os::unix::fs::{chown, lchown, symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use file_trust::{
    check_admin_controlled, check_owner_only, create_owner_only, restrict_to_owner, Exposure,
    Grant, Problem, ProblemKind,
};

const NOBODY: u32 = 65534;

/// A directory of ours in the temporary directory (root's and sticky, as `/tmp` is).
fn tempdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    chmod(dir.path(), 0o755);
    dir
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().mode() & 0o7777
}

/// Whether we can give files away (root); if not, says which test is skipped.
fn root(test: &str) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let root = fs::metadata(dir.path()).unwrap().uid() == 0;
    if !root {
        eprintln!("note: {test} skipped: it needs root (CI runs it as root)");
    }
    root
}

/// A root-owned 0644 file in a 0755 directory: `(dir guard, dir, file)`.
fn policy(parent: &Path) -> (PathBuf, PathBuf) {
    let dir = parent.join("app");
    fs::create_dir(&dir).unwrap();
    chmod(&dir, 0o755);
    let file = dir.join("update-policy.json");
    fs::write(&file, "{}").unwrap();
    chmod(&file, 0o644);
    (dir, file)
}

fn problems(path: &Path) -> Vec<Problem> {
    check_admin_controlled(path).unwrap_err().problems
}

fn writable(grants: &[&str], mode: u32) -> ProblemKind {
    ProblemKind::Writable {
        grants: grants
            .iter()
            .map(|who| Grant {
                who: (*who).into(),
                rights: String::new(),
            })
            .collect(),
        mode: Some(mode),
    }
}

#[test]
fn a_root_file_in_root_directories_is_accepted() {
    if !root("a_root_file_in_root_directories_is_accepted") {
        return;
    }
    let tmp = tempdir();
    let (dir, file) = policy(tmp.path());
    assert_eq!(check_admin_controlled(&file), Ok(()));
    assert_eq!(check_admin_controlled(&dir), Ok(()));
}

#[test]
fn a_sticky_root_directory_above_is_accepted_but_not_as_the_path() {
    if !root("a_sticky_root_directory_above_is_accepted_but_not_as_the_path") {
        return;
    }
    let tmp = tempdir();
    let shared = tmp.path().join("shared");
    fs::create_dir(&shared).unwrap();
    chmod(&shared, 0o1777);
    let (_, file) = policy(&shared);
    assert_eq!(check_admin_controlled(&file), Ok(()));
    // Anyone may create entries in it: refused as the directory checked.
    assert_eq!(
        problems(&shared),
        vec![Problem {
            at: shared.clone(),
            kind: writable(&["group", "others"], 0o1777),
        }]
    );
}

#[test]
fn a_file_another_user_owns_is_refused() {
    if !root("a_file_another_user_owns_is_refused") {
        return;
    }
    let tmp = tempdir();
    let (_, file) = policy(tmp.path());
    chown(&file, Some(NOBODY), None).unwrap();
    let err = check_admin_controlled(&file).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{} is owned by uid 65534, not root", file.display())
    );
}

#[test]
fn a_directory_another_user_owns_is_refused() {
    if !root("a_directory_another_user_owns_is_refused") {
        return;
    }
    let tmp = tempdir();
    let (dir, file) = policy(tmp.path());
    chown(&dir, Some(NOBODY), None).unwrap();
    let err = check_admin_controlled(&file).unwrap_err();
    assert_eq!(
        err.problems,
        vec![Problem {
            at: dir.clone(),
            kind: ProblemKind::Owner {
                owner: "uid 65534".into()
            },
        }]
    );
    assert_eq!(
        err.to_string(),
        format!(
            "{} is not under the administrators' control: {} is owned by uid 65534, not root",
            file.display(),
            dir.display()
        )
    );
}

// The two below need no root: when not run as root, the owner problems come on top.

#[test]
fn a_world_writable_file_is_refused() {
    let tmp = tempdir();
    let (_, file) = policy(tmp.path());
    chmod(&file, 0o666);
    let expected = Problem {
        at: file.clone(),
        kind: writable(&["group", "others"], 0o666),
    };
    assert!(problems(&file).contains(&expected), "{:?}", problems(&file));
    assert!(expected
        .to_string()
        .ends_with("update-policy.json is writable by group, others (mode 0666)"));
}

#[test]
fn a_group_writable_directory_above_is_refused() {
    let tmp = tempdir();
    let (dir, file) = policy(tmp.path());
    chmod(&dir, 0o775);
    let expected = Problem {
        at: dir,
        kind: writable(&["group"], 0o775),
    };
    assert!(problems(&file).contains(&expected), "{:?}", problems(&file));
}

#[test]
fn a_symlink_another_user_planted_is_refused() {
    if !root("a_symlink_another_user_planted_is_refused") {
        return;
    }
    let tmp = tempdir();
    let (dir, file) = policy(tmp.path());
    let link = dir.join("link.json");
    symlink(&file, &link).unwrap();
    assert_eq!(check_admin_controlled(&link), Ok(()), "root's own link");
    lchown(&link, Some(NOBODY), None).unwrap();
    assert_eq!(
        problems(&link),
        vec![Problem {
            at: link.clone(),
            kind: ProblemKind::LinkOwner {
                owner: "uid 65534".into()
            },
        }]
    );
    // A link to a directory, on the way to the file.
    let dir_link = tmp.path().join("dir-link");
    symlink(&dir, &dir_link).unwrap();
    lchown(&dir_link, Some(NOBODY), None).unwrap();
    let through = dir_link.join("update-policy.json");
    assert!(matches!(
        &problems(&through)[..],
        [Problem { at, kind: ProblemKind::LinkOwner { .. } }] if *at == dir_link
    ));
}

#[test]
fn a_root_link_into_a_writable_directory_is_refused() {
    if !root("a_root_link_into_a_writable_directory_is_refused") {
        return;
    }
    let tmp = tempdir();
    let (dir, _) = policy(tmp.path());
    let open = tmp.path().join("open");
    fs::create_dir(&open).unwrap();
    chmod(&open, 0o777);
    let target = open.join("policy.json");
    fs::write(&target, "{}").unwrap();
    let link = dir.join("link.json");
    symlink(&target, &link).unwrap();
    assert_eq!(
        problems(&link),
        vec![Problem {
            at: open,
            kind: writable(&["group", "others"], 0o777),
        }]
    );
}

#[test]
fn a_missing_file_is_reported_as_not_found() {
    let tmp = tempdir();
    let missing = tmp.path().join("missing.json");
    // The last one (when not run as root, the owner problems above come first).
    assert!(matches!(
        problems(&missing).last(),
        Some(Problem { at, kind: ProblemKind::Unreadable { kind: std::io::ErrorKind::NotFound, .. } })
            if *at == missing
    ));
}

#[test]
fn owner_only_files_and_directories_are_0600_and_0700() {
    let tmp = tempdir();
    let key = tmp.path().join("key.pem");
    let mut file = create_owner_only(&key).unwrap();
    std::io::Write::write_all(&mut file, b"secret").unwrap();
    assert_eq!(mode(&key), 0o600);
    assert_eq!(check_owner_only(&key), Ok(()));
    assert_eq!(
        create_owner_only(&key).unwrap_err().kind(),
        std::io::ErrorKind::AlreadyExists
    );

    let dir = tmp.path().join("keys");
    fs::create_dir(&dir).unwrap();
    chmod(&dir, 0o755);
    restrict_to_owner(&dir).unwrap();
    assert_eq!(mode(&dir), 0o700);
    let other = dir.join("other.pem");
    fs::write(&other, "x").unwrap();
    chmod(&other, 0o644);
    restrict_to_owner(&other).unwrap();
    assert_eq!(mode(&other), 0o600);
    assert_eq!(check_owner_only(&dir), Ok(()));
}

#[test]
fn check_owner_only_reports_a_0644_file() {
    let tmp = tempdir();
    let key = tmp.path().join("key.pem");
    fs::write(&key, "secret").unwrap();
    chmod(&key, 0o644);
    let err = check_owner_only(&key).unwrap_err();
    let read = |who: &str| Grant {
        who: who.into(),
        rights: "read".into(),
    };
    assert_eq!(
        err,
        Exposure::Shared {
            path: key.clone(),
            grants: vec![read("group"), read("others")],
            mode: Some(0o644),
        }
    );
    assert_eq!(
        err.to_string(),
        format!(
            "{} is accessible to others than its owner: group (read), others (read) (mode 0644)",
            key.display()
        )
    );
    // A directory others may enter.
    chmod(tmp.path(), 0o711);
    assert!(check_owner_only(tmp.path()).is_err());
    chmod(tmp.path(), 0o755);
}
