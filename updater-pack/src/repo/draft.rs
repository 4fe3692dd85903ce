//! A change to the repository in memory: commands edit roles, then [`Draft::sign`] gives
//! every changed role a new version and expiry, signs it, and re-signs what refers to it
//! (a channel or `targets` -> snapshot -> timestamp; a new root is signed by the old and
//! the new root keys), staging the files in a [`Transaction`]. Nothing is written until
//! the transaction commits. `init` signs a new repository the same way
//! ([`Draft::first`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tuf_updater_core::tuf::metadata::{
    Common, DelegatedRole, Delegations, Extra, Key, Root, Targets, ROOT, SNAPSHOT, TARGETS,
    TIMESTAMP,
};
use tuf_updater_core::tuf::signer::{expiry_in, sign_metadata, Signer};

use crate::error::{PackError, Result};
use crate::keys::{same_key, KeyStore};
use crate::lifetime::ExpiryPolicy;
use crate::repo::roles::Roles;
pub use crate::repo::state::meta_file;
use crate::repo::state::Signed;
use crate::txn::{Phase, Transaction};

/// One role written by a command.
#[derive(Clone, Debug, PartialEq)]
pub struct RoleVersion {
    pub role: String,
    pub version: u64,
    pub expires: DateTime<Utc>,
    pub file: String,
}

/// What happens to root.
#[derive(Debug)]
enum RootChange {
    Unchanged,
    /// A new version, signed by the previous root's keys too.
    Successor {
        previous: Box<Root>,
    },
    /// The first root of a new repository, signed by its own keys.
    First,
}

pub struct Draft {
    pub state: Roles,
    root: RootChange,
    targets_changed: bool,
    channels_changed: BTreeSet<String>,
    /// Heads and archives changed (per-app layout).
    parts_changed: BTreeSet<String>,
    snapshot_changed: bool,
    /// A new app repository's root history, `(version, bytes)`, to copy.
    seed_roots: Vec<(u64, Vec<u8>)>,
    /// Keys made or brought in this run (not yet in the project), by key ID: key files or
    /// token keys.
    new_keys: BTreeMap<String, Arc<dyn Signer>>,
    /// Extra keys that also sign a role: the outgoing keys during a rotation.
    co_signers: BTreeMap<String, Vec<Arc<dyn Signer>>>,
}

impl std::fmt::Debug for Draft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids = |keys: &[Arc<dyn Signer>]| keys.iter().map(|k| k.keyid().to_string()).collect();
        let co_signers: BTreeMap<&String, Vec<String>> = self
            .co_signers
            .iter()
            .map(|(role, keys)| (role, ids(keys)))
            .collect();
        f.debug_struct("Draft")
            .field("state", &self.state)
            .field("root", &self.root)
            .field("targets_changed", &self.targets_changed)
            .field("channels_changed", &self.channels_changed)
            .field("parts_changed", &self.parts_changed)
            .field("snapshot_changed", &self.snapshot_changed)
            .field("seed_roots", &self.seed_roots.len())
            .field("new_keys", &self.new_keys.keys())
            .field("co_signers", &co_signers)
            .finish()
    }
}

/// Signs `value` with `signers` (key files or token keys); the file's bytes.
pub fn sign_value(value: &Value, signers: &[&dyn Signer]) -> Result<Vec<u8>> {
    Ok(sign_metadata(value, signers)?)
}

/// A delegated role about to be signed: its name, whose keys sign it (a head or archive is
/// signed by its channel's), its new signed part, version and expiry.
struct Unsigned<'a> {
    name: &'a str,
    key_role: &'a str,
    value: &'a Value,
    version: u64,
    expires: DateTime<Utc>,
}

/// One signing pass: where files go, their expiry, and what was written.
struct Pass<'a> {
    store: &'a KeyStore,
    policy: &'a ExpiryPolicy,
    now: DateTime<Utc>,
    txn: &'a mut Transaction,
    dir: PathBuf,
    written: Vec<RoleVersion>,
}

impl Pass<'_> {
    fn expiry(&self, role: &str) -> DateTime<Utc> {
        expiry_in(self.now, 0) + self.policy.lifetime(role).duration()
    }

    /// Stages the signed file of `role` and notes it.
    fn stage(
        &mut self,
        phase: Phase,
        role: &str,
        common: (u64, DateTime<Utc>),
        file: String,
        bytes: &[u8],
    ) -> Result<()> {
        let replace = phase == Phase::Timestamp;
        self.txn
            .add_bytes(phase, &self.dir.join(&file), bytes, replace)?;
        self.written.push(RoleVersion {
            role: role.to_string(),
            version: common.0,
            expires: common.1,
            file: format!("{}{file}", repository_label(&self.dir)),
        });
        Ok(())
    }
}

