//! Bad input: each gets an error naming the problem, exit status 1, and leaves the project
//! (keys, settings and repository) byte-identical, file modes included.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::*;

fn released() -> Fixture {
    let f = Fixture::new(Pack::default(), &[]);
    f.release("1.0.0", "beta");
    f
}

/// `release` arguments for `demo VERSION` with `artifact` on `channel`.
fn release_args<'a>(
    f: &'a Fixture,
    version: &'a str,
    channel: &'a str,
    artifact: &'a str,
) -> Vec<&'a str> {
    vec![
        "release",
        f.p(),
        "--app",
        "demo",
        "--version",
        version,
        "--platform",
        "linux-x86_64",
        "--channel",
        channel,
        artifact,
    ]
}

#[test]
fn version_already_released() {
    let f = released();
    let a = f.artifact("other.AppImage", 100);
    let a = a.to_str().unwrap();
    assert_unchanged(
        &f.project,
        "demo 1.0.0 for linux-x86_64 is already released on beta",
        || f.pack.fails(&release_args(&f, "1.0.0", "beta", a)),
    );
    // On another channel: same error, with the way to publish the same bytes.
    assert_unchanged(&f.project, "promote --from beta --to stable", || {
        f.pack.fails(&release_args(&f, "1.0.0", "stable", a))
    });
}

#[test]
fn non_semver_versions() {
    let f = released();
    let a = f.artifact("x.AppImage", 100);
    let a = a.to_str().unwrap();
    for (version, hint) in [
        ("1.2", "is not a semantic version"),
        ("v1.2.0", "without the leading 'v'"),
        ("latest", "is not a semantic version"),
        ("1.2.3.4", "is not a semantic version"),
    ] {
        assert_unchanged(&f.project, hint, || {
            f.pack.fails(&release_args(&f, version, "beta", a))
        });
    }
    let mut args = release_args(&f, "1.2.0", "beta", a);
    args.extend(["--min-version", "1.x"]);
    assert_unchanged(&f.project, "\"1.x\" is not a semantic version", || {
        f.pack.fails(&args)
    });
    let mut args = release_args(&f, "1.2.0", "beta", a);
    args.extend(["--min-version", "2.0.0"]);
    assert_unchanged(
        &f.project,
        "--min-version 2.0.0: above the release's version",
        || f.pack.fails(&args),
    );
}

#[test]
fn missing_or_unusable_artifact() {
    let f = released();
    let missing = f.tmp.path().join("nope.AppImage");
    assert_unchanged(&f.project, "nope.AppImage: no such file", || {
        f.pack.fails(&release_args(
            &f,
            "1.1.0",
            "beta",
            missing.to_str().unwrap(),
        ))
    });
    let dir = f.tmp.path().join("Demo.app");
    std::fs::create_dir(&dir).unwrap();
    assert_unchanged(&f.project, "is a directory", || {
        f.pack
            .fails(&release_args(&f, "1.1.0", "beta", dir.to_str().unwrap()))
    });
    let empty = f.artifact("empty.AppImage", 0);
    assert_unchanged(&f.project, "is empty", || {
        f.pack
            .fails(&release_args(&f, "1.1.0", "beta", empty.to_str().unwrap()))
    });
    let odd = f.artifact("odd%name.AppImage", 10);
    assert_unchanged(&f.project, "invalid target file name", || {
        f.pack
            .fails(&release_args(&f, "1.1.0", "beta", odd.to_str().unwrap()))
    });
    let notes = f.tmp.path().join("missing-notes.md");
    let a = f.artifact("ok.AppImage", 10);
    let mut args = release_args(&f, "1.1.0", "beta", a.to_str().unwrap());
    args.extend(["--notes", notes.to_str().unwrap()]);
    assert_unchanged(&f.project, "notes file", || f.pack.fails(&args));
}

