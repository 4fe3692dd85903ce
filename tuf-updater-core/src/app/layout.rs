//! Where a check reads its metadata, and which roles it lists there. Two repository layouts:
//!
//! - "channel", the shared repository at `<base>/metadata/` (cache `tuf/`): top-level targets
//!   delegates each channel to a role that lists the releases of every app;
//! - "per-app", the app's own repository at `<base>/apps/<app>/metadata/` (cache
//!   `tuf-app/`): the channel role `C` lists nothing itself and delegates, per platform
//!   segment `S`, to a head `C.S` (the newest releases) and then an archive `C.S.archive`
//!   (the older ones), both on `C/<app>/*/S/*`. Targets stay at `<base>/targets/`.
//!
//! The app's repository is used when it exists. When its `timestamp.json` is not found and
//! this install never trusted it, the check falls back to the shared repository. Once a
//! refresh of it succeeded, a marker (`tuf-app/per-app-trusted`) says so, and from then on a
//! missing repository is an error: an attacker hiding it must not push the install back to
//! shared metadata that may be frozen. The two caches are kept apart, as their versions
//! differ and mixing them would look like a rollback.
//!
//! A per-app check lists the heads of the segments this install can take (and the channel
//! delegates to); an archive only when the heads cannot answer (see
//! [`Listing::archives_needed`]), so an up-to-date check downloads no archive.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::PathBuf;

use semver::Version;

use super::app_updater::AppUpdater;
use super::check::CheckFailure;
use super::types::UpdateError;
use crate::files::{write_atomic, Durability, FileError};
use crate::release::{PlatformSegment, ReleasePath, SelectionInput};
use crate::tuf::fetch::{fetch_capped, FetchError};
use crate::tuf::metadata::TargetFile;
use crate::tuf::store::quote;
use crate::tuf::trusted::AuthorizedTargets;
use crate::tuf::{ClientConfig, TufClient, TufError};

/// The cache of the app's own repository, under the data dir.
pub(super) const PER_APP_DIR: &str = "tuf-app";
/// In [`PER_APP_DIR`]: present once a refresh of the app's own repository succeeded.
pub(super) const PER_APP_MARKER: &str = "per-app-trusted";

/// The repository layout a check found at a base URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Layout {
    /// The shared repository, `<base>/metadata/`: one role per channel.
    Channel,
    /// The app's own repository, `<base>/apps/<app>/metadata/`: heads and archives.
    PerApp,
}

/// The signed targets under `<channel>/<app>/` that a check chooses among, merged from the
/// roles listed so far.
pub(super) struct Listing {
    channel: String,
    targets: BTreeMap<String, TargetFile>,
    /// Per-app: each head listed, by segment, with the oldest version it holds (`None`:
    /// none).
    heads: BTreeMap<PlatformSegment, Option<Version>>,
    /// Per-app: the archive roles the channel delegates to and not listed yet, by segment.
    archives: BTreeMap<PlatformSegment, String>,
}

impl Listing {
    fn new(channel: &str) -> Listing {
        Listing {
            channel: channel.to_string(),
            targets: BTreeMap::new(),
            heads: BTreeMap::new(),
            archives: BTreeMap::new(),
        }
    }

    /// The targets, by path.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&str, &TargetFile)> + Clone {
        self.targets.iter().map(|(path, t)| (path.as_str(), t))
    }

    /// Adds the targets of `authorized` under `prefix`; returns the oldest version among them.
    fn add(&mut self, authorized: &AuthorizedTargets, prefix: &str) -> Option<Version> {
        let mut oldest: Option<Version> = None;
        for (path, target) in authorized.iter().filter(|(p, _)| p.starts_with(prefix)) {
            if let Ok(parsed) = path.parse::<ReleasePath>() {
                if oldest
                    .as_ref()
                    .is_none_or(|o| parsed.version.cmp_precedence(o) == Ordering::Less)
                {
                    oldest = Some(parsed.version);
                }
            }
            self.targets.insert(path.to_string(), target.clone());
        }
        oldest
    }

    /// The segments whose archive is worth listing when the heads gave selection nothing to
    /// choose: every segment when a pin is set or a rollback or downgrade is allowed (the
    /// release they need may be old); otherwise those whose head is empty or starts above
    /// the running version (an eligible upgrade may have moved to the archive). None in the
    /// channel layout, nor once listed.
    pub(super) fn archives_needed(&self, input: &SelectionInput) -> Vec<PlatformSegment> {
        let older_allowed = input.pin.is_some() || input.allow_rollback || input.allow_downgrade;
        self.archives
            .keys()
            .filter(|segment| {
                older_allowed
                    || self.heads.get(*segment).is_none_or(|oldest| {
                        oldest
                            .as_ref()
                            .is_none_or(|o| input.current.cmp_precedence(o) == Ordering::Less)
                    })
            })
            .copied()
            .collect()
    }
}

impl AppUpdater {
    fn per_app_metadata_url(&self, base: &str) -> String {
        format!("{base}/apps/{}/metadata/", quote(&self.app))
    }

    /// A client of the metadata at `metadata_url`, cached in `dir`, whose targets are at
    /// `<base>/targets/`.
    pub(super) fn client_for(
        &self,
        base: &str,
        metadata_url: String,
        dir: PathBuf,
    ) -> Result<TufClient, TufError> {
        let mut config = ClientConfig::new(metadata_url, dir);
        config.targets_url = Some(format!("{base}/targets/"));
        config.limits = self.limits.clone();
        config.download = self.download_options();
        TufClient::new(config, self.fetcher.clone(), Some(&self.trusted_root))
    }