/// `apps/<app>/metadata/` for an app's own repository, empty for the project repository:
/// what a report puts before a file name.
fn repository_label(dir: &std::path::Path) -> String {
    let mut parts = dir.iter().rev().map(|p| p.to_string_lossy());
    match (parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(app), Some(apps)) if m == "metadata" && apps == "apps" => {
            format!("apps/{app}/metadata/")
        }
        _ => String::new(),
    }
}

impl Draft {
    pub fn new(state: Roles) -> Self {
        Draft {
            state,
            root: RootChange::Unchanged,
            targets_changed: false,
            channels_changed: BTreeSet::new(),
            parts_changed: BTreeSet::new(),
            snapshot_changed: false,
            seed_roots: Vec::new(),
            new_keys: BTreeMap::new(),
            co_signers: BTreeMap::new(),
        }
    }

    /// A new repository: every role of `state` is signed, root by its own keys.
    pub fn first(state: Roles) -> Self {
        let mut draft = Draft::new(state);
        draft.root = RootChange::First;
        draft.targets_changed = true;
        draft.channels_changed = draft.state.channels.keys().cloned().collect();
        draft
    }

    /// The root, to change; the current one is kept to sign its successor.
    pub fn root_mut(&mut self) -> &mut Root {
        if let RootChange::Unchanged = self.root {
            self.root = RootChange::Successor {
                previous: Box::new(self.state.root.value.clone()),
            };
        }
        &mut self.state.root.value
    }

    pub fn root_changed(&self) -> bool {
        !matches!(self.root, RootChange::Unchanged)
    }

    pub fn targets_mut(&mut self) -> &mut Targets {
        self.targets_changed = true;
        &mut self.state.targets.value
    }

    /// A channel role, to change.
    pub fn channel_mut(&mut self, channel: &str) -> Result<&mut Targets> {
        let known = self.state.channel_names().join(", ");
        let signed =
            self.state
                .channels
                .get_mut(channel)
                .ok_or_else(|| PackError::UnknownChannel {
                    name: channel.to_string(),
                    known,
                })?;
        self.channels_changed.insert(channel.to_string());
        Ok(&mut signed.value)
    }

    /// A role a channel delegates to (a head or an archive), to change.
    pub fn part_mut(&mut self, name: &str) -> Result<&mut Targets> {
        self.state.load_part(name)?;
        let (_, signed) =
            self.state.parts.get_mut(name).ok_or_else(|| {
                PackError::inconsistent(format!("no role {name} in the repository"))
            })?;
        self.parts_changed.insert(name.to_string());
        Ok(&mut signed.value)
    }

    /// Adds an empty role `name` that `channel` delegates `paths` to, signed by the
    /// channel's own keys (the ones `targets` delegates the channel to), non-terminating.
    pub fn add_part(&mut self, channel: &str, name: &str, paths: Vec<String>) -> Result<()> {
        let (keys, grant) = self.state.channel_grant(channel)?;
        let role = self.channel_mut(channel)?;
        let delegations = role.delegations.get_or_insert_with(|| Delegations {
            keys: BTreeMap::new(),
            roles: Some(Vec::new()),
            succinct_roles: None,
            extra: Extra::new(),
        });
        for id in &grant.keyids {
            if let Some(key) = keys.get(id) {
                delegations.keys.insert(id.clone(), key.clone());
            }
        }
        delegations
            .roles
            .get_or_insert_with(Vec::new)
            .push(DelegatedRole {
                name: name.to_string(),
                keyids: grant.keyids.clone(),
                threshold: grant.threshold,
                terminating: false,
                paths: Some(paths),
                path_hash_prefixes: None,
                extra: Extra::new(),
            });
        // Version and expiry are set when it is signed.
        let common = Common::new(0, self.state.root.value.common.expires);
        let part = Signed {
            value: Targets::new(common),
            bytes: Vec::new(),
        };
        self.state
            .parts
            .insert(name.to_string(), (channel.to_string(), part));
        self.parts_changed.insert(name.to_string());
        Ok(())
    }

    /// A new app repository: its root history is copied and its snapshot and timestamp
    /// signed for the first time.
    pub fn seed(&mut self, roots: Vec<(u64, Vec<u8>)>) {
        self.seed_roots = roots;
        self.snapshot_changed = true;
    }

