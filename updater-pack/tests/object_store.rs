#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
#![cfg(unix)]
//! `publish` to a real S3 server (SeaweedFS, `common::seaweed`), with a project of the
//! per-app layout and real signatures, and clients reading the bucket's web endpoint as apps
//! do: our `AppUpdater` and python-tuf. What was uploaded, in which order and with which
//! caching headers; a second release uploads only what changed; a stale copy uploads
//! nothing; a publish killed at any moment leaves the bucket consistent for clients; bad
//! destinations fail fast, with a message that says what to check, and change nothing.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::seaweed::Seaweed;
use common::*;
use serde_json::Value;
use tuf_updater_core::{AppUpdater, CheckResult, InstallTarget, Platform};

const APP: &str = "demo";
const PREFIX: &str = "site";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const SHORT: &str = "public, max-age=60";
const REVALIDATE: &str = "no-cache";
const STALE: &str = "has moved past this copy of the repository";

fn project() -> Fixture {
    Fixture::new(Pack::default(), &["--layout", "per-app"])
}

/// The artifact `Fixture::release_of` released as `version`.
fn artifact_of(f: &Fixture, version: &str) -> PathBuf {
    f.tmp.path().join(format!("{APP}-{version}.AppImage"))
}

fn target_path(version: &str) -> String {
    format!("beta/{APP}/{version}/linux-x86_64/{APP}-{version}.AppImage")
}

/// `updater-pack ARGS` with `env` (the server's endpoint and keys).
fn run_with(pack: &Pack, env: &[(String, String)], args: &[&str]) -> Output {
    let mut cmd = pack.command(args);
    Seaweed::apply(&mut cmd, env);
    cmd.output().unwrap()
}

/// What `publish` reported.
#[derive(Debug)]
struct Report {
    copied: Vec<String>,
    count: usize,
    already: usize,
    requests: u64,
    sent: u64,
    text: String,
}

fn parse_report(text: &str) -> Report {
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("Copied "))
        .unwrap_or_else(|| panic!("no report in:\n{text}"));
    let head = lines[at];
    let count = head["Copied ".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let already = head
        .rsplit_once('(')
        .unwrap()
        .1
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let copied: Vec<String> = lines[at + 1..]
        .iter()
        .take_while(|l| l.starts_with("  "))
        .map(|l| l.trim().to_string())
        .collect();
    let traffic = lines[at + 1 + copied.len()];
    let numbers: Vec<u64> = traffic
        .split([' ', ','])
        .filter_map(|w| w.parse().ok())
        .collect();
    assert!(traffic.contains("request(s)"), "{text}");
    Report {
        copied,
        count,
        already,
        requests: numbers[0],
        sent: numbers[1],
        text: text.to_string(),
    }
}

/// `publish PROJECT s3://repo/PREFIX`, which must succeed.
fn publish(pack: &Pack, project: &Path, sw: &Seaweed, prefix: &str) -> Report {
    let out = run_with(
        pack,
        &sw.env(),
        &["publish", project.to_str().unwrap(), &sw.s3_url(prefix)],
    );
    assert!(
        out.status.success(),
        "publish failed:\n{}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        sw.log_tail()
    );
    parse_report(&String::from_utf8(out.stdout).unwrap())
}

/// The files `publish` copies from `project`: relative path -> SHA-256.
fn local_files(project: &Path) -> BTreeMap<String, String> {
    let repository = project.join("repository");
    tree(&repository)
        .into_iter()
        .filter(|(rel, _)| !rel.ends_with('/'))
        .filter(|(rel, _)| {
            rel.starts_with("targets/")
                || rel.starts_with("metadata/")
                || (rel.starts_with("apps/") && rel.split('/').nth(2) == Some("metadata"))
        })
        .filter(|(rel, _)| !rel.rsplit('/').next().unwrap().starts_with('.'))
        .map(|(rel, (_, sha))| (rel, sha))
        .collect()
}

/// The objects under `prefix`: relative path -> SHA-256 of the bytes read back.
fn bucket_files(sw: &Seaweed, prefix: &str) -> BTreeMap<String, String> {
    sw.contents(prefix)
        .into_iter()
        .map(|(rel, (_, sha))| (rel, sha))
        .collect()
}

fn size_of(project: &Path, rel: &str) -> u64 {
    std::fs::metadata(project.join("repository").join(rel))
        .unwrap()
        .len()
}