    /// The refreshed repository a check at `base` reads: the app's own, unless it is not
    /// there and this install never trusted it, then the shared one (see the module doc).
    pub(super) async fn open_repository(
        &self,
        base: &str,
    ) -> Result<(TufClient, Layout), CheckFailure> {
        let dir = self.data_dir.join(PER_APP_DIR);
        let marker = dir.join(PER_APP_MARKER);
        let local =
            |e: std::io::Error| CheckFailure::Other(UpdateError::Io(FileError::new(&marker, e)));
        let trusted_before = marker.try_exists().map_err(local)?;
        let url = self.per_app_metadata_url(base);
        let timestamp_url = format!("{url}timestamp.json");
        if !trusted_before {
            // Probed before any refresh: a refresh would first check the app's bootstrap
            // root, and an install whose bootstrap root has expired (the shared repository
            // rotated it since) would fail there instead of finding no repository.
            let probe = fetch_capped(
                self.fetcher.as_ref(),
                &timestamp_url,
                self.limits.timestamp_max_len,
                self.limits.metadata_deadline,
            )
            .await;
            if matches!(&probe, Err(e) if e.is_not_found()) {
                tracing::debug!(repository = %url, "no per-app repository; using the shared one");
                let mut tuf = self.tuf_client(base)?;
                tuf.refresh().await?;
                return Ok((tuf, Layout::Channel));
            }
        }
        let mut tuf = self.client_for(base, url.clone(), dir)?;
        match tuf.refresh().await {
            Ok(()) => {}
            Err(TufError::Fetch(FetchError::NotFound { url: missing, .. }))
                if trusted_before && missing == timestamp_url =>
            {
                return Err(CheckFailure::Repository(
                    TufError::TrustedRepositoryMissing {
                        what: format!("per-app repository of {}", self.app),
                        url,
                    },
                ));
            }
            Err(e) => return Err(e.into()),
        }
        if !trusted_before {
            write_atomic(&marker, b"per-app\n", Durability::Durable)
                .map_err(|e| CheckFailure::Other(UpdateError::Io(e)))?;
        }
        Ok((tuf, Layout::PerApp))
    }

    /// The releases of this app on `channel` that a check starts from: in the channel
    /// layout, the channel role's; in the per-app layout, the channel role's own (none, as
    /// published) and the heads of the segments this install can take that the channel
    /// delegates to.
    pub(super) async fn list_releases(
        &self,
        tuf: &mut TufClient,
        layout: Layout,
        channel: &str,
    ) -> Result<Listing, CheckFailure> {
        let mut listing = Listing::new(channel);
        let prefix = format!("{channel}/{}/", self.app);
        let own = self.chain_targets(tuf, &[channel]).await?;
        listing.add(&own, &prefix);
        if layout == Layout::Channel {
            return Ok(listing);
        }
        let delegated = tuf.delegated_roles(channel)?;
        for segment in self.segments() {
            let head = format!("{channel}.{segment}");
            let archive = format!("{head}.archive");
            if delegated.contains(&archive) {
                listing.archives.insert(segment, archive);
            }
            if delegated.contains(&head) {
                let targets = self.chain_targets(tuf, &[channel, &head]).await?;
                let oldest = listing.add(&targets, &prefix);
                listing.heads.insert(segment, oldest);
            }
        }
        Ok(listing)
    }

    /// Lists the archives of `segments` into `listing` (those the channel delegates to and
    /// not listed yet).
    pub(super) async fn list_archives(
        &self,
        tuf: &mut TufClient,
        listing: &mut Listing,
        segments: &[PlatformSegment],
    ) -> Result<(), CheckFailure> {
        let prefix = format!("{}/{}/", listing.channel, self.app);
        for segment in segments {
            let Some(archive) = listing.archives.remove(segment) else {
                continue;
            };
            tracing::debug!(role = %archive, "listing an archive");
            let channel = listing.channel.clone();
            let targets = self.chain_targets(tuf, &[&channel, &archive]).await?;
            listing.add(&targets, &prefix);
        }
        Ok(())
    }

    /// The platform segments whose releases selection can choose: this platform without a
    /// format (always a candidate) and with each format this install can apply.
    fn segments(&self) -> Vec<PlatformSegment> {
        let formats = self.installer.target().formats();
        std::iter::once(None)
            .chain(formats.into_iter().map(Some))
            .map(|format| PlatformSegment::new(self.platform, format))
            .collect()
    }

    /// The targets of the last role of `chain` (see [`TufClient::delegated_targets_chain`]);
    /// a channel the repository does not delegate to is `UnknownChannel`.
    async fn chain_targets(
        &self,
        tuf: &mut TufClient,
        chain: &[&str],
    ) -> Result<AuthorizedTargets, CheckFailure> {
        tuf.delegated_targets_chain(chain)
            .await
            .map_err(|e| match (e, chain) {
                (TufError::NotDelegated { delegated, .. }, [channel]) => {
                    CheckFailure::Other(UpdateError::UnknownChannel {
                        channel: channel.to_string(),
                        available: delegated,
                    })
                }
                (e, _) => CheckFailure::Repository(e),
            })
    }
}
