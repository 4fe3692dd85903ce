//! The trusted metadata set: the rules of the TUF client workflow (spec 5.3 to 5.6) as a
//! state machine with no I/O. It takes bytes and either accepts them, becoming the new
//! trusted state, or says precisely which rule they break. Nothing here reads a clock,
//! a file or the network: the reference time is given once, at the start of an update
//! cycle (spec 5.1), and the caller fetches and stores.
//!
//! Top-level targets is a delegated targets role like any other, with root as its
//! delegator: one code path checks every targets role.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::tuf::canonical::canonicalize_text;
use crate::tuf::crypto::{check_length_and_hashes, verify_role, verify_threshold};
use crate::tuf::error::{Result, Role, Rule, TufError};
use crate::tuf::metadata::{
    split_targets_file, Delegate, Envelope, Key, Root, Snapshot, TargetFile, Targets, Timestamp,
    ROOT, SNAPSHOT, TARGETS, TIMESTAMP,
};

/// Above this size a targets file's signature is checked on a second thread.
const PARALLEL_VERIFY_BYTES: usize = 256 * 1024;

/// Whether metadata past its expiry date is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expiry {
    /// Refused when expired at this reference time (a client, spec 5.1).
    At(DateTime<Utc>),
    /// Not checked: a publisher loads its repository to re-sign what has expired.
    Ignored,
}

impl Expiry {
    /// Whether metadata expiring at `expires` has expired.
    pub fn has_passed(self, expires: &DateTime<Utc>) -> bool {
        match self {
            Expiry::At(now) => now >= *expires,
            Expiry::Ignored => false,
        }
    }

    /// `Expired` (under `rule`) if `role`'s metadata, expiring at `expires`, has expired.
    fn check(self, role: &str, rule: Rule, expires: &DateTime<Utc>) -> Result<()> {
        match self {
            Expiry::At(now) if now >= *expires => Err(TufError::Expired {
                rule,
                role: Role::named(role),
                expires: *expires,
                checked_at: now,
            }),
            _ => Ok(()),
        }
    }
}

/// A delegated (or top-level) targets role we trust, with its envelope kept so that a
/// second delegator reaching the same role can check the signatures against its own keys.
#[derive(Debug, Clone)]
struct TrustedTargets {
    targets: Targets,
    envelope: Envelope,
    /// Delegators whose keys have verified this role.
    verified_by: Vec<String>,
}

/// The metadata this client trusts, built up in the order of the client workflow (spec 5.2 to
/// 5.6): root, then timestamp, snapshot and targets roles, each verified against what is
/// already trusted before it is added.
#[derive(Debug)]
pub struct TrustedMetadataSet {
    root: Root,
    timestamp: Option<Timestamp>,
    snapshot: Option<Snapshot>,
    targets: HashMap<String, TrustedTargets>,
    expiry: Expiry,
}

/// The targets of one delegated role that its delegation authorizes it to sign for, as
/// verified by [`TrustedMetadataSet`]: the only way to get one is through verification.
#[derive(Debug, Clone)]
pub struct AuthorizedTargets {
    role: String,
    version: u64,
    targets: BTreeMap<String, TargetFile>,
}

impl AuthorizedTargets {
    /// The role's name.
    pub fn role(&self) -> &str {
        &self.role
    }

    /// The version of the role's metadata.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The authorized targets, by path, in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &TargetFile)> {
        self.targets.iter().map(|(path, t)| (path.as_str(), t))
    }

    /// The target at `path`, if the role is authorized for it and lists it.
    pub fn get(&self, path: &str) -> Option<&TargetFile> {
        self.targets.get(path)
    }

    /// How many authorized targets there are.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }
}

/// Parses a metadata file of the expected `_type` into its signed part, to be typed, and the
/// envelope the signatures are checked on (holding the canonical bytes, not the parsed
/// value: a large targets file is not kept twice).
fn parse_envelope(bytes: &[u8], role: &str, expected_type: &str) -> Result<(Value, Envelope)> {
    let mut envelope = Envelope::parse(bytes, role)?;
    match envelope.signed_type() {
        Some(t) if t == expected_type => {
            let signed = std::mem::take(&mut envelope.signed);
            Ok((signed, envelope))
        }
        found => Err(TufError::WrongType {
            role: Role::named(role),
            expected: expected_type.to_string(),
            found: found.unwrap_or("nothing").to_string(),
        }),
    }
}

