//! The verified artifact: download (resumable, mirrors in order) and install.

use std::path::{Path, PathBuf};

use super::app_updater::AppUpdater;
use super::types::{PatchBase, Result, Update, UpdateError};
use crate::files::remove_any;
use crate::install::Installed;
use crate::tuf::download::{file_matches, partial_path, DownloadOptions, Progress};
use crate::tuf::fetch::FetchError;
use crate::tuf::metadata::TargetFile;
use crate::tuf::TufError;

impl AppUpdater {
    fn downloads_dir(&self) -> PathBuf {
        self.data_dir.join("downloads")
    }

    /// The app's download options, partial files under the data dir (not in `downloads`,
    /// which only ever holds verified files) unless the app chose a directory.
    pub(super) fn download_options(&self) -> DownloadOptions {
        let mut options = self.download.clone();
        if options.partial_dir.is_none() {
            options.partial_dir = Some(self.data_dir.join("partial"));
        }
        options
    }

    /// Where the partial download of `dest` is kept.
    fn partial_of(&self, dest: &Path) -> PathBuf {
        partial_path(dest, &self.download_options())
    }

    /// Where the verified artifact of `update` is kept.
    pub fn download_path(&self, update: &Update) -> PathBuf {
        self.download_path_of(&update.target_path)
    }

    /// Where the verified file of target `target_path` is kept.
    pub(super) fn download_path_of(&self, target_path: &str) -> PathBuf {
        crate::tuf::TufClient::local_target_path(&self.downloads_dir(), target_path)
    }

    /// Where the uncompressed tar a bundle patch rebuilt for `update` is kept, beside its
    /// artifact: `<artifact>.tar`.
    fn patched_tar_path(&self, update: &Update) -> PathBuf {
        let mut path = self.download_path(update).into_os_string();
        path.push(".tar");
        PathBuf::from(path)
    }

