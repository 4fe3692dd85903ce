//! End to end through the system's package manager and an object store: demo-app 1.0.0,
//! bundled as a `.deb` by Tauri's own bundler (`tauri bundle` from `@tauri-apps/cli`), is
//! installed with dpkg on this machine (the tests run as root: CI's machine is theirs) and
//! runs in a real window under Xvfb. 1.1.0's bundle folder, as `tauri build` left it, is
//! released with `release --bundle-dir` and published with `publish s3://...` to a real S3
//! server (SeaweedFS); the app reads the bucket's web endpoint, finds 1.1.0's `.deb`,
//! installs it through dpkg from the plugin and restarts into it. dpkg's database,
//! `dpkg --verify` and the restarted window say it worked; the package of 1.0.0 was kept for
//! a rollback, then 1.1.0's.
//!
//! (An rpm end to end is not here: Debian's rpm has its own, empty database, in which the
//! app's dependencies on WebKitGTK are not installed, so `rpm -U` refuses the package; the
//! rpm path is tested with a package without dependencies in tuf-updater-core's
//! `package_install` tests.)
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod e2e_support;
#[path = "../../updater-pack/tests/common/seaweed.rs"]
#[allow(dead_code)]
mod seaweed;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use e2e_support::app::App;
use e2e_support::builds::bins;
use e2e_support::scenario::{Scenario, UI_TIMEOUT};
use e2e_support::ui::Page;
use e2e_support::{run, wait_for};

const NOTES_1_0: &str = "## 1.0.0\n\nThe first release.\n";
const NOTES_1_1: &str = "## 1.1.0\n\n- Installed by dpkg.\n";
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(180);
/// Where Tauri's deb puts the app's executable.
const INSTALLED_EXE: &str = "/usr/bin/demo-app";
const PACKAGE: &str = "demo-app";

/// Runs a dpkg tool, again while another process holds dpkg's lock; its standard output.
fn dpkg(program: &str, args: &[&str]) -> std::process::Output {
    let mut out = Command::new(program).args(args).output().unwrap();
    for _ in 0..120 {
        if !String::from_utf8_lossy(&out.stderr).contains("lock") {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
        out = Command::new(program).args(args).output().unwrap();
    }
    out
}

fn dpkg_ok(program: &str, args: &[&str]) -> String {
    let out = dpkg(program, args);
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn installed_version() -> String {
    dpkg_ok("dpkg-query", &["-W", "-f=${Version}", PACKAGE])
}

fn package_version(deb: &Path) -> String {
    dpkg_ok("dpkg-deb", &["--field", deb.to_str().unwrap(), "Version"])
        .trim()
        .to_string()
}

/// demo-app installed from a package for the length of a test; purged after it.
struct SystemPackage;

impl SystemPackage {
    fn install(deb: &Path) -> SystemPackage {
        let uid = Command::new("id").arg("-u").output().unwrap().stdout;
        assert_eq!(
            String::from_utf8_lossy(&uid).trim(),
            "0",
            "this test installs demo-app with dpkg: run it as root"
        );
        let _ = dpkg("dpkg", &["--purge", PACKAGE]);
        dpkg_ok("dpkg", &["--install", deb.to_str().unwrap()]);
        SystemPackage
    }
}

impl Drop for SystemPackage {
    fn drop(&mut self) {
        let _ = dpkg("dpkg", &["--purge", PACKAGE]);
    }
}

/// What a publisher runs after `tauri build`: `release --bundle-dir` of the bundle folder,
/// then `publish s3://updates/demo` (the updater_pack library those commands run, with the
/// S3 settings in the environment as a CI job has them).
fn publish_bundle_to_bucket(s: &Scenario, bundle_dir: &Path, bucket: &seaweed::Seaweed) {
    let notes = s.path("notes-1.1.0.md");
    std::fs::write(&notes, NOTES_1_1).unwrap();
    let now = updater_pack::clock::now().unwrap();
    let ctx = updater_pack::ops::session::Context {
        now,
        expires: Vec::new(),
        passphrase: updater_pack::keys::Passphrase::none(),
    };
    let opts = updater_pack::ops::release_bundles::BundleOptions {
        bundle_dirs: vec![bundle_dir.to_path_buf()],
        config: Some(e2e_support::workspace().join("demo-app/tauri.conf.json")),
        version: Some("1.1.0".into()),
        channel: "stable".into(),
        notes: Some(notes),
        ..Default::default()
    };
    let report =
        updater_pack::ops::release_bundles::release_bundles(&s.repo.project, ctx, &opts).unwrap();
    assert_eq!(report.published.len(), 1, "{report}");
    for (key, value) in bucket.env() {
        std::env::set_var(key, value);
    }
    let published = updater_pack::ops::publish::publish(
        s.repo.project.dir(),
        &bucket.s3_url("demo"),
        now,
        false,
    )
    .unwrap();
    assert!(
        published
            .copied
            .iter()
            .any(|f| f.ends_with("demo-app_1.1.0_amd64.deb")),
        "{published}"
    );
}

#[test]
fn a_deb_installed_app_updates_through_dpkg_and_restarts_into_the_new_version() {
    let bins = bins();
    let _installed = SystemPackage::install(&bins.deb_1_0_0);
    let exe = PathBuf::from(INSTALLED_EXE);
    assert_eq!(installed_version(), "1.0.0");
    let bucket = seaweed::Seaweed::start("updates");
    let url = bucket.http_base("demo");
    let s = Scenario::with_app_at(
        &[(&bins.deb_1_0_0, "1.0.0", "stable", NOTES_1_0)],
        Some(&url),
        |dir, url, display| App::installed_at(dir, exe.clone(), url, display),
        |_| {},
    );
    publish_bundle_to_bucket(&s, &bins.bundle_1_1_0, &bucket);
    let install_dir = s.app.data.join("dev.tuf-updater.demo/updates/install");
    let kept = install_dir.join("installed.deb");
    run(async {
        let ui = s.launch("1.0.0").await;
        ui.click("#check-button").await;
        let page = ui
            .wait("1.1.0 offered", UI_TIMEOUT, |p| p.state_is("available"))
            .await;
        assert!(
            Page::text(&page.notes).contains("Installed by dpkg."),
            "{page:#?}"
        );
        ui.click("#install-button").await;
        ui.wait("1.1.0 installed", DOWNLOAD_TIMEOUT, |p| {
            p.state_is("installed") && p.restart_shown
        })
        .await;
        ui.screenshot("deb-01-installed-by-dpkg").await;
        // dpkg installed it: its database says 1.1.0 and every file matches the package.
        assert_eq!(installed_version(), "1.1.0", "{}", s.logs.report());
        dpkg_ok("dpkg", &["--verify", PACKAGE]);
        // 1.0.0's package (downloaded, verified) is kept for a rollback.
        assert_eq!(package_version(&kept), "1.0.0");

        let attached = s.restart_into(ui, "1.1.0").await;
        let page = attached.ui.page().await.unwrap();
        assert!(!page.restart_shown, "{page:#?}");
        // The new window loaded: the plugin confirmed 1.1.0, whose package is now the one
        // kept.
        wait_for(
            "1.1.0 confirmed",
            UI_TIMEOUT,
            || async { (!install_dir.join("journal.json").exists()).then_some(()) },
            || s.logs.report(),
        )
        .await;
        assert_eq!(package_version(&kept), "1.1.0");
        attached.ui.screenshot("deb-02-restarted").await;
    });
    assert_eq!(installed_version(), "1.1.0");
    dpkg_ok("dpkg", &["--verify", PACKAGE]);
}