/// An app installed at `installed`, reading the repository at `base` (beta channel).
fn app_client(f: &Fixture, data: &Path, installed: &str, base: &str) -> AppUpdater {
    let root = std::fs::read(f.project.join("repository/metadata/1.root.json")).unwrap();
    AppUpdater::builder(APP, installed)
        .repository(base.trim_end_matches('/'))
        .trusted_root(root)
        .data_dir(data.join("data"))
        .install_target(InstallTarget::Executable(data.join(APP)))
        .policy_path(data.join("policy.json"))
        .platform(Platform::LinuxX86_64)
        .default_channel("beta")
        .build()
        .unwrap()
}

/// A check that must offer `version`; the downloaded (verified) bytes.
fn update_to(updater: &AppUpdater, version: &str) -> Vec<u8> {
    let update = match block_on(updater.check()).unwrap() {
        CheckResult::Available(update) => update,
        other => panic!("expected {version} to be offered, got {other:?}"),
    };
    assert_eq!(update.version.to_string(), version);
    let path = block_on(updater.download(&update, |_| {})).unwrap();
    std::fs::read(path).unwrap()
}

/// The current version of `role` in `dir` of the project, as its snapshot names it.
fn snapshot_version(project: &Path, dir: &str) -> u64 {
    let ts: Value = serde_json::from_slice(
        &std::fs::read(project.join("repository").join(dir).join("timestamp.json")).unwrap(),
    )
    .unwrap();
    ts["signed"]["meta"]["snapshot.json"]["version"]
        .as_u64()
        .unwrap()
}

#[test]
fn a_repository_published_to_s3_is_what_our_client_and_python_tuf_update_from() {
    let sw = Seaweed::start("repo");
    let f = project();
    f.release_of(APP, "1.0.0", "beta");
    let report = publish(&f.pack, &f.project, &sw, PREFIX);

    // Every file of the repository, with its bytes, and nothing else.
    let local = local_files(&f.project);
    assert_eq!(bucket_files(&sw, PREFIX), local);
    assert_eq!(report.count, local.len(), "{}", report.text);
    assert_eq!(report.copied.len(), local.len(), "{}", report.text);
    assert_eq!(report.already, 0, "{}", report.text);
    let sizes: u64 = local.keys().map(|rel| size_of(&f.project, rel)).sum();
    assert_eq!(report.sent, sizes, "{}", report.text);
    assert!(report.requests >= local.len() as u64, "{}", report.text);
    // Targets first; each repository's timestamp after its snapshot, its roots last.
    let pos = |rel: &str| report.copied.iter().position(|c| c == rel).unwrap();
    let app_dir = format!("apps/{APP}/metadata");
    let snapshot = format!(
        "{app_dir}/{}.snapshot.json",
        snapshot_version(&f.project, &app_dir)
    );
    assert!(report.copied[0].starts_with("targets/"), "{}", report.text);
    assert!(pos(&snapshot) < pos(&format!("{app_dir}/timestamp.json")));
    assert!(pos(&format!("{app_dir}/timestamp.json")) < pos(&format!("{app_dir}/1.root.json")));

    // Our client, from the bucket's web endpoint.
    let base = sw.http_base(PREFIX);
    let released = std::fs::read(artifact_of(&f, "1.0.0")).unwrap();
    let data = tempfile::tempdir().unwrap();
    let updater = app_client(&f, data.path(), "0.9.0", &base);
    assert_eq!(update_to(&updater, "1.0.0"), released);

    // python-tuf, from the same endpoint.
    let work = tempfile::tempdir().unwrap();
    let target = target_path("1.0.0");
    let py = python_client_urls(
        &format!("{base}{app_dir}/"),
        &format!("{base}targets/"),
        work.path(),
        Some(&f.project.join("repository/metadata/1.root.json")),
        &[&target],
        &[&target_path("9.9.9")],
    );
    assert_eq!(
        py["targets"][&target]["download_sha256"],
        sha256_file(&artifact_of(&f, "1.0.0")).as_str()
    );
    assert_eq!(py["targets"][&target]["download_length"], released.len());

    // The caching headers each kind of file was stored with, as the endpoint serves them.
    let target_key = local
        .keys()
        .find(|k| k.starts_with("targets/") && k.ends_with(&format!("{APP}-1.0.0.AppImage")))
        .unwrap()
        .clone();
    for (rel, caching, content_type) in [
        // SeaweedFS stores an `application/octet-stream` as the type of the file's
        // extension (`application/vnd.appimage`): not checked for the target.
        (target_key.as_str(), IMMUTABLE, ""),
        (snapshot.as_str(), IMMUTABLE, "application/json"),
        (
            "apps/demo/metadata/1.targets.json",
            IMMUTABLE,
            "application/json",
        ),
        (
            "apps/demo/metadata/timestamp.json",
            SHORT,
            "application/json",
        ),
        (
            "apps/demo/metadata/1.root.json",
            REVALIDATE,
            "application/json",
        ),
        ("metadata/1.root.json", REVALIDATE, "application/json"),
        ("metadata/timestamp.json", SHORT, "application/json"),
    ] {
        let r = sw.get(PREFIX, rel);
        assert_eq!(r.status, 200, "{rel}");
        assert_eq!(r.header("cache-control").as_deref(), Some(caching), "{rel}");
        if !content_type.is_empty() {
            assert_eq!(
                r.header("content-type").as_deref(),
                Some(content_type),
                "{rel}"
            );
        }
    }
}

