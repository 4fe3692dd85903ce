//! Patches published with a release (`release --deltas K`): after the full release of
//! version V for a channel, app and platform segment, a patch from each of the last K full
//! releases below V there (semver precedence, highest first) to V, made with
//! [`make_patch`] from the stored bytes of the earlier release and the staged bytes of V,
//! and published in the same commit as a delta target beside the full file
//! (`<full path>.from-<version>.zst`, [`patch_path`]). A client with one of those versions
//! installed downloads the patch instead of the full file ([`find_patch`]); older clients
//! skip deltas. For a `.tar.gz` release the patches are per-file patches of the
//! uncompressed tar (`"format": "tar"`, `delta::tar_patch`), still compared with the full
//! `.tar.gz`'s length for the 50% rule.
//!
//! [`find_patch`]: tuf_updater_core::release::find_patch

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use semver::Version;
use sha2::{Digest, Sha256};
use tuf_updater_core::delta::{make_patch, make_tar_patch, Mapped};
use tuf_updater_core::files::FileError;
use tuf_updater_core::install::is_tar_gz;
use tuf_updater_core::release::{
    patch_path, DeltaFormat, Release, ReleaseFields, ReleaseKind, ReleasePath,
};
use tuf_updater_core::tuf::metadata::TargetFile;

use crate::error::{PackError, Result};
use crate::ops::listing::{listed, stored_path};
use crate::ops::session::Session;
use crate::ops::tarball::tar_bytes;
use crate::project::Project;
use crate::repo::placement::archive_name;
use crate::txn::{hash_file, Phase};

/// How many earlier releases get a patch to a new one unless `--deltas` says otherwise:
/// most installs that update are a few versions behind, and each patch costs the publisher
/// a compression of the whole file and every client a line of channel metadata.
pub const DEFAULT_DELTAS: usize = 3;

/// A patch is published only if it is at most this percentage of the full file's length.
/// Above that the saving is small, while the patch still costs a line of channel metadata
/// that every client downloads, and a client that takes it still reads the old version
/// and checks the result; unrelated or recompressed files give patches about as large as
/// the file.
pub const MAX_PATCH_PERCENT: u64 = 50;

/// What became of the patch from one earlier release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PatchOutcome {
    /// Staged and listed as `target`, `length` bytes.
    Published { target: String, length: u64 },
    /// Made, but larger than [`MAX_PATCH_PERCENT`] of the full file: not published.
    TooLarge { length: u64 },
    /// The earlier release's stored file is missing or is not the bytes its metadata
    /// signs: a patch from it would not apply to what clients have installed.
    NoBase { reason: String },
    /// The patch's target path is not a valid release path (a file name too long).
    BadPath { target: String, reason: String },
}

/// The patch from one earlier release, for the report.
#[derive(Clone, Debug)]
pub struct PatchReport {
    pub from: Version,
    /// The full file's length, which the patch's is compared with.
    pub full_length: u64,
    pub outcome: PatchOutcome,
}

/// The full releases a patch to `full` is made from: the last `count` full releases of
/// `full`'s channel, app and platform segment below its version (semver precedence),
/// highest first. A yanked release is no longer listed, so it is not one.
pub fn bases(session: &Session, full: &ReleasePath, count: usize) -> Vec<Release> {
    let mut bases: Vec<Release> = listed(session, &full.channel)
        .filter(|(p, _)| p.app == full.app && p.segment == full.segment)
        .filter(|(p, _)| p.version.cmp_precedence(&full.version).is_lt())
        .filter_map(|(p, file)| Release::parse(&p.to_string(), file).ok())
        .filter(|r| r.fields.kind == ReleaseKind::Full)
        .collect();
    bases.sort_by(|a, b| {
        b.version()
            .cmp_precedence(a.version())
            .then_with(|| b.version().cmp(a.version()))
    });
    bases.truncate(count);
    bases
}

