//! What `release` checks of an artifact's content ([`tuf_updater_core::package`]): that it is the
//! format its platform segment names (or, when the segment names none, which format it is),
//! that it runs on the segment's operating system, and that a deb's or rpm's own version is
//! the release's.
//!
//! A file whose content is not recognised is published as before, without a format in its
//! segment (docs/decisions.md): arbitrary payloads and old repositories keep working.

use std::path::Path;

use semver::Version;
use tuf_updater_core::package::{self, FileKind};
use tuf_updater_core::release::{InstallFormat, PlatformSegment};

use crate::error::{PackError, Result};

/// What the content check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Content {
    /// The segment to publish under: the one given, or with the format inferred.
    pub segment: PlatformSegment,
    /// What the file is; `None` if not recognised.
    pub kind: Option<FileKind>,
    /// The format was not given but inferred from the content.
    pub inferred: bool,
}

/// Checks `artifact` against `segment` and `version`; see the module documentation.
pub fn check_content(
    artifact: &Path,
    segment: PlatformSegment,
    version: &Version,
) -> Result<Content> {
    let kind = package::file_kind(artifact)?;
    if let Some(format) = segment.format {
        if kind.map(FileKind::format) != Some(format) {
            return Err(PackError::FormatMismatch {
                path: artifact.to_path_buf(),
                segment: segment.to_string(),
                content: describe(kind),
            });
        }
    }
    let Some(kind) = kind else {
        return Ok(Content {
            segment,
            kind,
            inferred: false,
        });
    };
    let platform = segment.platform.as_str();
    if platform.split('-').next() != Some(kind.os()) {
        return Err(PackError::PlatformMismatch {
            path: artifact.to_path_buf(),
            platform: platform.to_string(),
            content: kind.describe(),
        });
    }
    check_package_version(artifact, kind, version)?;
    Ok(Content {
        segment: PlatformSegment::new(segment.platform, Some(kind.format())),
        kind: Some(kind),
        inferred: segment.format.is_none(),
    })
}

/// `an AppImage`, or that the content is of no known format.
fn describe(kind: Option<FileKind>) -> String {
    match kind {
        Some(kind) => kind.describe().to_string(),
        None => format!(
            "of none of the release formats ({})",
            InstallFormat::ALL.map(InstallFormat::as_str).join(", ")
        ),
    }
}

fn check_package_version(artifact: &Path, kind: FileKind, version: &Version) -> Result<()> {
    let (fields, package, field, matches): (_, _, _, fn(&str, &str) -> bool) = match kind {
        FileKind::Deb => (
            package::deb_fields(artifact)?,
            "Debian package",
            "Version",
            deb_version_matches,
        ),
        FileKind::Rpm => (
            package::rpm_fields(artifact)?,
            "RPM package",
            "VERSION",
            rpm_version_matches,
        ),
        _ => return Ok(()),
    };
    let want = version.to_string();
    if matches(&fields.version, &want) {
        return Ok(());
    }
    Err(PackError::PackageVersion {
        path: artifact.to_path_buf(),
        package,
        field,
        found: fields.version,
        version: want,
    })
}

/// A Debian `[epoch:]upstream[-revision]` is the release's version when its upstream part
/// is: the whole of it, or what is before the last `-` when what follows is a revision
/// (starts with a digit: `-1`, `-0ubuntu1`; `1.2.0-beta.1` is a semver pre-release, as Tauri
/// writes it). `~`, the pre-release separator of Debian and RPM, stands for semver's `-`.
fn deb_version_matches(found: &str, want: &str) -> bool {
    let no_epoch = match found.split_once(':') {
        Some((epoch, rest)) if !epoch.is_empty() && epoch.bytes().all(|b| b.is_ascii_digit()) => {
            rest
        }
        _ => found,
    };
    let upstream = match no_epoch.rsplit_once('-') {
        Some((upstream, revision)) if revision.starts_with(|c: char| c.is_ascii_digit()) => {
            upstream
        }
        _ => no_epoch,
    };
    [no_epoch, upstream]
        .into_iter()
        .any(|v| v == want || v.replace('~', "-") == want)
}

/// An RPM `VERSION` (its release, `-N`, is a separate tag) is the release's version.
fn rpm_version_matches(found: &str, want: &str) -> bool {
    found == want || found.replace('~', "-") == want
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_versions_compare_by_their_upstream_part() {
        for (found, ok) in [
            ("1.2.0", true),
            ("1.2.0-1", true),
            ("2:1.2.0-1", true),
            ("1.2.0-0ubuntu1", true),
            ("1.2.0-beta.1", false),
            ("1.2.00", false),
            ("1.2.0.1", false),
            ("1.2", false),
            ("x:1.2.0", false),
        ] {
            assert_eq!(deb_version_matches(found, "1.2.0"), ok, "{found}");
        }
        assert!(deb_version_matches("1.2.0~rc.1-1", "1.2.0-rc.1"));
        assert!(deb_version_matches("1.2.0-rc.1", "1.2.0-rc.1"));
        assert!(rpm_version_matches("1.2.0", "1.2.0"));
        assert!(rpm_version_matches("1.2.0~rc.1", "1.2.0-rc.1"));
        assert!(!rpm_version_matches("1.2.1", "1.2.0"));
    }
}
