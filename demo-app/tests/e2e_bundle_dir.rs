//! From `tauri build` to a release: the bundle folder Tauri's own bundler wrote for
//! demo-app 1.1.0 (`tauri bundle --bundles deb`, kept by `e2e_support::builds`), published
//! with `updater-pack release --bundle-dir` (the `updater_pack` library it runs): the deb is
//! found, its platform told from its content and its package, and it is released under
//! `linux-x86_64-deb` as 1.1.0, with the app name from demo-app's `tauri.conf.json`.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod e2e_support;

use updater_pack::keys::Passphrase;
use updater_pack::ops::release_bundles::{release_bundles, BundleOptions};
use updater_pack::ops::session::Context;

use e2e_support::builds::bins;
use e2e_support::repo::Repo;
use e2e_support::{workspace, APP};

#[test]
fn tauris_bundle_folder_is_published_as_one_release() {
    let bins = bins();
    let tmp = tempfile::tempdir().unwrap();
    let repo = Repo::new(&tmp.path().join("project"));
    let now = updater_pack::clock::now().unwrap();
    let ctx = Context {
        now,
        expires: Vec::new(),
        passphrase: Passphrase::none(),
    };
    // demo-app's tauri.conf.json has no version (the builds set theirs): given here.
    let opts = BundleOptions {
        bundle_dirs: vec![bins.bundle_1_1_0.clone()],
        config: Some(workspace().join("demo-app/tauri.conf.json")),
        version: Some("1.1.0".into()),
        channel: "stable".into(),
        ..BundleOptions::default()
    };
    let report = release_bundles(&repo.project, ctx, &opts).unwrap();

    assert_eq!(report.app, APP, "{report}");
    assert_eq!(report.version.to_string(), "1.1.0");
    assert_eq!(report.published.len(), 1, "{report}");
    let deb = &report.published[0];
    assert_eq!(deb.plan.path.segment.to_string(), "linux-x86_64-deb");
    assert_eq!(deb.plan.path.version.to_string(), "1.1.0");
    assert_eq!(
        deb.plan.target,
        "stable/demo-app/1.1.0/linux-x86_64-deb/demo-app_1.1.0_amd64.deb"
    );
    updater_pack::ops::verify::verify(&repo.repository(), now).unwrap();
}