#[test]
fn a_second_release_uploads_only_what_changed_and_publishing_again_uploads_nothing() {
    let sw = Seaweed::start("repo");
    let f = project();
    f.release_of(APP, "1.0.0", "beta");
    publish(&f.pack, &f.project, &sw, PREFIX);
    let before = local_files(&f.project);

    f.release_of(APP, "1.1.0", "beta");
    let after = local_files(&f.project);
    let changed: BTreeSet<String> = after
        .iter()
        .filter(|(rel, sha)| before.get(*rel) != Some(*sha))
        .map(|(rel, _)| rel.clone())
        .collect();
    // The new artifact, the app's new head and snapshot, its timestamp.
    assert!(
        changed.contains("apps/demo/metadata/timestamp.json"),
        "{changed:?}"
    );
    assert!(
        changed
            .iter()
            .any(|c| c.starts_with("targets/") && c.ends_with("demo-1.1.0.AppImage")),
        "{changed:?}"
    );
    let report = publish(&f.pack, &f.project, &sw, PREFIX);
    let copied: BTreeSet<String> = report.copied.iter().cloned().collect();
    assert_eq!(copied, changed, "{}", report.text);
    assert_eq!(report.count, changed.len(), "{}", report.text);
    assert_eq!(report.copied.len(), changed.len(), "{}", report.text);
    assert_eq!(
        report.already,
        after.len() - changed.len(),
        "{}",
        report.text
    );
    for c in &report.copied {
        assert!(
            !before.contains_key(c) || c.ends_with("/timestamp.json"),
            "{c} was published before and does not change: {}",
            report.text
        );
    }
    let sizes: u64 = changed.iter().map(|rel| size_of(&f.project, rel)).sum();
    assert_eq!(report.sent, sizes, "{}", report.text);
    assert_eq!(bucket_files(&sw, PREFIX), after);

    // Right after, nothing to upload: no object is written again.
    let objects = sw.contents(PREFIX);
    let again = publish(&f.pack, &f.project, &sw, PREFIX);
    assert_eq!(again.count, 0, "{}", again.text);
    assert!(again.copied.is_empty(), "{}", again.text);
    assert_eq!(again.already, after.len(), "{}", again.text);
    assert_eq!(again.sent, 0, "{}", again.text);
    assert_eq!(sw.contents(PREFIX), objects);

    let data = tempfile::tempdir().unwrap();
    let updater = app_client(&f, data.path(), "1.0.0", &sw.http_base(PREFIX));
    assert_eq!(
        update_to(&updater, "1.1.0"),
        std::fs::read(artifact_of(&f, "1.1.0")).unwrap()
    );
}

