#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! Issue 12's promise to installs made before the per-app layout: after `updater-pack
//! migrate`, the `selfupdate` example built from the commit before that change (its client
//! reads only `<base>/metadata/`) still finds and installs a release published after the
//! migration, and the same app built from today's code finds it in its own repository
//! (`<base>/apps/selfupdate/metadata/`). With `migrate --no-shared-releases` the old client
//! sees nothing published after the migration.
//!
//! The old build: the tree of [`OLD_COMMIT`] (`git archive`) is built in the workspace's
//! target directory (the dependencies are reused; its updater-core, file-trust and the example
//! compile), under the lock of the other self-update builds, and kept under a fingerprint
//! of the commit and the embedded root, so that a second run builds nothing. The test FAILS
//! when git or the commit is not available (a shallow clone): it does not skip.
#![cfg(unix)]

mod selfupdate_support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

use selfupdate_support::*;

/// The last commit before the per-app layout (issue 12): what installs in the field run.
const OLD_COMMIT: &str = "4c4da95706f0a8b8bd88eea74f7e12a64bbfb617";

/// Releases between 1.0.0 and 1.1.0 on stable: with 1.1.0 and 1.2.0, more than a head
/// holds (16), so that 1.0.0 and the oldest of them are in the segment's archive.
const FILLERS: u32 = 17;

fn sha256_hex(parts: &[&[u8]]) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part);
    }
    hex::encode(hash.finalize())
}

/// The commit's tree as it is in this clone's history; panics saying how to get it.
fn old_commit_tree(dest: &Path) {
    let ws = workspace();
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(&ws)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "git is needed to build the client of commit {OLD_COMMIT} (the one before \
                     the per-app layout) for this test, and cannot run: {e}"
                )
            })
    };
    let found = git(&["cat-file", "-e", &format!("{OLD_COMMIT}^{{commit}}")]);
    assert!(
        found.status.success(),
        "commit {OLD_COMMIT} (the one before the per-app layout, whose client this test runs) \
         is not in the git history of {} (a shallow clone? `git fetch --unshallow`): {}",
        ws.display(),
        String::from_utf8_lossy(&found.stderr)
    );
    let archive = git(&["archive", "--format=tar", OLD_COMMIT]);
    assert!(
        archive.status.success(),
        "git archive {OLD_COMMIT} failed: {}",
        String::from_utf8_lossy(&archive.stderr)
    );
    let _ = fs::remove_dir_all(dest);
    fs::create_dir_all(dest).unwrap();
    tar::Archive::new(archive.stdout.as_slice())
        .unpack(dest)
        .unwrap_or_else(|e| panic!("unpacking {OLD_COMMIT} into {}: {e}", dest.display()));
}

/// The workspace packages the old build compiles.
const OWN_BUILDS: [&str; 2] = ["updater-core", "file-trust"];

/// Build metadata added to the versions of [`OWN_BUILDS`] in the old tree, naming the
/// commit. Cargo names a workspace package's build by its path relative to the workspace
/// root, the same in both trees: without another version, the old build and today's (or
/// another commit's) would share one output, and cargo, comparing modification times
/// (`git archive` gives the commit's), would take either tree's build for the other's.
fn old_mark() -> String {
    format!("+old.{}", &OLD_COMMIT[..12])
}

/// Adds [`old_mark`] to the version of `package` in the old tree: its manifest and the
/// lock file (so that `--locked` still holds).
fn mark_version(src: &Path, package: &str) {
    let edit = |path: &Path, anchor: &str| {
        let text = fs::read_to_string(path).unwrap();
        let at = text
            .find(anchor)
            .unwrap_or_else(|| panic!("{anchor:?} not in {}", path.display()));
        let version = at + anchor.len();
        let end = version + text[version..].find('"').unwrap();
        let mut out = text[..end].to_string();
        out.push_str(&old_mark());
        out.push_str(&text[end..]);
        fs::write(path, out).unwrap();
    };
    let anchor = format!("name = \"{package}\"\nversion = \"");
    edit(&src.join(package).join("Cargo.toml"), &anchor);
    edit(&src.join("Cargo.lock"), &anchor);
}

