//! Benchmark: `updater-pack release` into a repository that already holds 1,000 releases.
//!
//! ```sh
//! cargo bench -p updater-pack --bench release            # 1,000 releases, 7 timed runs
//! cargo bench -p updater-pack --bench release -- 5000 3  # other sizes: RELEASES RUNS
//! ```
//!
//! Measures (1) the wall time of the `updater-pack release` process (release build, the
//! artifact is 1 MiB), and (2) what a client that was up to date before the release
//! downloads to see it: our client (`TufClient` over `HttpFetcher`) against the development
//! server, which counts every byte it sends. Only changed metadata should move: the probe
//! for a next root (404), `timestamp.json`, `N.snapshot.json` and `N.<channel>.json`;
//! `targets.json` and the other channel come from the client's cache. The sum of the sizes
//! of those changed files is printed as a cross-check.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use tuf_updater_core::tuf::fetch::{HttpConfig, HttpFetcher};
use tuf_updater_core::tuf::{ClientConfig, TufClient};
use updater_pack::keys::Passphrase;
use updater_pack::ops::init::{init, InitOptions};
use updater_pack::ops::release::{plan_release, ReleaseOptions};
use updater_pack::ops::session::{Context, Session};
use updater_pack::serve::{DevServer, ServeOptions};
use updater_pack::Project;

