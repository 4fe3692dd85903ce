//! A change to the repository in memory: commands edit roles, then [`Draft::sign`] gives
//! every changed role a new version and expiry, signs it, and re-signs what refers to it
//! (a channel or `targets` -> snapshot -> timestamp; a new root is signed by the old and
//! the new root keys), staging the files in a [`Transaction`]. Nothing is written until
//! the transaction commits.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use updater_core::tuf::metadata::{
    Key, MetaFile, Root, Targets, ROOT, SNAPSHOT, TARGETS, TIMESTAMP,
};
use updater_core::tuf::signer::{sign_metadata, LocalKey, Signer};

use crate::error::{PackError, Result};
use crate::keys::{same_key, KeyStore};
use crate::lifetime::ExpiryPolicy;
use crate::repo::state::{RepoState, Signed};
use crate::txn::{Phase, Transaction};

/// One role written by a command.
#[derive(Clone, Debug, PartialEq)]
pub struct RoleVersion {
    pub role: String,
    pub version: u64,
    pub expires: DateTime<Utc>,
    pub file: String,
}

#[derive(Debug)]
pub struct Draft {
    pub state: RepoState,
    /// The root before this change, when root changes: it must sign the new one.
    previous_root: Option<Root>,
    targets_changed: bool,
    channels_changed: BTreeSet<String>,
    snapshot_changed: bool,
    /// Keys made in this run (not yet on disk), by key ID.
    new_keys: BTreeMap<String, LocalKey>,
    /// Extra keys that also sign a role: the outgoing keys during a rotation.
    co_signers: BTreeMap<String, Vec<LocalKey>>,
}

/// Signs `value` with `signers`; the file's bytes.
pub fn sign_value(value: &Value, signers: &[&LocalKey]) -> Result<Vec<u8>> {
    let refs: Vec<&dyn Signer> = signers.iter().map(|k| *k as &dyn Signer).collect();
    Ok(sign_metadata(value, &refs)?)
}

/// The snapshot/timestamp entry for a file: version, length and SHA-256.
pub fn meta_file(version: u64, bytes: &[u8]) -> MetaFile {
    let mut meta = MetaFile::new(version);
    meta.length = Some(bytes.len() as u64);
    meta.hashes = Some(BTreeMap::from([(
        "sha256".to_string(),
        hex::encode(Sha256::digest(bytes)),
    )]));
    meta
}

impl Draft {
    pub fn new(state: RepoState) -> Self {
        Draft {
            state,
            previous_root: None,
            targets_changed: false,
            channels_changed: BTreeSet::new(),
            snapshot_changed: false,
            new_keys: BTreeMap::new(),
            co_signers: BTreeMap::new(),
        }
    }

    /// The root, to change; the current one is kept to sign its successor.
    pub fn root_mut(&mut self) -> &mut Root {
        if self.previous_root.is_none() {
            self.previous_root = Some(self.state.root.value.clone());
        }
        &mut self.state.root.value
    }

