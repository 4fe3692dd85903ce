//! Benchmark: what an app downloads to check for updates, and what `updater-pack release`
//! costs, as a repository grows (issue 12), in each repository layout.
//!
//! ```sh
//! cargo bench -p updater-pack --bench metadata_scale                     # both layouts, 1,000 and 120,000 targets
//! cargo bench -p updater-pack --bench metadata_scale -- 1000 --runs 7    # sizes, timed releases
//! cargo bench -p updater-pack --bench metadata_scale -- --layout per-app # channel, per-app or all
//! ```
//!
//! The repository is `apps x 6 platforms x 2 channels x releases` targets (20 apps, or 2
//! below 24,000 targets), generated with the packaging library in one process (no artifact
//! files, only metadata is measured; see `layout.rs`), then served by the development
//! server, which counts requests and bytes. For one app and platform (`app-00`,
//! `linux-x86_64`, `beta`), the real `AppUpdater::check` (a new `AppUpdater` per check, as at
//! each app start, its data dir and so its metadata cache kept) measures: a cold first
//! check; a check after one new release of another app; after one new release of the same
//! app (which it must find); a check pinned to the oldest version (the policy's
//! `pinned_version`), warm. Each release is the `updater-pack release` process (1 MiB
//! artifact); its median wall time is over `--runs` releases. `--keep` leaves the generated
//! projects on disk.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "metadata_scale/layout.rs"]
mod layout;
#[path = "metadata_scale/report.rs"]
mod report;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use layout::{app, platform, version, Layout, Shape};
use report::{Measured, Row};
use semver::Version;
use tuf_updater_core::release::PlatformSegment;
use tuf_updater_core::{AppUpdater, CheckResult, InstallTarget, Platform};
use updater_pack::keys::Passphrase;
use updater_pack::ops::session::{Context, Session};
use updater_pack::serve::{DevServer, ServeOptions, Stats};
use updater_pack::Project;

struct Args {
    sizes: Vec<usize>,
    runs: usize,
    layouts: Vec<Layout>,
    /// Leave the generated projects on disk (their paths are printed), to study them.
    keep: bool,
}

fn args() -> Args {
    let mut args = Args {
        sizes: Vec::new(),
        runs: 5,
        layouts: Layout::ALL.to_vec(),
        keep: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => args.runs = it.next().and_then(|n| n.parse().ok()).expect("--runs N"),
            "--layout" => {
                let name = it.next().unwrap_or_default();
                args.layouts = Layout::parse(&name).expect("--layout channel|per-app|all");
            }
            "--keep" => args.keep = true,
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
    for &layout in &args.layouts {
        for &size in &args.sizes {
            let shape = Shape::for_targets(size);
            eprintln!(
                "{} layout, {} targets ({} apps x {} platforms x {} channels x {} releases)",
                layout.name(),
                shape.targets(),
                shape.apps,
                shape.platforms,
                shape.channels,
                shape.releases
            );
            rows.push(run(layout, shape, args.runs, args.keep));
        }
    }
    report::print(&rows);
}

/// The server, and the install of the app under test (its data dir keeps the metadata
/// cache between checks).
struct Bench {
    dir: PathBuf,
    server: DevServer,
    stats: Arc<Stats>,
    root: Vec<u8>,
    runtime: tokio::runtime::Runtime,
    artifact: PathBuf,
    install: PathBuf,
    /// The version the app under test runs: older than the newest, so a check finds an
    /// update and looks its path up, as the channel benchmark always did.
    current: Version,
}

const CHANNEL: &str = "beta";

impl Bench {
    /// One `AppUpdater::check` of `app-00` on linux-x86_64 in beta by a new `AppUpdater`
    /// over the same data dir; pinned to `pin` (with rollback allowed: the pin is older than
    /// the running version) when given. The check must find an update; its path is kept.
    fn check(&self, pin: Option<&Version>) -> Measured {
        let policy = self.install.join("policy.json");
        match pin {
            Some(v) => std::fs::write(
                &policy,
                format!(r#"{{ "pinned_version": "={v}", "allow_rollback": true }}"#),
            )
            .unwrap(),
            None => {
                let _ = std::fs::remove_file(&policy);
            }
        }
        let exe = self.install.join("app-00");
        std::fs::write(&exe, b"the installed version").unwrap();
        let updater = AppUpdater::builder(app(0), self.current.to_string())
            .repository(self.server.url())
            .trusted_root(self.root.clone())
            .data_dir(self.install.join("data"))
            .install_target(InstallTarget::Executable(exe))
            .policy_path(policy)
            .platform(Platform::LinuxX86_64)
            .default_channel(CHANNEL)
            .build()
            .unwrap();
        self.stats.reset();
        // The server counts each request before it answers: the figures are complete when
        // the check returns.
        let result = self.runtime.block_on(updater.check()).unwrap();
        let found = match result {
            CheckResult::Available(update) => update.target_path,
            other => panic!("expected an update, got {other:?}"),
        };
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
fn run(layout: Layout, shape: Shape, runs: usize, keep: bool) -> Row {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("proj");
    let project = Project::new(&dir, None);
    let generation = layout.generate(&project, shape, chrono::Utc::now());
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
    let install = tmp.path().join("install");
    std::fs::create_dir_all(&install).unwrap();
    let bench = Bench {
        stats: server.stats(),
        server,
        root: std::fs::read(project.first_root()).unwrap(),
        runtime: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
        dir,
        artifact,
        install,
        current: version(shape.releases.saturating_sub(2)),
    };
    let segment = platform(0);
    let newest = layout::release_path(CHANNEL, &app(0), version(shape.releases - 1), segment);
    let cold = bench.check(None);
    assert_eq!(cold.found, newest.to_string());
    let metadata = layout.app_metadata(&project, &app(0));
    let archive = layout.archive_role(CHANNEL, &segment);
    let sizes = report::Sizes::read(
        &metadata,
        &project.metadata_dir(),
        (
            match layout {
                Layout::Channel => "targets",
                Layout::PerApp => CHANNEL,
            },
            &layout.listing_role(CHANNEL, &segment),
            archive.as_deref(),
        ),
    );

    let new = Version::new(2, 0, 0);
    let mut times = vec![bench.release(&app(1), &new, &segment)];
    let other = bench.check(None);
    assert_eq!(other.found, newest.to_string());
    times.push(bench.release(&app(0), &new, &segment));
    let same = bench.check(None);
    assert!(same.found.contains("/2.0.0/"), "{}", same.found);
    let oldest = layout::release_path(CHANNEL, &app(0), version(0), segment);
    let pinned = bench.check(Some(&version(0)));
    assert_eq!(pinned.found, oldest.to_string());
    for run in 2..runs {
        // A version of its own: with many runs, apps and platforms come round again.
        let a = app(run % shape.apps);
        let v = Version::new(2, 0, run as u64);
        times.push(bench.release(&a, &v, &platform(run / shape.apps + 1)));
    }
    let open_times = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let ctx = Context {
                now: chrono::Utc::now(),
                expires: Vec::new(),
                passphrase: Passphrase::none(),
            };
            drop(Session::open_app(&project, ctx, &app(0)).unwrap());
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    if keep {
        eprintln!("  kept: {}", tmp.keep().join("proj").display());
    }
    Row {
        layout,
        shape,
        generation,
        sizes,
        cold,
        other,
        same,
        pinned,
        times,
        open_times,
    }
}
