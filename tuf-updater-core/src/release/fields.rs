//! The custom fields of a release target (DESIGN.md, "The update repository"): the one serde
//! type the publisher writes and edits and the client reads.
//!
//! ```json
//! { "version": "1.4.0", "notes": "markdown", "published": "2026-11-24T10:00:00Z",
//!   "kind": "full", "critical": false, "min_version": "1.0.0",
//!   "rollout": { "percent": 25 } }
//! ```
//!
//! `version`, `published` and `kind` are required; a delta (`"kind": "delta"`) also needs
//! `from` and `full`, and says `"format": "tar"` when it is a per-file patch of a `.tar.gz`
//! bundle (absent: a whole-file patch). A full `.tar.gz` release may carry
//! `"tar": {"length": N, "sha256": "<hex>"}`, the digest of its uncompressed tar stream, which
//! a tar patch's result is checked against. `notes` defaults to `""`, `critical` to `false`, `min_version` to none
//! and a missing `rollout` to 100 percent. A `null` counts as absent. Unknown fields are kept
//! (a publisher can add fields without breaking older clients, and an edit keeps them).

use chrono::{DateTime, SecondsFormat, Utc};
use semver::Version;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{json, Map, Value};
use thiserror::Error;

/// Why custom data is not a release's.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldError {
    /// The target has no `custom` field.
    #[error("the target has no custom data")]
    NoCustom,
    /// `custom` is not a JSON object.
    #[error("the custom data is not a JSON object")]
    NotObject,
    /// A required field (named here) is absent or `null`.
    #[error("custom field {0:?} is missing")]
    Missing(&'static str),
    /// A field has the wrong type or value.
    #[error("custom field {field:?}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong with its value.
        reason: String,
    },
}

/// Full release or binary delta against an earlier version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReleaseKind {
    /// The whole artifact.
    Full,
    /// Patches `from` into the target at path `full`, whose signed hashes the result must match.
    Delta {
        /// The version the patch applies to.
        from: Version,
        /// The target path of the full release the patch produces.
        full: String,
        /// Whole-file or per-file tar patch.
        format: DeltaFormat,
    },
}

/// What a delta's bytes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DeltaFormat {
    /// One zstd patch of the whole file (`delta::make_patch`); no `format` field.
    #[default]
    Whole,
    /// A per-file patch of a `.tar.gz` bundle's uncompressed tar (`delta::tar_patch`),
    /// `"format": "tar"`. Clients before this format skip it: they take no patch for a
    /// `.tar.gz` release.
    Tar,
}

/// The length and SHA-256 of a `.tar.gz` release's uncompressed tar stream. Signed with the
/// release, it is what the tar a tar patch rebuilds must match: the patch reconstructs the
/// tar, not the gzip bytes (which depend on the compressor), so the artifact's own hashes
/// cannot check it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TarDigest {
    /// Length of the uncompressed tar, in bytes.
    pub length: u64,
    /// Lowercase hex, 64 characters.
    pub sha256: String,
}

/// The custom fields of one release, typed.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(try_from = "Value")]
pub struct ReleaseFields {
    /// The release's version.
    pub version: Version,
    /// Release notes (markdown).
    pub notes: String,
    /// When it was published.
    pub published: DateTime<Utc>,
    /// Full release or delta.
    pub kind: ReleaseKind,
    /// Critical releases ignore the rollout percentage.
    pub critical: bool,
    /// The lowest version this release can be installed over.
    pub min_version: Option<Version>,
    /// 0 to 100.
    pub rollout_percent: u8,
    /// The digest of the uncompressed tar of a `.tar.gz` full release, when the publisher
    /// recorded it (tar patches need it).
    pub tar: Option<TarDigest>,
    /// Fields this version does not know, kept as they are.
    pub extra: Map<String, Value>,
}

/// The fields this schema reads; every other one goes to `extra`.
const KNOWN: [&str; 11] = [
    "version",
    "notes",
    "published",
    "kind",
    "from",
    "full",
    "critical",
    "min_version",
    "rollout",
    "format",
    "tar",
];

