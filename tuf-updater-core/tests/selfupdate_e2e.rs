//! End to end: the `selfupdate` example, built as real versions 1.0.0 and 1.1.0 that embed
//! the root of a real repository made by `updater-pack`, updates itself over HTTP from
//! `updater-pack serve`. Bad artifacts, policies and install locations leave it as it was;
//! a SIGKILL at each install step, and at random moments, leaves an app that runs as the
//! old or the new version, whose next start resolves the journal, and that can update again.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod selfupdate_support;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::time::{Duration, Instant};

use selfupdate_support::*;
use tuf_updater_core::install::State;

/// A repository with 1.0.0 and 1.1.0 on stable (and the patch between them that
/// `updater-pack release` makes), and the app installed as 1.0.0.
fn published() -> (Repo, Server, App) {
    published_with(&[])
}

/// [`published`], with `extra` flags for the release of 1.1.0.
fn published_with(extra: &[&str]) -> (Repo, Server, App) {
    let bins = bins();
    let repo = Repo::new();
    repo.release(&bins.v1_0_0, "1.0.0", "stable", &[]);
    repo.release(&bins.v1_1_0, "1.1.0", "stable", extra);
    let server = repo.serve();
    let app = App::install(&bins.v1_0_0);
    (repo, server, app)
}

#[test]
fn update_replaces_the_executable_and_the_new_version_confirms_itself() {
    let (repo, server, app) = published();
    assert_eq!(app.version(), "1.0.0");
    let run = app.update(&server.url);
    run.assert_ok()
        .assert_stdout("update available: selfupdate 1.1.0 (channel stable")
        .assert_stdout("installed selfupdate 1.1.0 (was 1.0.0); restarting")
        // Through the patch from 1.0.0, rebuilt into the signed 1.1.0.
        .assert_stdout("patched 1.0.0 to 1.1.0 with a")
        // The restarted process is the new version: it confirms, then finds nothing newer.
        .assert_stdout("selfupdate 1.1.0: update confirmed")
        .assert_stdout("selfupdate 1.1.0 is up to date (channel stable)");
    assert_eq!(app.version(), "1.1.0");
    // Byte for byte the published artifact, executable, and nothing left behind.
    assert_eq!(
        sha256(&app.exe),
        sha256(&repo.stored_target("stable", "1.1.0"))
    );
    app.assert_clean();
    // Once more: nothing newer, nothing changes.
    app.update(&server.url)
        .assert_ok()
        .assert_stdout("selfupdate 1.1.0 is up to date");
    assert_eq!(app.version(), "1.1.0");
}

#[test]
fn another_appimages_variables_inherited_from_the_shell_are_not_trusted() {
    // The app is started from a terminal that is itself an AppImage: APPIMAGE and APPDIR
    // name the terminal's image and mount. The update must replace this app's executable,
    // and never write (or start) the terminal's image.
    let (_repo, server, app) = published();
    let mount = app.root().join("mount_terminal");
    fs::create_dir(&mount).unwrap();
    let terminal = app.root().join("Terminal.AppImage");
    fs::write(&terminal, b"the terminal's own image").unwrap();
    let run = Run::from(output(
        app.update_command(&server.url)
            .env("APPIMAGE", &terminal)
            .env("APPDIR", &mount),
    ));
    run.assert_ok()
        .assert_stdout("installed selfupdate 1.1.0 (was 1.0.0); restarting");
    assert_eq!(app.version(), "1.1.0");
    assert_eq!(fs::read(&terminal).unwrap(), b"the terminal's own image");
}

#[test]
fn nothing_newer_exits_0_with_a_message_and_changes_nothing() {
    let bins = bins();
    let repo = Repo::new();
    repo.release(&bins.v1_0_0, "1.0.0", "stable", &[]);
    let server = repo.serve();
    let app = App::install(&bins.v1_0_0);
    let before = sha256(&app.exe);
    app.update(&server.url)
        .assert_ok()
        .assert_stdout("selfupdate 1.0.0 is up to date (channel stable)");
    assert_eq!(sha256(&app.exe), before);
    assert!(app.journal().is_none());
}