    /// The rebuilt tar of `update` and the signed digest it must match, if `update` comes
    /// with a bundle patch.
    fn patched_tar<'a>(&self, update: &'a Update) -> Option<(PathBuf, &'a TargetFile)> {
        match &update.patch.as_ref()?.base {
            PatchBase::Bundle { tar, .. } => Some((self.patched_tar_path(update), tar)),
            PatchBase::File { .. } => None,
        }
    }

    /// The downloads of `update` worth keeping: its artifact, its patch if it has one, and
    /// the tar a bundle patch rebuilt.
    fn downloads_of(&self, update: &Update) -> Vec<PathBuf> {
        let mut keep = vec![self.download_path(update)];
        keep.extend(
            update
                .patch
                .as_ref()
                .map(|p| self.download_path_of(&p.target_path)),
        );
        keep.extend(self.patched_tar(update).map(|(path, _)| path));
        keep
    }

    /// Downloads the artifact of `update` into the data dir, verified against the signed
    /// length and hashes while it streams; an interrupted download (a cut connection, or a
    /// process that was killed) resumes where it stopped. A file already downloaded is
    /// re-verified and reused. Mirrors are tried in order when one fails. When the check
    /// found a patch from the installed version, the patch is downloaded instead and
    /// applied, and the result must match the artifact's signed length and hashes (for a
    /// bundle patch, the release's signed tar digest: the result is the uncompressed tar,
    /// kept beside the artifact's path with a `.tar` suffix); if anything about the patch
    /// fails, the full artifact is downloaded. Returns the path of the verified file.
    pub async fn download<F>(&self, update: &Update, progress: F) -> Result<PathBuf>
    where
        F: FnMut(Progress) + Send,
    {
        let _lock = self.installer.lock()?;
        let path = self.download_update(update, progress).await?;
        self.keep_running_package(update).await?;
        Ok(path)
    }

    async fn download_update<F>(&self, update: &Update, mut progress: F) -> Result<PathBuf>
    where
        F: FnMut(Progress) + Send,
    {
        let dest = self.download_path(update);
        self.remove_other_downloads(&self.downloads_of(update));
        if let Some(cached) = self.verified_download(update)? {
            progress(Progress::Started {
                content_length: update.size,
                resumed_from: update.size,
            });
            progress(Progress::Verifying);
            progress(Progress::Finished);
            return Ok(cached);
        }
        if let Some(plan) = &update.patch {
            let patched = match self.patched_tar(update) {
                Some((tar, _)) => tar,
                None => dest.clone(),
            };
            match self
                .download_patched(update, plan, &patched, &mut progress)
                .await
            {
                Ok(()) => return Ok(patched),
                Err(e) => {
                    tracing::warn!(error = %e, patch = %plan.target_path, "patch not used; downloading the full release");
                    // Of no more use, even to resume: the full file is downloaded now.
                    let patch_file = self.download_path_of(&plan.target_path);
                    for leftover in [self.partial_of(&patch_file), patch_file] {
                        if let Err(e) = remove_any(&leftover) {
                            tracing::debug!(path = %leftover.display(), error = %e, "cannot remove");
                        }
                    }
                }
            }
        }
        let path = self
            .fetch_from_mirrors(
                update,
                &update.target_path,
                &update.target,
                &dest,
                &mut progress,
            )
            .await?;
        tracing::info!(to = %update.version, path = "full", full_bytes = update.size, "update downloaded in full");
        Ok(path)
    }

    /// Downloads target `target_path` to `dest`, verified against `target`, from the
    /// repositories the check uses (the policy's mirror replaces the app's), the one that
    /// answered `update`'s check first.
    pub(super) async fn fetch_from_mirrors(
        &self,
        update: &Update,
        target_path: &str,
        target: &TargetFile,
        dest: &Path,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<PathBuf> {
        let (_, effective) = self.settings_and_effective()?;
        let mut bases = self.bases(&effective);
        if let Some(i) = bases.iter().position(|b| *b == update.repository) {
            let first = bases.remove(i);
            bases.insert(0, first);
        }
        let mut last = None;
        for base in bases {
            let result = match self.tuf_client(&base) {
                Ok(tuf) => {
                    tuf.download_target_with_progress(target_path, target, dest, progress)
                        .await
                }
                Err(e) => Err(e),
            };
            match result {
                Ok(path) => return Ok(path),
                Err(source) => {
                    let source = if range_not_satisfiable(&source) {
                        // Resuming past the end of the server's file: the file is shorter
                        // than its signed length, and what we have is of no use.
                        let part = self.partial_of(dest);
                        if let Err(e) = remove_any(&part) {
                            tracing::warn!(path = %part.display(), error = %e, "cannot remove");
                        }
                        TufError::LengthOrHash {
                            rule: crate::tuf::error::Rule::TargetLengthAndHashes,
                            what: format!("target {target_path}"),
                            detail: "the server has fewer bytes than the signed length \
                                     (HTTP 416 when resuming)"
                                .into(),
                        }
                    } else {
                        source
                    };
                    tracing::warn!(repository = %base, error = %source, "download failed");
                    last = Some(UpdateError::Repository { url: base, source });
                }
            }
        }
        Err(last.unwrap_or_else(|| UpdateError::Config("no repository URL".into())))
    }

    /// After a check: a download of anything but the update found (an artifact an
    /// interrupted install left, an older partial download) is of no more use.
    pub(super) fn prune_downloads(&self, keep: Option<&Update>) {
        let Ok(_lock) = self.installer.lock() else {
            return; // another process is updating; it keeps its own download
        };
        let keep = keep.map(|u| self.downloads_of(u)).unwrap_or_default();
        self.remove_other_downloads(&keep);
    }

    /// Deletes everything in the downloads, partial and patching directories but `keep`
    /// and their partial files.
    fn remove_other_downloads(&self, keep: &[PathBuf]) {
        let keep_part: Vec<PathBuf> = keep.iter().map(|k| self.partial_of(k)).collect();
        // A partial directory the app chose may hold other things: not pruned.
        let part_dir = self
            .download
            .partial_dir
            .is_none()
            .then(|| self.data_dir.join("partial"));
        let dirs = [
            Some(self.downloads_dir()),
            part_dir,
            Some(self.patching_dir()),
        ];
        let entries = dirs
            .into_iter()
            .flatten()
            .filter_map(|dir| std::fs::read_dir(dir).ok())
            .flat_map(|entries| entries.flatten());
        for entry in entries {
            let path = entry.path();
            if !keep.contains(&path) && !keep_part.contains(&path) {
                if let Err(e) = remove_any(&path) {
                    tracing::warn!(path = %path.display(), error = %e, "cannot remove an old download");
                }
            }
        }
    }

    /// Installs the downloaded `update`: re-verifies the file, stages it, keeps the current
    /// version as the backup and swaps the new one in, each step in the journal. On return
    /// the new version is in place and waits for its own [`confirm`](Self::confirm) after
    /// a [`restart`](Self::restart). Fails with `Busy` when another process is updating.
    ///
    /// An app a Windows installer installed is not swapped: on return the new version's
    /// installer is staged and handed the install, and [`hand_over`](Self::hand_over) (or
    /// [`restart`](Self::restart)) runs it and exits.
    pub fn install(&self, update: &Update) -> Result<()> {
        let lock = self.installer.lock()?;
        let Some(artifact) = self.verified_download(update)? else {
            return Err(UpdateError::NotDownloaded {
                version: update.version.clone(),
            });
        };
        let (from, to) = (self.current.to_string(), update.version.to_string());
        if artifact == self.download_path(update) {
            self.installer
                .stage(&lock, &artifact, &update.file_name, &from, &to)?;
        } else {
            self.installer.stage_tar(&lock, &artifact, &from, &to)?;
        }
        match self.installer.install(&lock)? {
            Installed::Swapped => {
                tracing::info!(from = %self.current, to = %update.version, "update installed; restart to run it");
            }
            Installed::HandOver(handover) => {
                tracing::info!(from = %self.current, to = %update.version, installer = %handover.program.display(), "update handed over to its installer; it runs when the app hands over and exits");
            }
        }
        if let Err(e) = std::fs::remove_file(&artifact) {
            tracing::debug!(path = %artifact.display(), error = %e, "download not removed");
        }
        Ok(())
    }
}

impl AppUpdater {
    /// The verified download of `update`, if there is one: its artifact matching the
    /// signed length and hashes, or the tar its bundle patch rebuilt matching the signed
    /// tar digest.
    fn verified_download(&self, update: &Update) -> Result<Option<PathBuf>> {
        let dest = self.download_path(update);
        if verify_local(&dest, update, &update.target)? {
            return Ok(Some(dest));
        }
        if let Some((tar, digest)) = self.patched_tar(update) {
            if verify_local(&tar, update, digest)? {
                return Ok(Some(tar));
            }
        }
        Ok(None)
    }
}

fn range_not_satisfiable(e: &TufError) -> bool {
    matches!(e, TufError::Fetch(FetchError::Status { status: 416, .. }))
}

/// Whether the file at `path` has the signed length and hashes `target` of `update`'s
/// artifact (or of its tar).
fn verify_local(path: &Path, update: &Update, target: &TargetFile) -> Result<bool> {
    file_matches(path, target).map_err(|e| match e {
        TufError::Io { source, .. } => UpdateError::Io(crate::files::FileError::new(path, source)),
        // An unusable hash algorithm in the signed metadata, say.
        other => UpdateError::Repository {
            url: update.repository.clone(),
            source: other,
        },
    })
}