/// `selfupdate` 1.0.0 and 1.1.0 built from [`OLD_COMMIT`], embedding the template's root.
struct OldBins {
    v1_0_0: PathBuf,
    v1_1_0: PathBuf,
}

fn old_bins() -> &'static OldBins {
    static OLD: OnceLock<OldBins> = OnceLock::new();
    OLD.get_or_init(|| {
        let tools = tools();
        with_lock(&e2e_dir(), || make_old_bins(&tools.root))
    })
}

fn make_old_bins(root: &Path) -> OldBins {
    let key = sha256_hex(&[
        OLD_COMMIT.as_bytes(),
        old_mark().as_bytes(),
        &fs::read(root).unwrap(),
    ]);
    let out = e2e_dir().join(format!("bins-old-{}-{}", &OLD_COMMIT[..12], &key[..16]));
    let bins = OldBins {
        v1_0_0: out.join("selfupdate-1.0.0"),
        v1_1_0: out.join("selfupdate-1.1.0"),
    };
    if out.is_dir() {
        return bins;
    }
    // The tree is kept (a marker once complete): the next build of it, for another root,
    // compiles the example only.
    let src = e2e_dir().join(format!("old-src-{OLD_COMMIT}"));
    let complete = src.join(".unpacked");
    let done = format!("{OLD_COMMIT}{}", old_mark());
    if fs::read_to_string(&complete).ok().as_deref() != Some(done.as_str()) {
        old_commit_tree(&src);
        for package in OWN_BUILDS {
            mark_version(&src, package);
        }
        fs::write(&complete, &done).unwrap();
    }
    let target = target_dir();
    let tmp = e2e_dir().join("bins-old-tmp");
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).unwrap();
    for (dest, version) in [(&bins.v1_0_0, "1.0.0"), (&bins.v1_1_0, "1.1.0")] {
        let started = Instant::now();
        run_ok(
            cargo_build()
                .current_dir(&src)
                .args([
                    "-p",
                    "updater-core",
                    "--example",
                    APP,
                    "--features",
                    "fault-injection",
                ])
                .arg("--target-dir")
                .arg(&target)
                .env("SELFUPDATE_VERSION", version)
                .env("SELFUPDATE_ROOT", root)
                .env_remove("SELFUPDATE_NO_CONFIRM"),
        );
        eprintln!(
            "built selfupdate {version} of {} in {:.1?}",
            &OLD_COMMIT[..8],
            started.elapsed()
        );
        // At once, under the lock: the next build of the example replaces it.
        let dest = tmp.join(dest.file_name().unwrap());
        fs::copy(target.join("debug/examples").join(APP), &dest).unwrap();
        let _ = Command::new("strip").arg(&dest).output();
        let printed = run_ok(Command::new(&dest).arg("--version"));
        assert_eq!(
            String::from_utf8_lossy(&printed.stdout).trim(),
            format!("{APP} {version}")
        );
    }
    fs::rename(&tmp, &out).unwrap();
    bins
}

/// `selfupdate` 1.2.0 built from today's code: the release published after the migration.
fn new_v1_2_0() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let tools = tools();
        with_lock(&e2e_dir(), || {
            let key = sources_fingerprint(&tools.root);
            let out = e2e_dir().join(format!("bins-{}-1.2.0", &key[..16]));
            let bin = out.join("selfupdate-1.2.0");
            if out.is_dir() {
                return bin;
            }
            let target = target_dir();
            run_ok(
                cargo_build()
                    .args([
                        "-p",
                        "tuf-updater-core",
                        "--example",
                        APP,
                        "--features",
                        "fault-injection",
                    ])
                    .arg("--target-dir")
                    .arg(&target)
                    .env("SELFUPDATE_VERSION", "1.2.0")
                    .env("SELFUPDATE_ROOT", &tools.root)
                    .env_remove("SELFUPDATE_NO_CONFIRM"),
            );
            let tmp = e2e_dir().join("bins-1.2.0-tmp");
            let _ = fs::remove_dir_all(&tmp);
            fs::create_dir_all(&tmp).unwrap();
            let dest = tmp.join(bin.file_name().unwrap());
            fs::copy(target.join("debug/examples").join(APP), &dest).unwrap();
            let _ = Command::new("strip").arg(&dest).output();
            let printed = run_ok(Command::new(&dest).arg("--version"));
            assert_eq!(
                String::from_utf8_lossy(&printed.stdout).trim(),
                format!("{APP} 1.2.0")
            );
            fs::rename(&tmp, &out).unwrap();
            bin
        })
    })
}

