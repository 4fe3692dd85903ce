//! The repository layouts under test: how the fixture is generated and how an app checks.
//! Only today's layout (`channel`: one delegated role per channel holding every release)
//! exists yet; a new layout is a new variant here, measured by the same cases.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use packaging::keys::Passphrase;
use packaging::ops::init::{init, InitOptions};
use packaging::ops::session::{Context, Session};
use packaging::Project;
use semver::Version;
use sha2::{Digest, Sha256};
use updater_core::release::{Platform, PlatformSegment, Release, ReleaseFields, ReleasePath};
use updater_core::tuf::metadata::TargetFile;
use updater_core::tuf::TufClient;

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
    /// Today: `targets` delegates `<channel>/*` to one role per channel, holding every
    /// release of every app and platform of the channel.
    Channel,
}

impl Layout {
    pub fn parse(name: &str) -> Option<Layout> {
        match name {
            "channel" => Some(Layout::Channel),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Layout::Channel => "channel",
        }
    }

    /// `updater-pack release` arguments this layout needs beyond the release's own.
    pub fn release_args(self) -> Vec<String> {
        match self {
            Layout::Channel => Vec::new(),
        }
    }

    /// `init`s the project and adds every release of `shape` in one session (one signing
    /// of each role); returns the time taken.
    pub fn generate(self, project: &Project, shape: Shape, now: DateTime<Utc>) -> Duration {
        let start = Instant::now();
        init(project, &InitOptions::default(), Passphrase::none(), now).unwrap();
        let ctx = Context {
            now,
            expires: Vec::new(),
            passphrase: Passphrase::none(),
        };
        let mut session = Session::open(project, ctx).unwrap();
        match self {
            Layout::Channel => {
                for channel in CHANNELS.iter().take(shape.channels) {
                    let role = session.draft.channel_mut(channel).unwrap();
                    for (n, path) in releases(shape, channel).enumerate() {
                        role.targets.insert(path.to_string(), entry(&path, n, now));
                    }
                }
            }
        }
        session.commit().unwrap();
        start.elapsed()
    }

    /// An app's update check, as `AppUpdater::check` does it: refresh, the releases the
    /// layout gives this app, the newest for its platform, then the lookup of that path
    /// through the delegation graph. Returns the path found.
    pub async fn check(
        self,
        client: &mut TufClient,
        channel: &str,
        app: &str,
        segment: &PlatformSegment,
    ) -> String {
        client.refresh().await.unwrap();
        let newest = match self {
            Layout::Channel => {
                let authorized = client.delegated_targets(channel).await.unwrap();
                let prefix = format!("{channel}/{app}/");
                authorized
                    .iter()
                    .filter(|(path, _)| path.starts_with(&prefix))
                    .filter_map(|(path, file)| Release::parse(path, file).ok())
                    .filter(|r| r.path.segment == *segment)
                    .max_by(|a, b| a.version().cmp(b.version()))
            }
        };
        let path = newest.expect("the app has releases").target_path();
        assert!(client.get_target_info(&path).await.unwrap().is_some());
        path
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
