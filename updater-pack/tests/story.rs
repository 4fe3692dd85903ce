//! The full story, with our client (`tuf_updater_core::tuf::TufClient` over `HttpFetcher`)
//! following every step against `updater-pack serve` on 127.0.0.1: init, release to beta,
//! promote to stable, yank, rotate the root key and the timestamp key, let the timestamp
//! expire and re-sign it. Time is explicit on both sides (`UPDATER_PACK_NOW`,
//! `TufClient::with_time`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::*;
use tuf_updater_core::tuf::TufError;

const T0: &str = "2030-01-01T00:00:00Z";

fn at(hours: i64) -> (Pack, chrono::DateTime<chrono::Utc>) {
    let t = time(T0) + chrono::Duration::hours(hours);
    (Pack::at(&t.to_rfc3339()), t)
}

#[test]
fn full_story_followed_by_our_client() {
    let (pack, now) = at(0);
    let f = Fixture::new(pack.clone(), &[]);
    let served = Served::start(&f.project);
    let client = OurClient::new(&f.project.join("repository/metadata/1.root.json"), &served);

    // Nothing released yet.
    let beta_100 = "beta/demo/1.0.0/linux-x86_64/demo-1.0.0.AppImage";
    assert_eq!(client.lookup(now, beta_100).unwrap(), None);

    // Release to beta.
    f.release("1.0.0", "beta");
    let info = client
        .lookup(now, beta_100)
        .unwrap()
        .expect("beta release visible");
    assert_eq!(info.custom.as_ref().unwrap()["version"], "1.0.0");
    assert_eq!(info.custom.as_ref().unwrap()["kind"], "full");
    let artifact = std::fs::read(f.tmp.path().join("demo-1.0.0.AppImage")).unwrap();
    assert_eq!(client.download(now, beta_100).unwrap(), artifact);
    let stable_100 = "stable/demo/1.0.0/linux-x86_64/demo-1.0.0.AppImage";
    assert_eq!(client.lookup(now, stable_100).unwrap(), None);

    // Promote to stable: same bytes, found through the stable delegation.
    let (pack, now) = at(1);
    pack.ok(&f.promote_args("1.0.0", "beta", "stable"));
    let stable_info = client.lookup(now, stable_100).unwrap().expect("promoted");
    assert_eq!(stable_info.hashes, info.hashes);
    assert_eq!(client.download(now, stable_100).unwrap(), artifact);

    // A bad beta release, then yanked.
    let (pack, now) = at(2);
    let beta_110 = "beta/demo/1.1.0/linux-x86_64/demo-1.1.0.AppImage";
    Fixture {
        tmp: tempfile::tempdir().unwrap(),
        project: f.project.clone(),
        pack: pack.clone(),
    }
    .release("1.1.0", "beta");
    assert!(client.lookup(now, beta_110).unwrap().is_some());
    let (pack, now) = at(3);
    pack.ok(&[
        "yank",
        f.p(),
        "--app",
        "demo",
        "--version",
        "1.1.0",
        "--channel",
        "beta",
    ]);
    assert_eq!(client.lookup(now, beta_110).unwrap(), None);
    assert!(client.lookup(now, beta_100).unwrap().is_some());

    // Rotate the root key: the client follows 2.root.json, signed by old and new key.
    let (pack, now) = at(4);
    assert_eq!(client.trusted_root_version(), 1);
    pack.ok(&["rotate", f.p(), "--role", "root", "--replace"]);
    assert!(client.lookup(now, stable_100).unwrap().is_some());
    assert_eq!(client.trusted_root_version(), 2);

    // Rotate the timestamp key: 3.root.json, and a timestamp signed by the new key.
    let (pack, now) = at(5);
    pack.ok(&["rotate", f.p(), "--role", "timestamp", "--replace"]);
    assert!(client.lookup(now, stable_100).unwrap().is_some());
    assert_eq!(client.trusted_root_version(), 3);

    // Releases go on after the rotations.
    let (pack, now) = at(6);
    let beta_120 = "beta/demo/1.2.0/linux-x86_64/demo-1.2.0.AppImage";
    Fixture {
        tmp: tempfile::tempdir().unwrap(),
        project: f.project.clone(),
        pack,
    }
    .release("1.2.0", "beta");
    assert!(client.lookup(now, beta_120).unwrap().is_some());

    // The timestamp expires (1 day): the client refuses to go on ...
    let (pack, now) = at(6 + 25);
    match client.lookup(now, stable_100) {
        Err(TufError::Expired { role, .. }) => assert_eq!(role.name(), "timestamp"),
        other => panic!("expected an expired timestamp, got {other:?}"),
    }
    // ... until the cron job re-signs it.
    pack.ok(&["timestamp", f.p()]);
    assert!(client.lookup(now, stable_100).unwrap().is_some());
    assert_eq!(client.download(now, stable_100).unwrap(), artifact);

    // A new install, from the root embedded at the start, walks all three roots.
    let fresh = OurClient::new(&f.project.join("repository/metadata/1.root.json"), &served);
    assert_eq!(fresh.download(now, stable_100).unwrap(), artifact);
    assert_eq!(fresh.lookup(now, beta_110).unwrap(), None);
    assert_eq!(fresh.trusted_root_version(), 3);
    pack.ok(&["verify", f.p()]);
}

#[test]
fn clients_follow_a_root_rotation_with_a_threshold_change() {
    // Two of three root keys sign; one is replaced and the threshold raised to three.
    let (pack, now) = at(0);
    let f = Fixture::new(pack.clone(), &["--root-keys", "3", "--root-threshold", "2"]);
    f.release("1.0.0", "stable");
    let served = Served::start(&f.project);
    let client = OurClient::new(&f.project.join("repository/metadata/1.root.json"), &served);
    let path = "stable/demo/1.0.0/linux-x86_64/demo-1.0.0.AppImage";
    assert!(client.lookup(now, path).unwrap().is_some());

    let first = f
        .project
        .join("keys/root")
        .read_dir()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let id = first.file_stem().unwrap().to_str().unwrap().to_string();
    let (pack, now) = at(1);
    pack.ok(&[
        "rotate",
        f.p(),
        "--role",
        "root",
        "--remove",
        &id[..12],
        "--add",
        "1",
        "--threshold",
        "3",
    ]);
    let root2 = metadata(&f.project, "2.root.json");
    assert_eq!(root2["signed"]["roles"]["root"]["threshold"], 3);
    assert!(client.lookup(now, path).unwrap().is_some());
    assert_eq!(client.trusted_root_version(), 2);
}
