//! The `tuf-client` binary speaks the tuf-conformance client protocol (CLIENT-CLI.md): options
//! before the subcommand, `--target-name` repeatable and processed in order, exit code 0 or 1
//! and never anything else, on a bad argument or a failure alike.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::RepoSim;
use tuf_updater_core::tuf::metadata::TARGETS as TARGETS_ROLE;

fn client(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tuf-client"))
        .args(args)
        .output()
        .unwrap()
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited, not killed")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn bad_arguments_exit_1_never_2() {
    for args in [
        vec![],
        vec!["--bogus"],
        vec!["refresh"],
        vec!["--metadata-dir", "/tmp/x", "frobnicate"],
        vec!["--metadata-dir", "/tmp/x", "init"],
    ] {
        let out = client(&args);
        assert_eq!(
            code(&out),
            1,
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(code(&client(&["--help"])), 0);
}

#[test]
fn missing_options_and_files_are_failures_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("metadata");
    let out = client(&["--metadata-dir", s(&md), "init", "/nonexistent/root.json"]);
    assert_eq!(code(&out), 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/root.json"));
    let out = client(&["--metadata-dir", s(&md), "refresh"]);
    assert_eq!(code(&out), 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--metadata-url"));
    // A refresh with no trusted root makes no request and fails.
    let out = client(&[
        "--metadata-dir",
        s(&md),
        "--metadata-url",
        "http://127.0.0.1:9/metadata",
        "refresh",
    ]);
    assert_eq!(code(&out), 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("5.2"));
}

#[test]
fn init_refresh_and_download_in_order_with_cached_reuse() {
    let mut sim = RepoSim::new();
    sim.add_target(TARGETS_ROLE, "a/one.bin", b"one");
    sim.add_target(TARGETS_ROLE, "two.bin", b"two");
    sim.publish(&[TARGETS_ROLE, "snapshot", "timestamp"]);
    let dir = tempfile::tempdir().unwrap();
    let (md, td) = (dir.path().join("metadata"), dir.path().join("targets"));
    let root = dir.path().join("root.json");
    std::fs::write(&root, sim.initial_root()).unwrap();

    assert_eq!(
        code(&client(&["--metadata-dir", s(&md), "init", s(&root)])),
        0
    );
    assert!(sim.server.requests().is_empty(), "init makes no request");
    let url = sim.metadata_url();
    assert_eq!(
        code(&client(&[
            "--metadata-dir",
            s(&md),
            "--metadata-url",
            &url,
            "refresh"
        ])),
        0
    );
    for role in ["root", "timestamp", "snapshot", "targets"] {
        assert!(
            md.join(format!("{role}.json")).exists(),
            "{role}.json stored"
        );
    }

    let targets_url = sim.targets_url();
    let download = |names: &[&str]| {
        let mut args = vec!["--metadata-dir", s(&md), "--metadata-url", &url];
        for n in names {
            args.extend(["--target-name", n]);
        }
        args.extend([
            "--target-base-url",
            &targets_url,
            "--target-dir",
            s(&td),
            "download",
        ]);
        client(&args)
    };
    // The second name is missing: exit 1, after the first was downloaded.
    let out = download(&["a/one.bin", "missing.bin", "two.bin"]);
    assert_eq!(code(&out), 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.bin"));
    assert_eq!(std::fs::read(td.join("a%2Fone.bin")).unwrap(), b"one");
    assert!(
        !td.join("two.bin").exists(),
        "processing stops at the first failure"
    );

    sim.server.clear_log();
    assert_eq!(code(&download(&["a/one.bin", "two.bin"])), 0);
    assert_eq!(std::fs::read(td.join("two.bin")).unwrap(), b"two");
    let fetched_targets: Vec<String> = sim
        .server
        .requests()
        .into_iter()
        .filter(|p| p.starts_with("/targets/"))
        .collect();
    assert_eq!(
        fetched_targets.len(),
        1,
        "a/one.bin is reused: {fetched_targets:?}"
    );
    assert!(
        fetched_targets[0].ends_with(".two.bin"),
        "{fetched_targets:?}"
    );
}
