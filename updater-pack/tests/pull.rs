#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! `pull`, and `verify`/`status`/`timestamp --publish` against a published repository: a
//! CI runner that holds the project settings, the first root and only the beta, snapshot
//! and timestamp keys pulls the published metadata, releases and publishes; python-tuf and
//! `verify` over HTTP accept the result. Every refusal leaves the project as it was.

mod common;

use std::path::{Path, PathBuf};

use common::*;

const NOW: &str = "2030-01-01T00:00:00Z";

fn per_app() -> Fixture {
    Fixture::new(Pack::at(NOW), &["--layout", "per-app"])
}

/// A CI runner's checkout: settings, the first root, and the keys of `roles` only.
fn runner(f: &Fixture, roles: &[&str]) -> PathBuf {
    let ci = f.tmp.path().join("ci");
    std::fs::create_dir_all(ci.join("repository/metadata")).unwrap();
    std::fs::create_dir_all(ci.join("keys")).unwrap();
    std::fs::copy(
        f.project.join("updater-pack.json"),
        ci.join("updater-pack.json"),
    )
    .unwrap();
    std::fs::copy(
        f.project.join("repository/metadata/1.root.json"),
        ci.join("repository/metadata/1.root.json"),
    )
    .unwrap();
    for role in roles {
        let to = ci.join("keys").join(role);
        std::fs::create_dir_all(&to).unwrap();
        for key in std::fs::read_dir(f.project.join("keys").join(role)).unwrap() {
            let key = key.unwrap().path();
            std::fs::copy(&key, to.join(key.file_name().unwrap())).unwrap();
        }
    }
    ci
}

