//! TUF metadata types (spec section 4): the signed envelope, root, timestamp, snapshot,
//! targets and delegations, including succinct hashed bins (TAP 15).
//!
//! Parsing is done by hand from a `serde_json::Value` rather than with `#[serde(flatten)]`:
//! flatten buffers every object twice, which shows on a 10,000-target `targets.json`.
//! Every struct keeps the fields it does not know in `extra`, so metadata written by a newer
//! tool round-trips unchanged (its signatures cover those fields too).

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::tuf::error::{Result, TufError};

/// Fields a parser did not recognise, kept verbatim.
pub type Extra = Map<String, Value>;

/// The four top-level roles.
pub const ROOT: &str = "root";
pub const TIMESTAMP: &str = "timestamp";
pub const SNAPSHOT: &str = "snapshot";
pub const TARGETS: &str = "targets";
pub const TOP_LEVEL_ROLES: [&str; 4] = [ROOT, TIMESTAMP, SNAPSHOT, TARGETS];

/// The spec version we write; we read any 1.x.
pub const SPEC_VERSION: &str = "1.0.34";

const EXPIRES_FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";

/// Takes typed fields out of a JSON object; whatever is left is the `extra` of the type.
struct Fields<'a> {
    map: Map<String, Value>,
    role: &'a str,
}

impl<'a> Fields<'a> {
    fn new(value: Value, role: &'a str, what: &str) -> Result<Self> {
        match value {
            Value::Object(map) => Ok(Fields { map, role }),
            _ => Err(TufError::malformed(
                role,
                format!("{what} is not an object"),
            )),
        }
    }

    fn req<T: DeserializeOwned>(&mut self, key: &str) -> Result<T> {
        let value = self
            .map
            .remove(key)
            .ok_or_else(|| TufError::malformed(self.role, format!("missing field {key:?}")))?;
        serde_json::from_value(value)
            .map_err(|e| TufError::malformed(self.role, format!("field {key:?}: {e}")))
    }

    fn opt<T: DeserializeOwned>(&mut self, key: &str) -> Result<Option<T>> {
        match self.map.remove(key) {
            None => Ok(None),
            Some(value) => serde_json::from_value(value)
                .map(Some)
                .map_err(|e| TufError::malformed(self.role, format!("field {key:?}: {e}"))),
        }
    }

    fn take(&mut self, key: &str) -> Option<Value> {
        self.map.remove(key)
    }

    fn rest(self) -> Extra {
        self.map
    }
}

/// `expires` as the spec writes it: `YYYY-MM-DDTHH:MM:SSZ`, always UTC.
pub mod expiry {
    use super::*;

    pub fn parse(s: &str) -> Option<DateTime<Utc>> {
        NaiveDateTime::parse_from_str(s, EXPIRES_FORMAT)
            .ok()
            .map(|t| t.and_utc())
    }

    pub fn format(t: &DateTime<Utc>) -> String {
        t.format(EXPIRES_FORMAT).to_string()
    }

    pub fn serialize<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(t))
    }
}

/// The fields every role shares (spec 4.2 / 4.3).
#[derive(Clone, Debug, PartialEq)]
pub struct Common {
    pub spec_version: String,
    pub version: u64,
    pub expires: DateTime<Utc>,
}

impl Common {
    pub fn new(version: u64, expires: DateTime<Utc>) -> Self {
        Common {
            spec_version: SPEC_VERSION.to_string(),
            version,
            expires,
        }
    }

    fn parse(fields: &mut Fields<'_>, expected_type: &str) -> Result<Self> {
        let found: String = fields.req("_type")?;
        if found != expected_type {
            return Err(TufError::WrongType {
                role: crate::tuf::error::Role::named(fields.role),
                expected: expected_type.to_string(),
                found,
            });
        }
        let spec_version: String = fields.req("spec_version")?;
        // We implement 1.0.x; any 1.y is compatible by semver, 0.x or 2.x is not.
        let major = spec_version.split('.').next().unwrap_or_default();
        if major != "1" || spec_version.split('.').count() < 2 {
            return Err(TufError::malformed(
                fields.role,
                format!("unsupported spec_version {spec_version:?}"),
            ));
        }
        let version: u64 = fields.req("version")?;
        if version == 0 {
            return Err(TufError::malformed(
                fields.role,
                "version must be at least 1",
            ));
        }
        let expires: String = fields.req("expires")?;
        let expires = expiry::parse(&expires).ok_or_else(|| {
            TufError::malformed(
                fields.role,
                format!("expires {expires:?} is not YYYY-MM-DDTHH:MM:SSZ"),
            )
        })?;
        Ok(Common {
            spec_version,
            version,
            expires,
        })
    }