#[test]
fn a_repository_offering_only_a_lower_version_is_no_update() {
    let bins = bins();
    let repo = Repo::new();
    repo.release(&bins.v1_0_0, "1.0.0", "stable", &[]);
    let server = repo.serve();
    let app = App::install(&bins.v1_1_0);
    let before = sha256(&app.exe);
    app.update(&server.url)
        .assert_ok()
        .assert_stdout("selfupdate 1.1.0 is up to date");
    assert_eq!(app.version(), "1.1.0");
    assert_eq!(sha256(&app.exe), before);
}

#[test]
fn a_tampered_truncated_or_oversized_artifact_is_refused_and_the_app_stays() {
    let bins = bins();
    let good = fs::read(&bins.v1_1_0).unwrap();
    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x5a;
    let truncated = good[..good.len() - 1000].to_vec();
    let mut oversized = good.clone();
    oversized.extend_from_slice(&[0u8; 4096]);
    for (what, bytes) in [
        ("tampered", flipped),
        ("truncated", truncated),
        ("oversized", oversized),
    ] {
        // No patch: the full download is the one attacked.
        let (repo, server, app) = published_with(&["--deltas", "0"]);
        fs::write(repo.stored_target("stable", "1.1.0"), &bytes).unwrap();
        let before = sha256(&app.exe);
        let run = app.update(&server.url);
        run.assert_failed()
            .assert_stdout("update available: selfupdate 1.1.0")
            .assert_stderr("error: update repository");
        let refused = run
            .stderr
            .contains("does not match the trusted length or hashes")
            || run.stderr.contains("longer than the limit");
        assert!(refused, "{what}: {run:#?}");
        assert_eq!(app.version(), "1.0.0", "{what}");
        assert_eq!(sha256(&app.exe), before, "{what}");
        assert!(app.journal().is_none(), "{what}");
        // Nothing unverified is kept: no artifact, no partial file.
        assert_eq!(
            App::names(&app.data.join("downloads")),
            Vec::<String>::new(),
            "{what}"
        );
        eprintln!("{what} artifact refused: {}", run.stderr.trim());
    }
}

#[test]
fn a_kill_while_the_patch_is_applied_leaves_the_app_as_it_was_and_the_next_update_works() {
    let (_repo, server, app) = published();
    let before = sha256(&app.exe);
    let out = output(
        app.update_command(&server.url)
            .env("UPDATER_CRASH_AT", "patched"),
    );
    assert_eq!(out.status.signal(), Some(9), "{out:?}");
    // Killed with the patched file half-way to its place: nothing installed or staged.
    assert_eq!(app.version(), "1.0.0");
    assert_eq!(sha256(&app.exe), before);
    assert!(app.journal().is_none());
    assert_eq!(App::names(&app.data.join("patching")).len(), 1);
    // The next run cleans up and updates through the patch.
    app.update(&server.url)
        .assert_ok()
        .assert_stdout("patched 1.0.0 to 1.1.0 with a");
    assert_eq!(app.version(), "1.1.0");
    assert_eq!(App::names(&app.data.join("patching")), Vec::<String>::new());
    app.assert_clean();
}

/// The files of the example as a macOS-style bundle of `version`: its executable in
/// `Contents/MacOS/`, an `Info.plist` and 40 resources of 20 KB, one of which 1.1.0 changes.
fn bundle_files(bin: &std::path::Path, version: &str) -> Vec<(String, Vec<u8>)> {
    let mut files = vec![
        (
            "Contents/MacOS/selfupdate".to_string(),
            fs::read(bin).unwrap(),
        ),
        (
            "Contents/Info.plist".to_string(),
            format!("<plist><string>{version}</string></plist>").into_bytes(),
        ),
    ];
    for i in 0..40 {
        let mut data: Vec<u8> = format!("resource {i} of the app\n")
            .repeat(900)
            .into_bytes();
        data.truncate(20_000);
        if i == 7 && version == "1.1.0" {
            data[5000..5020].copy_from_slice(b"changed in 1.1.0 ...");
        }
        files.push((format!("Contents/Resources/r{i:02}.txt"), data));
    }
    files
}