impl ReleaseFields {
    /// A full release published at `published`, with no notes, not critical, no minimum
    /// version, offered to every install.
    pub fn full(version: Version, published: DateTime<Utc>) -> ReleaseFields {
        ReleaseFields {
            version,
            notes: String::new(),
            published,
            kind: ReleaseKind::Full,
            critical: false,
            min_version: None,
            rollout_percent: 100,
            tar: None,
            extra: Map::new(),
        }
    }

    /// Reads a target's custom data.
    pub fn parse(custom: Option<&Value>) -> Result<ReleaseFields, FieldError> {
        let obj = custom
            .ok_or(FieldError::NoCustom)?
            .as_object()
            .ok_or(FieldError::NotObject)?;
        let version = version_field(obj, "version")?.ok_or(FieldError::Missing("version"))?;
        let published = published(obj)?;
        let kind = kind(obj)?;
        let notes = str_field(obj, "notes")?.unwrap_or_default().to_string();
        let critical = match field(obj, "critical") {
            None => false,
            Some(v) => v
                .as_bool()
                .ok_or_else(|| invalid("critical", "expected true or false"))?,
        };
        let min_version = version_field(obj, "min_version")?;
        let rollout_percent = match field(obj, "rollout") {
            None => 100,
            Some(v) => rollout_percent(v)?,
        };
        let tar = field(obj, "tar").map(tar_digest).transpose()?;
        let extra = obj
            .iter()
            .filter(|(k, _)| !KNOWN.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(ReleaseFields {
            version,
            notes,
            published,
            kind,
            critical,
            min_version,
            rollout_percent,
            tar,
            extra,
        })
    }

    /// The custom data to sign: the known fields, then the kept unknown ones.
    pub fn to_custom(&self) -> Value {
        let mut map = self.extra.clone();
        map.insert("version".into(), json!(self.version.to_string()));
        map.insert("notes".into(), json!(self.notes));
        map.insert("published".into(), json!(format_published(&self.published)));
        match &self.kind {
            ReleaseKind::Full => {
                map.insert("kind".into(), json!("full"));
            }
            ReleaseKind::Delta { from, full, format } => {
                map.insert("kind".into(), json!("delta"));
                map.insert("from".into(), json!(from.to_string()));
                map.insert("full".into(), json!(full));
                if *format == DeltaFormat::Tar {
                    map.insert("format".into(), json!("tar"));
                }
            }
        }
        if let Some(tar) = &self.tar {
            map.insert(
                "tar".into(),
                json!({ "length": tar.length, "sha256": tar.sha256 }),
            );
        }
        map.insert("critical".into(), json!(self.critical));
        if let Some(min) = &self.min_version {
            map.insert("min_version".into(), json!(min.to_string()));
        }
        map.insert("rollout".into(), json!({ "percent": self.rollout_percent }));
        Value::Object(map)
    }
}

impl TryFrom<Value> for ReleaseFields {
    type Error = FieldError;

    fn try_from(value: Value) -> Result<Self, Self::Error> {
        ReleaseFields::parse(Some(&value))
    }
}

impl Serialize for ReleaseFields {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_custom().serialize(serializer)
    }
}

/// A time as release fields and metadata write it: `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_published(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn invalid(field: &'static str, reason: &str) -> FieldError {
    FieldError::Invalid {
        field,
        reason: reason.to_string(),
    }
}

/// A custom field; `null` counts as absent.
fn field<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).filter(|v| !v.is_null())
}

fn str_field<'a>(
    obj: &'a Map<String, Value>,
    name: &'static str,
) -> Result<Option<&'a str>, FieldError> {
    match field(obj, name) {
        None => Ok(None),
        Some(v) => v
            .as_str()
            .map(Some)
            .ok_or_else(|| invalid(name, "expected a string")),
    }
}

fn version_field(
    obj: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<Version>, FieldError> {
    match str_field(obj, name)? {
        None => Ok(None),
        Some(text) => Version::parse(text)
            .map(Some)
            .map_err(|e| FieldError::Invalid {
                field: name,
                reason: format!("{text:?} is not a semver version: {e}"),
            }),
    }
}

fn published(obj: &Map<String, Value>) -> Result<DateTime<Utc>, FieldError> {
    let text = str_field(obj, "published")?.ok_or(FieldError::Missing("published"))?;
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| FieldError::Invalid {
            field: "published",
            reason: format!("{text:?} is not an RFC 3339 date: {e}"),
        })
}

