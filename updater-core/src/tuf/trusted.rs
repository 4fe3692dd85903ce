//! The trusted metadata set: the rules of the TUF client workflow (spec 5.3 to 5.6) as a
//! state machine with no I/O. It takes bytes and either accepts them, becoming the new
//! trusted state, or says precisely which rule they break. Nothing here reads a clock,
//! a file or the network: the reference time is given once, at the start of an update
//! cycle (spec 5.1), and the caller fetches and stores.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::tuf::canonical::canonicalize_text;
use crate::tuf::crypto::{check_length_and_hashes, verify_role, verify_threshold};
use crate::tuf::error::{Result, TufError};
use crate::tuf::metadata::{
    expiry, split_targets_file, Delegate, Envelope, Root, Snapshot, Targets, Timestamp, ROOT,
    SNAPSHOT, TARGETS, TIMESTAMP,
};

/// Above this size a targets file's signature is checked on a second thread.
const PARALLEL_VERIFY_BYTES: usize = 256 * 1024;

/// A delegated (or top-level) targets role we trust, with its envelope kept so that a
/// second delegator reaching the same role can check the signatures against its own keys.
#[derive(Debug, Clone)]
struct TrustedTargets {
    targets: Targets,
    envelope: Envelope,
    /// Delegators whose keys have verified this role.
    verified_by: Vec<String>,
}

#[derive(Debug)]
pub struct TrustedMetadataSet {
    root: Root,
    timestamp: Option<Timestamp>,
    snapshot: Option<Snapshot>,
    targets: HashMap<String, TrustedTargets>,
    now: DateTime<Utc>,
}

fn expired(role: &str, rule: &'static str, expires: &DateTime<Utc>) -> TufError {
    TufError::Expired {
        rule,
        role: role.to_string(),
        expires: expiry::format(expires),
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
            role: role.to_string(),
            expected: expected_type.to_string(),
            found: found.unwrap_or("nothing").to_string(),
        }),
    }
}

impl TrustedMetadataSet {
    /// Starts from the locally trusted root (spec 5.2). It must be signed by a threshold of its
    /// own root keys; its expiry is checked only after root rotation (spec 5.3.10).
    pub fn new(root_bytes: &[u8], now: DateTime<Utc>) -> Result<Self> {
        let (signed, envelope) = parse_envelope(root_bytes, ROOT, ROOT)?;
        let root = Root::from_value(signed)?;
        verify_role(&envelope, &root, ROOT, "5.2 trusted root")?;
        Ok(TrustedMetadataSet {
            root,
            timestamp: None,
            snapshot: None,
            targets: HashMap::new(),
            now,
        })
    }

    pub fn root(&self) -> &Root {
        &self.root
    }

