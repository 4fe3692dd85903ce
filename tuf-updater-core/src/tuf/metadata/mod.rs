//! TUF metadata types (spec section 4): the signed envelope, root, timestamp, snapshot,
//! targets and delegations, including succinct hashed bins (TAP 15).
//!
//! Parsing is done by hand from a `serde_json::Value` rather than with `#[serde(flatten)]`:
//! flatten buffers every object twice, which shows on a 10,000-target `targets.json`.
//! Every struct keeps the fields it does not know in `extra`, so metadata written by a newer
//! tool round-trips unchanged (its signatures cover those fields too).

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::tuf::error::{Result, TufError};

mod common;
mod targets;
pub use crate::tuf::expiry;
pub use crate::tuf::role::{ROOT, SNAPSHOT, TARGETS, TIMESTAMP, TOP_LEVEL_ROLES};
use common::{to_json, Fields};
pub use common::{Common, Extra, Key, KeyVal, RoleKeys, SPEC_VERSION};
pub use targets::{
    path_matches_pattern, Delegate, DelegatedRole, Delegations, SuccinctRoles, TargetFile,
    TargetHashes, Targets,
};

/// Root metadata (spec 4.3).
#[derive(Clone, Debug, PartialEq)]
pub struct Root {
    /// Version, spec version and expiry.
    pub common: Common,
    /// Whether metadata and targets are fetched under version- and hash-prefixed names.
    pub consistent_snapshot: bool,
    /// Every key of the top-level roles, by key ID.
    pub keys: BTreeMap<String, Key>,
    /// The key IDs and threshold of each top-level role, by role name.
    pub roles: BTreeMap<String, RoleKeys>,
    /// Fields this client does not know, kept verbatim: the signatures cover them too.
    pub extra: Extra,
}

impl Root {
    /// Parses and checks the `signed` part of a root file: exactly the four top-level roles,
    /// each with a valid threshold.
    pub fn from_value(value: Value) -> Result<Self> {
        let mut f = Fields::new(value, ROOT, "signed")?;
        let common = Common::parse(&mut f, ROOT)?;
        let consistent_snapshot = f.opt("consistent_snapshot")?.unwrap_or(false);
        let keys: BTreeMap<String, Key> = f.req("keys")?;
        let roles: BTreeMap<String, RoleKeys> = f.req("roles")?;
        let names: HashSet<&str> = roles.keys().map(String::as_str).collect();
        if names != TOP_LEVEL_ROLES.iter().copied().collect() {
            return Err(TufError::malformed(
                ROOT,
                "roles must be exactly root, timestamp, snapshot and targets",
            ));
        }
        for (name, role) in &roles {
            role.validate(name)?;
        }
        Ok(Root {
            common,
            consistent_snapshot,
            keys,
            roles,
            extra: f.rest(),
        })
    }

    /// The `signed` part as JSON, for canonicalisation and signing.
    pub fn to_value(&self) -> Value {
        let mut map = self.extra.clone();
        self.common.write(&mut map, ROOT);
        map.insert(
            "consistent_snapshot".into(),
            Value::from(self.consistent_snapshot),
        );
        map.insert("keys".into(), to_json(&self.keys));
        map.insert("roles".into(), to_json(&self.roles));
        Value::Object(map)
    }

    /// The keys and threshold of a top-level role.
    pub fn role(&self, name: &str) -> Option<&RoleKeys> {
        self.roles.get(name)
    }
}

/// A reference to a metadata file from timestamp or snapshot (spec 4.4 / 4.6, METAFILES).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetaFile {
    /// The version of the file referred to.
    pub version: u64,
    /// Its length in bytes, when the referrer gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    /// Its digests by algorithm, in hex, when the referrer gives them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashes: Option<BTreeMap<String, String>>,
    /// Fields this client does not know, kept verbatim: the signatures cover them too.
    #[serde(flatten)]
    pub extra: Extra,
}

impl MetaFile {
    /// A reference by version alone, with no length or hashes.
    pub fn new(version: u64) -> Self {
        MetaFile {
            version,
            length: None,
            hashes: None,
            extra: Extra::new(),
        }
    }

    fn validate(&self, role: &str) -> Result<()> {
        if self.version == 0 {
            return Err(TufError::malformed(role, "meta version must be at least 1"));
        }
        if matches!(&self.hashes, Some(h) if h.is_empty()) {
            return Err(TufError::malformed(role, "meta hashes must not be empty"));
        }
        Ok(())
    }
}

fn parse_meta(f: &mut Fields<'_>) -> Result<BTreeMap<String, MetaFile>> {
    let meta: BTreeMap<String, MetaFile> = f.req("meta")?;
    for m in meta.values() {
        m.validate(f.role)?;
    }
    Ok(meta)
}

