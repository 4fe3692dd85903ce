//! Patches (`release --deltas K`) through the binary: made from the stored bytes of earlier
//! releases, published only when small enough, found by the client's own `find_patch`,
//! carried by `promote`, removed by `yank`, counted apart by `status`, checked by `verify`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;
use semver::Version;
use sha2::Digest;
use tuf_updater_core::delta::{apply_patch, apply_tar_patch};
use tuf_updater_core::release::{find_patch, patch_path, DeltaFormat, Release};
use tuf_updater_core::tuf::metadata::TargetFile;

const NOW: &str = "2030-01-01T00:00:00Z";
const SIZE: usize = 2 * 1024 * 1024;

/// Version `n` of the app: the same pseudo-random bytes with a few edits of its own (bytes
/// overwritten, a run inserted), as a rebuild with small changes gives.
fn build(f: &Fixture, n: usize, size: usize) -> PathBuf {
    let base = artifact(f.tmp.path(), &format!("base-{size}"), size);
    let mut data = std::fs::read(base).unwrap();
    for k in 0..4 {
        let at = (k * size / 4 + n * 7919) % (size - 64);
        data[at..at + 64].fill(n as u8);
    }
    let at = size / 3;
    data.splice(at..at, vec![n as u8 ^ 0x5a; 1000 * n]);
    let dir = f.tmp.path().join(format!("build-{n}"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("demo.AppImage");
    std::fs::write(&path, data).unwrap();
    path
}

/// `release` of `demo VERSION` for linux-x86_64 on beta, as `demo.AppImage`.
fn release(f: &Fixture, version: &str, file: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "release",
        f.p(),
        "--app",
        "demo",
        "--version",
        version,
        "--platform",
        "linux-x86_64",
        "--channel",
        "beta",
        "--name",
        "demo.AppImage",
        file.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    f.pack.ok(&args)
}

fn full(channel: &str, version: &str) -> String {
    format!("{channel}/demo/{version}/linux-x86_64/demo.AppImage")
}

fn patch(channel: &str, version: &str, from: &str) -> String {
    patch_path(&full(channel, version), &Version::parse(from).unwrap())
}

/// The targets a channel lists now.
fn targets(f: &Fixture, channel: &str) -> BTreeMap<String, TargetFile> {
    serde_json::from_value(current(&f.project, channel)["signed"]["targets"].clone()).unwrap()
}

/// The stored bytes of `path` on its channel.
fn stored(f: &Fixture, path: &str) -> Vec<u8> {
    let file = &targets(f, path.split('/').next().unwrap())[path];
    let (dir, name) = path.rsplit_once('/').unwrap();
    let stored = f
        .project
        .join("repository/targets")
        .join(dir)
        .join(format!("{}.{name}", file.hashes[&"sha256".to_string()]));
    std::fs::read(stored).unwrap()
}

/// What the client finds: the patch from `current` to the full release at `full_path`.
fn client_patch(f: &Fixture, channel: &str, full_path: &str, current: &str) -> Option<String> {
    let listed = targets(f, channel);
    let release = Release::parse(full_path, &listed[full_path]).unwrap();
    let current = Version::parse(current).unwrap();
    find_patch(listed.iter(), &release, &current, DeltaFormat::Whole)
        .map(|offer| offer.patch.target_path())
}

#[test]
fn a_patch_to_the_new_release_reproduces_it_and_the_client_finds_it() {
    let f = Fixture::new(Pack::at(NOW), &[]);
    let (v1, v2) = (build(&f, 1, SIZE), build(&f, 2, SIZE));
    release(&f, "1.0.0", &v1, &[]);
    let out = release(&f, "1.1.0", &v2, &[]);
    assert!(out.contains("  patch from 1.0.0: "), "{out}");
    assert!(out.contains("% of the full file)"), "{out}");

    let beta = current(&f.project, "beta");
    // The release and its patch in one commit: one new version of the channel role.
    assert_eq!(beta["signed"]["version"], 3);
    let path = patch("beta", "1.1.0", "1.0.0");
    let entry = &beta["signed"]["targets"][&path];
    assert_eq!(
        entry["custom"],
        serde_json::json!({
            "version": "1.1.0", "notes": "", "published": NOW, "kind": "delta",
            "from": "1.0.0", "full": full("beta", "1.1.0"), "critical": false,
            "rollout": { "percent": 100 }
        })
    );
    let new = std::fs::read(&v2).unwrap();
    let bytes = stored(&f, &path);
    assert_eq!(entry["length"], bytes.len() as u64);
    assert!(bytes.len() * 2 <= new.len(), "{} bytes", bytes.len());
    assert!(out.contains(&format!("patch from 1.0.0: {} bytes", bytes.len())));

    let old = stored(&f, &full("beta", "1.0.0"));
    let mut patched = Vec::new();
    apply_patch(&old, &bytes[..], &mut patched, new.len() as u64).unwrap();
    assert!(patched == new, "the patch does not reproduce 1.1.0");

    assert_eq!(
        client_patch(&f, "beta", &full("beta", "1.1.0"), "1.0.0"),
        Some(path)
    );
    f.verify();
}

#[test]
fn patches_come_from_the_highest_k_earlier_releases() {
    let f = Fixture::new(Pack::at(NOW), &[]);
    let size = SIZE / 4;
    // Released out of order: the bases go by version, not by time.
    release(&f, "1.0.0", &build(&f, 1, size), &["--deltas", "0"]);
    release(&f, "1.2.0", &build(&f, 3, size), &["--deltas", "0"]);
    release(&f, "1.1.0", &build(&f, 2, size), &["--deltas", "0"]);
    assert_eq!(targets(&f, "beta").len(), 3);

    let out = release(&f, "1.3.0", &build(&f, 4, size), &["--deltas", "2"]);
    let listed = targets(&f, "beta");
    assert!(
        listed.contains_key(&patch("beta", "1.3.0", "1.2.0")),
        "{out}"
    );
    assert!(
        listed.contains_key(&patch("beta", "1.3.0", "1.1.0")),
        "{out}"
    );
    assert!(
        !listed.contains_key(&patch("beta", "1.3.0", "1.0.0")),
        "{out}"
    );
    assert_eq!(listed.len(), 6);
    let first = out.find("patch from 1.2.0").unwrap();
    assert!(out[first..].contains("patch from 1.1.0"), "{out}");
    assert!(!out.contains("1.0.0"), "{out}");

    let out = release(&f, "1.4.0", &build(&f, 5, size), &["--deltas", "0"]);
    assert!(!out.contains("patch"), "{out}");
    assert_eq!(targets(&f, "beta").len(), 7);
    f.verify();

    // A base whose stored file is gone is skipped, and the report says so.
    let dir = f
        .project
        .join("repository/targets/beta/demo/1.4.0/linux-x86_64");
    for entry in std::fs::read_dir(dir).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    let out = release(&f, "1.5.0", &build(&f, 6, size), &["--deltas", "2"]);
    assert!(
        out.contains("no patch from 1.4.0: its stored file") && out.contains("is missing"),
        "{out}"
    );
    assert!(out.contains("  patch from 1.3.0: "), "{out}");
    assert!(!targets(&f, "beta").contains_key(&patch("beta", "1.5.0", "1.4.0")));
}

#[test]
fn a_patch_not_much_smaller_than_the_file_is_not_published() {
    let f = Fixture::new(Pack::at(NOW), &[]);
    release(&f, "1.0.0", &f.artifact("a.bin", 256 * 1024), &[]);
    let out = release(&f, "1.1.0", &f.artifact("b.bin", 256 * 1024), &[]);
    assert!(out.contains("no patch from 1.0.0: it would be "), "{out}");
    assert!(
        out.contains("a patch is published only if it is at most 50%"),
        "{out}"
    );
    assert_eq!(targets(&f, "beta").len(), 2);
    f.verify();
}

#[test]
fn promote_carries_patches_whose_base_is_there_and_yank_removes_them() {
    let f = Fixture::new(Pack::at(NOW), &[]);
    let size = SIZE / 4;
    release(&f, "1.0.0", &build(&f, 1, size), &[]);
    release(&f, "1.1.0", &build(&f, 2, size), &[]);
    release(&f, "1.2.0", &build(&f, 3, size), &[]);
    let later = Pack::at("2030-01-02T00:00:00Z");
    later.ok(&f.promote_args("1.0.0", "beta", "stable"));
    let out = later.ok(&f.promote_args("1.1.0", "beta", "stable"));
    let carried = patch("stable", "1.1.0", "1.0.0");
    assert!(out.contains(&format!("Promoted {carried}")), "{out}");
    let stable = current(&f.project, "stable");
    let custom = &stable["signed"]["targets"][&carried]["custom"];
    assert_eq!(custom["kind"], "delta");
    assert_eq!(custom["from"], "1.0.0");
    assert_eq!(custom["full"], full("stable", "1.1.0").as_str());
    assert_eq!(custom["published"], "2030-01-02T00:00:00Z");
    assert!(stored(&f, &carried) == stored(&f, &patch("beta", "1.1.0", "1.0.0")));
    assert_eq!(
        client_patch(&f, "stable", &full("stable", "1.1.0"), "1.0.0"),
        Some(carried.clone())
    );

    // Yanking 1.0.0 takes the patches from it, useless without it, off the channel.
    let out = later.ok(&[
        "yank",
        f.p(),
        "--app",
        "demo",
        "--version",
        "1.0.0",
        "--channel",
        "stable",
    ]);
    assert!(out.contains(&format!("Yanked {carried}")), "{out}");
    assert!(!targets(&f, "stable").contains_key(&carried));

    // 1.2.0's patch from 1.0.0 stays behind: stable has no 1.0.0 any more.
    let out = later.ok(&f.promote_args("1.2.0", "beta", "stable"));
    assert!(
        out.contains(
            "patch from 1.0.0 not promoted: demo 1.0.0 for linux-x86_64 is not released on stable"
        ),
        "{out}"
    );
    let stable = targets(&f, "stable");
    assert!(
        stable.contains_key(&patch("stable", "1.2.0", "1.1.0")),
        "{out}"
    );
    assert!(
        !stable.contains_key(&patch("stable", "1.2.0", "1.0.0")),
        "{out}"
    );
    later.ok(&["verify", f.p()]);

    // Yanking 1.2.0 removes the patches to it.
    let out = later.ok(&[
        "yank",
        f.p(),
        "--app",
        "demo",
        "--version",
        "1.2.0",
        "--channel",
        "beta",
    ]);
    assert!(
        out.contains(&format!("Yanked {}", patch("beta", "1.2.0", "1.1.0"))),
        "{out}"
    );
    let beta = targets(&f, "beta");
    assert!(beta.keys().all(|k| !k.contains("/1.2.0/")), "{beta:?}");
    assert!(beta.contains_key(&patch("beta", "1.1.0", "1.0.0")));
    later.ok(&["verify", f.p()]);
}

#[test]
fn status_counts_patches_apart_and_verify_checks_them() {
    let f = Fixture::new(Pack::at(NOW), &[]);
    let size = SIZE / 4;
    release(&f, "1.0.0", &build(&f, 1, size), &[]);
    release(&f, "1.1.0", &build(&f, 2, size), &[]);
    let out = f.pack.ok(&["status", f.p()]);
    assert!(out.contains("beta (2 releases, 1 patch, metadata"), "{out}");
    assert!(
        out.contains("demo 1.1.0  [linux-x86_64]  published"),
        "{out}"
    );
    assert!(out.contains("No warnings."), "{out}");
    let json: serde_json::Value =
        serde_json::from_str(&f.pack.ok(&["status", f.p(), "--json"])).unwrap();
    let channels = json["channels"].as_array().unwrap();
    let beta = channels.iter().find(|c| c["name"] == "beta").unwrap();
    assert_eq!(beta["releases"].as_array().unwrap().len(), 2);
    assert_eq!(beta["patches"], 1);

    // A patch to a release the channel does not list, from a version it does not have.
    let bogus = "beta/demo/1.1.0/linux-x86_64/demo.AppImage.from-0.9.0.zst";
    f.change("2030-01-01T01:00:00Z", |session| {
        let mut file = targets(&f, "beta")[&patch("beta", "1.1.0", "1.0.0")].clone();
        file.custom.as_mut().unwrap()["from"] = "0.9.0".into();
        file.custom.as_mut().unwrap()["full"] = full("beta", "1.1.1").into();
        let channel = session.draft.channel_mut("beta").unwrap();
        channel.targets.insert(bogus.to_string(), file);
    });
    let err = f.pack.fails(&["verify", f.p()]);
    assert!(
        err.contains(&format!(
            "{bogus}: a patch to {}, which channel beta does not list as a full release",
            full("beta", "1.1.1")
        )),
        "{err}"
    );
    assert!(
        err.contains("has no full release of demo 0.9.0 for linux-x86_64"),
        "{err}"
    );
}

/// A `.app.tar.gz` of `Demo.app/` holding 40 resources and an executable; version `n`
/// replaces two resources and edits the executable.
fn bundle(f: &Fixture, n: u8) -> (PathBuf, Vec<u8>) {
    let noise = |len: usize, seed: u64| {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect::<Vec<u8>>()
    };
    let mut files: Vec<(String, Vec<u8>)> = (0..40)
        .map(|i| (format!("Contents/Resources/r{i}.bin"), noise(16 << 10, i)))
        .collect();
    files.push(("Contents/MacOS/demo".into(), noise(600 << 10, 99)));
    if n > 1 {
        files[5].1 = noise(16 << 10, 1005);
        files[17].1 = noise(16 << 10, 1017);
        files[40].1[4096..4196].fill(n);
    }
    let mut tar = tar::Builder::new(Vec::new());
    for (name, data) in &files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        tar.append_data(&mut h, format!("Demo.app/{name}"), data.as_slice())
            .unwrap();
    }
    let tar = tar.into_inner().unwrap();
    let dir = f.tmp.path().join(format!("bundle-{n}"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("Demo.app.tar.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    std::fs::write(&path, gz.finish().unwrap()).unwrap();
    (path, tar)
}

#[test]
fn a_bundle_release_signs_its_tar_and_gets_a_tar_patch_that_rebuilds_it() {
    let f = Fixture::new(Pack::at(NOW), &[]);
    let ((v1, _), (v2, new_tar)) = (bundle(&f, 1), bundle(&f, 2));
    let release = |version: &str, file: &Path| {
        f.pack.ok(&[
            "release",
            f.p(),
            "--app",
            "demo",
            "--version",
            version,
            "--platform",
            "darwin-aarch64-app",
            "--channel",
            "beta",
            file.to_str().unwrap(),
        ])
    };
    release("1.0.0", &v1);
    let out = release("1.1.0", &v2);
    assert!(out.contains("  patch from 1.0.0: "), "{out}");
    let full = "beta/demo/1.1.0/darwin-aarch64-app/Demo.app.tar.gz";
    let listed = targets(&f, "beta");
    let custom = listed[full].custom.clone().unwrap();
    assert_eq!(
        custom["tar"],
        serde_json::json!({ "length": new_tar.len(),
            "sha256": hex::encode(sha2::Sha256::digest(&new_tar)) })
    );
    let path = patch_path(full, &Version::new(1, 0, 0));
    assert_eq!(listed[&path].custom.as_ref().unwrap()["format"], "tar");
    let bytes = stored(&f, &path);
    let full_len = listed[full].length as usize;
    assert!(
        bytes.len() * 10 < full_len,
        "{} bytes of {full_len}",
        bytes.len()
    );

    // The patch rebuilds 1.1.0's tar from a bundle unpacked from 1.0.0's archive.
    let installed = f.tmp.path().join("Demo.app");
    tuf_updater_core::install::stage_bundle(&v1, "Demo.app.tar.gz", &installed).unwrap();
    let mut rebuilt = Vec::new();
    apply_tar_patch(&installed, &bytes[..], &mut rebuilt, new_tar.len() as u64).unwrap();
    assert!(rebuilt == new_tar, "the patch does not rebuild 1.1.0's tar");

    let release = Release::parse(full, &listed[full]).unwrap();
    let current = Version::new(1, 0, 0);
    let offer = find_patch(listed.iter(), &release, &current, DeltaFormat::Tar).unwrap();
    assert_eq!(offer.patch.target_path(), path);
    assert_eq!(
        find_patch(listed.iter(), &release, &current, DeltaFormat::Whole),
        None
    );
    f.verify();
}