#[test]
fn unknown_channel_and_other_bad_names() {
    let f = released();
    let a = f.artifact("x.AppImage", 100);
    let a = a.to_str().unwrap();
    assert_unchanged(
        &f.project,
        "unknown channel \"nightly\": this repository has stable, beta",
        || f.pack.fails(&release_args(&f, "1.1.0", "nightly", a)),
    );
    let mut args = release_args(&f, "1.1.0", "beta", a);
    args[7] = "macos-arm64";
    assert_unchanged(&f.project, "invalid platform \"macos-arm64\"", || {
        f.pack.fails(&args)
    });
    let mut args = release_args(&f, "1.1.0", "beta", a);
    args[3] = "../evil";
    assert_unchanged(&f.project, "invalid app name", || f.pack.fails(&args));
    let mut args = release_args(&f, "1.1.0", "beta", a);
    args.extend(["--rollout", "101"]);
    assert_unchanged(&f.project, "a percentage is 0 to 100", || {
        f.pack.fails(&args)
    });
    assert_unchanged(&f.project, "unknown channel \"nightly\"", || {
        f.pack.fails(&f.promote_args("1.0.0", "beta", "nightly"))
    });
    assert_unchanged(&f.project, "--expires nightly: not a role", || {
        f.pack
            .fails(&["timestamp", f.p(), "--expires", "nightly=1d"])
    });
    assert_unchanged(&f.project, "--role nightly: not a role", || {
        f.pack
            .fails(&["rotate", f.p(), "--role", "nightly", "--replace"])
    });
    assert_unchanged(&f.project, "--role nightly: not a role", || {
        f.pack.fails(&["resign", f.p(), "--role", "nightly"])
    });
}

#[test]
fn missing_key() {
    let f = released();
    let beta_dir = f.project.join("keys/beta");
    let key = beta_dir.read_dir().unwrap().next().unwrap().unwrap().path();
    let moved = f.tmp.path().join("beta.pem");
    std::fs::rename(&key, &moved).unwrap();
    let a = f.artifact("x.AppImage", 100);
    assert_unchanged(
        &f.project,
        "role beta needs 1 signature(s), but only 0 of its keys are in",
        || {
            f.pack
                .fails(&release_args(&f, "1.1.0", "beta", a.to_str().unwrap()))
        },
    );
    // Other roles are unaffected: stable still releases.
    f.release("1.1.0", "stable");
    // Missing timestamp key: nothing can be published.
    let ts = f
        .project
        .join("keys/timestamp")
        .read_dir()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::remove_file(ts).unwrap();
    assert_unchanged(&f.project, "role timestamp needs 1 signature(s)", || {
        f.pack.fails(&["timestamp", f.p()])
    });
}

#[test]
fn wrong_key() {
    let f = released();
    // Put the stable key in the file of the beta key.
    let beta = f
        .project
        .join("keys/beta")
        .read_dir()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let stable = f
        .project
        .join("keys/stable")
        .read_dir()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::copy(&stable, &beta).unwrap();
    let a = f.artifact("x.AppImage", 100);
    assert_unchanged(&f.project, "which is not a key of role beta", || {
        f.pack
            .fails(&release_args(&f, "1.1.0", "beta", a.to_str().unwrap()))
    });
    // Garbage in a key file.
    std::fs::write(&beta, "not a key").unwrap();
    assert_unchanged(&f.project, "not a key of role beta", || {
        f.pack
            .fails(&release_args(&f, "1.1.0", "beta", a.to_str().unwrap()))
    });
}

#[test]
fn half_written_or_damaged_repository() {
    let f = released();
    let a = f.artifact("x.AppImage", 100);
    // The snapshot the timestamp names is gone (a copy interrupted, a file deleted).
    std::fs::remove_file(f.project.join("repository/metadata/2.snapshot.json")).unwrap();
    assert_unchanged(&f.project, "timestamp.json refers to", || {
        f.pack
            .fails(&release_args(&f, "1.1.0", "beta", a.to_str().unwrap()))
    });
    assert_unchanged(&f.project, "2.snapshot.json", || {
        f.pack.fails(&["timestamp", f.p()])
    });
    assert_unchanged(&f.project, "damaged or half-written", || {
        f.pack.fails(&["status", f.p()])
    });
}