#[test]
fn a_stale_copy_is_refused_before_any_upload_and_clients_keep_the_newer_release() {
    let sw = Seaweed::start("repo");
    let f = project();
    f.release_of(APP, "1.0.0", "beta");
    publish(&f.pack, &f.project, &sw, PREFIX);
    let copy = f.tmp.path().join("copy");
    let status = Command::new("cp")
        .args(["-r", f.p(), copy.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());

    // The first publisher releases and publishes.
    f.release_of(APP, "1.1.0", "beta");
    publish(&f.pack, &f.project, &sw, PREFIX);

    // The copy releases something else, from the state before: refused, nothing written.
    let other = f.artifact("other-1.2.0.AppImage", 4096);
    f.pack.ok(&[
        "release",
        copy.to_str().unwrap(),
        "--app",
        APP,
        "--version",
        "1.2.0",
        "--platform",
        "linux-x86_64",
        "--channel",
        "beta",
        other.to_str().unwrap(),
    ]);
    let objects = sw.contents(PREFIX);
    let listing = sw.list(PREFIX);
    let copy_before = tree(&copy);
    let out = run_with(
        &f.pack,
        &sw.env(),
        &["publish", copy.to_str().unwrap(), &sw.s3_url(PREFIX)],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(STALE), "{stderr}");
    assert!(stderr.contains("nothing was uploaded"), "{stderr}");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("Copied"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(sw.list(PREFIX), listing);
    assert_eq!(sw.contents(PREFIX), objects);
    assert_eq!(tree(&copy), copy_before);

    // A client sees the first publisher's release, never the copy's.
    let data = tempfile::tempdir().unwrap();
    let updater = app_client(&f, data.path(), "0.9.0", &sw.http_base(PREFIX));
    assert_eq!(
        update_to(&updater, "1.1.0"),
        std::fs::read(artifact_of(&f, "1.1.0")).unwrap()
    );
}

/// A small seeded generator (xorshift64*): the same delays on every run.
struct Rng(u64);

impl Rng {
    fn next_fraction(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `targets/DIR/SHA256.NAME`: where a consistent snapshot keeps the target `path`.
fn hashed_target(path: &str, sha256: &str) -> String {
    let (dir, name) = path.rsplit_once('/').unwrap();
    format!("targets/{dir}/{sha256}.{name}")
}

/// Reads the bucket as a client would: each repository's `timestamp.json`, if there is one,
/// names a snapshot that is there; each role that snapshot lists is there at its version;
/// each target those roles list is there with the signed length. The number of targets
/// reachable.
fn assert_consistent(sw: &Seaweed, prefix: &str, when: &str) -> usize {
    let listing = sw.list(prefix);
    let json = |rel: &str| -> Value {
        let r = sw.get(prefix, rel);
        assert_eq!(
            r.status,
            200,
            "{when}: {rel} is missing; bucket: {:?}",
            listing.keys()
        );
        serde_json::from_slice(&r.body).unwrap()
    };
    let mut targets = 0;
    for dir in ["metadata".to_string(), format!("apps/{APP}/metadata")] {
        if !listing.contains_key(&format!("{dir}/timestamp.json")) {
            continue;
        }
        let timestamp = json(&format!("{dir}/timestamp.json"));
        let version = timestamp["signed"]["meta"]["snapshot.json"]["version"]
            .as_u64()
            .unwrap();
        let snapshot = json(&format!("{dir}/{version}.snapshot.json"));
        assert_eq!(snapshot["signed"]["version"], version, "{when}");
        for (file, entry) in snapshot["signed"]["meta"].as_object().unwrap() {
            let role = file.strip_suffix(".json").unwrap();
            let version = entry["version"].as_u64().unwrap();
            let metadata = json(&format!("{dir}/{version}.{role}.json"));
            assert_eq!(metadata["signed"]["version"], version, "{when}: {role}");
            for (path, target) in metadata["signed"]["targets"].as_object().unwrap() {
                let key = hashed_target(path, target["hashes"]["sha256"].as_str().unwrap());
                assert_eq!(
                    listing.get(&key).map(|l| l.size),
                    Some(target["length"].as_u64().unwrap()),
                    "{when}: {role} version {version} lists {path}, {key} is not there whole"
                );
                targets += 1;
            }
        }
    }
    targets
}

#[test]
fn a_publish_killed_at_any_moment_leaves_the_bucket_consistent_for_clients() {
    let sw = Seaweed::start("repo");
    let f = project();
    let mut versions: Vec<String> = (0..3).map(|m| format!("1.{m}.0")).collect();
    for v in &versions {
        f.release_of(APP, v, "beta");
    }
    let dest = sw.s3_url(PREFIX);
    let data = tempfile::tempdir().unwrap();
    let updater = app_client(&f, data.path(), "0.9.0", &sw.http_base(PREFIX));
    let mut rng = Rng(0x5EED_2026_0BAD_F00D);
    let (mut killed, mut cut) = (0, 0);
    // Ten runs at least; more (up to 40) until three were cut after some uploads (most
    // of a run's time is spent before its first upload).
    let mut round = 0;
    while round < 10 || (cut < 3 && round < 40) {
        if round > 0 {
            // More to publish each time: a new release on top of what is left.
            let v = format!("1.{}.0", versions.len());
            f.release_of(APP, &v, "beta");
            versions.push(v);
        }
        // How long publishing this takes, timed on another prefix holding what the live one
        // held last round (the first round: a full publish of three releases).
        let started = Instant::now();
        publish(&f.pack, &f.project, &sw, "probe");
        let full = started.elapsed();
        let delay = full.mul_f64(rng.next_fraction());
        let before = sw.list(PREFIX);
        let mut cmd = f.pack.command(&["publish", f.p(), &dest]);
        Seaweed::apply(&mut cmd, &sw.env());
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let status = child.wait().unwrap();
        let after = sw.list(PREFIX);
        if !status.success() {
            killed += 1;
            cut += usize::from(after != before);
        }
        let when = format!(
            "round {round}, killed after {delay:?} of {full:?} ({status}), {} new object(s)",
            after.len() - before.len()
        );
        eprintln!("{when}");
        round += 1;
        assert_consistent(&sw, PREFIX, &when);
        // An app checking now gets a verified answer (once there is a repository at all).
        if after.contains_key("apps/demo/metadata/timestamp.json") {
            let result = block_on(updater.check());
            assert!(
                matches!(
                    result,
                    Ok(CheckResult::Available(_) | CheckResult::UpToDate { .. })
                ),
                "{when}: {result:?}"
            );
        }
    }
    eprintln!("{killed} of {round} publishes killed, {cut} of them after some uploads");
    assert!(cut >= 1, "no publish was killed after its first upload");

    // Then a publish to the end, and everything is there.
    publish(&f.pack, &f.project, &sw, PREFIX);
    let reachable = assert_consistent(&sw, PREFIX, "after the full publish");
    assert_eq!(reachable, versions.len());
    assert_eq!(bucket_files(&sw, PREFIX), local_files(&f.project));
    f.verify();
    let newest = versions.last().unwrap();
    assert_eq!(
        update_to(&updater, newest),
        std::fs::read(artifact_of(&f, newest)).unwrap()
    );
}

/// `publish` to `dest` fails with exit status 1 in bounded time, saying `expected`, and
/// leaves the project as it was.
fn fails_fast(f: &Fixture, env: &[(String, String)], dest: &str, expected: &str) {
    assert_unchanged(&f.project, expected, || {
        let started = Instant::now();
        let out = run_with(&f.pack, env, &["publish", f.p(), dest]);
        let took = started.elapsed();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(1), "{dest}: {stderr}");
        assert!(took < Duration::from_secs(30), "{dest}: {took:?}: {stderr}");
        stderr
    });
}

#[test]
fn bad_destinations_fail_fast_with_what_to_check_and_change_nothing() {
    let f = project();
    f.release_of(APP, "1.0.0", "beta");

    // A wrong secret: refused, nothing written; the right one publishes.
    let guarded = Seaweed::start_with_identities("repo", &[("publisher", "right-secret")]);
    fails_fast(
        &f,
        &guarded.env_with_keys("publisher", "wrong-secret"),
        &guarded.s3_url(PREFIX),
        "credentials were refused",
    );
    fails_fast(
        &f,
        &guarded.env_with_keys("nobody", "right-secret"),
        &guarded.s3_url(PREFIX),
        "credentials were refused",
    );
    assert!(guarded.list(PREFIX).is_empty());
    publish(&f.pack, &f.project, &guarded, PREFIX);
    assert_eq!(bucket_files(&guarded, PREFIX), local_files(&f.project));
    drop(guarded);

    // A bucket that does not exist (and is not made by the attempt).
    let mut sw = Seaweed::start("repo");
    fails_fast(
        &f,
        &sw.env(),
        "s3://nosuchbucket/x",
        "the bucket does not exist",
    );
    let r = common::seaweed::get(&format!("{}/nosuchbucket/", sw.endpoint()));
    assert!(r.text().contains("NoSuchBucket"), "{}", r.text());
    assert!(sw.list("x").is_empty());

    // A server that is down.
    let dest = sw.s3_url(PREFIX);
    let env = sw.env();
    sw.stop();
    fails_fast(&f, &env, &dest, "could not be reached");
}