/// `files` as `Selfupdate.app.tar.gz`, everything under one top directory as tauri makes it.
/// Named `Selfupdate/`, not tauri's `Selfupdate.app/`: these tests run the bundle install on
/// Linux, and `updater-pack release` refuses a macOS `.app` archive for a Linux platform. The
/// installer strips the top directory whatever its name.
fn bundle_archive(
    dir: &std::path::Path,
    files: &[(String, Vec<u8>)],
    version: &str,
) -> std::path::PathBuf {
    let path = dir.join(format!("Selfupdate-{version}.app.tar.gz"));
    let gz = flate2::write::GzEncoder::new(
        fs::File::create(&path).unwrap(),
        flate2::Compression::default(),
    );
    let mut tar = tar::Builder::new(gz);
    for (name, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(if name.contains("MacOS") { 0o755 } else { 0o644 });
        header.set_cksum();
        tar.append_data(&mut header, format!("Selfupdate/{name}"), data.as_slice())
            .unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
    path
}

/// Every file under `dir`, relative path and contents, sorted.
fn tree(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_bundle_updates_through_a_per_file_patch_into_the_exact_new_tree() {
    let bins = bins();
    let work = tempfile::tempdir().unwrap();
    let (old, new) = (
        bundle_files(&bins.v1_0_0, "1.0.0"),
        bundle_files(&bins.v1_1_0, "1.1.0"),
    );
    let repo = Repo::new();
    let name = "Selfupdate.app.tar.gz";
    repo.release_named(
        &bundle_archive(work.path(), &old, "1.0.0"),
        "1.0.0",
        "stable",
        name,
    );
    let full = bundle_archive(work.path(), &new, "1.1.0");
    repo.release_named(&full, "1.1.0", "stable", name);
    let server = repo.serve();
    let app = App::install_bundle("Selfupdate.app", &old, "Contents/MacOS/selfupdate");
    let bundle = app.root().join("app/Selfupdate.app");
    let mut update = app.command(&["update", "--repo", &server.url, "--data-dir"]);
    update.arg(&app.data).arg("--bundle").arg(&bundle);
    let run = Run::from(output(&mut update));
    run.assert_ok()
        .assert_stdout("patched 1.0.0 to 1.1.0 with a")
        .assert_stdout("selfupdate 1.1.0: update confirmed")
        .assert_stdout("selfupdate 1.1.0 is up to date");
    // The patch was small beside the archive, and the tree is 1.1.0's, file for file.
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("patched"))
        .unwrap();
    let patch: u64 = line
        .split(" with a ")
        .nth(1)
        .unwrap()
        .split('-')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let archive = fs::metadata(&full).unwrap().len();
    assert!(
        patch * 10 < archive,
        "a {patch}-byte patch for a {archive}-byte archive"
    );
    let installed = tree(&bundle);
    let differ: Vec<&String> = installed
        .iter()
        .filter(|f| !new.contains(f))
        .chain(new.iter().filter(|f| !installed.contains(f)))
        .map(|(name, _)| name)
        .collect();
    assert!(
        differ.is_empty(),
        "the installed bundle differs from 1.1.0's in {differ:?}"
    );
    assert_eq!(app.version(), "1.1.0");
    assert!(app.journal().is_none());
    assert_eq!(App::names(&app.root().join("app")), ["Selfupdate.app"]);
    assert_eq!(
        App::names(&app.data.join("downloads")),
        Vec::<String>::new()
    );
}

#[test]
fn a_policy_pinning_the_current_version_holds_the_update_back_and_says_why() {
    let (_repo, server, app) = published();
    fs::write(&app.policy, r#"{ "pinned_version": "=1.0.0" }"#).unwrap();
    app.update(&server.url)
        .assert_ok()
        .assert_stdout("no update: selfupdate 1.0.0 stays (channel stable); held back:")
        .assert_stdout("1.1.0: outside the pinned version requirement =1.0.0");
    assert_eq!(app.version(), "1.0.0");
}

#[test]
fn a_policy_turning_updates_off_is_obeyed() {
    let (_repo, server, app) = published();
    fs::write(&app.policy, r#"{ "enabled": false }"#).unwrap();
    app.update(&server.url)
        .assert_ok()
        .assert_stdout("no update: updates are turned off by the administrator's policy");
    assert_eq!(app.version(), "1.0.0");
}

#[test]
fn a_malformed_policy_is_an_error_that_keeps_updates_off() {
    let (_repo, server, app) = published();
    fs::write(&app.policy, r#"{ "enabled": true, "pinned_version": "#).unwrap();
    app.update(&server.url)
        .assert_failed()
        .assert_stdout("no update: updates are off because the update policy could not be used: malformed update policy");
    assert_eq!(app.version(), "1.0.0");
    assert!(app.journal().is_none());
}

/// Makes a directory unwritable, even for root (`chattr +i`), until dropped.
struct ReadOnlyDir(std::path::PathBuf, bool);

impl ReadOnlyDir {
    fn new(dir: &std::path::Path) -> Option<ReadOnlyDir> {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o555)).unwrap();
        let probe = dir.join("probe");
        if fs::write(&probe, b"x").is_err() {
            return Some(ReadOnlyDir(dir.to_path_buf(), false));
        }
        // Permission bits do not stop root.
        let _ = fs::remove_file(&probe);
        let immutable = Command::new("chattr")
            .arg("+i")
            .arg(dir)
            .output()
            .is_ok_and(|o| o.status.success());
        (immutable && fs::write(&probe, b"x").is_err())
            .then(|| ReadOnlyDir(dir.to_path_buf(), true))
    }
}

impl Drop for ReadOnlyDir {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        if self.1 {
            let _ = Command::new("chattr").arg("-i").arg(&self.0).output();
        }
        let _ = fs::set_permissions(&self.0, fs::Permissions::from_mode(0o755));
    }
}

#[test]
fn an_install_dir_that_cannot_be_written_is_a_clear_error() {
    let (_repo, server, app) = published();
    let Some(_guard) = ReadOnlyDir::new(&app.app_dir()) else {
        eprintln!("SKIPPED: cannot make a directory read-only here (root without chattr)");
        return;
    };
    let before = sha256(&app.exe);
    app.update(&server.url)
        .assert_failed()
        .assert_stderr("cannot write the install location");
    assert_eq!(app.version(), "1.0.0");
    assert_eq!(sha256(&app.exe), before);
    assert!(app.journal().is_none());
}

#[test]
fn an_unconfirmed_version_is_rolled_back_after_its_launches_and_not_offered_again() {
    let bins = bins();
    let repo = Repo::new();
    repo.release(&bins.v1_1_0_no_confirm, "1.1.0", "stable", &[]);
    let server = repo.serve();
    let app = App::install(&bins.v1_0_0);
    let original = sha256(&app.exe);
    // Launch 1: the restart after the install.
    app.update(&server.url)
        .assert_ok()
        .assert_stdout("installed selfupdate 1.1.0")
        .assert_stdout("selfupdate 1.1.0: not confirming (launch 1;");
    assert_eq!(app.version(), "1.1.0");
    assert_eq!(
        app.journal().map(|j| j.state),
        Some(State::Swapped { launches: 1 })
    );
    app.start()
        .assert_ok()
        .assert_stdout("not confirming (launch 2;");
    // Launch 3 is one too many (the example allows 2): rolled back, and the restored
    // version started in its place.
    app.start()
        .assert_ok()
        .assert_stdout(
            "rolled back from 1.1.0 to 1.0.0: version 1.1.0 did not confirm within 2 launches",
        )
        .assert_stdout("restarting 1.0.0")
        .assert_stdout("selfupdate 1.0.0 running");
    assert_eq!(app.version(), "1.0.0");
    assert_eq!(sha256(&app.exe), original);
    app.assert_clean();
    // The same version is not installed again.
    app.update(&server.url)
        .assert_ok()
        .assert_stdout("held back:")
        .assert_stdout("1.1.0: rolled back on this install before (it did not confirm)");
    assert_eq!(app.version(), "1.0.0");
}

#[test]
fn a_kill_during_a_rollback_is_finished_at_the_next_start() {
    // (step, the journal the kill leaves, the version in place after the kill)
    let steps = [
        ("rolling_back", "rolling_back", "1.1.0"),
        ("restored", "rolling_back", "1.0.0"),
        ("rolled_back", "rolled_back", "1.0.0"),
    ];
    let bins = bins();
    let repo = Repo::new();
    repo.release(&bins.v1_1_0_no_confirm, "1.1.0", "stable", &[]);
    let server = repo.serve();
    for (step, journal, version) in steps {
        let app = App::install(&bins.v1_0_0);
        app.update(&server.url).assert_ok(); // launch 1 of the new version
        app.start().assert_stdout("not confirming (launch 2;");
        // Launch 3 rolls back, and is killed on the way.
        let mut start = app.command(&["run", "--data-dir"]);
        start.arg(&app.data).env("UPDATER_CRASH_AT", step);
        let out = output(&mut start);
        assert_eq!(out.status.signal(), Some(9), "{step}: {out:?}");
        let state = app.journal().map(|j| j.state);
        let state_name = match &state {
            Some(State::RollingBack { .. }) => "rolling_back",
            Some(State::RolledBack { .. }) => "rolled_back",
            _ => "other",
        };
        assert_eq!(state_name, journal, "{step}: {state:?}");
        assert_eq!(app.version(), version, "{step}");
        // The next start finishes the rollback; the old version runs.
        app.start()
            .assert_ok()
            .assert_stdout("selfupdate 1.0.0 running");
        assert_eq!(app.version(), "1.0.0", "{step}");
        app.assert_clean();
        // And the failed version is not offered again.
        app.update(&server.url)
            .assert_ok()
            .assert_stdout("1.1.0: rolled back on this install before");
        eprintln!("kill at {step}: ran as {version} after the kill; 1.0.0 after the next start");
    }
}

/// Recovery after a kill: the app runs as the old or the new version, its next start leaves
/// the journal resolved (no install, or a staged one that changed nothing), and an update
/// brings it to 1.1.0 with nothing left over. Returns the version right after the kill.
fn check_recovery(app: &App, server: &Server, context: &str) -> (String, bool) {
    let after_kill = app.version();
    assert!(
        after_kill == "1.0.0" || after_kill == "1.1.0",
        "{context}: {after_kill}"
    );
    let start = app.start();
    start.assert_ok();
    match app.journal().map(|j| j.state) {
        None | Some(State::Staged) => {}
        other => panic!("{context}: journal not resolved by the next start: {other:?}\n{start:#?}"),
    }
    let run = app.update(&server.url);
    run.assert_ok();
    assert!(
        run.stdout.contains("selfupdate 1.1.0 is up to date"),
        "{context}: {run:#?}"
    );
    assert_eq!(app.version(), "1.1.0", "{context}");
    app.assert_clean();
    (after_kill, run.stdout.contains("download resumed at byte"))
}

#[test]
fn a_kill_at_each_install_step_leaves_a_working_app_that_updates_again() {
    // (step, the journal the kill leaves, the version in place after the kill)
    let steps = [
        ("staged", State::Staged, "1.0.0"),
        ("backed_up", State::BackedUp, "1.0.0"),
        ("replaced", State::BackedUp, "1.1.0"),
        ("swapped", State::Swapped { launches: 0 }, "1.1.0"),
    ];
    let (_repo, server, _) = published();
    for (step, journal, version) in steps {
        let app = App::install(&bins().v1_0_0);
        let out = output(
            app.update_command(&server.url)
                .env("UPDATER_CRASH_AT", step),
        );
        assert_eq!(out.status.signal(), Some(9), "{step}: {out:?}");
        assert_eq!(app.journal().map(|j| j.state), Some(journal), "{step}");
        let (after, _) = check_recovery(&app, &server, step);
        assert_eq!(after, version, "{step}");
        eprintln!("kill at {step}: app ran as {after} after the kill; updated to 1.1.0 after");
    }
}

/// splitmix64: a small seeded generator, so a failing run can be repeated.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[test]
fn kills_at_random_moments_leave_a_working_app_that_updates_again() {
    let kills: u64 = std::env::var("SELFUPDATE_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    let seed: u64 = std::env::var("SELFUPDATE_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5e1f_0bda);
    let (_repo, server, _) = published();

    // One whole update (check, download, install, restart, confirm), timed line by line:
    // half the kills are spread over all of it, half over what follows the download
    // (stage, backup, swap, restart, confirmation), where the journal matters most.
    let timing = App::install(&bins().v1_0_0);
    let start = Instant::now();
    let mut child = spawn(
        timing
            .update_command(&server.url)
            .stdout(std::process::Stdio::piped()),
    );
    let mut downloaded = None;
    let lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    for line in lines {
        if line.unwrap().starts_with("downloaded and verified") {
            downloaded = Some(start.elapsed());
        }
    }
    assert!(child.wait().unwrap().success());
    let whole = start.elapsed();
    let downloaded = downloaded.expect("the update downloaded");
    assert_eq!(timing.version(), "1.1.0");

    let mut rng = Rng(seed);
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    let mut bump = |key: &'static str| *counts.entry(key).or_default() += 1;
    for i in 0..kills {
        let app = App::install(&bins().v1_0_0);
        let from = if i % 2 == 0 {
            Duration::ZERO
        } else {
            downloaded
        };
        let span = (whole - from).as_micros() as u64 + 1;
        let delay = from + Duration::from_micros(rng.next() % span);
        let mut child = spawn(
            app.update_command(&server.url)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null()),
        );
        std::thread::sleep(delay);
        let exited_before = child.try_wait().unwrap().is_some();
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        bump("kills tried");
        if exited_before || status.signal() != Some(9) {
            bump("finished before the kill");
        }
        bump(match app.journal().map(|j| j.state) {
            None => "journal at kill: none",
            Some(State::Staged) => "journal at kill: staged",
            Some(State::BackedUp) => "journal at kill: backed_up",
            Some(State::Swapped { .. }) => "journal at kill: swapped",
            Some(_) => "journal at kill: other",
        });
        let partial = App::names(&app.data.join("downloads"))
            .iter()
            .any(|n| n.ends_with(".part"));
        if partial {
            bump("partial download left");
        }
        let context = format!("kill {i} after {delay:?} (seed {seed:#x})");
        let (after, resumed) = check_recovery(&app, &server, &context);
        if resumed {
            bump("download resumed by the next update");
        }
        match after.as_str() {
            "1.0.0" => bump("outcome: runs as 1.0.0 (old)"),
            _ => bump("outcome: runs as 1.1.0 (new)"),
        }
    }
    eprintln!(
        "random kills: seed {seed:#x}; an update takes {whole:?}, its download ends at \
         {downloaded:?}; delays spread over the whole update (even kills) or after the \
         download (odd kills)"
    );
    for (what, n) in &counts {
        eprintln!("  {what}: {n}");
    }
    eprintln!("  every kill: app ran afterwards, next start resolved the journal, update to 1.1.0 succeeded");
    assert_eq!(counts.get("kills tried"), Some(&kills));
}