#[test]
fn tampered_metadata_is_refused() {
    let f = released();
    let path = f.project.join("repository/metadata/timestamp.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["signed"]["version"] = serde_json::json!(99);
    std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
    assert_unchanged(&f.project, "timestamp.json", || {
        f.pack.fails(&["timestamp", f.p()])
    });
}

#[test]
fn leftover_files_of_an_interrupted_run_are_skipped_not_overwritten() {
    let f = released();
    // A snapshot file that no timestamp refers to (a run killed before its timestamp).
    let stray = f.project.join("repository/metadata/3.snapshot.json");
    std::fs::write(&stray, b"stray").unwrap();
    f.release("1.1.0", "beta");
    assert_eq!(std::fs::read(&stray).unwrap(), b"stray");
    assert_eq!(current_version(&f.project, "snapshot"), 4);
    f.verify();
}

#[test]
fn not_a_project_and_init_twice() {
    let f = released();
    let empty = f.tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert_unchanged(&empty, "is not an updater-pack project", || {
        f.pack.fails(&["timestamp", empty.to_str().unwrap()])
    });
    assert_unchanged(&f.project, "is already an updater-pack project", || {
        f.pack.fails(&["init", f.p()])
    });
    // Bad init options create nothing.
    let fresh = f.tmp.path().join("fresh");
    for (args, msg) in [
        (
            vec!["--root-keys", "2", "--root-threshold", "3"],
            "--root-threshold 3",
        ),
        (
            vec!["--channels", "stable,Beta"],
            "invalid channel name \"Beta\"",
        ),
        (vec!["--channels", "stable,targets"], "top-level TUF role"),
        (
            vec!["--expires", "timestamp=0d"],
            "between 1 minute and 10 years",
        ),
        (vec!["--encrypt", "nightly"], "--encrypt nightly"),
    ] {
        let mut all = vec!["init", fresh.to_str().unwrap()];
        all.extend(args);
        let out = f.pack.run(&all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(stderr.contains(msg), "{stderr}");
        assert!(!fresh.exists(), "{all:?} left {}", fresh.display());
    }
}

#[test]
fn bad_rotations_promotions_and_yanks() {
    let f = released();
    assert_unchanged(&f.project, "nothing to change", || {
        f.pack.fails(&["rotate", f.p(), "--role", "beta"])
    });
    assert_unchanged(
        &f.project,
        "threshold 2 for beta, which would have 1 key(s)",
        || {
            f.pack
                .fails(&["rotate", f.p(), "--role", "beta", "--threshold", "2"])
        },
    );
    assert_unchanged(&f.project, "has no such key", || {
        f.pack
            .fails(&["rotate", f.p(), "--role", "beta", "--remove", "ffffffff"])
    });
    let root_key = f
        .project
        .join("keys/root")
        .read_dir()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let root_id = root_key.file_stem().unwrap().to_str().unwrap().to_string();
    assert_unchanged(
        &f.project,
        "threshold 1 for root, which would have 0 key(s)",
        || {
            f.pack
                .fails(&["rotate", f.p(), "--role", "root", "--remove", &root_id[..8]])
        },
    );
    assert_unchanged(&f.project, "no release demo 2.0.0 on channel beta", || {
        f.pack.fails(&f.promote_args("2.0.0", "beta", "stable"))
    });
    assert_unchanged(
        &f.project,
        "no release demo 1.0.0 on channel stable",
        || {
            f.pack.fails(&[
                "yank",
                f.p(),
                "--app",
                "demo",
                "--version",
                "1.0.0",
                "--channel",
                "stable",
            ])
        },
    );
    f.pack.ok(&f.promote_args("1.0.0", "beta", "stable"));
    assert_unchanged(&f.project, "is already released on stable", || {
        f.pack.fails(&f.promote_args("1.0.0", "beta", "stable"))
    });
    // The root key missing: root cannot be rotated.
    let away = f.tmp.path().join("root.pem");
    std::fs::rename(&root_key, &away).unwrap();
    assert_unchanged(&f.project, "role root needs 1 signature(s)", || {
        f.pack
            .fails(&["rotate", f.p(), "--role", "timestamp", "--replace"])
    });
    std::fs::rename(&away, &root_key).unwrap();
}

#[test]
fn a_running_command_holds_the_lock() {
    let f = released();
    let lock = f.project.join(".updater-pack.lock");
    std::fs::write(&lock, b"12345\n").unwrap();
    let a = f.artifact("x.AppImage", 100);
    assert_unchanged(
        &f.project,
        "another updater-pack command is working on this project",
        || {
            f.pack
                .fails(&release_args(&f, "1.1.0", "beta", a.to_str().unwrap()))
        },
    );
    std::fs::remove_file(&lock).unwrap();
    f.release("1.1.0", "beta");
}

#[test]
fn already_released_names_the_channel_released_to() {
    let f = released();
    f.pack.ok(&f.promote_args("1.0.0", "beta", "stable"));
    let a = f.artifact("other.AppImage", 100);
    let a = a.to_str().unwrap();
    assert_unchanged(
        &f.project,
        "already released on stable; versions are never reused",
        || f.pack.fails(&release_args(&f, "1.0.0", "stable", a)),
    );
}
