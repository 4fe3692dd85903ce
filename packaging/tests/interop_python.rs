//! Interoperability with the reference client: python-tuf's `tuf.ngclient.Updater`
//! (`tuf==7.0.1`, installed by CI from `.ci/requirements.txt`) refreshes from a repository
//! that `updater-pack` made and serves, finds and downloads releases through the channel
//! delegations, and follows a root rotation.
//!
//! This test FAILS, it does not skip, when python3 or python-tuf is missing. Set `PYTHON`
//! to use another interpreter.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::*;

#[test]
fn python_tuf_reads_what_updater_pack_publishes() {
    // python-tuf uses the real clock, so this repository is signed with it too.
    let pack = Pack::default();
    let f = Fixture::new(pack.clone(), &[]);
    let linux = f.artifact("My App_1.0.0_amd64.AppImage", 70_000);
    let mac = f.artifact("My App.app.tar.gz", 50_000);
    let notes = f.tmp.path().join("notes.md");
    std::fs::write(&notes, "## 1.0.0\n\nFirst release.\n").unwrap();
    for (platform, file) in [("linux-x86_64", &linux), ("darwin-aarch64", &mac)] {
        pack.ok(&[
            "release",
            f.p(),
            "--app",
            "demo",
            "--version",
            "1.0.0",
            "--platform",
            platform,
            "--channel",
            "beta",
            "--notes",
            notes.to_str().unwrap(),
            "--rollout",
            "50",
            file.to_str().unwrap(),
        ]);
    }
    pack.ok(&f.promote_args("1.0.0", "beta", "stable"));
    let served = Served::start(&f.project);
    let app = tempfile::tempdir().unwrap();
    let root1 = f.project.join("repository/metadata/1.root.json");

    let beta_linux = "beta/demo/1.0.0/linux-x86_64/My App_1.0.0_amd64.AppImage";
    let stable_linux = "stable/demo/1.0.0/linux-x86_64/My App_1.0.0_amd64.AppImage";
    let stable_mac = "stable/demo/1.0.0/darwin-aarch64/My App.app.tar.gz";
    let report = python_client(
        &served,
        app.path(),
        Some(&root1),
        &[beta_linux, stable_linux, stable_mac],
        &["stable/demo/9.9.9/linux-x86_64/x"],
    );
    assert_eq!(report["tuf_version"], "7.0.1");
    assert_eq!(report["root_version"], 1);
    for (path, file) in [
        (beta_linux, &linux),
        (stable_linux, &linux),
        (stable_mac, &mac),
    ] {
        let t = &report["targets"][path];
        assert_eq!(t["download_sha256"], sha256_file(file).as_str(), "{path}");
        assert_eq!(t["sha256"], t["download_sha256"]);
        assert_eq!(t["custom"]["version"], "1.0.0");
        assert_eq!(t["custom"]["kind"], "full");
        assert_eq!(t["custom"]["rollout"]["percent"], 50);
        assert_eq!(t["custom"]["notes"], "## 1.0.0\n\nFirst release.\n");
    }

    // Rotate the root key and the timestamp key, release 1.1.0, yank 1.0.0 from beta.
    pack.ok(&["rotate", f.p(), "--role", "root", "--replace"]);
    pack.ok(&["rotate", f.p(), "--role", "timestamp", "--replace"]);
    pack.ok(&["rotate", f.p(), "--role", "beta", "--replace"]);
    let next = f.artifact("My App_1.1.0_amd64.AppImage", 80_000);
    pack.ok(&[
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
        next.to_str().unwrap(),
    ]);
    pack.ok(&[
        "yank",
        f.p(),
        "--app",
        "demo",
        "--version",
        "1.0.0",
        "--channel",
        "beta",
    ]);

    // The same client (its trusted metadata kept) follows the rotations.
    let beta_next = "beta/demo/1.1.0/linux-x86_64/My App_1.1.0_amd64.AppImage";
    let report = python_client(
        &served,
        app.path(),
        None,
        &[beta_next, stable_linux],
        &[beta_linux],
    );
    assert_eq!(report["root_version"], 3);
    assert_eq!(
        report["targets"][beta_next]["download_sha256"],
        sha256_file(&next).as_str()
    );

    // A new install from the first root, too.
    let fresh = tempfile::tempdir().unwrap();
    let report = python_client(
        &served,
        fresh.path(),
        Some(&root1),
        &[beta_next, stable_mac],
        &[beta_linux],
    );
    assert_eq!(report["root_version"], 3);

    // And our own client agrees on every byte.
    let ours = OurClient::new(&root1, &served);
    let now = chrono::Utc::now();
    assert_eq!(
        ours.download(now, beta_next).unwrap(),
        std::fs::read(&next).unwrap()
    );
    assert_eq!(ours.lookup(now, beta_linux).unwrap(), None);
}
