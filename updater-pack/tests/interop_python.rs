//! Interoperability with the reference client: python-tuf's `tuf.ngclient.Updater`
//! (`tuf==7.0.1`, installed by CI from `.ci/requirements.txt`) refreshes from a repository
//! that `updater-pack` made and serves, finds and downloads releases through the channel
//! delegations, and follows a root rotation. After `migrate` (issue 12) it downloads every
//! release and patch from each app's own repository, through the heads and archives, and
//! from the project repository that installs made before the change read; and it reads a
//! project of the per-app layout (the default of `init`).
//!
//! This test FAILS, it does not skip, when python3 or python-tuf is missing. Set `PYTHON`
//! to use another interpreter.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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

/// Roles by name with their number of targets; targets by path.
type Listed = (BTreeMap<String, usize>, BTreeMap<String, (u64, String)>);

/// The latest version of every role of the repository in `metadata_dir` (as a client would
/// find them from `timestamp.json`) with how many targets each lists, and every target
/// they list: path -> (length, sha256).
fn listed_targets(metadata_dir: &Path) -> Listed {
    let read = |file: &str| -> serde_json::Value {
        let path = metadata_dir.join(file);
        serde_json::from_slice(&std::fs::read(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let timestamp = read("timestamp.json");
    let snapshot_version = timestamp["signed"]["meta"]["snapshot.json"]["version"]
        .as_u64()
        .unwrap();
    let snapshot = read(&format!("{snapshot_version}.snapshot.json"));
    let mut roles = BTreeMap::new();
    let mut targets = BTreeMap::new();
    for (file, meta) in snapshot["signed"]["meta"].as_object().unwrap() {
        let role = file.strip_suffix(".json").unwrap();
        let version = meta["version"].as_u64().unwrap();
        let signed = &read(&format!("{version}.{role}.json"))["signed"];
        for (path, t) in signed["targets"].as_object().unwrap() {
            let entry = (
                t["length"].as_u64().unwrap(),
                t["hashes"]["sha256"].as_str().unwrap().to_string(),
            );
            // A path listed by two roles (never, as published) must say the same.
            if let Some(before) = targets.insert(path.clone(), entry.clone()) {
                assert_eq!(before, entry, "{path} listed twice, differently");
            }
        }
        roles.insert(
            role.to_string(),
            signed["targets"].as_object().unwrap().len(),
        );
    }
    (roles, targets)
}

/// Releases as `updater-pack release` takes them, remembering each artifact by
/// `(app, version, file name)`.
struct Releases<'a> {
    f: &'a Fixture,
    artifacts: BTreeMap<(String, String, String), PathBuf>,
}

impl<'a> Releases<'a> {
    fn new(f: &'a Fixture) -> Self {
        Releases {
            f,
            artifacts: BTreeMap::new(),
        }
    }

    fn release(&mut self, app: &str, version: &str, platform: &str, channel: &str, file: PathBuf) {
        self.f.pack.ok(&[
            "release",
            self.f.p(),
            "--app",
            app,
            "--version",
            version,
            "--platform",
            platform,
            "--channel",
            channel,
            file.to_str().unwrap(),
        ]);
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        self.artifacts
            .insert((app.to_string(), version.to_string(), name), file);
    }

    /// A 20 kB file of `app` for `platform` that differs from the other versions' in a few
    /// bytes only, so that `release` publishes patches between them.
    fn similar(&self, app: &str, version: &str, platform: &str) -> PathBuf {
        let base = artifact(self.f.tmp.path(), &format!("{app}-{platform}.base"), 20_000);
        let mut data = std::fs::read(base).unwrap();
        data[10_000..10_000 + version.len()].copy_from_slice(version.as_bytes());
        let path = self
            .f
            .tmp
            .path()
            .join(format!("{app}-{version}-{platform}.bin"));
        std::fs::write(&path, data).unwrap();
        path
    }

    /// The artifact a release target was published from; `None` for a patch.
    fn artifact_of(&self, path: &str) -> Option<&PathBuf> {
        if path.contains(".from-") {
            return None;
        }
        // <channel>/<app>/<version>/<segment>/<name>
        let parts: Vec<&str> = path.split('/').collect();
        assert_eq!(parts.len(), 5, "{path}");
        let key = (
            parts[1].to_string(),
            parts[2].to_string(),
            parts[4].to_string(),
        );
        Some(
            self.artifacts
                .get(&key)
                .unwrap_or_else(|| panic!("{path}: no such release was made")),
        )
    }

    /// python-tuf downloads every target of `listed` from the repository at
    /// `<base>/<repository>metadata/`, trusting `root`; each is the listed bytes and, for a
    /// release, the artifact's.
    fn python_gets_all(
        &self,
        served: &Served,
        repository: &str,
        root: &Path,
        listed: &BTreeMap<String, (u64, String)>,
        absent: &[&str],
    ) {
        let work = tempfile::tempdir().unwrap();
        let get: Vec<&str> = listed.keys().map(String::as_str).collect();
        let report = python_client_at(
            &format!("{}{repository}metadata/", served.url),
            served,
            work.path(),
            Some(root),
            &get,
            absent,
        );
        assert_eq!(report["targets"].as_object().unwrap().len(), listed.len());
        for (path, (length, sha256)) in listed {
            let t = &report["targets"][path.as_str()];
            assert_eq!(
                t["download_sha256"],
                sha256.as_str(),
                "{repository}: {path}"
            );
            assert_eq!(t["download_length"], *length, "{repository}: {path}");
            if let Some(file) = self.artifact_of(path) {
                assert_eq!(t["download_sha256"], sha256_file(file).as_str(), "{path}");
            }
        }
    }
}

/// The apps with a repository of their own in `project`.
fn app_repositories(project: &Path) -> Vec<String> {
    let mut apps: Vec<String> = std::fs::read_dir(project.join("repository/apps"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    apps.sort();
    apps
}

/// Asserts that each app's repository starts from the project's root: the one an install
/// embeds.
fn assert_same_root(project: &Path, app: &str) -> PathBuf {
    let root = project.join("repository/metadata/1.root.json");
    let app_root = project.join(format!("repository/apps/{app}/metadata/1.root.json"));
    assert_eq!(
        std::fs::read(&app_root).unwrap(),
        std::fs::read(&root).unwrap(),
        "{app}"
    );
    app_root
}

#[test]
fn python_tuf_downloads_every_release_of_a_migrated_project() {
    let pack = Pack::default();
    let f = Fixture::new(pack, &[]);
    let mut r = Releases::new(&f);
    // demo: 19 versions for linux on beta (more than a head holds), with patches between
    // them; two for macOS; one promoted to stable. tool: an AppImage and a Windows file.
    for i in 0..19 {
        let version = format!("1.0.{i}");
        let file = r.similar("demo", &version, "linux-x86_64");
        r.release("demo", &version, "linux-x86_64", "beta", file);
    }
    for version in ["1.0.0", "1.0.1"] {
        let file = f.artifact(&format!("demo-{version}.app.bin"), 5_000);
        r.release("demo", version, "darwin-aarch64", "beta", file);
    }
    f.pack.ok(&f.promote_args("1.0.5", "beta", "stable"));
    let appimage = format_artifact(f.tmp.path(), "tool-2.0.0.AppImage", "appimage", "2.0.0");
    r.release("tool", "2.0.0", "linux-x86_64", "stable", appimage);
    let win = f.artifact("tool-2.0.0-win.bin", 3_000);
    r.release("tool", "2.0.0", "windows-x86_64", "stable", win);
    let (_, before) = listed_targets(&f.project.join("repository/metadata"));

    f.pack.ok(&["migrate", f.p()]);
    assert_eq!(app_repositories(&f.project), ["demo", "tool"]);
    // Releases after the migration: in the apps' repositories and, as shared_releases is
    // on, in the project repository too.
    let file = r.similar("demo", "1.1.0", "linux-x86_64");
    r.release("demo", "1.1.0", "linux-x86_64", "beta", file);
    let win = f.artifact("tool-2.1.0-win.bin", 3_000);
    r.release("tool", "2.1.0", "windows-x86_64", "stable", win);

    let served = Served::start(&f.project);
    let mut per_app = BTreeMap::new();
    for app in app_repositories(&f.project) {
        let root = assert_same_root(&f.project, &app);
        let (roles, listed) =
            listed_targets(&f.project.join(format!("repository/apps/{app}/metadata")));
        assert!(
            listed
                .keys()
                .all(|p| p.split('/').nth(1) == Some(app.as_str())),
            "{app}: {listed:#?}"
        );
        if app == "demo" {
            // The heads and archives of the split, the archive in use.
            assert!(roles["beta.linux-x86_64.archive"] > 0, "{roles:?}");
            assert!(roles["beta.linux-x86_64"] > 0, "{roles:?}");
            assert!(listed.keys().any(|p| p.contains(".from-")), "no patch");
        }
        r.python_gets_all(&served, &format!("apps/{app}/"), &root, &listed, &[]);
        per_app.extend(listed);
    }
    // Every release and patch of before the migration kept, each new one added.
    for (path, entry) in &before {
        assert_eq!(per_app.get(path), Some(entry), "{path} lost by migrate");
    }
    for key in r.artifacts.keys() {
        assert!(
            per_app.keys().any(
                |p| r.artifact_of(p).is_some() && p.contains(&format!("/{}/{}/", key.0, key.1))
            ),
            "{key:?} is in no app's repository"
        );
    }

    // 25 artifacts, one of them promoted to a second channel.
    let releases = per_app.keys().filter(|p| !p.contains(".from-")).count();
    assert_eq!(releases, r.artifacts.len() + 1);
    assert_eq!(releases, 26);

    // The project repository, for installs that read it: every release too.
    let (_, shared) = listed_targets(&f.project.join("repository/metadata"));
    assert_eq!(
        shared.keys().collect::<Vec<_>>(),
        per_app.keys().collect::<Vec<_>>()
    );
    let root = f.project.join("repository/metadata/1.root.json");
    r.python_gets_all(&served, "", &root, &shared, &[]);
}

#[test]
fn python_tuf_reads_a_fresh_per_app_project() {
    let pack = Pack::default();
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("proj");
    // The default layout.
    pack.ok(&["init", project.to_str().unwrap()]);
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(project.join("updater-pack.json")).unwrap()).unwrap();
    assert_eq!(config["layout"], "per-app");
    let f = Fixture { tmp, project, pack };
    let mut r = Releases::new(&f);
    for i in 0..18 {
        let version = format!("0.{i}.0");
        let file = r.similar("alpha", &version, "linux-x86_64");
        r.release("alpha", &version, "linux-x86_64", "stable", file);
    }
    let mac = format_artifact(f.tmp.path(), "Alpha.app.tar.gz", "app", "0.17.0");
    r.release("alpha", "0.17.0", "darwin-aarch64", "beta", mac);
    let file = f.artifact("omega-3.0.0.bin", 4_000);
    r.release("omega", "3.0.0", "windows-x86_64", "beta", file);
    assert_eq!(app_repositories(&f.project), ["alpha", "omega"]);

    let served = Served::start(&f.project);
    let mut some_release = String::new();
    for app in app_repositories(&f.project) {
        let root = assert_same_root(&f.project, &app);
        let (roles, listed) =
            listed_targets(&f.project.join(format!("repository/apps/{app}/metadata")));
        if app == "alpha" {
            assert!(roles["stable.linux-x86_64.archive"] > 0, "{roles:?}");
        }
        r.python_gets_all(&served, &format!("apps/{app}/"), &root, &listed, &[]);
        some_release = listed.keys().next().unwrap().clone();
    }
    // The project repository lists no release: installs read the apps' repositories.
    let (_, shared) = listed_targets(&f.project.join("repository/metadata"));
    assert!(shared.is_empty(), "{shared:#?}");
    let root = f.project.join("repository/metadata/1.root.json");
    r.python_gets_all(&served, "", &root, &shared, &[&some_release]);
}