    /// Re-sign the snapshot (and so the timestamp) even if no targets role changed.
    pub fn touch_snapshot(&mut self) {
        self.snapshot_changed = true;
    }

    /// Re-sign `role` with a new version even if its content did not change.
    pub fn touch(&mut self, role: &str) -> Result<()> {
        match role {
            ROOT => {
                self.root_mut();
            }
            TARGETS => {
                self.targets_mut();
            }
            SNAPSHOT | TIMESTAMP => self.touch_snapshot(),
            part if self.state.has_part(part) => {
                self.part_mut(part)?;
            }
            channel => {
                self.channel_mut(channel)?;
                // Its heads and archives expire with it.
                self.state.load_parts_of(channel)?;
                let parts: Vec<String> = self
                    .state
                    .parts
                    .iter()
                    .filter(|(_, (parent, _))| parent == channel)
                    .map(|(name, _)| name.clone())
                    .collect();
                for part in parts {
                    self.part_mut(&part)?;
                }
            }
        }
        Ok(())
    }

    /// A key made (or taken from a token) in this run, available for signing.
    pub fn add_new_key(&mut self, key: Arc<dyn Signer>) {
        self.new_keys.insert(key.keyid().to_string(), key);
    }

    /// An extra signer of `role` (an outgoing key).
    pub fn add_co_signer(&mut self, role: &str, key: Arc<dyn Signer>) {
        self.co_signers
            .entry(role.to_string())
            .or_default()
            .push(key);
    }

