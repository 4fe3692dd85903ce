//! Benchmark: what `updater-pack publish` sends after one release into a repository that
//! already holds many (issue 13: only what changed goes up).
//!
//! ```sh
//! cargo bench -p updater-pack --bench publish_cost                      # 1,000 releases, to a folder
//! cargo bench -p updater-pack --bench publish_cost -- 200               # another size
//! AWS_ENDPOINT=http://127.0.0.1:8333 AWS_ALLOW_HTTP=true AWS_ACCESS_KEY_ID=x \
//!   AWS_SECRET_ACCESS_KEY=x cargo bench -p updater-pack --bench publish_cost -- --dest s3://repo/bench
//! ```
//!
//! A per-app project gets N releases (2 apps x 5 platforms, beta, N/10 versions each; 4 KiB
//! artifacts) by the real `updater-pack release`, all published; then one more release,
//! published; then `timestamp --publish`. Each publish's report gives the files uploaded,
//! the requests (listing, reads and writes) and the bytes sent and read.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;
use std::process::Command;
use std::time::Instant;

const PLATFORMS: [&str; 5] = [
    "linux-x86_64",
    "linux-aarch64",
    "darwin-x86_64",
    "darwin-aarch64",
    "windows-x86_64",
];
const APPS: [&str; 2] = ["app-a", "app-b"];

fn pack(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_updater-pack"))
        .args(args)
        .env_remove("UPDATER_PACK_NOW")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "updater-pack {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn release(project: &str, dir: &Path, app: &str, version: &str, platform: &str) {
    let file = dir.join(format!("{app}-{version}-{platform}.bin"));
    let mut bytes = format!("{app} {version} {platform}").into_bytes();
    bytes.resize(4096, 0x5a);
    std::fs::write(&file, bytes).unwrap();
    pack(&[
        "release",
        project,
        "--app",
        app,
        "--version",
        version,
        "--platform",
        platform,
        "--channel",
        "beta",
        "--deltas",
        "0",
        file.to_str().unwrap(),
    ]);
}

/// (files, requests, bytes sent, bytes read) from a publish report.
fn figures(report: &str) -> (usize, u64, u64, u64) {
    let files = report
        .lines()
        .find_map(|l| l.strip_prefix("Copied ")?.split(' ').next()?.parse().ok())
        .unwrap();
    let traffic = report
        .lines()
        .find(|l| l.contains(" request(s), "))
        .unwrap();
    let numbers: Vec<u64> = traffic
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    (files, numbers[0], numbers[1], numbers[2])
}

fn main() {
    let mut releases = 1_000usize;
    let mut dest = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--dest" => dest = it.next(),
            "--bench" => {}
            n => releases = n.parse().expect("N releases"),
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("proj");
    let p = project.to_str().unwrap();
    let dest = dest.unwrap_or_else(|| tmp.path().join("www").display().to_string());
    pack(&["init", p]);
    let started = Instant::now();
    let per_platform = releases / (APPS.len() * PLATFORMS.len());
    for minor in 0..per_platform {
        for app in APPS {
            for platform in PLATFORMS {
                release(p, tmp.path(), app, &format!("1.{minor}.0"), platform);
            }
        }
    }
    let made = APPS.len() * PLATFORMS.len() * per_platform;
    eprintln!(
        "{made} releases made in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let first = figures(&pack(&["publish", p, &dest]));
    release(p, tmp.path(), APPS[0], "2.0.0", PLATFORMS[0]);
    let start = Instant::now();
    let report = pack(&["publish", p, &dest]);
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    let one = figures(&report);
    let again = figures(&pack(&["publish", p, &dest]));
    let stamp = figures(&pack(&["timestamp", p, "--publish", &dest]));

    println!("\nPublishing to {dest}, per-app project of {made} releases (4 KiB artifacts)\n");
    println!("| publish | files uploaded | requests | bytes sent | bytes read |");
    println!("| --- | --- | --- | --- | --- |");
    let row = |what: &str, (files, requests, up, down): (usize, u64, u64, u64)| {
        println!("| {what} | {files} | {requests} | {up} | {down} |");
    };
    row(&format!("all {made} releases, first time"), first);
    row(&format!("after one more release ({ms:.0} ms)"), one);
    row("again, nothing new", again);
    row("`timestamp --publish`", stamp);
    println!("\nFiles of the one-release publish:");
    for line in report.lines().filter(|l| l.starts_with("  ")) {
        if !line.contains(" v") && !line.contains("target file") {
            println!("{line}");
        }
    }
}
