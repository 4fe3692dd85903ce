#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! Keys in a PKCS#11 token, for real against SoftHSM2: the timestamp and snapshot keys are
//! rotated into a token (`rotate --pkcs11-*`), `timestamp` and `release` sign with them,
//! `verify`, our client and python-tuf accept the result; a wrong PIN, a missing token,
//! label or module, an unsupported key and a reference to the wrong key are refused with
//! the project unchanged.
//!
//! Each test makes its own token in a temporary directory (`SOFTHSM2_CONF`). These tests
//! FAIL, they do not skip, when SoftHSM2 is missing: install `softhsm2`
//! (`scripts/install-deps.sh --test`), or set `SOFTHSM2_MODULE` to its `libsofthsm2.so`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, KeyType};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;

const NOW: &str = "2030-01-01T00:00:00Z";
const PIN_ENV: &str = "UPDATER_PACK_PKCS11_PIN";
const PIN: &str = "246810";
const SO_PIN: &str = "13579135";
const TOKEN: &str = "updater-ci";
/// Set for the child that makes a token: the module's path.
const MAKE_TOKEN_ENV: &str = "UPDATER_TEST_MAKE_SOFTHSM_TOKEN";

const ED25519_OID: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
const P256_OID: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

fn softhsm_module() -> PathBuf {
    let given = std::env::var("SOFTHSM2_MODULE").ok();
    let candidates = [
        "/usr/lib/softhsm/libsofthsm2.so",
        "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/local/lib/softhsm/libsofthsm2.so",
        "/opt/homebrew/lib/softhsm/libsofthsm2.so",
    ];
    let mut candidates = candidates.iter().map(PathBuf::from);
    let found = match given {
        Some(path) => Some(PathBuf::from(path)).filter(|p| p.is_file()),
        None => candidates.find(|p| p.is_file()),
    };
    found.unwrap_or_else(|| {
        panic!(
            "SoftHSM2 is not installed: these tests sign with keys in a SoftHSM2 token. \
                 Install it (`apt-get install softhsm2`, or `scripts/install-deps.sh --test`), \
                 or set SOFTHSM2_MODULE to its libsofthsm2.so"
        )
    })
}

/// A SoftHSM2 token `TOKEN` in its own directory, with an Ed25519 key "ed", a P-256 key
/// "p256" and an RSA key "rsa" (which updater-pack does not take from tokens).
struct Hsm {
    _dir: tempfile::TempDir,
    conf: PathBuf,
    module: PathBuf,
}