    /// The signers of `role`: a threshold of `keyids` (new keys of this run or key files),
    /// plus its co-signers.
    fn collect<'a>(
        &'a self,
        loaded: &'a mut Vec<Arc<dyn Signer>>,
        store: &KeyStore,
        role: &str,
        keyids: &[String],
        keys: &BTreeMap<String, Key>,
        threshold: u64,
    ) -> Result<Vec<&'a dyn Signer>> {
        let mut from_files = Vec::new();
        let mut new_ids = Vec::new();
        for keyid in keyids {
            match (self.new_keys.get(keyid), keys.get(keyid)) {
                (Some(new), Some(public)) if same_key(new.public_key(), public) => {
                    new_ids.push(keyid.clone());
                }
                _ => from_files.push(keyid.clone()),
            }
        }
        *loaded = store.available(role, &from_files, keys)?;
        let found = (new_ids.len() + loaded.len()) as u64;
        if found < threshold {
            return Err(store.missing(role, keyids, threshold, found));
        }
        let mut signers: Vec<&dyn Signer> = new_ids
            .iter()
            .filter_map(|id| self.new_keys.get(id))
            .chain(loaded.iter())
            .map(|k| k.as_ref())
            .collect();
        for extra in self.co_signers.get(role).into_iter().flatten() {
            if !signers.iter().any(|s| s.keyid() == extra.keyid()) {
                signers.push(extra.as_ref());
            }
        }
        Ok(signers)
    }

    /// Signs every changed role and what refers to it, staging the files in `txn`.
    pub fn sign(
        mut self,
        store: &KeyStore,
        policy: &ExpiryPolicy,
        now: DateTime<Utc>,
        txn: &mut Transaction,
    ) -> Result<Vec<RoleVersion>> {
        let mut pass = Pass {
            store,
            policy,
            now,
            txn,
            dir: self.state.metadata_dir().to_path_buf(),
            written: Vec::new(),
        };
        if self.root_changed() {
            let version = self.state.next_version(ROOT);
            let root = &mut self.state.root.value;
            root.common.version = version;
            root.common.expires = pass.expiry(ROOT);
        }
        let root = self.state.root.value.clone();
        self.stage_seed(&mut pass)?;
        // Heads and archives, signed by the keys their (possibly changed) channel delegates
        // them to; channels by the keys the (possibly changed) top-level targets delegates to.
        let parts: Vec<String> = self.parts_changed.iter().cloned().collect();
        for part in &parts {
            self.sign_part(&mut pass, part)?;
        }
        let channels: Vec<String> = self.channels_changed.iter().cloned().collect();
        for channel in &channels {
            self.sign_channel(&mut pass, channel)?;
        }
        if self.targets_changed {
            self.sign_targets(&mut pass, &root)?;
        }
        let delegated_changed = !channels.is_empty() || !parts.is_empty();
        if self.snapshot_changed || self.targets_changed || delegated_changed {
            self.sign_snapshot(&mut pass, &root)?;
        }
        // Every change ends with a new timestamp.
        self.sign_timestamp(&mut pass, &root)?;
        self.sign_root(&mut pass, root)?;
        Ok(pass.written)
    }

    fn sign_channel(&mut self, pass: &mut Pass<'_>, channel: &str) -> Result<()> {
        let version = self.state.next_version(channel);
        let expires = pass.expiry(channel);
        let value = {
            let signed = self.state.channels.get_mut(channel).ok_or_else(|| {
                PackError::inconsistent(format!("channel {channel} is not in the repository"))
            })?;
            signed.value.common.version = version;
            signed.value.common.expires = expires;
            signed.value.to_value()
        };
        let grant = self.state.channel_grant(channel)?;
        let signed = Unsigned {
            name: channel,
            key_role: channel,
            value: &value,
            version,
            expires,
        };
        let bytes = self.sign_delegated(pass, signed, grant)?;
        if let Some(signed) = self.state.channels.get_mut(channel) {
            signed.bytes = bytes;
        }
        Ok(())
    }

    /// Signs a channel, head or archive with a threshold of the keys its delegator `grant`s
    /// it (found under `key_role`), stages it and lists it in the snapshot; its bytes.
    fn sign_delegated(
        &mut self,
        pass: &mut Pass<'_>,
        role: Unsigned<'_>,
        (keys, grant): (BTreeMap<String, Key>, DelegatedRole),
    ) -> Result<Vec<u8>> {
        let mut loaded = Vec::new();
        let signers = self.collect(
            &mut loaded,
            pass.store,
            role.key_role,
            &grant.keyids,
            &keys,
            grant.threshold,
        )?;
        let bytes = sign_value(role.value, &signers)?;
        let (name, version) = (role.name, role.version);
        let file = format!("{version}.{name}.json");
        pass.stage(
            Phase::Delegated,
            name,
            (version, role.expires),
            file,
            &bytes,
        )?;
        self.state
            .snapshot
            .value
            .meta
            .insert(format!("{name}.json"), meta_file(version, &bytes));
        Ok(bytes)
    }

    /// A new app repository: copies the root history, and `targets` and the channel roles
    /// this draft does not re-sign, as the project repository signed them.
    fn stage_seed(&mut self, pass: &mut Pass<'_>) -> Result<()> {
        if self.seed_roots.is_empty() {
            return Ok(());
        }
        let mut copies: Vec<(Phase, String, Vec<u8>)> = Vec::new();
        for (version, bytes) in std::mem::take(&mut self.seed_roots) {
            copies.push((Phase::Root, format!("{version}.root.json"), bytes));
        }
        if !self.targets_changed {
            let targets = &self.state.targets;
            let file = format!("{}.{TARGETS}.json", targets.value.common.version);
            copies.push((Phase::TopTargets, file, targets.bytes.clone()));
        }
        for (name, channel) in &self.state.channels {
            if !self.channels_changed.contains(name) {
                let file = format!("{}.{name}.json", channel.value.common.version);
                copies.push((Phase::Delegated, file, channel.bytes.clone()));
            }
        }
        for (phase, file, bytes) in copies {
            pass.txn
                .add_bytes(phase, &pass.dir.join(&file), &bytes, false)?;
        }
        Ok(())
    }

    fn sign_part(&mut self, pass: &mut Pass<'_>, name: &str) -> Result<()> {
        let version = self.state.next_version(name);
        let (channel, value) = {
            let (channel, signed) = self.state.parts.get_mut(name).ok_or_else(|| {
                PackError::inconsistent(format!("role {name} is not in the repository"))
            })?;
            // A head or archive lives as long as its channel's role.
            signed.value.common.version = version;
            signed.value.common.expires = pass.expiry(channel);
            (channel.clone(), signed.value.to_value())
        };
        let expires = pass.expiry(&channel);
        let delegations = self
            .state
            .channels
            .get(&channel)
            .and_then(|c| c.value.delegations.as_ref());
        let grant = delegations
            .and_then(|d| {
                let role = d.roles.as_ref()?.iter().find(|r| r.name == name)?;
                Some((d.keys.clone(), role.clone()))
            })
            .ok_or_else(|| {
                PackError::inconsistent(format!("{channel} does not delegate to {name}"))
            })?;
        let signed = Unsigned {
            name,
            key_role: &channel,
            value: &value,
            version,
            expires,
        };
        let bytes = self.sign_delegated(pass, signed, grant)?;
        if let Some((_, signed)) = self.state.parts.get_mut(name) {
            signed.bytes = bytes;
        }
        Ok(())
    }

    fn sign_targets(&mut self, pass: &mut Pass<'_>, root: &Root) -> Result<()> {
        let version = self.state.next_version(TARGETS);
        let expires = pass.expiry(TARGETS);
        let targets = &mut self.state.targets.value;
        targets.common.version = version;
        targets.common.expires = expires;
        let value = targets.to_value();
        let bytes = self.sign_top_level(pass.store, root, TARGETS, &value)?;
        let file = format!("{version}.targets.json");
        pass.stage(Phase::TopTargets, TARGETS, (version, expires), file, &bytes)?;
        self.state
            .snapshot
            .value
            .meta
            .insert("targets.json".into(), meta_file(version, &bytes));
        self.state.targets.bytes = bytes;
        Ok(())
    }

    fn sign_snapshot(&mut self, pass: &mut Pass<'_>, root: &Root) -> Result<()> {
        let version = self.state.next_version(SNAPSHOT);
        let expires = pass.expiry(SNAPSHOT);
        let snapshot = &mut self.state.snapshot.value;
        snapshot.common.version = version;
        snapshot.common.expires = expires;
        let value = snapshot.to_value();
        let bytes = self.sign_top_level(pass.store, root, SNAPSHOT, &value)?;
        let file = format!("{version}.snapshot.json");
        pass.stage(Phase::Snapshot, SNAPSHOT, (version, expires), file, &bytes)?;
        self.state.timestamp.value.snapshot_meta = meta_file(version, &bytes);
        self.state.snapshot.bytes = bytes;
        Ok(())
    }

    fn sign_timestamp(&mut self, pass: &mut Pass<'_>, root: &Root) -> Result<()> {
        let version = self.state.next_version(TIMESTAMP);
        let expires = pass.expiry(TIMESTAMP);
        let timestamp = &mut self.state.timestamp.value;
        timestamp.common.version = version;
        timestamp.common.expires = expires;
        let value = timestamp.to_value();
        let bytes = self.sign_top_level(pass.store, root, TIMESTAMP, &value)?;
        let file = "timestamp.json".to_string();
        pass.stage(
            Phase::Timestamp,
            TIMESTAMP,
            (version, expires),
            file,
            &bytes,
        )?;
        self.state.timestamp.bytes = bytes;
        Ok(())
    }

    fn sign_top_level(
        &self,
        store: &KeyStore,
        root: &Root,
        role: &str,
        value: &Value,
    ) -> Result<Vec<u8>> {
        let keys = root
            .role(role)
            .ok_or_else(|| PackError::inconsistent(format!("root has no {role} role")))?;
        let mut loaded = Vec::new();
        let signers = self.collect(
            &mut loaded,
            store,
            role,
            &keys.keyids,
            &root.keys,
            keys.threshold,
        )?;
        sign_value(value, &signers)
    }

    /// Signs a changed root: a successor by a threshold of the previous root's root keys and
    /// of its own (spec 5.3.4), so that clients trusting the previous one accept it; a first
    /// root by its own.
    fn sign_root(&mut self, pass: &mut Pass<'_>, root: Root) -> Result<()> {
        let previous = match std::mem::replace(&mut self.root, RootChange::Unchanged) {
            RootChange::Unchanged => return Ok(()),
            RootChange::Successor { previous } => Some(previous),
            RootChange::First => None,
        };
        let mut loaded_old = Vec::new();
        let mut signers = match &previous {
            Some(previous) => {
                let old = previous
                    .role(ROOT)
                    .ok_or_else(|| PackError::inconsistent("the previous root has no root role"))?;
                self.collect(
                    &mut loaded_old,
                    pass.store,
                    ROOT,
                    &old.keyids,
                    &previous.keys,
                    old.threshold,
                )?
            }
            None => Vec::new(),
        };
        let new = root
            .role(ROOT)
            .ok_or_else(|| PackError::inconsistent("the new root has no root role"))?;
        let mut loaded_new = Vec::new();
        let new_signers = self.collect(
            &mut loaded_new,
            pass.store,
            ROOT,
            &new.keyids,
            &root.keys,
            new.threshold,
        )?;
        for key in new_signers {
            if !signers.iter().any(|s| s.keyid() == key.keyid()) {
                signers.push(key);
            }
        }
        let bytes = sign_value(&root.to_value(), &signers)?;
        let (version, expires) = (root.common.version, root.common.expires);
        let file = format!("{version}.root.json");
        pass.stage(Phase::Root, ROOT, (version, expires), file, &bytes)?;
        self.state.root = Signed { value: root, bytes };
        Ok(())
    }
}
