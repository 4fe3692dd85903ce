//! The patch to an update: which delta target, if any, turns the installed version into the
//! chosen release. A pure function, like [`select`](super::select).

use semver::Version;

use super::fields::{DeltaFormat, ReleaseKind};
use super::target::Release;
use crate::tuf::metadata::TargetFile;

/// A patch to the chosen release, and the release it patches: the installed bytes must
/// match `from`'s signed length and hashes before the patch is worth downloading.
#[derive(Clone, Debug, PartialEq)]
pub struct PatchOffer {
    /// The delta release to download.
    pub patch: Release,
    /// The full release of the installed version, which the patch applies to.
    pub from: Release,
}

/// The target path of the patch from `from` to the release at `full_path`: beside the
/// full file, `<file>.from-<version>.zst`.
pub fn patch_path(full_path: &str, from: &Version) -> String {
    format!("{full_path}.from-{from}.zst")
}

/// Finds, among a channel's targets, the patch from `current` to `full`: a delta at
/// `full`'s channel, app, version and platform segment whose `from` is `current` (build
/// metadata included: it names other bytes) and whose `full` is `full`'s path, smaller
/// than `full`, of `format` (what the install can apply); and the full release of `current`
/// on the same segment, whose signed hashes the installed bytes must match. The smallest
/// such patch, if several.
pub fn find_patch<'a, P, I>(
    candidates: I,
    full: &Release,
    current: &Version,
    format: DeltaFormat,
) -> Option<PatchOffer>
where
    P: AsRef<str>,
    I: IntoIterator<Item = (P, &'a TargetFile)>,
{
    let full_path = full.target_path();
    let mut patch: Option<Release> = None;
    let mut from: Option<Release> = None;
    for (path, target) in candidates {
        let Ok(release) = Release::parse(path.as_ref(), target) else {
            continue;
        };
        let same_place = release.path.channel == full.path.channel
            && release.path.app == full.path.app
            && release.path.segment == full.path.segment;
        if !same_place {
            continue;
        }
        match &release.fields.kind {
            ReleaseKind::Delta {
                from: f,
                full: to,
                format: kind,
            } if f == current
                && *kind == format
                && *to == full_path
                && release.path.version == full.path.version
                && release.length() < full.length()
                && patch.as_ref().is_none_or(|p| release.length() < p.length()) =>
            {
                patch = Some(release);
            }
            ReleaseKind::Full if release.version() == current => from = Some(release),
            _ => {}
        }
    }
    Some(PatchOffer {
        patch: patch?,
        from: from?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::test_support::{target, v, with};
    use serde_json::json;

    const FULL: &str = "stable/selfupdate/1.1.0/linux-x86_64/selfupdate";
    const OLD: &str = "stable/selfupdate/1.0.0/linux-x86_64/selfupdate";

    fn full_release() -> Release {
        Release::parse(FULL, &sized(target(with("1.1.0", json!({}))), 1000)).unwrap()
    }

    fn sized(mut t: TargetFile, length: u64) -> TargetFile {
        t.length = length;
        t
    }

    fn delta(from: &str, full: &str, length: u64) -> TargetFile {
        let custom = with(
            "1.1.0",
            json!({ "kind": "delta", "from": from, "full": full }),
        );
        sized(target(custom), length)
    }

    fn old() -> TargetFile {
        target(with("1.0.0", json!({})))
    }

    #[test]
    fn the_patch_from_the_installed_version_is_found_with_its_base() {
        let p = patch_path(FULL, &v("1.0.0"));
        assert_eq!(p, format!("{FULL}.from-1.0.0.zst"));
        let smaller = patch_path(FULL, &v("1.0.0")).replace(".zst", ".b.zst");
        let candidates = [
            (FULL.to_string(), full_release().target),
            (OLD.to_string(), old()),
            (p.clone(), delta("1.0.0", FULL, 100)),
            (smaller.clone(), delta("1.0.0", FULL, 90)),
            // From another version, to another file, too big, another platform.
            (patch_path(FULL, &v("0.9.0")), delta("0.9.0", FULL, 10)),
            (format!("{FULL}.x.zst"), delta("1.0.0", OLD, 10)),
            (format!("{FULL}.y.zst"), delta("1.0.0", FULL, 1000)),
            (
                "stable/selfupdate/1.1.0/darwin-aarch64/selfupdate.from-1.0.0.zst".into(),
                delta("1.0.0", FULL, 10),
            ),
        ];
        let offer = find_patch(
            candidates.iter().map(|(p, t)| (p, t)),
            &full_release(),
            &v("1.0.0"),
            DeltaFormat::Whole,
        )
        .unwrap();
        assert_eq!(offer.patch.target_path(), smaller);
        assert_eq!(offer.from.target_path(), OLD);
    }

    #[test]
    fn no_patch_without_the_installed_versions_release_or_for_other_bytes() {
        let p = patch_path(FULL, &v("1.0.0"));
        let without_base = [
            (FULL.to_string(), full_release().target),
            (p.clone(), delta("1.0.0", FULL, 100)),
        ];
        let found = find_patch(
            without_base.iter().map(|(p, t)| (p, t)),
            &full_release(),
            &v("1.0.0"),
            DeltaFormat::Whole,
        );
        assert_eq!(found, None);
        // 1.0.0+build2 is other bytes than 1.0.0.
        let with_base = [(OLD.to_string(), old()), (p, delta("1.0.0", FULL, 100))];
        let found = find_patch(
            with_base.iter().map(|(p, t)| (p, t)),
            &full_release(),
            &v("1.0.0+build2"),
            DeltaFormat::Whole,
        );
        assert_eq!(found, None);
    }

    #[test]
    fn only_a_patch_of_the_format_asked_for_is_found() {
        let p = patch_path(FULL, &v("1.0.0"));
        let mut tar = delta("1.0.0", FULL, 100);
        if let Some(serde_json::Value::Object(c)) = tar.custom.as_mut() {
            c.insert("format".into(), json!("tar"));
        }
        let candidates = [(OLD.to_string(), old()), (p.clone(), tar)];
        let find = |format| {
            find_patch(
                candidates.iter().map(|(p, t)| (p, t)),
                &full_release(),
                &v("1.0.0"),
                format,
            )
        };
        assert_eq!(find(DeltaFormat::Whole), None);
        assert_eq!(find(DeltaFormat::Tar).unwrap().patch.target_path(), p);
    }
}
