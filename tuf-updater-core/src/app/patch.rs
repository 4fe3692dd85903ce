//! The patch path of a download: the patch from the installed version, applied to the
//! installed bytes and checked against the full release's signed length and hashes (for a
//! bundle, its tar patch applied to the installed bundle's files and checked against the
//! release's signed tar digest). Any failure is reported to the caller, which falls back to
//! the full download.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::app_updater::AppUpdater;
use super::types::{PatchBase, PatchPlan, Update, UpdateError};
use crate::delta::{apply_patch, apply_tar_patch, ApplyError, Mapped, TarPatchError};
use crate::files::FileError;
use crate::install::InstallTarget;
use crate::release::{find_patch, DeltaFormat, InstallFormat, Release};
use crate::tuf::download::{file_matches, Progress};
use crate::tuf::metadata::TargetFile;
use crate::tuf::TufError;

/// Why the patch was not used.
#[derive(Debug, Error)]
#[non_exhaustive]
pub(super) enum PatchFailure {
    #[error("downloading the patch failed: {0}")]
    Download(#[source] UpdateError),
    #[error("the installed file no longer matches version {version}'s signed hashes")]
    InstalledChanged { version: semver::Version },
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error(transparent)]
    ApplyTar(#[from] TarPatchError),
    #[error("the patched file does not match the full release's signed length and hashes (or tar digest)")]
    Mismatch,
    #[error(transparent)]
    Io(#[from] FileError),
    #[error("cannot check a file: {0}")]
    Check(#[source] TufError),
}

impl AppUpdater {
    /// Where patches are applied: a folder of the updater's own, emptied by the next check
    /// or download (what a killed apply left there).
    pub(super) fn patching_dir(&self) -> PathBuf {
        self.data_dir.join("patching")
    }

    /// The patch to `full` that this install can use: the installed target is one file (an
    /// executable or an AppImage, whose bytes are the release artifact), the repository has
    /// a patch from the running version, and the installed bytes match that version's
    /// signed length and hashes; or the installed target is a bundle and the repository has
    /// a tar patch to a `.tar.gz` release that signs its tar digest.
    pub(super) fn usable_patch<'a, P, I>(&self, candidates: I, full: &Release) -> Option<PatchPlan>
    where
        P: AsRef<str>,
        I: IntoIterator<Item = (P, &'a TargetFile)>,
    {
        let installed = match self.installer.target() {
            InstallTarget::Executable(installed) => installed,
            InstallTarget::Bundle(dir) => return self.usable_tar_patch(candidates, full, dir),
            // The package manager keeps no copy of the package a patch would apply to.
            // Nor does Windows of an installer (the kept `installed.<ext>` could serve: not yet).
            InstallTarget::Package(_) | InstallTarget::Installer(_) => return None,
        };
        if let Some(format) = full.path.format() {
            if !matches!(format, InstallFormat::Exe | InstallFormat::AppImage) {
                return None;
            }
        }
        if crate::install::is_tar_gz(&full.path.file) {
            return None; // the installed file is what the archive holds, not the archive
        }
        let offer = find_patch(candidates, full, &self.current, DeltaFormat::Whole)?;
        match file_matches(installed, &offer.from.target) {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!(path = %installed.display(), version = %self.current,
                    "installed file differs from the signed release; no patch");
                return None;
            }
            Err(e) => {
                tracing::warn!(path = %installed.display(), error = %e, "cannot hash the installed file; no patch");
                return None;
            }
        }
        Some(PatchPlan {
            target_path: offer.patch.target_path(),
            target: offer.patch.target,
            from_version: self.current.clone(),
            base: PatchBase::File {
                from_target: offer.from.target,
                installed: installed.clone(),
            },
        })
    }

    /// The tar patch to `full` for the bundle at `dir`: `full` is a `.tar.gz` whose fields
    /// sign its tar digest (what the rebuilt tar is checked against). The installed files
    /// are checked as the patch uses them, not here: a bundle has many.
    fn usable_tar_patch<'a, P, I>(
        &self,
        candidates: I,
        full: &Release,
        dir: &Path,
    ) -> Option<PatchPlan>
    where
        P: AsRef<str>,
        I: IntoIterator<Item = (P, &'a TargetFile)>,
    {
        if !crate::install::is_tar_gz(&full.path.file) {
            return None;
        }
        let digest = full.fields.tar.as_ref()?;
        let offer = find_patch(candidates, full, &self.current, DeltaFormat::Tar)?;
        let tar = TargetFile::new(
            digest.length,
            std::collections::BTreeMap::from([("sha256".into(), digest.sha256.clone())]),
        );
        Some(PatchPlan {
            target_path: offer.patch.target_path(),
            target: offer.patch.target,
            from_version: self.current.clone(),
            base: PatchBase::Bundle {
                dir: dir.to_path_buf(),
                tar,
            },
        })
    }

    /// Downloads the patch of `plan` (resumable, verified against its signed length and
    /// hashes), applies it to the installed file (or bundle) and moves the result to `dest`
    /// once it matches the full release's signed length and hashes (or tar digest). Progress counts the patch's
    /// bytes; `Finished` comes after the result is verified.
    pub(super) async fn download_patched(
        &self,
        update: &Update,
        plan: &PatchPlan,
        dest: &Path,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<(), PatchFailure> {
        let patch_file = self.download_path_of(&plan.target_path);
        let mut forward = |p: Progress| {
            if !matches!(p, Progress::Finished) {
                progress(p)
            }
        };
        self.fetch_from_mirrors(
            update,
            &plan.target_path,
            &plan.target,
            &patch_file,
            &mut forward,
        )
        .await
        .map_err(PatchFailure::Download)?;
        let applied = self.apply_downloaded(update, plan, &patch_file, dest);
        if let Err(e) = crate::files::remove_any(&patch_file) {
            tracing::debug!(path = %patch_file.display(), error = %e, "patch not removed");
        }
        applied?;
        progress(Progress::Finished);
        tracing::info!(
            from = %plan.from_version, to = %update.version, path = "patch",
            patch_bytes = plan.target.length, full_bytes = update.size,
            saved_bytes = update.size.saturating_sub(plan.target.length),
            "update downloaded as a patch"
        );
        Ok(())
    }

    /// Applies the verified patch at `patch_file` into a staging file and moves it to `dest`
    /// when it matches what the plan says the result must be: the full release's signed
    /// length and hashes, or for a bundle, its signed tar digest.
    fn apply_downloaded(
        &self,
        update: &Update,
        plan: &PatchPlan,
        patch_file: &Path,
        dest: &Path,
    ) -> Result<(), PatchFailure> {
        let verified = |path: &Path, target: &TargetFile| {
            file_matches(path, target).map_err(PatchFailure::Check)
        };
        let dir = self.patching_dir();
        std::fs::create_dir_all(&dir).map_err(FileError::at(&dir))?;
        let staging = tempfile::Builder::new()
            .prefix("patched-")
            .tempfile_in(&dir)
            .map_err(FileError::at(&dir))?;
        let patch = File::open(patch_file).map_err(FileError::at(patch_file))?;
        let mut out = BufWriter::new(staging.as_file());
        let result = match &plan.base {
            PatchBase::File {
                from_target,
                installed,
            } => {
                if !verified(installed, from_target)? {
                    return Err(PatchFailure::InstalledChanged {
                        version: plan.from_version.clone(),
                    });
                }
                let old = Mapped::open(installed).map_err(FileError::at(installed))?;
                apply_patch(old.bytes(), patch, &mut out, update.size)?;
                &update.target
            }
            PatchBase::Bundle { dir, tar } => {
                apply_tar_patch(dir, std::io::BufReader::new(patch), &mut out, tar.length)?;
                tar
            }
        };
        out.flush().map_err(FileError::at(staging.path()))?;
        drop(out);
        crate::install::crash_point("patched");
        staging
            .as_file()
            .sync_all()
            .map_err(FileError::at(staging.path()))?;
        if !verified(staging.path(), result)? {
            return Err(PatchFailure::Mismatch);
        }
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(FileError::at(parent))?;
        }
        staging
            .persist(dest)
            .map_err(|e| FileError::new(dest, e.error))?;
        Ok(())
    }
}