impl Hsm {
    fn new() -> Self {
        let module = softhsm_module();
        let dir = tempfile::tempdir().unwrap();
        let tokens = dir.path().join("tokens");
        std::fs::create_dir(&tokens).unwrap();
        let conf = dir.path().join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )
        .unwrap();
        // SoftHSM2 reads SOFTHSM2_CONF once per process: a child (this test binary, running
        // only `make_token_in_child`) makes the token.
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "make_token_in_child", "--ignored", "--nocapture"])
            .args(["--test-threads", "1"])
            .env(MAKE_TOKEN_ENV, &module)
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .unwrap();
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("1 passed"),
            "making the SoftHSM2 token failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Hsm {
            _dir: dir,
            conf,
            module,
        }
    }

    fn run(&self, pack: &Pack, pin: Option<&str>, args: &[&str]) -> Output {
        let mut cmd = pack.command(args);
        cmd.env("SOFTHSM2_CONF", &self.conf).env_remove(PIN_ENV);
        if let Some(pin) = pin {
            cmd.env(PIN_ENV, pin);
        }
        cmd.output().unwrap()
    }

    fn ok(&self, pack: &Pack, args: &[&str]) -> String {
        let out = self.run(pack, Some(PIN), args);
        assert!(
            out.status.success(),
            "updater-pack {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn fails(&self, pack: &Pack, pin: Option<&str>, args: &[&str]) -> String {
        let out = self.run(pack, pin, args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "updater-pack {args:?} should fail:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stderr).unwrap()
    }

    /// `rotate DIR --role ROLE --replace` onto the token key `label`.
    fn rotate_args<'a>(&'a self, f: &'a Fixture, role: &'a str, label: &'a str) -> Vec<&'a str> {
        vec![
            "rotate",
            f.p(),
            "--role",
            role,
            "--replace",
            "--pkcs11-module",
            self.module.to_str().unwrap(),
            "--pkcs11-token",
            TOKEN,
            "--pkcs11-label",
            label,
        ]
    }

    /// The timestamp key into "ed", the snapshot key into "p256".
    fn take_online_keys(&self, f: &Fixture) {
        self.ok(&f.pack, &self.rotate_args(f, "timestamp", "ed"));
        self.ok(&f.pack, &self.rotate_args(f, "snapshot", "p256"));
    }
}

/// Makes the token, in a child process of `Hsm::new` (SoftHSM2 reads `SOFTHSM2_CONF` once
/// per process). Not a test of its own: ignored, and run only by `Hsm::new` (`--ignored`).
#[test]
#[ignore = "a helper run by Hsm::new in a child process with the token's SOFTHSM2_CONF"]
fn make_token_in_child() {
    let Ok(module) = std::env::var(MAKE_TOKEN_ENV) else {
        return;
    };
    let ctx = Pkcs11::new(module).unwrap();
    ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
    let free = ctx.get_slots_with_token().unwrap()[0];
    ctx.init_token(free, &AuthPin::from(SO_PIN), TOKEN).unwrap();
    let slot = ctx
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| ctx.get_token_info(*s).unwrap().label().trim_end() == TOKEN)
        .unwrap();
    let session = ctx.open_rw_session(slot).unwrap();
    session
        .login(UserType::So, Some(&AuthPin::from(SO_PIN)))
        .unwrap();
    session.init_pin(&AuthPin::from(PIN)).unwrap();
    session.logout().unwrap();
    session
        .login(UserType::User, Some(&AuthPin::from(PIN)))
        .unwrap();
    let pair = |mechanism: Mechanism, params: Vec<Attribute>, label: &str, id: u8| {
        let common = |mut attrs: Vec<Attribute>| {
            attrs.extend([
                Attribute::Token(true),
                Attribute::Label(label.as_bytes().to_vec()),
                Attribute::Id(vec![id]),
            ]);
            attrs
        };
        let mut public = common(vec![Attribute::Verify(true)]);
        public.extend(params);
        let private = common(vec![
            Attribute::Sign(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
        ]);
        session
            .generate_key_pair(&mechanism, &public, &private)
            .unwrap_or_else(|e| panic!("generating {label}: {e}"));
    };
    let ec = |oid: &[u8]| vec![Attribute::EcParams(oid.to_vec())];
    pair(Mechanism::EccEdwardsKeyPairGen, ec(ED25519_OID), "ed", 1);
    pair(Mechanism::EccKeyPairGen, ec(P256_OID), "p256", 2);
    let rsa = vec![
        Attribute::ModulusBits(2048.into()),
        Attribute::PublicExponent(vec![1, 0, 1]),
        Attribute::KeyType(KeyType::RSA),
    ];
    pair(Mechanism::RsaPkcsKeyPairGen, rsa, "rsa", 3);
}

/// The key IDs of a top-level role in the current root.
fn role_keyids(project: &Path, role: &str) -> Vec<String> {
    let root = current(project, "root");
    root["signed"]["roles"][role]["keyids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect()
}

fn reference_file(project: &Path, role: &str, keyid: &str) -> PathBuf {
    project.join(format!("keys/{role}/{keyid}.pkcs11"))
}

#[test]
fn token_keys_sign_the_timestamp_snapshot_and_releases() {
    let hsm = Hsm::new();
    let f = Fixture::new(Pack::at(NOW), &[]);
    let old_timestamp = role_keyids(&f.project, "timestamp");
    hsm.take_online_keys(&f);

    let root = current(&f.project, "root");
    assert_eq!(root["signed"]["version"], 3);
    for (role, scheme) in [
        ("timestamp", "ed25519"),
        ("snapshot", "ecdsa-sha2-nistp256"),
    ] {
        let ids = role_keyids(&f.project, role);
        assert_eq!(ids.len(), 1);
        assert_eq!(root["signed"]["keys"][&ids[0]]["scheme"], scheme);
        let reference = reference_file(&f.project, role, &ids[0]);
        let text = std::fs::read_to_string(&reference).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["token"], TOKEN);
        assert!(!text.contains(PIN), "{text}");
        assert_owner_only(&reference);
        assert!(!f
            .project
            .join(format!("keys/{role}/{}.pem", ids[0]))
            .exists());
    }
    let retired = format!("keys/retired/timestamp/{}.pem", old_timestamp[0]);
    assert!(f.project.join(retired).exists());
    // `status` counts a token key as a key the project holds.
    let status: serde_json::Value =
        serde_json::from_str(&hsm.ok(&f.pack, &["status", f.p(), "--json"])).unwrap();
    for row in status["roles"].as_array().unwrap() {
        assert_eq!(row["key_files"], 1, "{row}");
    }

    let out = hsm.ok(&f.pack, &["timestamp", f.p()]);
    assert!(out.contains("timestamp"), "{out}");
    let file = f.artifact("demo-1.0.0.AppImage", 4096);
    let args = [
        "release",
        f.p(),
        "--app",
        "demo",
        "--version",
        "1.0.0",
        "--platform",
        "linux-x86_64",
        "--channel",
        "beta",
        file.to_str().unwrap(),
    ];
    hsm.ok(&f.pack, &args);
    for role in ["timestamp", "snapshot"] {
        let signed = current(&f.project, role);
        let ids = role_keyids(&f.project, role);
        assert_eq!(signed["signatures"][0]["keyid"], ids[0].as_str());
    }
    f.verify();

    // Our client installs from the first root and downloads the release.
    let served = Served::start(&f.project);
    let ours = OurClient::new(&f.project.join("repository/metadata/1.root.json"), &served);
    let got = ours
        .download(
            time(NOW),
            "beta/demo/1.0.0/linux-x86_64/demo-1.0.0.AppImage",
        )
        .unwrap();
    assert_eq!(got, std::fs::read(&file).unwrap());

    // Without the PIN, signing stops before anything is written.
    assert_unchanged(&f.project, PIN_ENV, || {
        hsm.fails(&f.pack, None, &["timestamp", f.p()])
    });
    assert_unchanged(&f.project, "wrong PIN", || {
        hsm.fails(&f.pack, Some("000000"), &["timestamp", f.p()])
    });
}

#[test]
fn python_tuf_verifies_a_repository_signed_in_the_token() {
    let hsm = Hsm::new();
    // python-tuf uses the real clock, so this repository is signed with it too.
    let f = Fixture::new(Pack::default(), &[]);
    hsm.take_online_keys(&f);
    let file = f.artifact("demo-2.0.0.AppImage", 20_000);
    let args = [
        "release",
        f.p(),
        "--app",
        "demo",
        "--version",
        "2.0.0",
        "--platform",
        "linux-x86_64",
        "--channel",
        "stable",
        file.to_str().unwrap(),
    ];
    hsm.ok(&f.pack, &args);
    hsm.ok(&f.pack, &["timestamp", f.p()]);
    let served = Served::start(&f.project);
    let work = tempfile::tempdir().unwrap();
    let root1 = f.project.join("repository/metadata/1.root.json");
    let path = "stable/demo/2.0.0/linux-x86_64/demo-2.0.0.AppImage";
    let report = python_client(&served, work.path(), Some(&root1), &[path], &[]);
    assert_eq!(report["root_version"], 3);
    assert_eq!(
        report["targets"][path]["download_sha256"],
        sha256_file(&file).as_str()
    );
}

#[test]
fn bad_token_rotations_leave_the_project_unchanged() {
    let hsm = Hsm::new();
    let f = Fixture::new(Pack::at(NOW), &[]);
    let pack = &f.pack;
    let args = hsm.rotate_args(&f, "timestamp", "ed");
    assert_unchanged(&f.project, "wrong PIN", || {
        hsm.fails(pack, Some("999999"), &args)
    });
    assert_unchanged(&f.project, PIN_ENV, || hsm.fails(pack, None, &args));

    let mut other_token = args.clone();
    other_token[8] = "no-such-token";
    assert_unchanged(&f.project, "no such token", || {
        hsm.fails(pack, Some(PIN), &other_token)
    });
    assert_unchanged(&f.project, TOKEN, || {
        hsm.fails(pack, Some(PIN), &other_token)
    });

    let missing = hsm.rotate_args(&f, "timestamp", "nothing");
    assert_unchanged(&f.project, "no such private key", || {
        hsm.fails(pack, Some(PIN), &missing)
    });

    let mut no_module = args.clone();
    no_module[6] = "/nonexistent/libpkcs11.so";
    assert_unchanged(&f.project, "no PKCS#11 module at /nonexistent", || {
        hsm.fails(pack, Some(PIN), &no_module)
    });

    let rsa = hsm.rotate_args(&f, "timestamp", "rsa");
    assert_unchanged(&f.project, "Ed25519 or ECDSA P-256", || {
        hsm.fails(pack, Some(PIN), &rsa)
    });
}

#[test]
fn a_reference_to_another_token_key_is_refused_before_signing() {
    let hsm = Hsm::new();
    let f = Fixture::new(Pack::at(NOW), &[]);
    hsm.ok(&f.pack, &hsm.rotate_args(&f, "timestamp", "ed"));
    let id = role_keyids(&f.project, "timestamp")[0].clone();
    let reference = reference_file(&f.project, "timestamp", &id);
    let text = std::fs::read_to_string(&reference).unwrap();
    std::fs::write(&reference, text.replace("\"ed\"", "\"p256\"")).unwrap();
    assert_unchanged(&f.project, "not a key of role timestamp", || {
        hsm.fails(&f.pack, Some(PIN), &["timestamp", f.p()])
    });

    // A token key already in the role is not added twice.
    std::fs::write(&reference, &text).unwrap();
    let again = [hsm.rotate_args(&f, "timestamp", "ed"), vec!["--add", "1"]]
        .concat()
        .into_iter()
        .filter(|a| *a != "--replace")
        .collect::<Vec<_>>();
    assert_unchanged(&f.project, "already key", || {
        hsm.fails(&f.pack, Some(PIN), &again)
    });
}

#[test]
fn a_key_in_a_lost_token_can_be_rotated_out() {
    let hsm = Hsm::new();
    let f = Fixture::new(Pack::at(NOW), &[]);
    hsm.ok(&f.pack, &hsm.rotate_args(&f, "timestamp", "ed"));
    let id = role_keyids(&f.project, "timestamp")[0].clone();
    let reference = reference_file(&f.project, "timestamp", &id);
    let text = std::fs::read_to_string(&reference).unwrap();
    std::fs::write(&reference, text.replace(TOKEN, "lost-token")).unwrap();
    assert_unchanged(&f.project, "no such token", || {
        hsm.fails(&f.pack, Some(PIN), &["timestamp", f.p()])
    });

    // A new key file replaces it; the lost key cannot co-sign, and need not.
    let out = hsm.run(
        &f.pack,
        None,
        &["rotate", f.p(), "--role", "timestamp", "--replace"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let retired = f
        .project
        .join(format!("keys/retired/timestamp/{id}.pkcs11"));
    assert!(retired.exists());
    assert!(!reference.exists());
    f.pack.ok(&["timestamp", f.p()]);
    f.verify();
}