impl TrustedMetadataSet {
    /// Starts from the locally trusted root (spec 5.2), refusing what has expired at `now`.
    /// The root must be signed by a threshold of its own root keys; its expiry is checked
    /// only after root rotation (spec 5.3.10).
    pub fn new(root_bytes: &[u8], now: DateTime<Utc>) -> Result<Self> {
        Self::with_expiry(root_bytes, Expiry::At(now))
    }

    /// As [`TrustedMetadataSet::new`], with expiry checked as `expiry` says.
    pub fn with_expiry(root_bytes: &[u8], expiry: Expiry) -> Result<Self> {
        let (signed, envelope) = parse_envelope(root_bytes, ROOT, ROOT)?;
        let root = Root::from_value(signed)?;
        verify_role(&envelope, &root, ROOT, Rule::TrustedRoot)?;
        Ok(TrustedMetadataSet {
            root,
            timestamp: None,
            snapshot: None,
            targets: HashMap::new(),
            expiry,
        })
    }

    /// The trusted root.
    pub fn root(&self) -> &Root {
        &self.root
    }

    /// The trusted timestamp, once one was accepted.
    pub fn timestamp(&self) -> Option<&Timestamp> {
        self.timestamp.as_ref()
    }

    /// The trusted snapshot, once one was accepted.
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }

    /// A trusted targets role, top-level or delegated, with everything it lists (a
    /// delegated role may list paths its delegation does not grant it: see
    /// [`TrustedMetadataSet::authorized_targets`]).
    pub fn targets(&self, role: &str) -> Option<&Targets> {
        self.targets.get(role).map(|t| &t.targets)
    }

    /// How expiry is checked.
    pub fn expiry(&self) -> Expiry {
        self.expiry
    }

    /// Accepts `N+1.root.json` (spec 5.3.4 to 5.3.8): signed by a threshold of the trusted
    /// root's root keys and of its own, with exactly the next version.
    pub fn update_root(&mut self, bytes: &[u8]) -> Result<&Root> {
        if self.timestamp.is_some() {
            return Err(TufError::Misuse(
                "root cannot change once timestamp is loaded",
            ));
        }
        let (signed, envelope) = parse_envelope(bytes, ROOT, ROOT)?;
        let new_root = Root::from_value(signed)?;
        verify_role(&envelope, &self.root, ROOT, Rule::RootSignedByTrusted)?;
        let expected = self.root.common.version + 1;
        if new_root.common.version != expected {
            return Err(TufError::VersionMismatch {
                rule: Rule::RootVersion,
                role: Role::Root,
                expected,
                found: new_root.common.version,
            });
        }
        verify_role(&envelope, &new_root, ROOT, Rule::RootSignedBySelf)?;
        self.root = new_root;
        Ok(&self.root)
    }

    /// Spec 5.3.10: the final root has not expired. Checked by [`Self::update_timestamp`]
    /// too; a client calls it once root rotation is over, to stop before any other request.
    pub fn check_root_final(&self) -> Result<()> {
        self.expiry
            .check(ROOT, Rule::RootExpired, &self.root.common.expires)
    }

    /// Accepts a timestamp (spec 5.4). `EqualVersion` means the repository offers the one we
    /// already trust: not an error for the workflow, which keeps the trusted copy.
    /// On success the new timestamp is trusted even if it has expired, so that it serves as
    /// the rollback reference; the expiry error comes after (python-tuf does the same).
    pub fn update_timestamp(&mut self, bytes: &[u8]) -> Result<&Timestamp> {
        if self.snapshot.is_some() {
            return Err(TufError::Misuse(
                "timestamp cannot change once snapshot is loaded",
            ));
        }
        self.check_root_final()?;
        let (signed, envelope) = parse_envelope(bytes, TIMESTAMP, TIMESTAMP)?;
        let new = Timestamp::from_value(signed)?;
        verify_role(&envelope, &self.root, TIMESTAMP, Rule::TimestampSignatures)?;
        if let Some(trusted) = &self.timestamp {
            let (old_v, new_v) = (trusted.common.version, new.common.version);
            if new_v < old_v {
                return Err(TufError::Rollback {
                    rule: Rule::TimestampRollback,
                    role: Role::Timestamp,
                    trusted: old_v,
                    new: new_v,
                });
            }
            if new_v == old_v {
                return Err(TufError::EqualVersion {
                    role: Role::Timestamp,
                    version: new_v,
                });
            }
            let (old_s, new_s) = (trusted.snapshot_meta.version, new.snapshot_meta.version);
            if new_s < old_s {
                return Err(TufError::Rollback {
                    rule: Rule::SnapshotMetaRollback,
                    role: Role::Snapshot,
                    trusted: old_s,
                    new: new_s,
                });
            }
        }
        self.timestamp = Some(new);
        self.check_timestamp_fresh()?;
        self.timestamp_ref()
    }

    fn timestamp_ref(&self) -> Result<&Timestamp> {
        self.timestamp
            .as_ref()
            .ok_or(TufError::Misuse("timestamp is not loaded"))
    }

    fn check_timestamp_fresh(&self) -> Result<()> {
        let ts = self.timestamp_ref()?;
        self.expiry
            .check(TIMESTAMP, Rule::TimestampExpired, &ts.common.expires)
    }

    /// Accepts a snapshot (spec 5.5). `from_cache` is true for the copy in local storage:
    /// its length and hashes were checked when it was downloaded, and it may be older than
    /// the timestamp (then it is kept only as the rollback reference and an error returned).
    pub fn update_snapshot(&mut self, bytes: &[u8], from_cache: bool) -> Result<&Snapshot> {
        if self.timestamp.is_none() {
            return Err(TufError::Misuse("snapshot cannot load before timestamp"));
        }
        if !self.targets.is_empty() {
            return Err(TufError::Misuse(
                "snapshot cannot change once targets are loaded",
            ));
        }
        self.check_timestamp_fresh()?;
        let meta = self.timestamp_ref()?.snapshot_meta.clone();
        if !from_cache {
            check_length_and_hashes(
                bytes,
                meta.length,
                meta.hashes.as_ref(),
                "snapshot.json",
                Rule::SnapshotLengthAndHashes,
            )?;
        }
        let (signed, envelope) = parse_envelope(bytes, SNAPSHOT, SNAPSHOT)?;
        let new = Snapshot::from_value(signed)?;
        verify_role(&envelope, &self.root, SNAPSHOT, Rule::SnapshotSignatures)?;
        if let Some(trusted) = &self.snapshot {
            // 5.5.5: no role may disappear or go back in version.
            for (name, old) in &trusted.meta {
                let role = Role::named(name.trim_end_matches(".json"));
                let Some(new_meta) = new.meta.get(name) else {
                    return Err(TufError::Rollback {
                        rule: Rule::SnapshotRoleRemoved,
                        role,
                        trusted: old.version,
                        new: 0,
                    });
                };
                if new_meta.version < old.version {
                    return Err(TufError::Rollback {
                        rule: Rule::SnapshotRoleRollback,
                        role,
                        trusted: old.version,
                        new: new_meta.version,
                    });
                }
            }
        }
        self.snapshot = Some(new);
        self.check_snapshot_final()?;
        self.snapshot_ref()
    }

    fn snapshot_ref(&self) -> Result<&Snapshot> {
        self.snapshot
            .as_ref()
            .ok_or(TufError::Misuse("targets cannot load before snapshot"))
    }

    /// 5.5.4 and 5.5.6: the snapshot is the one the timestamp names, and not expired.
    fn check_snapshot_final(&self) -> Result<()> {
        let snapshot = self.snapshot_ref()?;
        let expected = self.timestamp_ref()?.snapshot_meta.version;
        if snapshot.common.version != expected {
            return Err(TufError::VersionMismatch {
                rule: Rule::SnapshotVersion,
                role: Role::Snapshot,
                expected,
                found: snapshot.common.version,
            });
        }
        self.expiry
            .check(SNAPSHOT, Rule::SnapshotExpired, &snapshot.common.expires)?;
        Ok(())
    }

    /// Accepts top-level targets (spec 5.6): the role root delegates to.
    pub fn update_targets(&mut self, bytes: &[u8], from_cache: bool) -> Result<&Targets> {
        self.update_delegated_targets(bytes, from_cache, TARGETS, ROOT)
    }

    /// The keys and threshold `delegator` requires of `role`, and the keys they refer to.
    /// Root delegates to top-level targets; a trusted targets role to what it lists.
    fn delegation(
        &self,
        role: &str,
        delegator: &str,
    ) -> Result<(Delegate, &BTreeMap<String, Key>)> {
        if delegator == ROOT {
            let keys = self.root.role(TARGETS).filter(|_| role == TARGETS);
            let Some(keys) = keys else {
                return Err(TufError::NotDelegated {
                    role: Role::named(role),
                    delegator: Role::Root,
                    delegated: vec![TARGETS.to_string()],
                });
            };
            let delegate = Delegate {
                name: TARGETS.into(),
                keyids: keys.keyids.clone(),
                threshold: keys.threshold,
                terminating: false,
            };
            return Ok((delegate, &self.root.keys));
        }
        let parent = self.targets.get(delegator).ok_or(TufError::Misuse(
            "a targets role cannot load before its delegator",
        ))?;
        let delegations = parent.targets.delegations.as_ref();
        match delegations.and_then(|d| d.delegate(role).map(|r| (r, &d.keys))) {
            Some(found) => Ok(found),
            None => Err(TufError::NotDelegated {
                role: Role::named(role),
                delegator: Role::named(delegator),
                delegated: delegations.map(|d| d.role_names()).unwrap_or_default(),
            }),
        }
    }

    /// Whether `delegator`, already trusted, delegates to `role`: the error says why not
    /// ([`TufError::NotDelegated`] with the roles it does delegate to).
    pub fn check_delegated(&self, role: &str, delegator: &str) -> Result<()> {
        self.delegation(role, delegator).map(drop)
    }

    /// Accepts a targets role (spec 5.6, 5.6.7.2) on behalf of `delegator`, which must
    /// already be trusted and must delegate to `role`. Top-level targets is the role root
    /// delegates to.
    pub fn update_delegated_targets(
        &mut self,
        bytes: &[u8],
        from_cache: bool,
        role: &str,
        delegator: &str,
    ) -> Result<&Targets> {
        self.check_snapshot_final()?;
        let (delegate, keys) = self.delegation(role, delegator)?;
        let meta = self
            .snapshot_ref()?
            .role_meta(role)
            .ok_or_else(|| TufError::Missing {
                rule: Rule::TargetsInSnapshot,
                detail: format!("snapshot does not list {role}.json"),
            })?;
        if !from_cache {
            check_length_and_hashes(
                bytes,
                meta.length,
                meta.hashes.as_ref(),
                &format!("{role}.json"),
                Rule::TargetsLengthAndHashes,
            )?;
        }
        let (envelope, new) = verify_targets(bytes, role, &delegate, keys)?;
        if new.common.version != meta.version {
            return Err(TufError::VersionMismatch {
                rule: Rule::TargetsVersion,
                role: Role::named(role),
                expected: meta.version,
                found: new.common.version,
            });
        }
        self.expiry
            .check(role, Rule::TargetsExpired, &new.common.expires)?;
        let trusted = TrustedTargets {
            targets: new,
            envelope,
            verified_by: vec![delegator.to_string()],
        };
        let slot = match self.targets.entry(role.to_string()) {
            std::collections::hash_map::Entry::Occupied(mut e) => {
                e.insert(trusted);
                e.into_mut()
            }
            std::collections::hash_map::Entry::Vacant(e) => e.insert(trusted),
        };
        Ok(&slot.targets)
    }

    /// A role already trusted, reached again through `delegator`: it must satisfy this
    /// delegator's keys and threshold too, or the lookup through this path fails. (A role
    /// trusted via one delegator gains no authority on paths another delegator hands it.)
    pub fn reverify_through(&mut self, role: &str, delegator: &str) -> Result<()> {
        let Some(trusted) = self.targets.get(role) else {
            return Err(TufError::Misuse(
                "a role is re-verified before it is trusted",
            ));
        };
        if trusted.verified_by.iter().any(|d| d == delegator) {
            return Ok(());
        }
        let (delegate, keys) = self.delegation(role, delegator)?;
        verify_threshold(
            &trusted.envelope,
            keys,
            &delegate.keyids,
            delegate.threshold,
            role,
            Rule::TargetsSignaturesSecondDelegator,
        )?;
        if let Some(t) = self.targets.get_mut(role) {
            t.verified_by.push(delegator.to_string());
        }
        Ok(())
    }

    /// The targets of `role`, trusted through `delegator`, restricted to the paths the
    /// delegation grants it. Paths outside are dropped with a warning: the role has no
    /// authority over them, whatever it lists.
    pub fn authorized_targets(&self, role: &str, delegator: &str) -> Result<AuthorizedTargets> {
        self.authorized_along(&[(delegator, role)])
    }

    /// The targets of the last role of `chain`, reached from top-level targets through each
    /// role of the chain in turn (the first delegated by top-level targets, each next one by
    /// the one before it), each verified through its delegator. Only the paths that every
    /// delegation on the chain grants are kept (spec 5.6.7: a role is trusted for a path
    /// only through delegations that all match it); the others are dropped with a warning.
    pub fn authorized_targets_chain(&self, chain: &[&str]) -> Result<AuthorizedTargets> {
        let delegators = std::iter::once(TARGETS).chain(chain.iter().copied());
        let links: Vec<(&str, &str)> = delegators.zip(chain.iter().copied()).collect();
        if links.is_empty() {
            return Err(TufError::Misuse("an empty delegation chain"));
        }
        self.authorized_along(&links)
    }

    /// The targets of the last role of `links` (`(delegator, role)` pairs, each role the
    /// next pair's delegator), restricted to the paths every link grants.
    fn authorized_along(&self, links: &[(&str, &str)]) -> Result<AuthorizedTargets> {
        let mut last = None;
        for &(delegator, role) in links {
            self.delegation(role, delegator)?;
            let trusted = self
                .targets
                .get(role)
                .filter(|t| t.verified_by.iter().any(|d| d == delegator))
                .ok_or(TufError::Misuse(
                    "authorized targets of a role not verified through its delegator",
                ))?;
            last = Some((role, delegator, trusted));
        }
        let (role, delegator, trusted) =
            last.ok_or(TufError::Misuse("an empty delegation chain"))?;
        let grants = |path: &str| {
            links.iter().all(|&(delegator, role)| {
                delegator == ROOT
                    || self
                        .targets
                        .get(delegator)
                        .and_then(|p| p.targets.delegations.as_ref())
                        .is_some_and(|d| d.grants(role, path))
            })
        };
        let mut targets = BTreeMap::new();
        for (path, target) in &trusted.targets.targets {
            if grants(path) {
                targets.insert(path.clone(), target.clone());
            } else {
                tracing::warn!(
                    role,
                    delegator,
                    path,
                    "target outside the role's delegation ignored"
                );
            }
        }
        Ok(AuthorizedTargets {
            role: role.to_string(),
            version: trusted.targets.common.version,
            targets,
        })
    }

    /// The names of the roles `role`, already trusted, delegates to, in delegation order
    /// (none for hashed bins or no delegations).
    pub fn delegated_roles(&self, role: &str) -> Result<Vec<String>> {
        let trusted = self.targets.get(role).ok_or(TufError::Misuse(
            "the delegations of a role asked for before it is trusted",
        ))?;
        Ok(trusted
            .targets
            .delegations
            .as_ref()
            .map(|d| d.role_names())
            .unwrap_or_default())
    }
}

