//! Benchmark: what an app downloads to check for updates, and what `updater-pack release`
//! costs, as a repository grows (issue 12).
//!
//! ```sh
//! cargo bench -p packaging --bench metadata_scale                     # 1,000 and 120,000 targets
//! cargo bench -p packaging --bench metadata_scale -- 1000 --runs 7    # sizes, timed releases
//! cargo bench -p packaging --bench metadata_scale -- --layout channel # the layout under test
//! ```
//!
//! The repository is `apps x 6 platforms x 2 channels x releases` targets (20 apps, or 2
//! below 24,000 targets), generated with the packaging library in one session (each role
//! signed once; no artifact files, only metadata is measured), then served by the
//! development server, which counts requests and bytes. For one app and platform
//! (`app-00`, `linux-x86_64`, `beta`), our client (`TufClient` over `HttpFetcher`, its
//! metadata cache kept between checks as an app keeps it) measures: a cold first check; a
//! check after one new release of another app; after one new release of the same app; a
//! lookup of the oldest version (a pin), warm. Each release is the `updater-pack release`
//! process (1 MiB artifact); its median wall time is over `--runs` releases.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "metadata_scale/layout.rs"]
mod layout;
#[path = "metadata_scale/report.rs"]
mod report;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use layout::{app, platform, version, Layout, Shape};
use packaging::serve::{DevServer, ServeOptions, Stats};
use packaging::Project;
use report::{Measured, Row};
use semver::Version;
use updater_core::release::PlatformSegment;
use updater_core::tuf::fetch::{HttpConfig, HttpFetcher};
use updater_core::tuf::{ClientConfig, TufClient};

struct Args {
    sizes: Vec<usize>,
    runs: usize,
    layout: Layout,
}

fn args() -> Args {
    let mut args = Args {
        sizes: Vec::new(),
        runs: 5,
        layout: Layout::Channel,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => args.runs = it.next().and_then(|n| n.parse().ok()).expect("--runs N"),
            "--layout" => {
                let name = it.next().unwrap_or_default();
                args.layout = Layout::parse(&name).expect("--layout channel");
            }
            n if n.parse::<usize>().is_ok() => args.sizes.push(n.parse().unwrap()),
            _ => {} // cargo bench passes --bench
        }
    }
    if args.sizes.is_empty() {
        args.sizes = vec![1_000, 120_000];
    }
    args.runs = args.runs.max(2);
    args
}

fn main() {
    let args = args();
    let mut rows = Vec::new();
    for &size in &args.sizes {
        let shape = Shape::for_targets(size);
        eprintln!(
            "{} layout, {} targets ({} apps x {} platforms x {} channels x {} releases)",
            args.layout.name(),
            shape.targets(),
            shape.apps,
            shape.platforms,
            shape.channels,
            shape.releases
        );
        rows.push(run(args.layout, shape, args.runs));
    }
    report::print(args.layout, &rows);
}

/// What the app under test asks for.
enum Case {
    Check,
    Lookup(String),
}

/// The server and a client's metadata cache.
struct Bench {
    layout: Layout,
    dir: PathBuf,
    server: DevServer,
    stats: Arc<Stats>,
    root: Vec<u8>,
    runtime: tokio::runtime::Runtime,
    artifact: PathBuf,
}

const CHANNEL: &str = "beta";

impl Bench {
    /// One update cycle with the cache in `cache` (a new `TufClient`, as at each app start).
    fn cycle(&self, cache: &Path, case: &Case) -> Measured {
        self.stats.reset();
        let url = self.server.url();
        let found = self.runtime.block_on(async {
            let mut config = ClientConfig::new(format!("{url}metadata/"), cache);
            config.targets_url = Some(format!("{url}targets/"));
            let fetcher = Arc::new(HttpFetcher::new(&HttpConfig::default()).unwrap());
            let mut client = TufClient::new(config, fetcher, Some(&self.root)).unwrap();
            match case {
                Case::Check => {
                    self.layout
                        .check(&mut client, CHANNEL, &app(0), &platform(0))
                        .await
                }
                Case::Lookup(path) => {
                    client.refresh().await.unwrap();
                    assert!(client.get_target_info(path).await.unwrap().is_some());
                    path.clone()
                }
            }
        });
        Measured::from_stats(&self.stats, found)
    }

    /// `updater-pack release` of `app version` for `segment` on the channel; wall time in ms.
    fn release(&self, app: &str, version: &Version, segment: &PlatformSegment) -> f64 {
        let v = version.to_string();
        let start = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_updater-pack"))
            .args(["release", self.dir.to_str().unwrap(), "--app", app])
            .args(["--version", &v, "--platform", &segment.to_string()])
            .args(["--channel", CHANNEL, "--deltas", "0", "--name"])
            .arg(layout::file_name(app, version, segment))
            .args(self.layout.release_args())
            .arg(&self.artifact)
            .env_remove("UPDATER_PACK_NOW")
            .output()
            .unwrap();
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        ms
    }
}

/// Generates the repository, then measures the four cases and the releases.
fn run(layout: Layout, shape: Shape, runs: usize) -> Row {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("proj");
    let generation = layout.generate(&Project::new(&dir, None), shape, chrono::Utc::now());
    eprintln!("  generated in {:.1} s", generation.as_secs_f64());
    let repository = dir.join("repository");
    let options = ServeOptions {
        addr: "127.0.0.1:0".parse().unwrap(),
        allow_remote: false,
        verbose: false,
    };
    let server = DevServer::start(&repository, &options).unwrap();
    let artifact = tmp.path().join("new.tar.gz");
    std::fs::write(&artifact, vec![7u8; 1024 * 1024]).unwrap();
    let bench = Bench {
        layout,
        stats: server.stats(),
        server,
        root: std::fs::read(repository.join("metadata/1.root.json")).unwrap(),
        runtime: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
        dir,
        artifact,
    };
    let cache = tmp.path().join("cache");
    let cold = bench.cycle(&cache, &Case::Check);
    let before = report::Sizes::read(&repository.join("metadata"), CHANNEL);

    let new = Version::new(2, 0, 0);
    let mut times = vec![bench.release(&app(1), &new, &platform(0))];
    let other = bench.cycle(&cache, &Case::Check);
    times.push(bench.release(&app(0), &new, &platform(0)));
    let same = bench.cycle(&cache, &Case::Check);
    assert!(same.found.contains("/2.0.0/"), "{}", same.found);
    let oldest = layout::release_path(CHANNEL, &app(0), version(0), platform(0));
    let pinned = bench.cycle(&cache, &Case::Lookup(oldest.to_string()));
    for run in 2..runs {
        let a = app(run % shape.apps);
        times.push(bench.release(&a, &new, &platform(run / shape.apps + 1)));
    }
    Row {
        shape,
        generation,
        sizes: before,
        cold,
        other,
        same,
        pinned,
        times,
    }
}