/// Timestamp metadata (spec 4.6).
#[derive(Clone, Debug, PartialEq)]
pub struct Timestamp {
    /// Version, spec version and expiry.
    pub common: Common,
    /// The snapshot file it names (`meta` → `snapshot.json`).
    pub snapshot_meta: MetaFile,
    /// Fields this client does not know, kept verbatim: the signatures cover them too.
    pub extra: Extra,
}

impl Timestamp {
    /// Parses the `signed` part of a timestamp file, whose `meta` must list only `snapshot.json`.
    pub fn from_value(value: Value) -> Result<Self> {
        let mut f = Fields::new(value, TIMESTAMP, "signed")?;
        let common = Common::parse(&mut f, TIMESTAMP)?;
        let mut meta = parse_meta(&mut f)?;
        let snapshot_meta = meta
            .remove("snapshot.json")
            .ok_or_else(|| TufError::malformed(TIMESTAMP, "meta has no snapshot.json"))?;
        if !meta.is_empty() {
            return Err(TufError::malformed(
                TIMESTAMP,
                "meta lists more than snapshot.json",
            ));
        }
        Ok(Timestamp {
            common,
            snapshot_meta,
            extra: f.rest(),
        })
    }

    /// The `signed` part as JSON, for canonicalisation and signing.
    pub fn to_value(&self) -> Value {
        let mut map = self.extra.clone();
        self.common.write(&mut map, TIMESTAMP);
        let mut meta = Map::new();
        meta.insert("snapshot.json".into(), to_json(&self.snapshot_meta));
        map.insert("meta".into(), Value::Object(meta));
        Value::Object(map)
    }
}

/// Snapshot metadata (spec 4.4).
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// Version, spec version and expiry.
    pub common: Common,
    /// Keyed by file name: `targets.json`, `<role>.json`.
    pub meta: BTreeMap<String, MetaFile>,
    /// Fields this client does not know, kept verbatim: the signatures cover them too.
    pub extra: Extra,
}

impl Snapshot {
    /// Parses the `signed` part of a snapshot file.
    pub fn from_value(value: Value) -> Result<Self> {
        let mut f = Fields::new(value, SNAPSHOT, "signed")?;
        let common = Common::parse(&mut f, SNAPSHOT)?;
        let meta = parse_meta(&mut f)?;
        Ok(Snapshot {
            common,
            meta,
            extra: f.rest(),
        })
    }

    /// The `signed` part as JSON, for canonicalisation and signing.
    pub fn to_value(&self) -> Value {
        let mut map = self.extra.clone();
        self.common.write(&mut map, SNAPSHOT);
        map.insert("meta".into(), to_json(&self.meta));
        Value::Object(map)
    }

    /// The entry for targets role `role` (its `<role>.json`), if snapshot lists it.
    pub fn role_meta(&self, role: &str) -> Option<&MetaFile> {
        self.meta.get(&format!("{role}.json"))
    }
}

/// A signature in the envelope (spec 4.2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Signature {
    /// The ID of the key that made the signature.
    pub keyid: String,
    /// The signature, in hex.
    pub sig: String,
    /// Fields this client does not know, kept verbatim: the signatures cover them too.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The envelope every metadata file has: `{"signed": {...}, "signatures": [...]}`.
/// `canonical` is the OLPC canonical JSON of `signed`, the bytes the signatures cover.
#[derive(Clone, Debug)]
pub struct Envelope {
    /// The `signed` part as parsed.
    pub signed: Value,
    /// The canonical JSON of `signed`: the bytes the signatures cover.
    pub canonical: Vec<u8>,
    /// The signatures, at most one per key ID.
    pub signatures: Vec<Signature>,
}

#[derive(Deserialize)]
struct RawEnvelope {
    signed: Value,
    signatures: Vec<Signature>,
}

#[derive(Deserialize)]
struct RawTextEnvelope<'a> {
    #[serde(borrow)]
    signed: &'a serde_json::value::RawValue,
    signatures: Vec<Signature>,
}

fn check_distinct_signatures(signatures: &[Signature], role: &str) -> Result<()> {
    let mut seen = HashSet::new();
    for s in signatures {
        if !seen.insert(s.keyid.as_str()) {
            return Err(TufError::malformed(
                role,
                format!("two signatures with key ID {:?}", s.keyid),
            ));
        }
    }
    Ok(())
}

/// A targets file split without an intermediate tree: its signatures and the JSON text of
/// its signed part, to be canonicalised ([`crate::tuf::canonical::canonicalize_text`]) and
/// typed ([`Targets::from_json`]), which can run in parallel.
pub fn split_targets_file<'a>(bytes: &'a [u8], role: &str) -> Result<(Vec<Signature>, &'a str)> {
    let raw: RawTextEnvelope<'a> = serde_json::from_slice(bytes)
        .map_err(|e| TufError::malformed(role, format!("not a metadata file: {e}")))?;
    check_distinct_signatures(&raw.signatures, role)?;
    Ok((raw.signatures, raw.signed.get()))
}

