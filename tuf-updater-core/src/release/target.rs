//! A [`Release`]: a TUF target whose path is a [`ReleasePath`] and whose custom data are
//! [`ReleaseFields`] that agree with it.

use semver::Version;
use thiserror::Error;

use super::fields::{FieldError, ReleaseFields};
use super::path::{PathError, ReleasePath};
use crate::tuf::metadata::TargetFile;

/// Why a target is not a valid release. The client skips it (and says so); the publisher's
/// `verify` reports it.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReleaseError {
    /// The target path is not `<channel>/<app>/<version>/<platform>/<file>`.
    #[error(transparent)]
    Path(#[from] PathError),
    /// The custom data are not valid release fields.
    #[error(transparent)]
    Fields(#[from] FieldError),
    /// The version in the custom data is not the one in the path (build metadata included).
    #[error("custom version {custom} differs from version {path} in the target path")]
    VersionMismatch {
        /// The version in the target path.
        path: String,
        /// The version in the custom data.
        custom: String,
    },
}

/// One release: its path, its fields and the signed length and hashes of its artifact.
#[derive(Clone, Debug, PartialEq)]
pub struct Release {
    /// Where the release sits: channel, app, version, platform, file.
    pub path: ReleasePath,
    /// Its custom fields.
    pub fields: ReleaseFields,
    /// The signed length and hashes.
    pub target: TargetFile,
}

impl Release {
    /// Reads the release at target `path`, or says what is wrong with it.
    pub fn parse(path: &str, target: &TargetFile) -> Result<Release, ReleaseError> {
        let release_path: ReleasePath = path.parse()?;
        let fields = ReleaseFields::parse(target.custom.as_ref())?;
        // Build metadata included (semver's `==` compares it): it is part of a file's identity.
        if fields.version != release_path.version {
            return Err(ReleaseError::VersionMismatch {
                path: release_path.version.to_string(),
                custom: fields.version.to_string(),
            });
        }
        Ok(Release {
            path: release_path,
            fields,
            target: target.clone(),
        })
    }

    /// The release's version.
    pub fn version(&self) -> &Version {
        &self.fields.version
    }

    /// The TUF target path.
    pub fn target_path(&self) -> String {
        self.path.to_string()
    }

    /// The signed length of the artifact, in bytes.
    pub fn length(&self) -> u64 {
        self.target.length
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::fields::ReleaseKind;
    use crate::release::names::NameError;
    use crate::release::platform::Platform;
    use crate::release::test_support::{custom, path, target, v, with, APP};
    use serde_json::{json, Value};
    use std::collections::BTreeMap;

    fn parse_err(path: &str, custom: Value) -> ReleaseError {
        Release::parse(path, &target(custom)).unwrap_err()
    }

    #[test]
    fn parses_a_full_release() {
        let c = with(
            "1.4.0",
            json!({ "notes": "# New", "critical": true, "min_version": "1.0.0",
                    "rollout": { "percent": 25 }, "future_field": [1, 2] }),
        );
        let r = Release::parse(&path("stable", "1.4.0"), &target(c)).unwrap();
        assert_eq!(r.path.channel, "stable");
        assert_eq!(r.path.app, APP);
        assert_eq!(r.version(), &v("1.4.0"));
        assert_eq!(r.path.platform(), Platform::LinuxX86_64);
        assert_eq!(r.path.format(), None);
        assert_eq!(r.path.file, "selfupdate.tar.gz");
        assert_eq!(r.target_path(), path("stable", "1.4.0"));
        assert_eq!(r.fields.extra["future_field"], json!([1, 2]));
        assert_eq!(r.fields.notes, "# New");
        assert_eq!(r.fields.published.to_rfc3339(), "2026-11-24T10:00:00+00:00");
        assert_eq!(r.fields.kind, ReleaseKind::Full);
        assert!(r.fields.critical);
        assert_eq!(r.fields.min_version, Some(v("1.0.0")));
        assert_eq!(r.fields.rollout_percent, 25);
        assert_eq!(r.length(), 1234);
    }

    #[test]
    fn optional_fields_default() {
        let r = Release::parse(&path("stable", "1.4.0"), &target(custom("1.4.0"))).unwrap();
        assert_eq!(r.fields.notes, "");
        assert!(!r.fields.critical);
        assert_eq!(r.fields.min_version, None);
        assert_eq!(r.fields.rollout_percent, 100);
        // null counts as absent
        let c = with(
            "1.4.0",
            json!({ "notes": null, "critical": null, "min_version": null, "rollout": null }),
        );
        let r = Release::parse(&path("stable", "1.4.0"), &target(c)).unwrap();
        assert_eq!(
            (
                r.fields.critical,
                r.fields.rollout_percent,
                r.fields.min_version
            ),
            (false, 100, None)
        );
    }

    #[test]
    fn published_accepts_offsets() {
        let c = with("1.4.0", json!({ "published": "2026-11-24T12:00:00+02:00" }));
        let r = Release::parse(&path("stable", "1.4.0"), &target(c)).unwrap();
        assert_eq!(r.fields.published.to_rfc3339(), "2026-11-24T10:00:00+00:00");
    }

    #[test]
    fn parses_a_delta() {
        let c = with(
            "1.4.0",
            json!({ "kind": "delta", "from": "1.3.2", "full": "stable/selfupdate/1.4.0/linux-x86_64/selfupdate.tar.gz" }),
        );
        let r = Release::parse(&path("stable", "1.4.0"), &target(c)).unwrap();
        assert_eq!(
            r.fields.kind,
            ReleaseKind::Delta {
                from: v("1.3.2"),
                full: path("stable", "1.4.0"),
                format: crate::release::DeltaFormat::Whole,
            }
        );
    }

    #[test]
    fn malformed_paths() {
        let c = custom("1.4.0");
        for p in [
            "stable/selfupdate/1.4.0/linux-x86_64",
            "stable/selfupdate/1.4.0/linux-x86_64/a/b",
            "stable/selfupdate/1.4.0/linux-x86_64/",
            "stable//1.4.0/linux-x86_64/f",
            "",
        ] {
            assert!(
                matches!(parse_err(p, c.clone()), ReleaseError::Path(_)),
                "{p:?}"
            );
        }
        assert!(matches!(
            parse_err("stable/selfupdate/1.4.0/haiku-x86_64/f", c.clone()),
            ReleaseError::Path(PathError::Name(NameError::Platform { .. }))
        ));
        assert!(matches!(
            parse_err("stable/selfupdate/1.4/linux-x86_64/f", c),
            ReleaseError::Path(PathError::Name(NameError::Version { .. }))
        ));
    }

    #[test]
    fn malformed_custom_data() {
        let p = path("stable", "1.4.0");
        let no_custom = TargetFile::new(1, BTreeMap::new());
        assert_eq!(
            Release::parse(&p, &no_custom),
            Err(ReleaseError::Fields(FieldError::NoCustom))
        );
        assert_eq!(
            parse_err(&p, json!([1])),
            ReleaseError::Fields(FieldError::NotObject)
        );
        assert_eq!(
            parse_err(&p, json!("1.4.0")),
            ReleaseError::Fields(FieldError::NotObject)
        );

        let missing = |field: &str| {
            let mut c = custom("1.4.0");
            c.as_object_mut().unwrap().remove(field);
            parse_err(&p, c)
        };
        assert_eq!(
            missing("version"),
            ReleaseError::Fields(FieldError::Missing("version"))
        );
        assert_eq!(
            missing("published"),
            ReleaseError::Fields(FieldError::Missing("published"))
        );
        assert_eq!(
            missing("kind"),
            ReleaseError::Fields(FieldError::Missing("kind"))
        );

        let invalid_field = |extra: Value| match parse_err(&p, with("1.4.0", extra)) {
            ReleaseError::Fields(FieldError::Invalid { field, .. }) => field,
            other => panic!("expected Invalid, got {other:?}"),
        };
        assert_eq!(invalid_field(json!({ "version": 140 })), "version");
        assert_eq!(
            invalid_field(json!({ "published": "yesterday" })),
            "published"
        );
        assert_eq!(
            invalid_field(json!({ "published": "2026-11-24" })),
            "published"
        );
        assert_eq!(
            invalid_field(json!({ "published": 1_700_000_000 })),
            "published"
        );
        assert_eq!(invalid_field(json!({ "kind": "patch" })), "kind");
        assert_eq!(invalid_field(json!({ "kind": true })), "kind");
        assert_eq!(invalid_field(json!({ "notes": ["a"] })), "notes");
        assert_eq!(invalid_field(json!({ "critical": "yes" })), "critical");
        assert_eq!(invalid_field(json!({ "critical": 1 })), "critical");
        assert_eq!(
            invalid_field(json!({ "min_version": "1.0" })),
            "min_version"
        );
        assert_eq!(invalid_field(json!({ "min_version": 1 })), "min_version");
        for rollout in [
            json!(25),
            json!({}),
            json!({ "percent": 101 }),
            json!({ "percent": -1 }),
            json!({ "percent": 12.5 }),
            json!({ "percent": "25" }),
            json!({ "percent": u64::MAX }),
        ] {
            assert_eq!(invalid_field(json!({ "rollout": rollout })), "rollout");
        }
        // delta requirements
        assert_eq!(
            parse_err(&p, with("1.4.0", json!({ "kind": "delta", "full": "x" }))),
            ReleaseError::Fields(FieldError::Missing("from"))
        );
        assert_eq!(
            parse_err(
                &p,
                with("1.4.0", json!({ "kind": "delta", "from": "1.3.0" }))
            ),
            ReleaseError::Fields(FieldError::Missing("full"))
        );
        assert_eq!(
            invalid_field(json!({ "kind": "delta", "from": "1.3", "full": "x" })),
            "from"
        );
        assert_eq!(
            invalid_field(json!({ "kind": "delta", "from": "1.3.0", "full": "" })),
            "full"
        );
    }

    #[test]
    fn path_and_custom_versions_must_agree() {
        assert_eq!(
            parse_err(&path("stable", "1.4.0"), custom("1.4.1")),
            ReleaseError::VersionMismatch {
                path: "1.4.0".into(),
                custom: "1.4.1".into()
            }
        );
        // build metadata is part of the identity of a file
        assert!(matches!(
            parse_err(&path("stable", "1.4.0+b1"), custom("1.4.0+b2")),
            ReleaseError::VersionMismatch { .. }
        ));
        assert!(matches!(
            parse_err(&path("stable", "1.4.0-beta.1"), custom("1.4.0")),
            ReleaseError::VersionMismatch { .. }
        ));
        assert!(Release::parse(&path("stable", "1.4.0+b1"), &target(custom("1.4.0+b1"))).is_ok());
    }

    #[test]
    fn errors_read_well() {
        let e = parse_err(
            &path("stable", "1.4.0"),
            with("1.4.0", json!({ "rollout": { "percent": 101 } })),
        );
        assert_eq!(
            e.to_string(),
            "custom field \"rollout\": percent 101 is not an integer from 0 to 100"
        );
    }
}