/// Makes the patches to the full release `full`, planned in this session with its file
/// staged for `stored_full`, from up to `count` earlier releases; stages and lists the
/// ones small enough. Returns what became of each.
pub fn plan_patches(
    session: &mut Session,
    full: &ReleasePath,
    stored_full: &Path,
    count: usize,
) -> Result<Vec<PatchReport>> {
    if bases(session, full, count).len() < count {
        // Fewer earlier releases in the head than wanted: the archive may hold the rest.
        let archive = archive_name(&full.channel, &full.segment.to_string());
        session.draft.state.load_part(&archive)?;
    }
    let bases = bases(session, full, count);
    if bases.is_empty() {
        return Ok(Vec::new());
    }
    // The staged copy: the bytes hashed and published, whatever the artifact is now.
    let staged = session
        .txn
        .staged_for(stored_full)
        .ok_or_else(|| PackError::inconsistent(format!("{} is not staged", stored_full.display())))?
        .to_path_buf();
    let new = Mapped::open(&staged).map_err(FileError::at(&staged))?;
    let full_length = new.bytes().len() as u64;
    // A bundle archive: per-file patches of its uncompressed tar (a whole-file patch of
    // compressed bytes saves little, and clients have the unpacked files, not the archive).
    let new_tar = if is_tar_gz(&full.file) {
        // Not gzip: released without a tar digest (ops/tarball.rs), so no patch either.
        let Ok(tar) = tar_bytes(new.bytes(), &staged) else {
            return Ok(Vec::new());
        };
        Some(tar)
    } else {
        None
    };
    let mut reports = Vec::new();
    for base in bases {
        let from = base.version();
        let outcome = match (base_bytes(&session.project, &base), &new_tar) {
            (Err(reason), _) => PatchOutcome::NoBase { reason },
            (Ok(old), None) => {
                let make = |out: &mut Vec<u8>| make_patch(old.bytes(), new.bytes(), out);
                plan_patch(session, full, from, full_length, DeltaFormat::Whole, make)?
            }
            (Ok(old), Some(new_tar)) => {
                match tar_bytes(old.bytes(), Path::new(&base.target_path())) {
                    Err(e) => PatchOutcome::NoBase {
                        reason: format!("its archive cannot be read: {e}"),
                    },
                    Ok(old_tar) => {
                        let make = |out: &mut Vec<u8>| make_tar_patch(&old_tar, new_tar, out);
                        plan_patch(session, full, from, full_length, DeltaFormat::Tar, make)?
                    }
                }
            }
        };
        reports.push(PatchReport {
            from: base.fields.version,
            full_length,
            outcome,
        });
    }
    Ok(reports)
}

/// The stored bytes of `base`, if they are the ones its metadata signs; otherwise why not.
fn base_bytes(project: &Project, base: &Release) -> Result<Mapped, String> {
    let sha256 = base
        .target
        .hashes
        .get("sha256")
        .ok_or_else(|| format!("{} has no sha256 hash", base.target_path()))?;
    let stored = stored_path(project, &base.path, sha256);
    if !stored.is_file() {
        return Err(format!("its stored file {} is missing", stored.display()));
    }
    let (length, sha) = hash_file(&stored).map_err(|e| e.to_string())?;
    if length != base.length() || sha != *sha256 {
        return Err(format!(
            "its stored file {} does not match its signed length and sha256",
            stored.display()
        ));
    }
    Mapped::open(&stored).map_err(|e| format!("{}: {e}", stored.display()))
}

/// Makes the patch from version `from` to the release `full` (of `full_length` bytes) with
/// `make` and, if it is small enough, stages it and lists it on `full`'s channel as a delta
/// of `format`.
fn plan_patch(
    session: &mut Session,
    full: &ReleasePath,
    from: &Version,
    full_length: u64,
    format: DeltaFormat,
    make: impl FnOnce(&mut Vec<u8>) -> std::io::Result<u64>,
) -> Result<PatchOutcome> {
    let mut patch = Vec::new();
    make(&mut patch).map_err(|source| PackError::Patch {
        from: from.to_string(),
        source,
    })?;
    let length = patch.len() as u64;
    if !small_enough(length, full_length) {
        return Ok(PatchOutcome::TooLarge { length });
    }
    let target = patch_path(&full.to_string(), from);
    let path: ReleasePath = match target.parse() {
        Ok(path) => path,
        Err(e) => {
            let reason = format!("{e}");
            return Ok(PatchOutcome::BadPath { target, reason });
        }
    };
    let sha256 = hex::encode(Sha256::digest(&patch));
    let stored = stored_path(&session.project, &path, &sha256);
    session
        .txn
        .add_bytes(Phase::Targets, &stored, &patch, false)?;
    let mut file = TargetFile::new(length, BTreeMap::from([("sha256".into(), sha256)]));
    file.custom = Some(delta_fields(full, from, format, session.now).to_custom());
    session.insert_target(&full.channel, &target, &file)?;
    Ok(PatchOutcome::Published { target, length })
}