    fn write(&self, map: &mut Map<String, Value>, type_name: &str) {
        map.insert("_type".into(), Value::from(type_name));
        map.insert(
            "spec_version".into(),
            Value::from(self.spec_version.clone()),
        );
        map.insert("version".into(), Value::from(self.version));
        map.insert("expires".into(), Value::from(expiry::format(&self.expires)));
    }

    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires
    }
}

/// A public key as metadata lists it (spec 4.2). Key IDs are labels chosen by the delegator
/// (TAP 12): we never recompute them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Key {
    pub keytype: String,
    pub scheme: String,
    pub keyval: KeyVal,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyVal {
    pub public: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The key IDs and threshold of one role.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoleKeys {
    pub keyids: Vec<String>,
    pub threshold: u64,
    #[serde(flatten)]
    pub extra: Extra,
}

impl RoleKeys {
    pub fn new(keyids: Vec<String>, threshold: u64) -> Self {
        RoleKeys {
            keyids,
            threshold,
            extra: Extra::new(),
        }
    }

    fn validate(&self, role: &str) -> Result<()> {
        validate_keyids_threshold(&self.keyids, self.threshold, role)
    }
}

fn validate_keyids_threshold(keyids: &[String], threshold: u64, role: &str) -> Result<()> {
    if threshold == 0 {
        return Err(TufError::malformed(role, "threshold must be at least 1"));
    }
    let unique: HashSet<&String> = keyids.iter().collect();
    if unique.len() != keyids.len() {
        return Err(TufError::malformed(role, "duplicate key IDs in role"));
    }
    Ok(())
}

/// Root metadata (spec 4.3).
#[derive(Clone, Debug, PartialEq)]
pub struct Root {
    pub common: Common,
    pub consistent_snapshot: bool,
    pub keys: BTreeMap<String, Key>,
    pub roles: BTreeMap<String, RoleKeys>,
    pub extra: Extra,
}

impl Root {
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

fn to_json<T: Serialize>(value: &T) -> Value {
    // Serializing our own plain types (maps of strings and numbers) cannot fail.
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// A reference to a metadata file from timestamp or snapshot (spec 4.4 / 4.5, METAFILES).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetaFile {
    pub version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashes: Option<BTreeMap<String, String>>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl MetaFile {
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
    pub common: Common,
    pub snapshot_meta: MetaFile,
    pub extra: Extra,
}

impl Timestamp {
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

    pub fn to_value(&self) -> Value {
        let mut map = self.extra.clone();
        self.common.write(&mut map, TIMESTAMP);
        let mut meta = Map::new();
        meta.insert("snapshot.json".into(), to_json(&self.snapshot_meta));
        map.insert("meta".into(), Value::Object(meta));
        Value::Object(map)
    }
}

/// Snapshot metadata (spec 4.5).
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub common: Common,
    /// Keyed by file name: `targets.json`, `<role>.json`.
    pub meta: BTreeMap<String, MetaFile>,
    pub extra: Extra,
}

impl Snapshot {
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

    pub fn to_value(&self) -> Value {
        let mut map = self.extra.clone();
        self.common.write(&mut map, SNAPSHOT);
        map.insert("meta".into(), to_json(&self.meta));
        Value::Object(map)
    }

    pub fn role_meta(&self, role: &str) -> Option<&MetaFile> {
        self.meta.get(&format!("{role}.json"))
    }
}

/// Hash algorithm to hex digest. A sorted vector rather than a `BTreeMap`: a target has one
/// or two hashes, and a B-tree node for each of 10,000 targets is half a kilobyte apiece.
pub type TargetHashes = litemap::LiteMap<String, String>;

/// One target file (spec 4.5 TARGETS): length, hashes and optional custom data.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetFile {
    pub length: u64,
    pub hashes: TargetHashes,
    pub custom: Option<Value>,
    pub extra: Extra,
}

impl TargetFile {
    pub fn new(length: u64, hashes: impl IntoIterator<Item = (String, String)>) -> Self {
        TargetFile {
            length,
            hashes: hashes.into_iter().collect(),
            custom: None,
            extra: Extra::new(),
        }
    }

    fn from_value(value: Value, role: &str) -> Result<Self> {
        TargetFile::deserialize(value).map_err(|e| TufError::malformed(role, e))
    }

    pub fn to_value(&self) -> Value {
        let mut map = self.extra.clone();
        map.insert("length".into(), Value::from(self.length));
        map.insert("hashes".into(), to_json(&self.hashes));
        if let Some(custom) = &self.custom {
            map.insert("custom".into(), custom.clone());
        }
        Value::Object(map)
    }
}

/// By hand rather than derived: `#[serde(flatten)]` for `extra` would buffer each of the
/// thousands of targets of a large file twice.
impl<'de> Deserialize<'de> for TargetFile {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = TargetFile;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a target: {length, hashes, custom?}")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<TargetFile, A::Error> {
                use serde::de::Error;
                let mut length = None;
                let mut hashes: Option<TargetHashes> = None;
                let mut custom = None;
                let mut extra = Extra::new();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "length" => length = Some(map.next_value::<u64>()?),
                        "hashes" => hashes = Some(map.next_value()?),
                        "custom" => custom = Some(map.next_value::<Value>()?),
                        _ => {
                            let value = map.next_value::<Value>()?;
                            extra.insert(key, value);
                        }
                    }
                }
                let length = length.ok_or_else(|| A::Error::missing_field("length"))?;
                let hashes = hashes.ok_or_else(|| A::Error::missing_field("hashes"))?;
                if hashes.is_empty() {
                    return Err(A::Error::custom("target hashes must not be empty"));
                }
                Ok(TargetFile {
                    length,
                    hashes,
                    custom,
                    extra,
                })
            }
        }
        d.deserialize_map(V)
    }
}