    pub fn root_changed(&self) -> bool {
        self.previous_root.is_some()
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
            channel => {
                self.channel_mut(channel)?;
            }
        }
        Ok(())
    }

    /// A key made in this run, available for signing.
    pub fn add_new_key(&mut self, key: LocalKey) {
        self.new_keys.insert(key.keyid().to_string(), key);
    }

    /// An extra signer of `role` (an outgoing key).
    pub fn add_co_signer(&mut self, role: &str, key: LocalKey) {
        self.co_signers
            .entry(role.to_string())
            .or_default()
            .push(key);
    }

    /// The signers of `role`: a threshold of `keyids` (new keys of this run or key files),
    /// plus its co-signers.
    fn collect<'a>(
        &'a self,
        loaded: &'a mut Vec<LocalKey>,
        store: &KeyStore,
        role: &str,
        keyids: &[String],
        keys: &BTreeMap<String, Key>,
        threshold: u64,
    ) -> Result<Vec<&'a LocalKey>> {
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
        let mut signers: Vec<&LocalKey> = new_ids
            .iter()
            .filter_map(|id| self.new_keys.get(id))
            .chain(loaded.iter())
            .collect();
        for extra in self.co_signers.get(role).into_iter().flatten() {
            if !signers.iter().any(|s| s.keyid() == extra.keyid()) {
                signers.push(extra);
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
        let dir = self.state.metadata_dir().to_path_buf();
        let expiry = |role: &str| {
            updater_core::tuf::signer::expiry_in(now, 0) + policy.lifetime(role).duration()
        };
        let mut written = Vec::new();
        let mut note = |role: &str, version: u64, expires: DateTime<Utc>, file: String| {
            written.push(RoleVersion {
                role: role.to_string(),
                version,
                expires,
                file,
            })
        };

        if self.root_changed() {
            let version = self.state.next_version(ROOT);
            let root = &mut self.state.root.value;
            root.common.version = version;
            root.common.expires = expiry(ROOT);
        }
        let root = self.state.root.value.clone();

        // Channels, signed by the keys the (possibly changed) top-level targets delegates to.
        let delegations = self.state.targets.value.delegations.clone();
        let channels: Vec<String> = self.channels_changed.iter().cloned().collect();
        for channel in &channels {
            let version = self.state.next_version(channel);
            let expires = expiry(channel);
            let value = {
                let signed = self.state.channels.get_mut(channel).ok_or_else(|| {
                    PackError::inconsistent(format!("channel {channel} is not in the repository"))
                })?;
                signed.value.common.version = version;
                signed.value.common.expires = expires;
                signed.value.to_value()
            };
            let (keys, role) = delegations
                .as_ref()
                .and_then(|d| {
                    d.roles
                        .as_ref()
                        .and_then(|r| r.iter().find(|r| &r.name == channel))
                        .map(|r| (&d.keys, r))
                })
                .ok_or_else(|| {
                    PackError::inconsistent(format!("targets does not delegate to {channel}"))
                })?;
            let mut loaded = Vec::new();
            let signers = self.collect(
                &mut loaded,
                store,
                channel,
                &role.keyids,
                keys,
                role.threshold,
            )?;
            let bytes = sign_value(&value, &signers)?;
            let file = format!("{version}.{channel}.json");
            txn.add_bytes(Phase::Delegated, &dir.join(&file), &bytes, false)?;
            self.state
                .snapshot
                .value
                .meta
                .insert(format!("{channel}.json"), meta_file(version, &bytes));
            if let Some(signed) = self.state.channels.get_mut(channel) {
                signed.bytes = bytes;
            }
            note(channel, version, expires, file);
        }

        if self.targets_changed {
            let version = self.state.next_version(TARGETS);
            let expires = expiry(TARGETS);
            self.state.targets.value.common.version = version;
            self.state.targets.value.common.expires = expires;
            let value = self.state.targets.value.to_value();
            let bytes = self.sign_top_level(store, &root, TARGETS, &value)?;
            let file = format!("{version}.targets.json");
            txn.add_bytes(Phase::TopTargets, &dir.join(&file), &bytes, false)?;
            self.state
                .snapshot
                .value
                .meta
                .insert("targets.json".into(), meta_file(version, &bytes));
            self.state.targets.bytes = bytes;
            note(TARGETS, version, expires, file);
        }

        let snapshot_changed =
            self.snapshot_changed || self.targets_changed || !channels.is_empty();
        if snapshot_changed {
            let version = self.state.next_version(SNAPSHOT);
            let expires = expiry(SNAPSHOT);
            self.state.snapshot.value.common.version = version;
            self.state.snapshot.value.common.expires = expires;
            let value = self.state.snapshot.value.to_value();
            let bytes = self.sign_top_level(store, &root, SNAPSHOT, &value)?;
            let file = format!("{version}.snapshot.json");
            txn.add_bytes(Phase::Snapshot, &dir.join(&file), &bytes, false)?;
            self.state.timestamp.value.snapshot_meta = meta_file(version, &bytes);
            self.state.snapshot.bytes = bytes;
            note(SNAPSHOT, version, expires, file);
        }

        // Every change ends with a new timestamp.
        let version = self.state.next_version(TIMESTAMP);
        let expires = expiry(TIMESTAMP);
        self.state.timestamp.value.common.version = version;
        self.state.timestamp.value.common.expires = expires;
        let value = self.state.timestamp.value.to_value();
        let bytes = self.sign_top_level(store, &root, TIMESTAMP, &value)?;
        txn.add_bytes(Phase::Timestamp, &dir.join("timestamp.json"), &bytes, true)?;
        self.state.timestamp.bytes = bytes;
        note(TIMESTAMP, version, expires, "timestamp.json".into());

        if let Some(previous) = self.previous_root.take() {
            let bytes = self.sign_root(store, &previous, &root)?;
            let file = format!("{}.root.json", root.common.version);
            txn.add_bytes(Phase::Root, &dir.join(&file), &bytes, false)?;
            self.state.root = Signed {
                value: root.clone(),
                bytes,
            };
            note(ROOT, root.common.version, root.common.expires, file);
        }
        Ok(written)
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

    /// A new root is signed by a threshold of the previous root's root keys and of its own
    /// (spec 5.3.4), so that clients trusting the previous one accept it.
    fn sign_root(&self, store: &KeyStore, previous: &Root, root: &Root) -> Result<Vec<u8>> {
        let old = previous
            .role(ROOT)
            .ok_or_else(|| PackError::inconsistent("the previous root has no root role"))?;
        let new = root
            .role(ROOT)
            .ok_or_else(|| PackError::inconsistent("the new root has no root role"))?;
        let mut loaded_old = Vec::new();
        let old_signers = self.collect(
            &mut loaded_old,
            store,
            ROOT,
            &old.keyids,
            &previous.keys,
            old.threshold,
        )?;
        let mut loaded_new = Vec::new();
        let new_signers = self.collect(
            &mut loaded_new,
            store,
            ROOT,
            &new.keyids,
            &root.keys,
            new.threshold,
        )?;
        let mut signers: Vec<&LocalKey> = old_signers;
        for key in new_signers {
            if !signers.iter().any(|s| s.keyid() == key.keyid()) {
                signers.push(key);
            }
        }
        sign_value(&root.to_value(), &signers)
    }
}