/// Whether a patch of `patch` bytes is worth publishing for a full file of `full` bytes:
/// at most [`MAX_PATCH_PERCENT`] of it.
pub fn small_enough(patch: u64, full: u64) -> bool {
    u128::from(patch) * 100 <= u128::from(full) * u128::from(MAX_PATCH_PERCENT)
}

/// The fields of the patch from `from` to `full`: a delta of `full`'s version with no notes
/// (every client downloads them with the channel metadata; the full release has the notes).
pub fn delta_fields(
    full: &ReleasePath,
    from: &Version,
    format: DeltaFormat,
    published: DateTime<Utc>,
) -> ReleaseFields {
    ReleaseFields {
        kind: ReleaseKind::Delta {
            from: from.clone(),
            full: full.to_string(),
            format,
        },
        ..ReleaseFields::full(full.version.clone(), published)
    }
}

/// The patches `channel` lists to the full release at `full`: delta targets in its
/// directory whose `full` is its path.
pub fn patches_to(session: &Session, channel: &str, full: &ReleasePath) -> Vec<Release> {
    let full_path = full.to_string();
    listed(session, channel)
        .filter(|(p, _)| p.dir() == full.dir())
        .filter_map(|(p, file)| Release::parse(&p.to_string(), file).ok())
        .filter(|r| matches!(&r.fields.kind, ReleaseKind::Delta { full, .. } if *full == full_path))
        .collect()
}

/// `part` as a percentage of `whole`, one decimal (`<0.1%` rather than a rounded `0.0%`).
fn percent(part: u64, whole: u64) -> String {
    let pct = part as f64 * 100.0 / whole.max(1) as f64;
    if part > 0 && pct < 0.05 {
        return "<0.1%".to_string();
    }
    format!("{pct:.1}%")
}

impl std::fmt::Display for PatchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let from = &self.from;
        match &self.outcome {
            PatchOutcome::Published { length, .. } => write!(
                f,
                "patch from {from}: {length} bytes ({} of the full file)",
                percent(*length, self.full_length)
            ),
            PatchOutcome::TooLarge { length } => write!(
                f,
                "no patch from {from}: it would be {length} bytes ({} of the full file), and \
                 a patch is published only if it is at most {MAX_PATCH_PERCENT}%",
                percent(*length, self.full_length)
            ),
            PatchOutcome::NoBase { reason } => write!(f, "no patch from {from}: {reason}"),
            PatchOutcome::BadPath { target, reason } => {
                write!(
                    f,
                    "no patch from {from}: its path {target} is not valid: {reason}"
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_is_published_up_to_half_the_full_file() {
        assert!(small_enough(50, 100));
        assert!(!small_enough(51, 100));
        assert!(small_enough(0, 1));
        assert!(small_enough(u64::MAX / 2, u64::MAX));
    }

    #[test]
    fn report_lines_say_why() {
        let report = |outcome| PatchReport {
            from: Version::new(1, 0, 0),
            full_length: 1000,
            outcome,
        };
        let published = report(PatchOutcome::Published {
            target: "x".into(),
            length: 42,
        });
        assert_eq!(
            published.to_string(),
            "patch from 1.0.0: 42 bytes (4.2% of the full file)"
        );
        let large = report(PatchOutcome::TooLarge { length: 750 });
        assert!(
            large
                .to_string()
                .starts_with("no patch from 1.0.0: it would be 750 bytes (75.0% of the full file)"),
            "{large}"
        );
        assert!(large.to_string().ends_with("at most 50%"), "{large}");
        assert_eq!(percent(1, 100_000), "<0.1%");
        assert_eq!(percent(0, 100), "0.0%");
    }

    #[test]
    fn delta_fields_name_base_and_full_release() {
        let full: ReleasePath = "beta/demo/1.1.0/linux-x86_64/demo.AppImage"
            .parse()
            .unwrap();
        let now = crate::clock::parse_time("2030-01-01T00:00:00Z").unwrap();
        let custom =
            delta_fields(&full, &Version::new(1, 0, 0), DeltaFormat::Whole, now).to_custom();
        assert_eq!(
            custom,
            serde_json::json!({
                "version": "1.1.0", "notes": "", "published": "2030-01-01T00:00:00Z",
                "kind": "delta", "from": "1.0.0",
                "full": "beta/demo/1.1.0/linux-x86_64/demo.AppImage",
                "critical": false, "rollout": { "percent": 100 }
            })
        );
    }
}