/// Targets metadata, top-level or delegated (spec 4.5).
#[derive(Clone, Debug, PartialEq)]
pub struct Targets {
    pub common: Common,
    pub targets: BTreeMap<String, TargetFile>,
    pub delegations: Option<Delegations>,
    pub extra: Extra,
}

impl Targets {
    pub fn new(common: Common) -> Self {
        Targets {
            common,
            targets: BTreeMap::new(),
            delegations: None,
            extra: Extra::new(),
        }
    }

    /// `role` is the role name this file was fetched as, for error messages.
    pub fn from_value(value: Value, role: &str) -> Result<Self> {
        let Value::Object(mut map) = value else {
            return Err(TufError::malformed(role, "signed is not an object"));
        };
        let targets = match map.remove("targets") {
            Some(Value::Object(targets)) => Some(
                targets
                    .into_iter()
                    .map(|(path, v)| Ok((path, TargetFile::from_value(v, role)?)))
                    .collect::<Result<BTreeMap<_, _>>>()?,
            ),
            Some(_) => return Err(TufError::malformed(role, "targets is not an object")),
            None => None,
        };
        Self::from_parts(map, targets, role)
    }

    /// Parses the `signed` part straight from its JSON text: the target list goes directly
    /// into typed form, without an intermediate tree.
    pub fn from_json(text: &str, role: &str) -> Result<Self> {
        struct V;
        type Parts = (Map<String, Value>, Option<BTreeMap<String, TargetFile>>);
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Parts;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a targets object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Parts, A::Error> {
                let mut others = Map::new();
                let mut targets = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key == "targets" {
                        targets = Some(map.next_value()?);
                    } else {
                        let value = map.next_value::<Value>()?;
                        others.insert(key, value);
                    }
                }
                Ok((others, targets))
            }
        }
        let mut de = serde_json::Deserializer::from_str(text);
        let (others, targets) = serde::Deserializer::deserialize_map(&mut de, V)
            .and_then(|parts| de.end().map(|()| parts))
            .map_err(|e| TufError::malformed(role, e))?;
        Self::from_parts(others, targets, role)
    }

    fn from_parts(
        others: Map<String, Value>,
        targets: Option<BTreeMap<String, TargetFile>>,
        role: &str,
    ) -> Result<Self> {
        let mut f = Fields::new(Value::Object(others), role, "signed")?;
        let common = Common::parse(&mut f, TARGETS)?;
        let targets =
            targets.ok_or_else(|| TufError::malformed(role, "missing field \"targets\""))?;
        let delegations = match f.take("delegations") {
            Some(v) => Some(Delegations::from_value(v, role)?),
            None => None,
        };
        Ok(Targets {
            common,
            targets,
            delegations,
            extra: f.rest(),
        })
    }

    pub fn to_value(&self) -> Value {
        let mut map = self.extra.clone();
        self.common.write(&mut map, TARGETS);
        let targets: Map<String, Value> = self
            .targets
            .iter()
            .map(|(path, t)| (path.clone(), t.to_value()))
            .collect();
        map.insert("targets".into(), Value::Object(targets));
        if let Some(d) = &self.delegations {
            map.insert("delegations".into(), d.to_value());
        }
        Value::Object(map)
    }
}

