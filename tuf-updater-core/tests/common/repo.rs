//! `RepoSim`: a TUF repository held as typed metadata plus its signing keys, published
//! through a real HTTP server, in the spirit of python-tuf's and tuf-conformance's
//! RepositorySimulator.
//!
//! - `publish(&[roles])` bumps each role's version (unless it was never published), signs it
//!   with the role's keys and serves the bytes. Publishing a targets role updates its entry in
//!   `snapshot.meta`; publishing snapshot updates `timestamp.snapshot_meta` (with length and
//!   hashes when `compute_hashes` is on). So `publish(&[TARGETS, SNAPSHOT, TIMESTAMP])` is a
//!   consistent release, and an attack is a release with something edited in between.
//! - Root is always served as `/metadata/N.root.json`; timestamp as `/metadata/timestamp.json`;
//!   snapshot and targets roles as `/metadata/N.<role>.json` when the root in force has
//!   `consistent_snapshot`, else `/metadata/<role>.json`. Targets as
//!   `/targets/<dir>/<sha256>.<name>` (consistent) or `/targets/<dir>/<name>`.
//! - `rotate_keys(ROOT, ..)` keeps the old root keys in `retiring_root_signers`: they sign every
//!   root published afterwards, as the old keys must sign the transition, until the test
//!   clears or replaces them.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tuf_updater_core::tuf::metadata::{
    Common, DelegatedRole, Delegations, Extra, MetaFile, RoleKeys, Root, Signature, Snapshot,
    SuccinctRoles, TargetFile, Targets, Timestamp, ROOT, SNAPSHOT, TARGETS, TIMESTAMP,
};
use tuf_updater_core::tuf::signer::{envelope_bytes, sign_metadata, KeyKind, LocalKey, Signer};

use super::server::Server;

/// The reference time of every test: clients run at `t0()` unless a test moves their clock.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap()
}

