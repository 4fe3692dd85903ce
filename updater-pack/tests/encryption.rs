//! Key files encrypted with a passphrase (PBES2: scrypt + AES-256-CBC).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::*;

const PASSPHRASE: &str = "correct horse battery staple";

fn key_file(f: &Fixture, role: &str) -> std::path::PathBuf {
    f.project
        .join("keys")
        .join(role)
        .read_dir()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
}

#[test]
fn encrypted_keys_sign_with_the_passphrase_and_refuse_a_wrong_one() {
    let pack = Pack {
        now: None,
        passphrase: Some(PASSPHRASE.into()),
    };
    let f = Fixture::new(pack.clone(), &["--encrypt", "root,beta"]);
    let beta = std::fs::read_to_string(key_file(&f, "beta")).unwrap();
    assert!(
        beta.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
        "{beta}"
    );
    let root = std::fs::read_to_string(key_file(&f, "root")).unwrap();
    assert!(root.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    // Roles not asked for stay plain (the cron job's timestamp key, for one).
    let ts = std::fs::read_to_string(key_file(&f, "timestamp")).unwrap();
    assert!(ts.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert_owner_only(&key_file(&f, "beta"));

    // The right passphrase signs.
    f.release("1.0.0", "beta");
    let a = f.artifact("next.AppImage", 100);
    let args = [
        "release",
        f.p(),
        "--app",
        "demo",
        "--version",
        "1.1.0",
        "--platform",
        "linux-x86_64",
        "--channel",
        "beta",
        a.to_str().unwrap(),
    ];

    // A wrong one changes nothing.
    let wrong = Pack {
        now: None,
        passphrase: Some("not the passphrase".into()),
    };
    assert_unchanged(&f.project, "wrong passphrase for key file", || {
        wrong.fails(&args)
    });
    // None at all, and no terminal to ask on.
    assert_unchanged(&f.project, "set UPDATER_PACK_PASSPHRASE", || {
        Pack::default().fails(&args)
    });
    // The timestamp key is plain: the cron job needs no passphrase.
    Pack::default().ok(&["timestamp", f.p()]);

    // A rotated encrypted role gets encrypted keys.
    pack.ok(&["rotate", f.p(), "--role", "beta", "--replace"]);
    let new_beta = std::fs::read_to_string(key_file(&f, "beta")).unwrap();
    assert!(new_beta.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    pack.ok(&args);
    f.verify();
}

#[test]
fn new_passphrases_must_be_long_enough() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("proj");
    let short = Pack {
        now: None,
        passphrase: Some("short".into()),
    };
    let err = short.fails(&["init", project.to_str().unwrap(), "--encrypt", "all"]);
    assert!(err.contains("at least 8 characters"), "{err}");
    assert!(!project.exists());
    let err = Pack::default().fails(&["init", project.to_str().unwrap(), "--encrypt", "all"]);
    assert!(err.contains("needs a passphrase"), "{err}");
    assert!(!project.exists());
}

#[test]
fn encrypted_files_are_standard_pkcs8() {
    // Decrypting with the library gives back the same key (and so the same key ID).
    use tuf_updater_core::tuf::signer::{KeyKind, LocalKey, Signer};
    use updater_pack::keys::pem;
    let key = LocalKey::generate(KeyKind::EcdsaP256).unwrap();
    let plain = key.to_pkcs8_pem().unwrap();
    let enc = pem::encrypt(&plain, PASSPHRASE).unwrap();
    assert!(pem::is_encrypted(&enc));
    let back = pem::decrypt(&enc, PASSPHRASE).unwrap();
    let again = LocalKey::from_pkcs8_pem(KeyKind::EcdsaP256, &back).unwrap();
    assert_eq!(again.keyid(), key.keyid());
    assert!(matches!(
        pem::decrypt(&enc, "wrong passphrase"),
        Err(pem::DecryptError::Passphrase)
    ));
}