/// Checks a targets file's signatures against the keys `delegate` names and types it. A
/// large file is handled on two cores: canonical form and signature (a hash over every
/// byte) on one, the typed parse on the other. A bad signature is reported first.
fn verify_targets(
    bytes: &[u8],
    role: &str,
    delegate: &Delegate,
    keys: &BTreeMap<String, Key>,
) -> Result<(Envelope, Targets)> {
    let (signatures, text) = split_targets_file(bytes, role)?;
    let verify = move || {
        let canonical = canonicalize_text(text).map_err(|e| TufError::malformed(role, e))?;
        let envelope = Envelope {
            signed: Value::Null,
            canonical,
            signatures,
        };
        verify_threshold(
            &envelope,
            keys,
            &delegate.keyids,
            delegate.threshold,
            role,
            Rule::TargetsSignatures,
        )
        .map(|()| envelope)
    };
    let (verified, typed) = if text.len() > PARALLEL_VERIFY_BYTES {
        std::thread::scope(|scope| {
            let handle = scope.spawn(verify);
            let typed = Targets::from_json(text, role);
            let verified = handle
                .join()
                .unwrap_or(Err(TufError::Internal("signature check panicked")));
            (verified, typed)
        })
    } else {
        (verify(), Targets::from_json(text, role))
    };
    Ok((verified?, typed?))
}
