//! The repository layouts under test (`updater-pack init --layout`): how the fixture is
//! generated, and where the roles an app reads are. The check itself is `AppUpdater::check`,
//! which finds the layout by itself.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use semver::Version;
use sha2::{Digest, Sha256};
use tuf_updater_core::release::{Platform, PlatformSegment, ReleaseFields, ReleasePath};
use tuf_updater_core::tuf::metadata::TargetFile;
use updater_pack::keys::Passphrase;
use updater_pack::ops::init::{init, InitOptions};
use updater_pack::ops::session::{Context, Session};
use updater_pack::project::Layout as ProjectLayout;
use updater_pack::repo::placement::{archive_name, head_name};
use updater_pack::Project;

/// The repository: `apps x platforms x channels x releases` targets.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub apps: usize,
    pub platforms: usize,
    pub channels: usize,
    pub releases: usize,
}

pub const CHANNELS: [&str; 2] = ["stable", "beta"];

/// The six platforms of the repository.
pub const PLATFORMS: [Platform; 6] = [
    Platform::LinuxX86_64,
    Platform::LinuxAarch64,
    Platform::DarwinX86_64,
    Platform::DarwinAarch64,
    Platform::WindowsX86_64,
    Platform::WindowsAarch64,
];

impl Shape {
    /// 20 apps (2 below 24,000 targets) x 6 platforms x 2 channels x as many releases as
    /// make about `targets`.
    pub fn for_targets(targets: usize) -> Shape {
        let apps = if targets >= 24_000 { 20 } else { 2 };
        let per = apps * PLATFORMS.len() * CHANNELS.len();
        Shape {
            apps,
            platforms: PLATFORMS.len(),
            channels: CHANNELS.len(),
            releases: targets.div_ceil(per).max(1),
        }
    }

    pub fn targets(&self) -> usize {
        self.apps * self.platforms * self.channels * self.releases
    }
}

pub fn app(i: usize) -> String {
    format!("app-{i:02}")
}

pub fn platform(i: usize) -> PlatformSegment {
    PlatformSegment::new(PLATFORMS[i % PLATFORMS.len()], None)
}

/// The `i`-th release: `1.<i / 100>.<i % 100>`.
pub fn version(i: usize) -> Version {
    Version::new(1, (i / 100) as u64, (i % 100) as u64)
}

pub fn file_name(app: &str, version: &Version, segment: &PlatformSegment) -> String {
    format!("{app}_{version}_{segment}.tar.gz")
}

pub fn release_path(
    channel: &str,
    app: &str,
    version: Version,
    segment: PlatformSegment,
) -> ReleasePath {
    let file = file_name(app, &version, &segment);
    ReleasePath {
        channel: channel.to_string(),
        app: app.to_string(),
        version,
        segment,
        file,
    }
}

/// The target entry `updater-pack release` writes with default options: length, sha256 and
/// the release's custom fields. The hash is of the path (the fixture stores no artifacts:
/// only metadata is measured).
fn entry(path: &ReleasePath, n: usize, now: DateTime<Utc>) -> TargetFile {
    let sha256 = hex::encode(Sha256::digest(path.to_string()));
    let mut file = TargetFile::new(
        40_000_000 + n as u64,
        BTreeMap::from([("sha256".to_string(), sha256)]),
    );
    file.custom = Some(ReleaseFields::full(path.version.clone(), now).to_custom());
    file
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `targets` delegates `<channel>/*` to one role per channel, holding every release of
    /// every app and platform of the channel (`init --layout channel`).
    Channel,
    /// One TUF repository per app (`repository/apps/<app>/metadata/`); in it, the channel
    /// role delegates per platform segment to a head (the newest 8 to 16 versions), then an
    /// archive (the older ones). The default of `init`.
    PerApp,
}

impl Layout {
    pub const ALL: [Layout; 2] = [Layout::Channel, Layout::PerApp];

    pub fn parse(name: &str) -> Option<Vec<Layout>> {
        match name {
            "channel" => Some(vec![Layout::Channel]),
            "per-app" => Some(vec![Layout::PerApp]),
            "all" => Some(Layout::ALL.to_vec()),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Layout::Channel => "channel",
            Layout::PerApp => "per-app",
        }
    }

    fn project_layout(self) -> ProjectLayout {
        match self {
            Layout::Channel => ProjectLayout::Channel,
            Layout::PerApp => ProjectLayout::PerApp,
        }
    }

    /// The metadata directory of the repository `app` checks.
    pub fn app_metadata(self, project: &Project, app: &str) -> PathBuf {
        match self {
            Layout::Channel => project.metadata_dir(),
            Layout::PerApp => project.app_metadata_dir(app),
        }
    }

    /// The role that lists the releases a check of `segment` on `channel` reads.
    pub fn listing_role(self, channel: &str, segment: &PlatformSegment) -> String {
        match self {
            Layout::Channel => channel.to_string(),
            Layout::PerApp => head_name(channel, &segment.to_string()),
        }
    }

    /// The role a pin to an old version of `segment` adds, if any.
    pub fn archive_role(self, channel: &str, segment: &PlatformSegment) -> Option<String> {
        match self {
            Layout::Channel => None,
            Layout::PerApp => Some(archive_name(channel, &segment.to_string())),
        }
    }

    /// `init`s the project in this layout and adds every release of `shape` as `updater-pack
    /// release` writes it: in the channel layout in one session (one signing of each role);
    /// in the per-app layout one session per app (`Session::open_app`, each release
    /// inserted in ascending version order, as releases come, so heads move their old
    /// versions to the archives as they would), one commit per app. Returns the time taken.
    pub fn generate(self, project: &Project, shape: Shape, now: DateTime<Utc>) -> Duration {
        let start = Instant::now();
        let options = InitOptions {
            layout: self.project_layout(),
            ..InitOptions::default()
        };
        init(project, &options, Passphrase::none(), now).unwrap();
        let ctx = || Context {
            now,
            expires: Vec::new(),
            passphrase: Passphrase::none(),
        };
        match self {
            Layout::Channel => {
                let mut session = Session::open(project, ctx()).unwrap();
                for channel in CHANNELS.iter().take(shape.channels) {
                    let role = session.draft.channel_mut(channel).unwrap();
                    for (n, path) in releases(shape, channel).enumerate() {
                        role.targets.insert(path.to_string(), entry(&path, n, now));
                    }
                }
                session.commit().unwrap();
            }
            Layout::PerApp => {
                let mut n = 0;
                for a in 0..shape.apps {
                    let mut session = Session::open_app(project, ctx(), &app(a)).unwrap();
                    for r in 0..shape.releases {
                        for channel in CHANNELS.iter().take(shape.channels) {
                            for p in 0..shape.platforms {
                                let path = release_path(channel, &app(a), version(r), platform(p));
                                let file = entry(&path, n, now);
                                session
                                    .insert_target(channel, &path.to_string(), &file)
                                    .unwrap();
                                n += 1;
                            }
                        }
                    }
                    session.commit().unwrap();
                }
            }
        }
        start.elapsed()
    }
}

/// Every release of `channel` in `shape`.
fn releases(shape: Shape, channel: &str) -> impl Iterator<Item = ReleasePath> + '_ {
    let channel = channel.to_string();
    (0..shape.apps).flat_map(move |a| {
        let channel = channel.clone();
        (0..shape.platforms).flat_map(move |p| {
            let channel = channel.clone();
            (0..shape.releases)
                .map(move |r| release_path(&channel, &app(a), version(r), platform(p)))
        })
    })
}
