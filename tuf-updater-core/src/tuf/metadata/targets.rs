//! Targets metadata (spec 4.5): target files, top-level or delegated targets roles, and their
//! delegations, by name with paths or hash prefixes, or as succinct hashed bins (TAP 15).

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::common::{to_json, validate_keyids_threshold, Common, Extra, Fields, Key};
use crate::tuf::error::{Result, TufError};
use crate::tuf::role::{TARGETS, TOP_LEVEL_ROLES};

/// Hash algorithm to hex digest. A sorted vector rather than a `BTreeMap`: a target has one
/// or two hashes, and a B-tree node for each of 10,000 targets is half a kilobyte apiece.
pub type TargetHashes = litemap::LiteMap<String, String>;

/// One target file (spec 4.5 TARGETS): length, hashes and optional custom data.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetFile {
    /// Size of the file in bytes.
    pub length: u64,
    /// Its digests by algorithm (e.g. `sha256`), in hex.
    pub hashes: TargetHashes,
    /// The repository's own data about the file (here, the release fields), if any.
    pub custom: Option<Value>,
    /// Fields this client does not know, kept verbatim: the signatures cover them too.
    pub extra: Extra,
}

impl TargetFile {
    /// A target of `length` bytes with the given (algorithm, hex digest) pairs and no custom data.
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

    /// The target as it is written in metadata.
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
    /// Version, spec version and expiry.
    pub common: Common,
    /// The targets this role lists, by target path.
    pub targets: BTreeMap<String, TargetFile>,
    /// The roles it delegates to, if any.
    pub delegations: Option<Delegations>,
    /// Fields this client does not know, kept verbatim: the signatures cover them too.
    pub extra: Extra,
}

impl Targets {
    /// A targets role with no targets and no delegations.
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

    /// The `signed` part as JSON, for canonicalisation and signing.
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
    /// The role's name: unique among the delegator's roles, never a top-level role's.
    pub name: String,
    /// IDs of the keys that may sign the role.
    pub keyids: Vec<String>,
    /// How many of those keys must sign it.
    pub threshold: u64,
    /// If true, a search reaching this role goes on to no later delegation (spec 5.6.7.2.1).
    #[serde(default)]
    pub terminating: bool,
    /// Shell-style patterns of the target paths delegated; exactly one of this and
    /// `path_hash_prefixes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
    /// Hex prefixes of SHA-256(target path) delegated; exactly one of this and `paths`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_hash_prefixes: Option<Vec<String>>,
    /// Fields this client does not know, kept verbatim: the signatures cover them too.
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
    /// IDs of the keys every bin is signed with.
    pub keyids: Vec<String>,
    /// How many of those keys must sign each bin.
    pub threshold: u64,
    /// Number of leading hash bits that pick a bin (1 to 32).
    pub bit_length: u32,
    /// The bins' names before `-<hex bin>`.
    pub name_prefix: String,
    /// Fields this client does not know, kept verbatim: the signatures cover them too.
    #[serde(flatten)]
    pub extra: Extra,
}

impl SuccinctRoles {
    /// How many bins there are: `2^bit_length`.
    pub fn bin_count(&self) -> u64 {
        1u64 << self.bit_length
    }

    fn suffix_len(&self) -> usize {
        format!("{:x}", self.bin_count() - 1).len()
    }

    /// The name of bin number `bin`: `<prefix>-<bin in hex>`, zero-padded to the width of the
    /// last bin.
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
    /// The keys of the delegated roles, by key ID.
    pub keys: BTreeMap<String, Key>,
    /// The roles delegated by name; exactly one of this and `succinct_roles`.
    pub roles: Option<Vec<DelegatedRole>>,
    /// Succinct hashed bins; exactly one of this and `roles`.
    pub succinct_roles: Option<SuccinctRoles>,
    /// Fields this client does not know, kept verbatim: the signatures cover them too.
    pub extra: Extra,
}

/// A role a targets role hands a lookup on to, with the keys that must sign it.
#[derive(Clone, Debug, PartialEq)]
pub struct Delegate {
    /// The delegated role's name.
    pub name: String,
    /// IDs of the keys that must sign it.
    pub keyids: Vec<String>,
    /// How many of those keys must sign it.
    pub threshold: u64,
    /// If true, a search reaching this role goes on to no later delegation (spec 5.6.7.2.1).
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

    /// The delegations as they are written in metadata.
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