pub fn days(n: i64) -> Duration {
    Duration::days(n)
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// `s` as one URL path segment, like Python's `urllib.parse.quote(s, safe="")` (written out
/// here rather than borrowed from the client, so the tests check the client's quoting).
pub fn quote(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Resolves `.` and `..` segments as any URL parser does before a request goes out.
pub fn normalize_url_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    let parts: Vec<&str> = path.split('/').skip(1).collect();
    let last = parts.len().saturating_sub(1);
    for (i, segment) in parts.into_iter().enumerate() {
        match segment {
            "." => {
                if i == last {
                    segments.push("");
                }
            }
            ".." => {
                segments.pop();
                if i == last {
                    segments.push("");
                }
            }
            other => segments.push(other),
        }
    }
    format!("/{}", segments.join("/"))
}

/// Canonical JSON by an implementation independent of the client's (olpc-cjson).
pub fn canonical(value: &Value) -> Vec<u8> {
    use serde::Serialize;
    let mut buf = Vec::new();
    let mut ser =
        serde_json::Serializer::with_formatter(&mut buf, olpc_cjson::CanonicalFormatter::new());
    value.serialize(&mut ser).unwrap();
    buf
}

/// A signature of `signed` by `key`, labelled with `keyid` (which need not be the key's own).
pub fn signature_as(key: &LocalKey, keyid: &str, signed: &Value) -> Signature {
    Signature {
        keyid: keyid.to_string(),
        sig: hex::encode(key.sign(&canonical(signed)).unwrap()),
        extra: Extra::new(),
    }
}

/// Signs `signed` with `keys`; the bytes of the metadata file.
pub fn sign_with(signed: &Value, keys: &[&LocalKey]) -> Vec<u8> {
    let signers: Vec<&dyn Signer> = keys.iter().map(|k| *k as &dyn Signer).collect();
    sign_metadata(signed, &signers).unwrap()
}

/// A metadata file with exactly these signatures, valid or not.
pub fn envelope(signed: &Value, signatures: &[Signature]) -> Vec<u8> {
    envelope_bytes(signed, signatures).unwrap()
}

pub fn new_key(kind: KeyKind) -> LocalKey {
    LocalKey::generate(kind).unwrap()
}

/// A second handle on the same private key (`LocalKey` is not `Clone`).
pub fn clone_key(key: &LocalKey) -> LocalKey {
    LocalKey::from_pkcs8_pem(key.kind(), &key.to_pkcs8_pem().unwrap()).unwrap()
}

/// A delegation of `name` on `paths`, threshold 1, keys filled in by `add_delegation`.
pub fn delegated_role(name: &str, paths: &[&str]) -> DelegatedRole {
    DelegatedRole {
        name: name.to_string(),
        keyids: Vec::new(),
        threshold: 1,
        terminating: false,
        paths: Some(paths.iter().map(|p| p.to_string()).collect()),
        path_hash_prefixes: None,
        extra: Extra::new(),
    }
}

/// The name of bin `n` of `2^bit_length` succinct hashed bins (TAP 15).
pub fn bin_name(prefix: &str, bit_length: u32, n: u64) -> String {
    let width = format!("{:x}", (1u64 << bit_length) - 1).len();
    format!("{prefix}-{n:0width$x}")
}

/// The bin that TAP 15 assigns `target_path` to.
pub fn bin_for(prefix: &str, bit_length: u32, target_path: &str) -> String {
    let digest = Sha256::digest(target_path.as_bytes());
    let first = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    bin_name(prefix, bit_length, u64::from(first >> (32 - bit_length)))
}

pub struct RepoSim {
    pub server: Server,
    /// The URL path of the metadata directory, no trailing slash: `/metadata` unless made by
    /// `RepoSim::beside`.
    pub metadata_prefix: String,
    /// Expiry given to metadata this simulator creates.
    pub expires: DateTime<Utc>,
    pub root: Root,
    pub timestamp: Timestamp,
    pub snapshot: Snapshot,
    pub targets: Targets,
    /// Delegated targets roles by name.
    pub delegated: BTreeMap<String, Targets>,
    /// The keys each role is signed with when published.
    pub signers: HashMap<String, Vec<LocalKey>>,
    /// Old root keys that also sign every root published (see the module doc).
    pub retiring_root_signers: Vec<LocalKey>,
    /// Whether timestamp and snapshot list the length and hashes of what they reference.
    pub compute_hashes: bool,
    /// Every published root, by version.
    pub roots: BTreeMap<u64, Vec<u8>>,
    /// The last published bytes of each non-root role.
    pub published: HashMap<String, Vec<u8>>,
    /// Target contents by target path.
    pub target_contents: BTreeMap<String, Vec<u8>>,
}

impl RepoSim {
    /// A repository of one ed25519 key per top-level role, consistent snapshots, every role
    /// at version 1, published.
    pub fn new() -> Self {
        Self::with_key_kinds(|_| KeyKind::Ed25519)
    }

    /// As `new`, with the key type of each top-level role chosen by `kind`.
    pub fn with_key_kinds(kind: impl Fn(&str) -> KeyKind) -> Self {
        let expires = t0() + days(365);
        let mut keys = BTreeMap::new();
        let mut roles = BTreeMap::new();
        let mut signers = HashMap::new();
        for role in [ROOT, TIMESTAMP, SNAPSHOT, TARGETS] {
            let key = new_key(kind(role));
            keys.insert(key.keyid().to_string(), key.public_key().clone());
            roles.insert(
                role.to_string(),
                RoleKeys::new(vec![key.keyid().to_string()], 1),
            );
            signers.insert(role.to_string(), vec![key]);
        }
        let mut sim = RepoSim {
            server: Server::start(),
            metadata_prefix: "/metadata".to_string(),
            expires,
            root: Root {
                common: Common::new(1, expires),
                consistent_snapshot: true,
                keys,
                roles,
                extra: Extra::new(),
            },
            timestamp: Timestamp {
                common: Common::new(1, expires),
                snapshot_meta: MetaFile::new(1),
                extra: Extra::new(),
            },
            snapshot: Snapshot {
                common: Common::new(1, expires),
                meta: BTreeMap::new(),
                extra: Extra::new(),
            },
            targets: Targets::new(Common::new(1, expires)),
            delegated: BTreeMap::new(),
            signers,
            retiring_root_signers: Vec::new(),
            compute_hashes: false,
            roots: BTreeMap::new(),
            published: HashMap::new(),
            target_contents: BTreeMap::new(),
        };
        sim.publish(&[ROOT, TARGETS, SNAPSHOT, TIMESTAMP]);
        sim
    }

    /// A second repository on the same server (and `targets/`), its metadata under
    /// `metadata_prefix` (e.g. `/apps/<app>/metadata`): the same root history and top-level
    /// keys as `self`, every other role new at version 1, published.
    pub fn beside(other: &RepoSim, metadata_prefix: &str) -> RepoSim {
        let expires = other.expires;
        let signers = [ROOT, TIMESTAMP, SNAPSHOT, TARGETS]
            .into_iter()
            .map(|role| {
                let keys = other.signers[role].iter().map(clone_key).collect();
                (role.to_string(), keys)
            })
            .collect();
        let mut sim = RepoSim {
            server: other.server.share(),
            metadata_prefix: metadata_prefix.to_string(),
            expires,
            root: other.root.clone(),
            timestamp: Timestamp {
                common: Common::new(1, expires),
                snapshot_meta: MetaFile::new(1),
                extra: Extra::new(),
            },
            snapshot: Snapshot {
                common: Common::new(1, expires),
                meta: BTreeMap::new(),
                extra: Extra::new(),
            },
            targets: Targets::new(Common::new(1, expires)),
            delegated: BTreeMap::new(),
            signers,
            retiring_root_signers: Vec::new(),
            compute_hashes: other.compute_hashes,
            roots: other.roots.clone(),
            published: HashMap::new(),
            target_contents: BTreeMap::new(),
        };
        for (version, bytes) in &sim.roots {
            sim.server
                .put_bytes(&sim.meta_path(ROOT, *version), bytes.clone());
        }
        sim.publish(&[TARGETS, SNAPSHOT, TIMESTAMP]);
        sim
    }

    pub fn metadata_url(&self) -> String {
        format!("{}{}/", self.server.base, self.metadata_prefix)
    }

    pub fn targets_url(&self) -> String {
        format!("{}/targets/", self.server.base)
    }

    /// The root a client starts from: `1.root.json` as published.
    pub fn initial_root(&self) -> Vec<u8> {
        self.roots[&1].clone()
    }

    // ----- paths -------------------------------------------------------------------------

    pub fn root_path(version: u64) -> String {
        format!("/metadata/{version}.root.json")
    }

    /// Where a snapshot or targets role of `version` is served under the current root.
    pub fn meta_path(&self, role: &str, version: u64) -> String {
        let prefix = &self.metadata_prefix;
        if role == TIMESTAMP {
            format!("{prefix}/timestamp.json")
        } else if role == ROOT {
            format!("{prefix}/{version}.root.json")
        } else if self.root.consistent_snapshot {
            format!("{prefix}/{version}.{}.json", quote(role))
        } else {
            format!("{prefix}/{}.json", quote(role))
        }
    }

    /// Where the current version of `role` is served.
    pub fn current_path(&self, role: &str) -> String {
        self.meta_path(role, self.version(role))
    }

    /// Where the target `path` with `content` is served under the current root.
    pub fn target_path(&self, path: &str, content: &[u8]) -> String {
        let (dir, name) = match path.rsplit_once('/') {
            Some((d, n)) => (Some(d), n),
            None => (None, path),
        };
        let mut url = "/targets/".to_string();
        if let Some(dir) = dir {
            for segment in dir.split('/') {
                url.push_str(&quote(segment));
                url.push('/');
            }
        }
        if self.root.consistent_snapshot {
            url.push_str(&sha256_hex(content));
            url.push('.');
        }
        url.push_str(&quote(name));
        normalize_url_path(&url)
    }

    // ----- roles -------------------------------------------------------------------------

    pub fn is_targets_role(&self, role: &str) -> bool {
        role == TARGETS || self.delegated.contains_key(role)
    }

    /// Top-level or delegated targets metadata of `role`.
    pub fn targets_mut(&mut self, role: &str) -> &mut Targets {
        if role == TARGETS {
            &mut self.targets
        } else {
            self.delegated
                .get_mut(role)
                .unwrap_or_else(|| panic!("no targets role {role}"))
        }
    }

    pub fn targets_of(&self, role: &str) -> &Targets {
        if role == TARGETS {
            &self.targets
        } else {
            &self.delegated[role]
        }
    }

    fn common_mut(&mut self, role: &str) -> &mut Common {
        match role {
            ROOT => &mut self.root.common,
            TIMESTAMP => &mut self.timestamp.common,
            SNAPSHOT => &mut self.snapshot.common,
            _ => &mut self.targets_mut(role).common,
        }
    }

    pub fn version(&self, role: &str) -> u64 {
        match role {
            ROOT => self.root.common.version,
            TIMESTAMP => self.timestamp.common.version,
            SNAPSHOT => self.snapshot.common.version,
            _ => self.targets_of(role).common.version,
        }
    }

    pub fn set_version(&mut self, role: &str, version: u64) {
        self.common_mut(role).version = version;
    }

    pub fn set_expires(&mut self, role: &str, expires: DateTime<Utc>) {
        self.common_mut(role).expires = expires;
    }

    /// The `signed` part of `role` as it stands.
    pub fn signed(&self, role: &str) -> Value {
        match role {
            ROOT => self.root.to_value(),
            TIMESTAMP => self.timestamp.to_value(),
            SNAPSHOT => self.snapshot.to_value(),
            _ => self.targets_of(role).to_value(),
        }
    }

    /// `role` as it stands, signed by its keys (and, for root, the retiring root keys), not
    /// served.
    pub fn sign(&self, role: &str) -> Vec<u8> {
        let mut keys: Vec<&LocalKey> = self.signers.get(role).into_iter().flatten().collect();
        if role == ROOT {
            keys.extend(self.retiring_root_signers.iter());
        }
        sign_with(&self.signed(role), &keys)
    }

    /// Replaces the keys `role` is signed with; returns the old ones.
    pub fn set_signers(&mut self, role: &str, keys: Vec<LocalKey>) -> Vec<LocalKey> {
        self.signers
            .insert(role.to_string(), keys)
            .unwrap_or_default()
    }

    fn meta_file(&self, version: u64, bytes: &[u8]) -> MetaFile {
        let mut meta = MetaFile::new(version);
        if self.compute_hashes {
            meta.length = Some(bytes.len() as u64);
            meta.hashes = Some(BTreeMap::from([("sha256".to_string(), sha256_hex(bytes))]));
        }
        meta
    }

    /// Publishes each role in order, bumping versions of roles published before.
    pub fn publish(&mut self, roles: &[&str]) {
        for role in roles {
            self.publish_one(role, true);
        }
    }

    /// Publishes each role at its current version (replacing what is served for it).
    pub fn publish_no_bump(&mut self, roles: &[&str]) {
        for role in roles {
            self.publish_one(role, false);
        }
    }

    fn publish_one(&mut self, role: &str, bump: bool) {
        let seen = if role == ROOT {
            !self.roots.is_empty()
        } else {
            self.published.contains_key(role)
        };
        if bump && seen {
            let v = self.version(role);
            self.set_version(role, v + 1);
        }
        let version = self.version(role);
        let bytes = self.sign(role);
        let path = self.meta_path(role, version);
        match role {
            ROOT => {
                self.roots.insert(version, bytes.clone());
            }
            TIMESTAMP => {}
            SNAPSHOT => self.timestamp.snapshot_meta = self.meta_file(version, &bytes),
            _ => {
                let meta = self.meta_file(version, &bytes);
                self.snapshot.meta.insert(format!("{role}.json"), meta);
            }
        }
        if role != ROOT {
            self.published.insert(role.to_string(), bytes.clone());
        }
        self.server.put_bytes(&path, bytes);
    }

    /// Bumps and publishes every targets role, then snapshot and timestamp.
    pub fn publish_all_targets(&mut self) {
        let mut roles: Vec<String> = vec![TARGETS.to_string()];
        roles.extend(self.delegated.keys().cloned());
        for role in &roles {
            self.publish_one(role, true);
        }
        self.publish(&[SNAPSHOT, TIMESTAMP]);
    }

    /// Serves `bytes` at the URL of `role` at `version` (a forged or stale file).
    pub fn serve_as(&self, role: &str, version: u64, bytes: Vec<u8>) {
        self.server.put_bytes(&self.meta_path(role, version), bytes);
    }

    // ----- keys --------------------------------------------------------------------------

    /// Replaces the keys of top-level `role` by one new key of `kind` (threshold 1). For
    /// root the old keys become `retiring_root_signers`.
    pub fn rotate_keys(&mut self, role: &str, kind: KeyKind) {
        let key = new_key(kind);
        let old_ids = self.root.roles[role].keyids.clone();
        let role_keys = self.root.roles.get_mut(role).unwrap();
        role_keys.keyids = vec![key.keyid().to_string()];
        role_keys.threshold = 1;
        for id in old_ids {
            let still_used = self.root.roles.values().any(|r| r.keyids.contains(&id));
            if !still_used {
                self.root.keys.remove(&id);
            }
        }
        self.root
            .keys
            .insert(key.keyid().to_string(), key.public_key().clone());
        let old = self.set_signers(role, vec![key]);
        if role == ROOT {
            self.retiring_root_signers = old;
        }
    }

    /// Adds a key of `kind` to top-level `role` in root and to its signers.
    pub fn add_key(&mut self, role: &str, kind: KeyKind) -> String {
        let key = new_key(kind);
        let id = key.keyid().to_string();
        self.root.keys.insert(id.clone(), key.public_key().clone());
        self.root
            .roles
            .get_mut(role)
            .unwrap()
            .keyids
            .push(id.clone());
        self.signers.entry(role.to_string()).or_default().push(key);
        id
    }

    pub fn set_threshold(&mut self, role: &str, threshold: u64) {
        self.root.roles.get_mut(role).unwrap().threshold = threshold;
    }

    // ----- targets and delegations -------------------------------------------------------

    /// Lists `content` as target `path` of `role` (sha256 only) and serves it.
    pub fn add_target(&mut self, role: &str, path: &str, content: &[u8]) {
        let hashes = BTreeMap::from([("sha256".to_string(), sha256_hex(content))]);
        self.targets_mut(role).targets.insert(
            path.to_string(),
            TargetFile::new(content.len() as u64, hashes),
        );
        self.target_contents
            .insert(path.to_string(), content.to_vec());
        let url = self.target_path(path, content);
        self.server.put_bytes(&url, content.to_vec());
    }

    /// Adds delegation `role` to `delegator`, trusting `keys` for it (appended to the role's
    /// keyids; the role's threshold is kept). Creates empty metadata for the role if it has
    /// none. Does not register signers: see `delegate` for the usual case.
    pub fn add_delegation(&mut self, delegator: &str, mut role: DelegatedRole, keys: &[&LocalKey]) {
        let expires = self.expires;
        let name = role.name.clone();
        for key in keys {
            role.keyids.push(key.keyid().to_string());
        }
        let parent = self.targets_mut(delegator);
        let delegations = parent.delegations.get_or_insert_with(|| Delegations {
            keys: BTreeMap::new(),
            roles: Some(Vec::new()),
            succinct_roles: None,
            extra: Extra::new(),
        });
        for key in keys {
            delegations
                .keys
                .insert(key.keyid().to_string(), key.public_key().clone());
        }
        delegations.roles.get_or_insert_with(Vec::new).push(role);
        self.delegated
            .entry(name)
            .or_insert_with(|| Targets::new(Common::new(1, expires)));
    }

    /// Delegates `paths` from `delegator` to a new role `name` with one new ed25519 key.
    pub fn delegate(&mut self, delegator: &str, name: &str, paths: &[&str], terminating: bool) {
        let key = new_key(KeyKind::Ed25519);
        let mut role = delegated_role(name, paths);
        role.terminating = terminating;
        self.add_delegation(delegator, role, &[&key]);
        self.signers.insert(name.to_string(), vec![key]);
    }

    /// Delegates from `delegator` to `2^bit_length` succinct hashed bins sharing one key.
    pub fn add_succinct_roles(&mut self, delegator: &str, bit_length: u32, prefix: &str) {
        let key = new_key(KeyKind::Ed25519);
        let expires = self.expires;
        let parent = self.targets_mut(delegator);
        parent.delegations = Some(Delegations {
            keys: BTreeMap::from([(key.keyid().to_string(), key.public_key().clone())]),
            roles: None,
            succinct_roles: Some(SuccinctRoles {
                keyids: vec![key.keyid().to_string()],
                threshold: 1,
                bit_length,
                name_prefix: prefix.to_string(),
                extra: Extra::new(),
            }),
            extra: Extra::new(),
        });
        for n in 0..(1u64 << bit_length) {
            let name = bin_name(prefix, bit_length, n);
            self.delegated
                .insert(name.clone(), Targets::new(Common::new(1, expires)));
            self.signers.insert(name, vec![clone_key(&key)]);
        }
    }
}
