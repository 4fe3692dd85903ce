//! The Windows rules on real files, read back through the security API independently of the
//! crate (SDDL text from GetNamedSecurityInfoW, see `sddl/mod.rs`).
//!
//! Run under Wine 8 on Linux (scripts/windows-test.sh), which differs from Windows: Wine keeps
//! no security descriptors. It derives one from the Unix mode each time (owner: the current
//! user for files of the wineserver's uid; DACL: SYSTEM full control always, the owner from the
//! user bits, Everyone from the other bits; never protected) and turns a DACL that is set into
//! mode bits (an ACE for a group in the token, such as BUILTIN\Users, becomes the group bits,
//! which it never shows). A new owner is accepted and ignored. So under Wine these tests check
//! what survives the trip through the mode, and say where Windows gives more.
#![cfg(windows)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod sddl;

use std::fs;
use std::path::Path;

use file_trust::{
    check_admin_controlled, check_owner_only, create_owner_only, program_data_dir,
    restrict_to_owner, Exposure, ProblemKind,
};

/// The ACEs of the DACL in SDDL (`(A;;FA;;;SY)`, ...), with whether it is protected.
fn aces(path: &Path) -> (bool, Vec<String>) {
    let text = sddl::of(path);
    let dacl = text.split_once("D:").map_or("", |(_, d)| d);
    let protected = dacl.starts_with('P');
    let aces = dacl
        .split('(')
        .skip(1)
        .map(|a| format!("({}", a.trim_end_matches(|c| c != ')')))
        .collect();
    (protected, aces)
}

/// The owner-only DACL as Windows keeps it, or as Wine shows it (SYSTEM, then the user).
fn assert_owner_only(path: &Path, inherit: &str) {
    let user = sddl::current_user();
    let (protected, aces) = aces(path);
    if sddl::is_wine() {
        assert_eq!(aces.first(), Some(&format!("(A;{inherit};FA;;;SY)")));
        assert!(
            aces.iter()
                .skip(1)
                .all(|a| a.ends_with(&format!(";;;{user})"))),
            "{aces:?}"
        );
    } else {
        assert!(protected, "{aces:?}");
        assert_eq!(aces, vec![format!("(A;{inherit};FA;;;{user})")]);
    }
    assert_eq!(check_owner_only(path), Ok(()));
}

#[test]
fn create_owner_only_gives_one_ace_for_the_current_user() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("key.pem");
    let mut file = create_owner_only(&key).unwrap();
    std::io::Write::write_all(&mut file, b"secret").unwrap();
    drop(file);
    assert_owner_only(&key, "");
    assert_eq!(fs::read(&key).unwrap(), b"secret");
    assert_eq!(
        create_owner_only(&key).unwrap_err().kind(),
        std::io::ErrorKind::AlreadyExists
    );
}

#[test]
fn restrict_to_owner_replaces_a_dacl_that_lets_everyone_read() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("key.pem");
    fs::write(&key, "secret").unwrap();
    let user = sddl::current_user();
    sddl::set_dacl(&key, &format!("D:P(A;;FA;;;{user})(A;;FR;;;WD)"));

    let err = check_owner_only(&key).unwrap_err();
    let Exposure::Shared { grants, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(grants.len(), 1, "{err}");
    assert!(grants[0].who.contains("S-1-1-0"), "{err}");
    assert!(grants[0].rights.contains("read"), "{err}");

    restrict_to_owner(&key).unwrap();
    assert_owner_only(&key, "");

    let dir = tmp.path().join("keys");
    fs::create_dir(&dir).unwrap();
    sddl::set_dacl(&dir, &format!("D:P(A;OICI;FA;;;{user})(A;OICI;FA;;;WD)"));
    assert!(check_owner_only(&dir).is_err());
    restrict_to_owner(&dir).unwrap();
    assert_owner_only(&dir, "OICI");
}

#[test]
fn a_file_in_a_directory_everyone_may_change_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("app");
    fs::create_dir(&dir).unwrap();
    let file = dir.join("update-policy.json");
    fs::write(&file, "{}").unwrap();
    let user = sddl::current_user();
    // Everyone: modify (write and delete) on the directory, not passed on to the file.
    sddl::set_dacl(&dir, &format!("D:P(A;OICI;FA;;;{user})(A;;0x1301bf;;;WD)"));

    let err = check_admin_controlled(&file).unwrap_err();
    let writable = err
        .problems
        .iter()
        .find(|p| p.at.ends_with("app") && matches!(p.kind, ProblemKind::Writable { .. }))
        .unwrap_or_else(|| panic!("{err}"));
    let text = writable.to_string();
    // (The current user, the directory's owner here, is listed too.)
    assert!(
        text.contains("Everyone (S-1-1-0) (delete subfolders and files, delete"),
        "{text}"
    );
}

#[test]
fn a_file_in_a_directory_users_may_change_is_refused() {
    if sddl::is_wine() {
        // Wine turns an ACE for BUILTIN\Users (a group of the token) into the group bits,
        // which its descriptors never show: nothing to see.
        eprintln!("note: skipped under Wine, which cannot keep an ACE for BUILTIN\\Users");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("app");
    fs::create_dir(&dir).unwrap();
    let file = dir.join("update-policy.json");
    fs::write(&file, "{}").unwrap();
    let user = sddl::current_user();
    sddl::set_dacl(
        &dir,
        &format!("D:P(A;OICI;FA;;;{user})(A;OICI;0x1301bf;;;BU)"),
    );
    let err = check_admin_controlled(&file).unwrap_err().to_string();
    assert!(err.contains("S-1-5-32-545"), "{err}");
}

#[test]
fn a_file_in_the_users_temporary_directory_is_refused() {
    // The user's temporary directory is the user's. Under Wine every file is the current
    // user's (an administrator never owns one), so the file itself is named for its owner.
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("update-policy.json");
    fs::write(&file, "{}").unwrap();
    let err = check_admin_controlled(&file).unwrap_err();
    if sddl::is_wine() {
        assert!(
            err.problems.iter().any(|p| p.at == file
                && matches!(&p.kind, ProblemKind::Owner { owner } if owner.contains(&sddl::current_user()))),
            "{err}"
        );
    }
}

#[test]
fn system32_is_admin_controlled() {
    if sddl::is_wine() {
        eprintln!("note: skipped under Wine, where no file is an administrator's");
        return;
    }
    let kernel32 = Path::new(r"C:\Windows\System32\kernel32.dll");
    assert_eq!(check_admin_controlled(kernel32), Ok(()));
}

#[test]
fn program_data_comes_from_the_os_not_the_environment() {
    // Names in the environment are the caller's to choose.
    std::env::set_var("ProgramData", r"C:\Users\Public\attacker");
    let dir = program_data_dir().unwrap();
    assert!(dir.is_dir(), "{}", dir.display());
    assert!(
        dir.to_string_lossy()
            .eq_ignore_ascii_case(r"C:\ProgramData"),
        "{}",
        dir.display()
    );
}