/// A role delegated by name (spec 4.5 DELEGATIONS).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DelegatedRole {
    pub name: String,
    pub keyids: Vec<String>,
    pub threshold: u64,
    #[serde(default)]
    pub terminating: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_hash_prefixes: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl DelegatedRole {
    /// Whether this delegation covers `target_path` (spec 4.5: `paths` patterns or
    /// `path_hash_prefixes` of the SHA-256 of the path).
    pub fn is_delegated_path(&self, target_path: &str) -> bool {
        if let Some(patterns) = &self.paths {
            return patterns
                .iter()
                .any(|p| path_matches_pattern(target_path, p));
        }
        if let Some(prefixes) = &self.path_hash_prefixes {
            let digest = hex::encode(Sha256::digest(target_path.as_bytes()));
            return prefixes.iter().any(|p| digest.starts_with(p.as_str()));
        }
        false
    }
}

/// Shell-style matching as the spec describes it: `*` never crosses a `/`, so the path and
/// the pattern must have the same number of segments and each segment must match.
pub fn path_matches_pattern(target_path: &str, pattern: &str) -> bool {
    let mut targets = target_path.split('/');
    let mut patterns = pattern.split('/');
    loop {
        match (targets.next(), patterns.next()) {
            (None, None) => return true,
            (Some(t), Some(p)) => {
                let ok = glob::Pattern::new(p).map(|g| g.matches(t)).unwrap_or(false);
                if !ok {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// Succinct hashed bins (TAP 15): `2^bit_length` roles named `<prefix>-<hex bin>` sharing one
/// key set; a target belongs to the bin given by the first `bit_length` bits of SHA-256(path).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SuccinctRoles {
    pub keyids: Vec<String>,
    pub threshold: u64,
    pub bit_length: u32,
    pub name_prefix: String,
    #[serde(flatten)]
    pub extra: Extra,
}

impl SuccinctRoles {
    pub fn bin_count(&self) -> u64 {
        1u64 << self.bit_length
    }

    fn suffix_len(&self) -> usize {
        format!("{:x}", self.bin_count() - 1).len()
    }

    pub fn bin_name(&self, bin: u64) -> String {
        format!(
            "{}-{:0width$x}",
            self.name_prefix,
            bin,
            width = self.suffix_len()
        )
    }

    /// The bin responsible for `target_path`.
    pub fn role_for_target(&self, target_path: &str) -> String {
        let digest = Sha256::digest(target_path.as_bytes());
        let first = digest.first_chunk::<4>().copied().unwrap_or_default();
        let bin = u32::from_be_bytes(first) >> (32 - self.bit_length);
        self.bin_name(u64::from(bin))
    }

    /// Whether `name` is one of the bins, which is the only way a bin is a delegated role.
    pub fn is_bin(&self, name: &str) -> bool {
        let Some(suffix) = name
            .strip_prefix(self.name_prefix.as_str())
            .and_then(|s| s.strip_prefix('-'))
        else {
            return false;
        };
        suffix.len() == self.suffix_len()
            && u64::from_str_radix(suffix, 16).is_ok_and(|n| n < self.bin_count())
            && suffix
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }
}

/// Delegations of a targets role: either a list of named roles or succinct hashed bins.
#[derive(Clone, Debug, PartialEq)]
pub struct Delegations {
    pub keys: BTreeMap<String, Key>,
    pub roles: Option<Vec<DelegatedRole>>,
    pub succinct_roles: Option<SuccinctRoles>,
    pub extra: Extra,
}

/// A role a targets role hands a lookup on to, with the keys that must sign it.
#[derive(Clone, Debug, PartialEq)]
pub struct Delegate {
    pub name: String,
    pub keyids: Vec<String>,
    pub threshold: u64,
    pub terminating: bool,
}

impl Delegations {
    fn from_value(value: Value, role: &str) -> Result<Self> {
        let mut f = Fields::new(value, role, "delegations")?;
        let keys: BTreeMap<String, Key> = f.req("keys")?;
        let roles: Option<Vec<DelegatedRole>> = f.opt("roles")?;
        let succinct_roles: Option<SuccinctRoles> = f.opt("succinct_roles")?;
        match (&roles, &succinct_roles) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(TufError::malformed(
                    role,
                    "delegations must have exactly one of roles and succinct_roles",
                ))
            }
            (Some(list), None) => {
                let mut names = HashSet::new();
                for r in list {
                    validate_keyids_threshold(&r.keyids, r.threshold, &r.name)?;
                    // Compared without case: on macOS and Windows `Root.json` is `root.json`.
                    let lower = r.name.to_ascii_lowercase();
                    if TOP_LEVEL_ROLES.contains(&lower.as_str()) {
                        return Err(TufError::malformed(
                            role,
                            format!("delegated role may not be named {:?}", r.name),
                        ));
                    }
                    if !names.insert(r.name.as_str()) {
                        return Err(TufError::malformed(
                            role,
                            format!("role {:?} is delegated twice", r.name),
                        ));
                    }
                    if r.paths.is_some() == r.path_hash_prefixes.is_some() {
                        return Err(TufError::malformed(
                            role,
                            format!(
                                "role {:?} must have exactly one of paths and path_hash_prefixes",
                                r.name
                            ),
                        ));
                    }
                }
            }
            (None, Some(s)) => {
                validate_keyids_threshold(&s.keyids, s.threshold, role)?;
                if !(1..=32).contains(&s.bit_length) {
                    return Err(TufError::malformed(role, "bit_length must be 1 to 32"));
                }
            }
        }
        Ok(Delegations {
            keys,
            roles,
            succinct_roles,
            extra: f.rest(),
        })
    }

    pub fn to_value(&self) -> Value {
        let mut map = self.extra.clone();
        map.insert("keys".into(), to_json(&self.keys));
        if let Some(r) = &self.roles {
            map.insert("roles".into(), to_json(r));
        }
        if let Some(s) = &self.succinct_roles {
            map.insert("succinct_roles".into(), to_json(s));
        }
        Value::Object(map)
    }

    /// The roles to search for `target_path`, in delegation order (spec 5.6.7.2). The caller
    /// stops after a terminating role.
    pub fn roles_for_target(&self, target_path: &str) -> Vec<Delegate> {
        if let Some(s) = &self.succinct_roles {
            return vec![Delegate {
                name: s.role_for_target(target_path),
                keyids: s.keyids.clone(),
                threshold: s.threshold,
                terminating: true,
            }];
        }
        self.roles
            .iter()
            .flatten()
            .filter(|r| r.is_delegated_path(target_path))
            .map(|r| Delegate {
                name: r.name.clone(),
                keyids: r.keyids.clone(),
                threshold: r.threshold,
                terminating: r.terminating,
            })
            .collect()
    }

    /// The names of the roles delegated by name, in delegation order (none for hashed bins).
    pub fn role_names(&self) -> Vec<String> {
        self.roles
            .iter()
            .flatten()
            .map(|r| r.name.clone())
            .collect()
    }

    /// Whether this delegation grants `role` authority over `target_path`: the path matches
    /// the role's `paths` or `path_hash_prefixes`, or falls into the role's hashed bin.
    pub fn grants(&self, role: &str, target_path: &str) -> bool {
        if let Some(s) = &self.succinct_roles {
            return s.is_bin(role) && s.role_for_target(target_path) == role;
        }
        self.roles
            .iter()
            .flatten()
            .find(|r| r.name == role)
            .is_some_and(|r| r.is_delegated_path(target_path))
    }

    /// The keys and threshold this delegator requires of `role`, if it delegates to it.
    pub fn delegate(&self, role: &str) -> Option<Delegate> {
        if let Some(s) = &self.succinct_roles {
            return s.is_bin(role).then(|| Delegate {
                name: role.to_string(),
                keyids: s.keyids.clone(),
                threshold: s.threshold,
                terminating: true,
            });
        }
        self.roles
            .iter()
            .flatten()
            .find(|r| r.name == role)
            .map(|r| Delegate {
                name: r.name.clone(),
                keyids: r.keyids.clone(),
                threshold: r.threshold,
                terminating: r.terminating,
            })
    }
}

/// A signature in the envelope (spec 4.2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Signature {
    pub keyid: String,
    pub sig: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The envelope every metadata file has: `{"signed": {...}, "signatures": [...]}`.
/// `canonical` is the OLPC canonical JSON of `signed`, the bytes the signatures cover.
#[derive(Clone, Debug)]
pub struct Envelope {
    pub signed: Value,
    pub canonical: Vec<u8>,
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
}
