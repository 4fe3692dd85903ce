//! The check: verified metadata from the first repository that answers, then the choice.

use super::app_updater::AppUpdater;
use super::rollback_package::running_release;
use super::types::{CheckResult, Result, Update, UpdateError};
use crate::policy::Effective;
use crate::release::{self, HeldBack, HeldBackReason, Release, SelectionInput};
use crate::settings::UserSettings;
use crate::tuf::{TufClient, TufError};

/// Why one repository could not answer a check: worth trying the next mirror, or not.
pub(super) enum CheckFailure {
    Repository(TufError),
    Other(UpdateError),
}

impl From<TufError> for CheckFailure {
    fn from(e: TufError) -> Self {
        CheckFailure::Repository(e)
    }
}

impl AppUpdater {
    /// The repositories to try, in order: the policy's mirror alone, or the app's.
    pub(super) fn bases(&self, effective: &Effective) -> Vec<String> {
        match &effective.repository_mirror {
            Some(url) => vec![url.as_str().trim_end_matches('/').to_string()],
            None => self.repositories.clone(),
        }
    }

    /// A client of the shared repository at `base` (the channel layout), cached in `tuf/`.
    pub(super) fn tuf_client(&self, base: &str) -> Result<TufClient, TufError> {
        self.client_for(base, format!("{base}/metadata/"), self.data_dir.join("tuf"))
    }

    /// Looks for an update: reads the policy and the user's settings, refreshes the
    /// verified metadata, and chooses among the channel's releases for this app and
    /// platform. A repository that fails or is refused is followed by the next mirror; the
    /// error of the last one is returned.
    pub async fn check(&self) -> Result<CheckResult> {
        let (settings, effective) = self.settings_and_effective()?;
        if let Some(reason) = effective.disabled.clone() {
            return Ok(CheckResult::Disabled { reason });
        }
        if let Some(note) = &effective.channel_note {
            tracing::info!(%note, channel = %effective.channel, "channel set by policy");
        }
        let bases = self.bases(&effective);
        let mut last = None;
        for base in &bases {
            match self.check_at(base, &settings, &effective).await {
                Ok(result) => {
                    self.prune_downloads(match &result {
                        CheckResult::Available(update) => Some(update),
                        _ => None,
                    });
                    return Ok(result);
                }
                Err(CheckFailure::Repository(source)) => {
                    tracing::warn!(repository = %base, error = %source, "update check failed");
                    last = Some(UpdateError::Repository {
                        url: base.clone(),
                        source,
                    });
                }
                Err(CheckFailure::Other(e)) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| UpdateError::Config("no repository URL".into())))
    }

    /// What release selection needs to know about this install.
    fn selection_input(&self, settings: &UserSettings, effective: &Effective) -> SelectionInput {
        let mut input = SelectionInput::new(
            self.app.clone(),
            self.current.clone(),
            self.platform,
            effective.channel.as_str(),
            settings.install_id.bucket(&self.current),
        );
        input.pin = effective.pinned_version.clone();
        input.allow_rollback = effective.allow_rollback;
        input.allow_downgrade = self.allow_downgrade;
        input.formats = self.installer.target().formats();
        input.rolled_back = settings.rolled_back_versions.clone();
        input
    }

    async fn check_at(
        &self,
        base: &str,
        settings: &UserSettings,
        effective: &Effective,
    ) -> Result<CheckResult, CheckFailure> {
        let channel = effective.channel.as_str();
        let (mut tuf, layout) = self.open_repository(base).await?;
        let mut listing = self.list_releases(&mut tuf, layout, channel).await?;
        let input = self.selection_input(settings, effective);
        let mut selection = release::select(listing.iter(), &input);
        if selection.chosen.is_none() {
            let segments = listing.archives_needed(&input);
            if !segments.is_empty() {
                self.list_archives(&mut tuf, &mut listing, &segments)
                    .await?;
                selection = release::select(listing.iter(), &input);
            }
        }
        for skipped in &selection.skipped {
            tracing::warn!(path = %skipped.path, error = %skipped.error, "malformed release ignored");
        }
        // An older release kept out only because it is older is not news.
        let held: Vec<HeldBack> = selection
            .held_back
            .into_iter()
            .filter(|h| !h.reasons.contains(&HeldBackReason::Downgrade))
            .collect();
        let Some(chosen) = selection.chosen else {
            let channel = channel.to_string();
            return Ok(if held.is_empty() {
                CheckResult::UpToDate { channel }
            } else {
                CheckResult::HeldBack { channel, held }
            });
        };
        // The same path looked up through the whole delegation graph, in the spec's search
        // order (5.6.7): a role searched before the channel's has the last word on it.
        let path = chosen.release.target_path();
        let release = match tuf.get_target_info(&path).await? {
            Some(info) if info == chosen.release.target => chosen.release,
            Some(info) => {
                tracing::warn!(%path, "target info differs from the channel role's; using the lookup's");
                Release::parse(&path, &info).map_err(|source| {
                    CheckFailure::Other(UpdateError::Release {
                        path: path.clone(),
                        source,
                    })
                })?
            }
            None => return Err(CheckFailure::Repository(TufError::TargetNotFound(path))),
        };
        let patch = self.usable_patch(listing.iter(), &release);
        // A target that keeps its running version's package or installer for a rollback.
        let mut rollback_package = None;
        if self.installer.installed_path().is_some() {
            rollback_package = running_release(listing.iter(), &release, &self.current);
            if rollback_package.is_none() {
                // Older than the head of its segment, perhaps: in the archive.
                let segment = [release.path.segment];
                self.list_archives(&mut tuf, &mut listing, &segment).await?;
                rollback_package = running_release(listing.iter(), &release, &self.current);
            }
        }
        Ok(CheckResult::Available(Update {
            version: release.version().clone(),
            current_version: self.current.clone(),
            notes: release.fields.notes.clone(),
            date: release.fields.published,
            size: release.length(),
            download_size: patch.as_ref().map_or(release.length(), |p| p.target.length),
            channel: channel.to_string(),
            critical: release.fields.critical,
            direction: chosen.direction,
            target_path: path,
            file_name: release.path.file.clone(),
            held_back: held,
            target: release.target,
            patch,
            rollback_package,
            repository: base.to_string(),
        }))
    }
}