impl Envelope {
    /// Parses a metadata file. `role` names it in errors.
    pub fn parse(bytes: &[u8], role: &str) -> Result<Self> {
        let raw: RawEnvelope = serde_json::from_slice(bytes)
            .map_err(|e| TufError::malformed(role, format!("not a metadata file: {e}")))?;
        check_distinct_signatures(&raw.signatures, role)?;
        let canonical = crate::tuf::canonical::to_canonical(&raw.signed)
            .map_err(|e| TufError::malformed(role, e))?;
        Ok(Envelope {
            signed: raw.signed,
            canonical,
            signatures: raw.signatures,
        })
    }

    /// The `_type` the signed part claims, for choosing a parser.
    pub fn signed_type(&self) -> Option<&str> {
        self.signed.get("_type").and_then(Value::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_does_not_cross_slash() {
        assert!(path_matches_pattern("a/b.txt", "a/*"));
        assert!(!path_matches_pattern("a/b/c.txt", "a/*"));
        assert!(path_matches_pattern(
            "stable/app/1.0.0/linux/x",
            "stable/*/*/*/*"
        ));
        assert!(!path_matches_pattern(
            "beta/app/1.0.0/linux/x",
            "stable/*/*/*/*"
        ));
        assert!(path_matches_pattern("file1.txt", "file?.txt"));
        assert!(path_matches_pattern("f.tgz", "*.tgz"));
        assert!(!path_matches_pattern("f.tgz", "*.tar"));
    }

    #[test]
    fn succinct_bin_names_and_assignment() {
        let s = SuccinctRoles {
            keyids: vec![],
            threshold: 1,
            bit_length: 8,
            name_prefix: "bin".into(),
            extra: Extra::new(),
        };
        assert_eq!(s.bin_name(0), "bin-00");
        assert_eq!(s.bin_name(255), "bin-ff");
        assert!(s.is_bin("bin-0a"));
        assert!(!s.is_bin("bin-100"));
        assert!(!s.is_bin("bin-A0"));
        assert!(!s.is_bin("bins-00"));
        // sha256("") starts with e3: bin e3 of 256.
        assert_eq!(s.role_for_target(""), "bin-e3");
        let one = SuccinctRoles { bit_length: 1, ..s };
        assert_eq!(one.role_for_target(""), "bin-1");
    }

    #[test]
    fn expiry_format_is_strict() {
        assert!(expiry::parse("2030-01-01T00:00:00Z").is_some());
        assert!(expiry::parse("2030-01-01T00:00:00+00:00").is_none());
        assert!(expiry::parse("2030-01-01 00:00:00Z").is_none());
    }

    /// Found by fuzzing (fuzz/, metadata_cjson): read from its text, a targets file whose
    /// repeated key first holds a malformed value is refused (the text is typed as it is
    /// read), where a tree keeps the last value. Refusing more is the safe side; whenever
    /// both read a file, they read the same (the last value of a repeated key).
    #[test]
    fn targets_text_refuses_a_malformed_value_that_a_repeated_key_replaces() {
        let common = r#""_type":"targets","spec_version":"1.0.34","version":1,"expires":"2030-01-01T00:00:00Z""#;
        let good = r#"{"a":{"length":1,"hashes":{"sha256":"00"}}}"#;
        let text = format!(r#"{{{common},"targets":"not a map","targets":{good}}}"#);
        let tree: Value = serde_json::from_str(&text).unwrap();
        assert!(Targets::from_value(tree, "t").is_ok());
        assert!(Targets::from_json(&text, "t").is_err());
        let text = format!(r#"{{{common},"targets":{{}},"targets":{good}}}"#);
        let tree: Value = serde_json::from_str(&text).unwrap();
        let from_text = Targets::from_json(&text, "t").unwrap();
        assert_eq!(from_text, Targets::from_value(tree, "t").unwrap());
        assert_eq!(from_text.targets.len(), 1);
    }

    /// Found by fuzzing (fuzz/, metadata_cjson): chrono took fields without their zeros.
    #[test]
    fn expiry_fields_must_have_their_leading_zeros() {
        for lax in [
            "2030-01-01T00:0:00Z",
            "2030-1-01T00:00:00Z",
            "2030-01-01T0:00:00Z",
            "2030-01-01T00:00:0Z",
            "02030-01-01T00:00:00Z",
            "+2030-01-01T00:00:00Z",
        ] {
            assert!(expiry::parse(lax).is_none(), "{lax}");
        }
        let signed = serde_json::json!({
            "_type": "timestamp", "spec_version": "1.0.34", "version": 1,
            "expires": "2030-01-01T00:0:00Z",
            "meta": {"snapshot.json": {"version": 1}},
        });
        assert!(Timestamp::from_value(signed).is_err());
        assert!(expiry::parse("2030-12-31T23:59:59Z").is_some());
    }
}