fn version(i: usize) -> String {
    format!("1.{}.{}", i / 100, i % 100)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let releases: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let runs: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(7);

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("proj");
    let project = Project::new(&dir, None);
    let now = chrono::Utc::now();
    init(&project, &InitOptions::default(), Passphrase::none(), now).unwrap();

    // The existing releases, added in one session (one signature) to build the fixture fast.
    let setup = Instant::now();
    let artifacts = tmp.path().join("artifacts");
    std::fs::create_dir(&artifacts).unwrap();
    let mut session = Session::open(
        &project,
        Context {
            now,
            expires: Vec::new(),
            passphrase: Passphrase::none(),
        },
    )
    .unwrap();
    for i in 0..releases {
        let file = artifacts.join(format!("demo_{}_amd64.AppImage", version(i)));
        std::fs::write(&file, format!("release {i}").repeat(64)).unwrap();
        let opts = ReleaseOptions {
            app: "demo".into(),
            version: version(i),
            platform: "linux-x86_64".into(),
            channel: "beta".into(),
            artifact: file,
            notes: None,
            ..ReleaseOptions::default()
        };
        plan_release(&mut session, &opts).unwrap();
    }
    session.commit().unwrap();
    let beta_size = file_size(&dir, "beta");
    eprintln!(
        "fixture: {releases} releases on beta in {:.1} s; beta metadata {} bytes",
        setup.elapsed().as_secs_f64(),
        beta_size
    );

    let repository = dir.join("repository");
    let server = DevServer::start(
        &repository,
        &ServeOptions {
            addr: "127.0.0.1:0".parse().unwrap(),
            allow_remote: false,
            verbose: false,
        },
    )
    .unwrap();
    let stats = server.stats();
    let cache = tempfile::tempdir().unwrap();
    let root = std::fs::read(repository.join("metadata/1.root.json")).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client_cycle = |path: &str| {
        runtime.block_on(async {
            let mut config = ClientConfig::new(format!("{}metadata/", server.url()), cache.path());
            config.targets_url = Some(format!("{}targets/", server.url()));
            let fetcher = Arc::new(HttpFetcher::new(&HttpConfig::default()).unwrap());
            let mut updater = TufClient::new(config, fetcher, Some(&root)).unwrap();
            updater.refresh().await.unwrap();
            updater.get_target_info(path).await.unwrap()
        })
    };
    // The client is up to date before the first timed release.
    assert!(client_cycle(&format!(
        "beta/demo/{}/linux-x86_64/demo_{}_amd64.AppImage",
        version(0),
        version(0)
    ))
    .is_some());
    let cold = stats.bytes.load(std::sync::atomic::Ordering::Relaxed);

    let artifact = tmp.path().join("new.AppImage");
    std::fs::write(&artifact, vec![7u8; 1024 * 1024]).unwrap();
    let mut times = Vec::new();
    let mut downloads = Vec::new();
    let mut changed_sums = Vec::new();
    let mut last_log = Vec::new();
    for run in 0..runs {
        let v = version(releases + run);
        let start = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_updater-pack"))
            .args([
                "release",
                dir.to_str().unwrap(),
                "--app",
                "demo",
                "--version",
                &v,
            ])
            .args(["--platform", "linux-x86_64", "--channel", "beta", "--name"])
            .arg(format!("demo_{v}_amd64.AppImage"))
            // The metadata's cost alone; patches are measured by tuf-updater-core's delta bench.
            .args(["--deltas", "0"])
            .arg(&artifact)
            .env_remove("UPDATER_PACK_NOW")
            .output()
            .unwrap();
        let elapsed = start.elapsed();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        times.push(elapsed.as_secs_f64() * 1000.0);

        stats.reset();
        let path = format!("beta/demo/{v}/linux-x86_64/demo_{v}_amd64.AppImage");
        assert!(client_cycle(&path).is_some(), "client does not see {path}");
        downloads.push(stats.bytes.load(std::sync::atomic::Ordering::Relaxed));
        last_log = stats.log();
        changed_sums.push(
            std::fs::metadata(repository.join("metadata/timestamp.json"))
                .unwrap()
                .len()
                + file_size(&dir, "snapshot")
                + file_size(&dir, "beta"),
        );
    }
    times.sort_by(f64::total_cmp);
    downloads.sort_unstable();
    let median = times[times.len() / 2];
    println!("## `release` into a repository with {releases} releases ({runs} runs)");
    println!();
    println!("| measure | value |");
    println!("| --- | --- |");
    println!("| wall time, median | {median:.0} ms |");
    println!(
        "| wall time, min / max | {:.0} / {:.0} ms |",
        times[0],
        times[times.len() - 1]
    );
    println!(
        "| channel metadata (`N.beta.json`) | {} bytes |",
        file_size(&dir, "beta")
    );
    println!(
        "| client download for the new release (metadata) | {} bytes (runs: {:?}) |",
        downloads[downloads.len() / 2],
        downloads
    );
    println!(
        "| sum of changed metadata files (timestamp + snapshot + beta) | {} bytes |",
        changed_sums[changed_sums.len() / 2]
    );
    println!("| client's first refresh (cold, for comparison) | {cold} bytes |");
    println!();
    println!("Requests of the client's update cycle after the last release:");
    println!();
    println!("| request | status | bytes |");
    println!("| --- | --- | --- |");
    for s in last_log {
        println!("| `{}` | {} | {} |", s.path, s.status, s.bytes);
    }
}

/// Size of the current `N.<role>.json`.
fn file_size(dir: &Path, role: &str) -> u64 {
    let metadata = dir.join("repository/metadata");
    let ts: serde_json::Value =
        serde_json::from_slice(&std::fs::read(metadata.join("timestamp.json")).unwrap()).unwrap();
    let snap_v = ts["signed"]["meta"]["snapshot.json"]["version"]
        .as_u64()
        .unwrap();
    let name = if role == "snapshot" {
        format!("{snap_v}.snapshot.json")
    } else {
        let snap: serde_json::Value = serde_json::from_slice(
            &std::fs::read(metadata.join(format!("{snap_v}.snapshot.json"))).unwrap(),
        )
        .unwrap();
        let v = snap["signed"]["meta"][format!("{role}.json")]["version"]
            .as_u64()
            .unwrap();
        format!("{v}.{role}.json")
    };
    std::fs::metadata(metadata.join(name)).unwrap().len()
}