    pub fn timestamp(&self) -> Option<&Timestamp> {
        self.timestamp.as_ref()
    }

    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }

    pub fn targets(&self, role: &str) -> Option<&Targets> {
        self.targets.get(role).map(|t| &t.targets)
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Accepts `N+1.root.json` (spec 5.3.4 to 5.3.8): signed by a threshold of the trusted
    /// root's root keys and of its own, with exactly the next version.
    pub fn update_root(&mut self, bytes: &[u8]) -> Result<&Root> {
        if self.timestamp.is_some() {
            return Err(TufError::Order(
                "root cannot change once timestamp is loaded",
            ));
        }
        let (signed, envelope) = parse_envelope(bytes, ROOT, ROOT)?;
        let new_root = Root::from_value(signed)?;
        verify_role(
            &envelope,
            &self.root,
            ROOT,
            "5.3.4 new root signed by trusted root",
        )?;
        let expected = self.root.common.version + 1;
        if new_root.common.version != expected {
            return Err(TufError::VersionMismatch {
                rule: "5.3.5 root version",
                role: ROOT.into(),
                expected: expected.to_string(),
                found: new_root.common.version,
            });
        }
        verify_role(
            &envelope,
            &new_root,
            ROOT,
            "5.3.4 new root signed by itself",
        )?;
        self.root = new_root;
        Ok(&self.root)
    }

    /// Accepts a timestamp (spec 5.4). `EqualVersion` means the repository offers the one we
    /// already trust: not an error for the workflow, which keeps the trusted copy.
    /// On success the new timestamp is trusted even if it has expired, so that it serves as
    /// the rollback reference; the expiry error comes after (python-tuf does the same).
    pub fn update_timestamp(&mut self, bytes: &[u8]) -> Result<&Timestamp> {
        if self.snapshot.is_some() {
            return Err(TufError::Order(
                "timestamp cannot change once snapshot is loaded",
            ));
        }
        if self.root.common.is_expired(self.now) {
            return Err(expired(ROOT, "5.3.10", &self.root.common.expires));
        }
        let (signed, envelope) = parse_envelope(bytes, TIMESTAMP, TIMESTAMP)?;
        let new = Timestamp::from_value(signed)?;
        verify_role(
            &envelope,
            &self.root,
            TIMESTAMP,
            "5.4.2 timestamp signatures",
        )?;
        if let Some(trusted) = &self.timestamp {
            let (old_v, new_v) = (trusted.common.version, new.common.version);
            if new_v < old_v {
                return Err(TufError::Rollback {
                    rule: "5.4.3.1",
                    role: TIMESTAMP.into(),
                    trusted: old_v,
                    new: new_v,
                });
            }
            if new_v == old_v {
                return Err(TufError::EqualVersion {
                    role: TIMESTAMP.into(),
                    version: new_v,
                });
            }
            let (old_s, new_s) = (trusted.snapshot_meta.version, new.snapshot_meta.version);
            if new_s < old_s {
                return Err(TufError::Rollback {
                    rule: "5.4.3.2",
                    role: SNAPSHOT.into(),
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
            .ok_or(TufError::Order("timestamp is not loaded"))
    }

    fn check_timestamp_fresh(&self) -> Result<()> {
        let ts = self.timestamp_ref()?;
        if ts.common.is_expired(self.now) {
            return Err(expired(TIMESTAMP, "5.4.4", &ts.common.expires));
        }
        Ok(())
    }

    /// Accepts a snapshot (spec 5.5). `from_cache` is true for the copy in local storage:
    /// its length and hashes were checked when it was downloaded, and it may be older than
    /// the timestamp (then it is kept only as the rollback reference and an error returned).
    pub fn update_snapshot(&mut self, bytes: &[u8], from_cache: bool) -> Result<&Snapshot> {
        if !self.targets.is_empty() {
            return Err(TufError::Order(
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
                "5.5.2",
            )?;
        }
        let (signed, envelope) = parse_envelope(bytes, SNAPSHOT, SNAPSHOT)?;
        let new = Snapshot::from_value(signed)?;
        verify_role(&envelope, &self.root, SNAPSHOT, "5.5.3 snapshot signatures")?;
        if let Some(trusted) = &self.snapshot {
            // 5.5.5: no role may disappear or go back in version.
            for (name, old) in &trusted.meta {
                let Some(new_meta) = new.meta.get(name) else {
                    return Err(TufError::Rollback {
                        rule: "5.5.5 (role removed from snapshot)",
                        role: name.trim_end_matches(".json").to_string(),
                        trusted: old.version,
                        new: 0,
                    });
                };
                if new_meta.version < old.version {
                    return Err(TufError::Rollback {
                        rule: "5.5.5",
                        role: name.trim_end_matches(".json").to_string(),
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
            .ok_or(TufError::Order("snapshot is not loaded"))
    }

    /// 5.5.4 and 5.5.6: the snapshot is the one the timestamp names, and not expired.
    fn check_snapshot_final(&self) -> Result<()> {
        let snapshot = self.snapshot_ref()?;
        let expected = self.timestamp_ref()?.snapshot_meta.version;
        if snapshot.common.version != expected {
            return Err(TufError::VersionMismatch {
                rule: "5.5.4 snapshot version named by timestamp",
                role: SNAPSHOT.into(),
                expected: expected.to_string(),
                found: snapshot.common.version,
            });
        }
        if snapshot.common.is_expired(self.now) {
            return Err(expired(SNAPSHOT, "5.5.6", &snapshot.common.expires));
        }
        Ok(())
    }

    /// Accepts top-level targets (spec 5.6), delegated by root.
    pub fn update_targets(&mut self, bytes: &[u8], from_cache: bool) -> Result<&Targets> {
        let delegate = {
            let keys = self
                .root
                .role(TARGETS)
                .ok_or_else(|| TufError::malformed(ROOT, "no targets role"))?;
            Delegate {
                name: TARGETS.into(),
                keyids: keys.keyids.clone(),
                threshold: keys.threshold,
                terminating: false,
            }
        };
        self.update_targets_role(bytes, from_cache, &delegate, ROOT)
    }

    /// Accepts a delegated targets role (spec 5.6, 5.6.7.2) on behalf of `delegator`, which
    /// must already be trusted and must delegate to `role`.
    pub fn update_delegated_targets(
        &mut self,
        bytes: &[u8],
        from_cache: bool,
        role: &str,
        delegator: &str,
    ) -> Result<&Targets> {
        let delegate = self.delegate_of(role, delegator)?;
        self.update_targets_role(bytes, from_cache, &delegate, delegator)
    }

    fn delegate_of(&self, role: &str, delegator: &str) -> Result<Delegate> {
        let parent = self.targets.get(delegator).ok_or_else(|| {
            TufError::Delegation(format!(
                "delegator {delegator:?} of {role:?} is not trusted"
            ))
        })?;
        parent
            .targets
            .delegations
            .as_ref()
            .and_then(|d| d.delegate(role))
            .ok_or_else(|| {
                TufError::Delegation(format!("{delegator:?} does not delegate to {role:?}"))
            })
    }

    fn update_targets_role(
        &mut self,
        bytes: &[u8],
        from_cache: bool,
        delegate: &Delegate,
        delegator: &str,
    ) -> Result<&Targets> {
        let role = delegate.name.as_str();
        self.check_snapshot_final()?;
        let snapshot = self.snapshot_ref()?;
        let meta = snapshot
            .role_meta(role)
            .cloned()
            .ok_or_else(|| TufError::Missing {
                rule: "5.6.1",
                detail: format!("snapshot does not list {role}.json"),
            })?;
        if !from_cache {
            check_length_and_hashes(
                bytes,
                meta.length,
                meta.hashes.as_ref(),
                &format!("{role}.json"),
                "5.6.2",
            )?;
        }
        let (signatures, text) = split_targets_file(bytes, role)?;
        let keys = if delegator == ROOT {
            &self.root.keys
        } else {
            &self.delegator_keys(delegator)?.keys
        };
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
                "5.6.3 targets signatures",
            )
            .map(|()| envelope)
        };
        // A large targets file is handled on two cores: canonical form and signature (a hash
        // over every byte) on one, the typed parse on the other. A bad signature is reported
        // first.
        let (verified, typed) = if text.len() > PARALLEL_VERIFY_BYTES {
            std::thread::scope(|scope| {
                let handle = scope.spawn(verify);
                let typed = Targets::from_json(text, role);
                let verified = handle
                    .join()
                    .unwrap_or(Err(TufError::Order("signature check panicked")));
                (verified, typed)
            })
        } else {
            (verify(), Targets::from_json(text, role))
        };
        let envelope = verified?;
        let new = typed?;
        if new.common.version != meta.version {
            return Err(TufError::VersionMismatch {
                rule: "5.6.4 targets version named by snapshot",
                role: role.to_string(),
                expected: meta.version.to_string(),
                found: new.common.version,
            });
        }
        if new.common.is_expired(self.now) {
            return Err(expired(role, "5.6.5", &new.common.expires));
        }
        self.targets.insert(
            role.to_string(),
            TrustedTargets {
                targets: new,
                envelope,
                verified_by: vec![delegator.to_string()],
            },
        );
        self.targets(role)
            .ok_or(TufError::Order("targets role vanished"))
    }

    fn delegator_keys(&self, delegator: &str) -> Result<&crate::tuf::metadata::Delegations> {
        self.targets
            .get(delegator)
            .and_then(|t| t.targets.delegations.as_ref())
            .ok_or_else(|| TufError::Delegation(format!("{delegator:?} has no delegations")))
    }

    /// A role already trusted, reached again through `delegator`: it must satisfy this
    /// delegator's keys and threshold too, or the lookup through this path fails. (A role
    /// trusted via one delegator gains no authority on paths another delegator hands it.)
    pub fn reverify_through(&mut self, role: &str, delegator: &str) -> Result<()> {
        let Some(trusted) = self.targets.get(role) else {
            return Err(TufError::Order("role is not trusted yet"));
        };
        if trusted.verified_by.iter().any(|d| d == delegator) {
            return Ok(());
        }
        let delegate = self.delegate_of(role, delegator)?;
        let keys = &self.delegator_keys(delegator)?.keys;
        verify_threshold(
            &trusted.envelope,
            keys,
            &delegate.keyids,
            delegate.threshold,
            role,
            "5.6.3 targets signatures (second delegator)",
        )?;
        if let Some(t) = self.targets.get_mut(role) {
            t.verified_by.push(delegator.to_string());
        }
        Ok(())
    }
}