/// A small file that `release` takes for an executable of this machine (the head of a real
/// build), distinct per `tag`: the releases no test installs.
fn filler(dir: &Path, tag: &str) -> PathBuf {
    let mut data = fs::read(&bins().v1_0_0).unwrap();
    data.truncate(4096);
    data.extend_from_slice(tag.as_bytes());
    let path = dir.join(format!("filler-{tag}"));
    fs::write(&path, data).unwrap();
    path
}

/// The template project, switched to the `channel` layout of projects made before issue 12.
fn channel_layout_repo() -> Repo {
    let repo = Repo::new();
    let config = repo.proj.join("updater-pack.json");
    let mut settings: serde_json::Value =
        serde_json::from_slice(&fs::read(&config).unwrap()).unwrap();
    settings["layout"] = "channel".into();
    fs::write(&config, serde_json::to_vec_pretty(&settings).unwrap()).unwrap();
    repo
}

/// `updater-pack promote` of selfupdate `version` from stable to beta.
fn promote(repo: &Repo, version: &str) {
    run_ok(
        Command::new(&tools().pack)
            .arg("promote")
            .arg(&repo.proj)
            .args(["--app", APP, "--version", version])
            .args(["--from", "stable", "--to", "beta"]),
    );
}

/// A channel-layout project with selfupdate 1.0.0 and 1.1.0 (today's builds) on stable and
/// beta, 1.0.1 to 1.0.17 on stable and another app on beta; migrated (`--no-shared-releases`
/// unless `shared`); then 1.2.0 (today's build) released on stable.
fn migrated(shared: bool) -> Repo {
    let bins = bins();
    let v1_2_0 = new_v1_2_0();
    let repo = channel_layout_repo();
    let no_patches: &[&str] = &["--deltas", "0"];
    repo.release(&bins.v1_0_0, "1.0.0", "stable", no_patches);
    promote(&repo, "1.0.0");
    let work = repo.proj.parent().unwrap().to_path_buf();
    for i in 1..=FILLERS {
        let version = format!("1.0.{i}");
        repo.release(&filler(&work, &version), &version, "stable", no_patches);
    }
    repo.release(&bins.v1_1_0, "1.1.0", "stable", no_patches);
    promote(&repo, "1.1.0");
    repo.release_app(
        "companion",
        &filler(&work, "companion"),
        "2.0.0",
        "beta",
        no_patches,
    );
    let mut migrate = Command::new(&tools().pack);
    migrate.arg("migrate").arg(&repo.proj);
    if !shared {
        migrate.arg("--no-shared-releases");
    }
    run_ok(&mut migrate);
    let apps = repo.repository().join("apps");
    assert!(apps.join("selfupdate/metadata/timestamp.json").is_file());
    assert!(apps.join("companion/metadata/timestamp.json").is_file());
    // 1.0.0 is in the archive of its segment, 1.2.0 will be in the head.
    let archive = fs::read_dir(apps.join("selfupdate/metadata"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("1.stable.") && n.ends_with(".archive.json"))
        .unwrap_or_else(|| panic!("no archive role of stable in {}", apps.display()));
    let listed = fs::read_to_string(apps.join("selfupdate/metadata").join(&archive)).unwrap();
    assert!(listed.contains("stable/selfupdate/1.0.0/"), "{archive}");
    // Today's default: 1.2.0 goes to the app's repository, and to the shared one if `shared`.
    // With the patch from 1.1.0 only (each patch of a debug updater-pack takes seconds).
    repo.release(v1_2_0, "1.2.0", "stable", &["--deltas", "1"]);
    repo
}

/// The requests a logged server answered after the first `from` lines of its log.
fn requests(log: &Path, from: usize) -> Vec<String> {
    fs::read_to_string(log)
        .unwrap()
        .lines()
        .skip(from)
        .map(str::to_string)
        .collect()
}

#[test]
fn after_migration_old_and_new_clients_install_the_release_published_since() {
    let old = old_bins();
    let bins = bins();
    let repo = migrated(true);
    let log = repo.proj.parent().unwrap().join("requests.log");
    let server = repo.serve_logged(&log);
    let published = sha256(&repo.stored_target("stable", "1.2.0"));

    // An install built before the per-app layout: it reads <base>/metadata/ only.
    let app = App::install(&old.v1_0_0);
    assert_eq!(app.version(), "1.0.0");
    let run = app.update(&server.url);
    run.assert_ok()
        .assert_stdout("update available: selfupdate 1.2.0 (channel stable")
        .assert_stdout("installed selfupdate 1.2.0 (was 1.0.0); restarting")
        // The restarted process is today's 1.2.0: it confirms, and finds nothing newer.
        .assert_stdout("selfupdate 1.2.0: update confirmed")
        .assert_stdout("selfupdate 1.2.0 is up to date (channel stable)");
    assert_eq!(app.version(), "1.2.0");
    assert_eq!(sha256(&app.exe), published);
    app.assert_clean();
    // The old client read the shared repository only (it knows no other); the restarted
    // 1.2.0, today's build, reads the app's own one after the download.
    let seen = requests(&log, 0);
    let download = seen
        .iter()
        .position(|l| l.starts_with("200 /targets/stable/selfupdate/1.2.0/"))
        .unwrap_or_else(|| panic!("1.2.0 not downloaded: {seen:#?}"));
    assert!(
        seen[..download]
            .iter()
            .any(|l| l.starts_with("200 /metadata/timestamp.json ")),
        "{seen:#?}"
    );
    assert!(
        !seen[..download].iter().any(|l| l.contains(" /apps/")),
        "the build of {OLD_COMMIT} asked for a per-app repository: not the old client? \
         {seen:#?}"
    );

    // Today's client, installed as 1.0.0: the app's own repository.
    let from = requests(&log, 0).len();
    let app = App::install(&bins.v1_0_0);
    let run = app.update(&server.url);
    run.assert_ok()
        .assert_stdout("update available: selfupdate 1.2.0 (channel stable")
        .assert_stdout("installed selfupdate 1.2.0 (was 1.0.0); restarting")
        .assert_stdout("selfupdate 1.2.0 is up to date (channel stable)");
    assert_eq!(app.version(), "1.2.0");
    assert_eq!(sha256(&app.exe), published);
    app.assert_clean();
    let seen = requests(&log, from);
    for wanted in [
        "200 /apps/selfupdate/metadata/timestamp.json ",
        "200 /apps/selfupdate/metadata/",
        "200 /targets/stable/selfupdate/1.2.0/",
    ] {
        assert!(
            seen.iter().any(|l| l.starts_with(wanted)),
            "{wanted:?} not requested: {seen:#?}"
        );
    }
    assert!(
        !seen.iter().any(|l| l.starts_with("200 /metadata/")),
        "today's client read the shared repository although the app has its own: {seen:#?}"
    );
}

#[test]
fn without_shared_releases_the_old_client_sees_nothing_published_after_migration() {
    let old = old_bins();
    let repo = migrated(false);
    let server = repo.serve();
    // The old 1.1.0 (the newest release of the shared repository, frozen by the migration)
    // finds nothing newer: 1.2.0 is in the app's own repository only.
    let app = App::install(&old.v1_1_0);
    app.update(&server.url)
        .assert_ok()
        .assert_stdout("selfupdate 1.1.0 is up to date (channel stable)");
    assert_eq!(app.version(), "1.1.0");
    // The old 1.0.0 takes 1.1.0, never 1.2.0; the restarted 1.1.0 is today's build, which
    // reads the app's repository and goes on to 1.2.0.
    let app = App::install(&old.v1_0_0);
    app.update(&server.url)
        .assert_ok()
        .assert_stdout("installed selfupdate 1.1.0 (was 1.0.0); restarting")
        .assert_stdout("patched 1.1.0 to 1.2.0 with a")
        .assert_stdout("installed selfupdate 1.2.0 (was 1.1.0); restarting")
        .assert_stdout("selfupdate 1.2.0 is up to date (channel stable)");
    assert_eq!(app.version(), "1.2.0");
}