fn release_in(pack: &Pack, dir: &Path, file: &Path, version: &str) -> String {
    pack.ok(&[
        "release",
        dir.to_str().unwrap(),
        "--app",
        "demo",
        "--version",
        version,
        "--platform",
        "linux-x86_64",
        "--channel",
        "beta",
        file.to_str().unwrap(),
    ])
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_runner_with_only_the_online_and_beta_keys_pulls_releases_and_publishes() {
    let f = per_app();
    f.release("1.0.0", "beta");
    let www = f.tmp.path().join("www");
    f.pack.ok(&["publish", f.p(), s(&www)]);

    let ci = runner(&f, &["beta", "snapshot", "timestamp"]);
    let out = f.pack.ok(&["pull", s(&www), s(&ci)]);
    assert!(out.contains("Pulled 2 repositories"), "{out}");
    // Metadata only: no target file came.
    assert!(
        std::fs::read_dir(ci.join("repository/targets"))
            .unwrap()
            .next()
            .is_none(),
        "pull fetched target files"
    );
    let file = f.artifact("demo-1.1.0.AppImage", 5000);
    release_in(&f.pack, &ci, &file, "1.1.0");
    let out = f.pack.ok(&["publish", s(&ci), s(&www)]);
    assert!(
        out.contains("1 target file(s) not in this copy: at the destination"),
        "{out}"
    );
    assert!(out.contains("Copied 4 file(s)"), "{out}");

    // Clients see both releases: python-tuf from the app's repository, and `verify` over
    // HTTP walks every role and finds every target file at its signed length.
    let served = Served::start(&www);
    let work = tempfile::tempdir().unwrap();
    let metadata = format!("{}apps/demo/metadata/", served.url);
    let report = python_client_at(
        &metadata,
        &served,
        work.path(),
        Some(&f.project.join("repository/metadata/1.root.json")),
        &["beta/demo/1.1.0/linux-x86_64/demo-1.1.0.AppImage"],
        &[],
    );
    let got = &report["targets"]["beta/demo/1.1.0/linux-x86_64/demo-1.1.0.AppImage"];
    assert_eq!(got["download_sha256"], sha256_file(&file), "{report}");
    let out = f.pack.ok(&["verify", &served.url, "--app", "demo"]);
    assert!(out.contains("channel beta v2: 2 target(s)"), "{out}");
    assert!(
        out.contains("2 target file(s) where it is published"),
        "{out}"
    );

    // The original project is now behind: its publish is refused, nothing uploaded.
    let before = tree(&www);
    f.release("1.2.0", "beta");
    let err = f.pack.fails(&["publish", f.p(), s(&www)]);
    assert!(err.contains("has moved past this copy"), "{err}");
    assert!(err.contains("nothing was uploaded"), "{err}");
    assert_eq!(before, tree(&www));
}

#[test]
fn pull_refuses_another_root_unpublished_work_and_a_tampered_source() {
    let f = per_app();
    f.release("1.0.0", "beta");
    let www = f.tmp.path().join("www");
    f.pack.ok(&["publish", f.p(), s(&www)]);

    // Another project's first root: not this project's repository.
    let other = tempfile::tempdir().unwrap();
    let other_project = other.path().join("p");
    f.pack.ok(&["init", s(&other_project)]);
    assert_unchanged(&other_project, "the project trusts another root", || {
        f.pack.fails(&["pull", s(&www), s(&other_project)])
    });

    // A release not yet published: a pull would hide it.
    f.release("1.1.0", "beta");
    assert_unchanged(&f.project, "changes not published", || {
        f.pack.fails(&["pull", s(&www), f.p()])
    });

    // A snapshot naming a role whose file name would leave the folder: refused before any
    // request for it, and nothing written outside the staging folder.
    let ci = runner(&f, &["beta", "snapshot", "timestamp"]);
    let ts: serde_json::Value =
        serde_json::from_slice(&std::fs::read(www.join("metadata/timestamp.json")).unwrap())
            .unwrap();
    let snap_version = ts["signed"]["meta"]["snapshot.json"]["version"]
        .as_u64()
        .unwrap();
    let snap_path = www.join(format!("metadata/{snap_version}.snapshot.json"));
    let original = std::fs::read(&snap_path).unwrap();
    let mut snap: serde_json::Value = serde_json::from_slice(&original).unwrap();
    snap["signed"]["meta"]["../../../escape.json"] = serde_json::json!({ "version": 1 });
    std::fs::write(&snap_path, serde_json::to_vec(&snap).unwrap()).unwrap();
    std::fs::write(www.join("escape.json"), b"{}").unwrap();
    let outside = f.tmp.path().join("1.escape.json");
    assert_unchanged(&ci, "lists a role named \"../../../escape\"", || {
        f.pack.fails(&["pull", s(&www), s(&ci)])
    });
    assert!(!outside.exists());
    std::fs::write(&snap_path, original).unwrap();

    // A tampered role at the source: the pull verifies before writing anything.
    let head = www.join("apps/demo/metadata/1.beta.linux-x86_64.json");
    let text = std::fs::read_to_string(&head).unwrap();
    std::fs::write(&head, text.replace("1.0.0", "9.0.0")).unwrap();
    assert_unchanged(&ci, "verification failed", || {
        f.pack.fails(&["pull", s(&www), s(&ci)])
    });
}

#[test]
fn verify_of_a_url_finds_a_missing_target_and_status_reads_a_published_repository() {
    let f = per_app();
    f.release("1.0.0", "beta");
    let www = f.tmp.path().join("www");
    f.pack.ok(&["publish", f.p(), s(&www)]);
    let served = Served::start(&www);
    let out = f.pack.ok(&["status", &served.url, "--app", "demo"]);
    assert!(out.contains("demo 1.0.0  [linux-x86_64]"), "{out}");
    assert!(out.contains(&format!("Repository {}", served.url)), "{out}");
    // Without --app a web server's app repositories are not found: only the shared one.
    let out = f.pack.ok(&["status", &served.url]);
    assert!(!out.contains("demo 1.0.0"), "{out}");

    let stored = walk_files(&www.join("targets"));
    assert_eq!(stored.len(), 1);
    std::fs::remove_file(&stored[0]).unwrap();
    let err = f.pack.fails(&["verify", &served.url, "--app", "demo"]);
    assert!(err.contains("missing"), "{err}");
    // The folder itself (a bucket would be listed the same way).
    let err = f
        .pack
        .fails(&["verify", &format!("file://{}", www.display())]);
    assert!(err.contains("missing"), "{err}");
}

#[test]
fn timestamp_publish_uploads_the_new_snapshots_and_timestamps_only() {
    let f = per_app();
    f.release("1.0.0", "beta");
    let www = f.tmp.path().join("www");
    f.pack.ok(&["publish", f.p(), s(&www)]);
    let later = Pack::at("2030-01-01T12:00:00Z");
    let out = later.ok(&["timestamp", f.p(), "--publish", s(&www)]);
    let copied: Vec<&str> = out
        .lines()
        .filter(|l| {
            l.starts_with("  apps/") || l.starts_with("  metadata/") || l.starts_with("  targets/")
        })
        .map(str::trim)
        .collect();
    assert_eq!(
        copied,
        [
            "apps/demo/metadata/2.snapshot.json",
            "metadata/2.snapshot.json",
            "apps/demo/metadata/timestamp.json",
            "metadata/timestamp.json"
        ],
        "{out}"
    );
    assert_eq!(tree(&www), tree(&f.project.join("repository")));
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk_files(&p));
        } else {
            out.push(p);
        }
    }
    out
}