fn kind(obj: &Map<String, Value>) -> Result<ReleaseKind, FieldError> {
    match str_field(obj, "kind")?.ok_or(FieldError::Missing("kind"))? {
        "full" => Ok(ReleaseKind::Full),
        "delta" => {
            let from = version_field(obj, "from")?.ok_or(FieldError::Missing("from"))?;
            let full = str_field(obj, "full")?.ok_or(FieldError::Missing("full"))?;
            if full.is_empty() {
                return Err(invalid("full", "must name the full target"));
            }
            let format = match str_field(obj, "format")? {
                None => DeltaFormat::Whole,
                Some("tar") => DeltaFormat::Tar,
                Some(other) => {
                    return Err(invalid(
                        "format",
                        &format!("{other:?} is not a delta format this client knows (\"tar\")"),
                    ))
                }
            };
            Ok(ReleaseKind::Delta {
                from,
                full: full.to_string(),
                format,
            })
        }
        other => Err(invalid(
            "kind",
            &format!("{other:?} is neither \"full\" nor \"delta\""),
        )),
    }
}

/// `{"length": u64, "sha256": "<64 lowercase hex>"}`, nothing else accepted: the client
/// compares the sha256 as text with what it computes.
fn tar_digest(tar: &Value) -> Result<TarDigest, FieldError> {
    let shape = "expected {\"length\": bytes, \"sha256\": \"<64 lowercase hex digits>\"}";
    let obj = tar.as_object().ok_or_else(|| invalid("tar", shape))?;
    let length = field(obj, "length")
        .and_then(Value::as_u64)
        .ok_or_else(|| invalid("tar", shape))?;
    let sha256 = field(obj, "sha256")
        .and_then(Value::as_str)
        .filter(|s| s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .ok_or_else(|| invalid("tar", shape))?;
    Ok(TarDigest {
        length,
        sha256: sha256.to_string(),
    })
}

fn rollout_percent(rollout: &Value) -> Result<u8, FieldError> {
    let obj = rollout
        .as_object()
        .ok_or_else(|| invalid("rollout", "expected an object {\"percent\": 0..100}"))?;
    let percent = field(obj, "percent").ok_or_else(|| invalid("rollout", "no \"percent\""))?;
    percent
        .as_u64()
        .filter(|p| *p <= 100)
        .and_then(|p| u8::try_from(p).ok())
        .ok_or_else(|| {
            invalid(
                "rollout",
                &format!("percent {percent} is not an integer from 0 to 100"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Value) -> Result<ReleaseFields, FieldError> {
        ReleaseFields::parse(Some(&v))
    }

    #[test]
    fn written_fields_read_back_the_same_unknown_ones_included() {
        let published = DateTime::parse_from_rfc3339("2026-11-24T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut f = ReleaseFields::full(Version::new(1, 4, 0), published);
        f.notes = "## 1.4.0".into();
        f.critical = true;
        f.min_version = Some(Version::new(1, 0, 0));
        f.rollout_percent = 25;
        f.extra.insert("x-build".into(), json!({"ci": 7}));
        let custom = f.to_custom();
        assert_eq!(custom["published"], "2026-11-24T10:00:00Z");
        assert_eq!(custom["rollout"], json!({"percent": 25}));
        assert_eq!(parse(custom.clone()).unwrap(), f);
        let via_serde: ReleaseFields = serde_json::from_value(custom).unwrap();
        assert_eq!(via_serde, f);
        assert_eq!(serde_json::to_value(&f).unwrap(), f.to_custom());
    }

    #[test]
    fn defaults_and_nulls() {
        let f = parse(
            json!({"version": "1.0.0", "published": "2026-01-01T00:00:00+02:00",
            "kind": "full", "notes": null, "rollout": null, "critical": null}),
        )
        .unwrap();
        assert_eq!(f.notes, "");
        assert_eq!(f.rollout_percent, 100);
        assert!(!f.critical && f.min_version.is_none() && f.extra.is_empty());
        assert_eq!(format_published(&f.published), "2025-12-31T22:00:00Z");
    }

    #[test]
    fn deltas_need_from_and_full() {
        let f = parse(
            json!({"version": "1.1.0", "published": "2026-01-01T00:00:00Z",
            "kind": "delta", "from": "1.0.0", "full": "stable/a/1.1.0/linux-x86_64/a"}),
        )
        .unwrap();
        assert_eq!(
            f.kind,
            ReleaseKind::Delta {
                from: Version::new(1, 0, 0),
                full: "stable/a/1.1.0/linux-x86_64/a".into(),
                format: DeltaFormat::Whole,
            }
        );
        assert_eq!(parse(f.to_custom()).unwrap(), f);
        let no_from = json!({"version": "1.1.0", "published": "2026-01-01T00:00:00Z",
            "kind": "delta", "full": "x"});
        assert_eq!(parse(no_from).unwrap_err(), FieldError::Missing("from"));
    }

    #[test]
    fn tar_digests_and_tar_deltas_read_back() {
        let sha = "0123456789abcdef".repeat(4);
        let f = parse(
            json!({"version": "1.1.0", "published": "2026-01-01T00:00:00Z",
            "kind": "delta", "from": "1.0.0", "full": "x", "format": "tar",
            "tar": {"length": 10240, "sha256": sha}}),
        )
        .unwrap();
        assert!(matches!(
            f.kind,
            ReleaseKind::Delta {
                format: DeltaFormat::Tar,
                ..
            }
        ));
        assert_eq!(
            f.tar,
            Some(TarDigest {
                length: 10240,
                sha256: sha.clone()
            })
        );
        assert!(f.extra.is_empty());
        assert_eq!(parse(f.to_custom()).unwrap(), f);
        let unknown = json!({"version": "1.1.0", "published": "2026-01-01T00:00:00Z",
            "kind": "delta", "from": "1.0.0", "full": "x", "format": "bsdiff"});
        assert!(matches!(
            parse(unknown),
            Err(FieldError::Invalid {
                field: "format",
                ..
            })
        ));
    }

    #[test]
    fn each_bad_field_is_named() {
        let base = json!({"version": "1.0.0", "published": "2026-01-01T00:00:00Z", "kind": "full"});
        let with = |k: &str, v: Value| {
            let mut o = base.clone();
            o[k] = v;
            parse(o).unwrap_err()
        };
        assert_eq!(
            ReleaseFields::parse(None).unwrap_err(),
            FieldError::NoCustom
        );
        assert_eq!(parse(json!([1])).unwrap_err(), FieldError::NotObject);
        for (k, v, field) in [
            ("version", json!("1.0"), "version"),
            ("version", json!(1), "version"),
            ("published", json!("yesterday"), "published"),
            ("kind", json!("patch"), "kind"),
            ("critical", json!("yes"), "critical"),
            ("min_version", json!("one"), "min_version"),
            ("rollout", json!({"percent": 101}), "rollout"),
            ("rollout", json!({"percent": -1}), "rollout"),
            ("rollout", json!(50), "rollout"),
            ("notes", json!(3), "notes"),
            ("tar", json!({"length": 1}), "tar"),
            (
                "tar",
                json!({"length": -1, "sha256": "0".repeat(64)}),
                "tar",
            ),
            ("tar", json!({"length": 1, "sha256": "A".repeat(64)}), "tar"),
            ("tar", json!({"length": 1, "sha256": "0".repeat(63)}), "tar"),
            ("tar", json!("x"), "tar"),
        ] {
            match with(k, v) {
                FieldError::Invalid { field: f, .. } => assert_eq!(f, field, "{k}"),
                other => panic!("{k}: {other:?}"),
            }
        }
        let mut missing = base.clone();
        missing.as_object_mut().unwrap().remove("kind");
        assert_eq!(parse(missing).unwrap_err(), FieldError::Missing("kind"));
    }
}
