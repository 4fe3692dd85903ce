//! The rules of the client workflow checked directly on `TrustedMetadataSet`, as python-tuf's
//! `test_trusted_metadata_set.py` does: real signed metadata bytes in, the refusal (its
//! variant and its spec rule) out. No network, no files: `RepoSim` only makes and signs
//! metadata here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::*;
use tuf_updater_core::tuf::error::{Role, Rule, TufError};
use tuf_updater_core::tuf::metadata::{MetaFile, ROOT, SNAPSHOT, TARGETS, TIMESTAMP};
use tuf_updater_core::tuf::signer::KeyKind;
use tuf_updater_core::tuf::trusted::{Expiry, TrustedMetadataSet};

/// A repository whose top-level targets delegates `stable/*` to `stable`, which lists one
/// release; everything at version 1 and published.
fn sim() -> RepoSim {
    let mut sim = RepoSim::new();
    sim.delegate(TARGETS, "stable", &["stable/*"], false);
    sim.add_target("stable", "stable/app-1.0.bin", b"one");
    sim.publish(&["stable"]);
    sim.publish_no_bump(&[TARGETS, SNAPSHOT, TIMESTAMP]);
    sim
}

fn set(sim: &RepoSim) -> TrustedMetadataSet {
    TrustedMetadataSet::new(&sim.initial_root(), t0()).unwrap()
}

/// A set with timestamp and snapshot as published.
fn through_snapshot(sim: &RepoSim) -> TrustedMetadataSet {
    let mut set = set(sim);
    set.update_timestamp(&sim.published[TIMESTAMP]).unwrap();
    set.update_snapshot(&sim.published[SNAPSHOT], false)
        .unwrap();
    set
}

/// A set with top-level targets too.
fn through_targets(sim: &RepoSim) -> TrustedMetadataSet {
    let mut set = through_snapshot(sim);
    set.update_targets(&sim.published[TARGETS], false).unwrap();
    set
}

/// The error of `result`, which must be a refusal under `rule`.
#[track_caller]
fn refused<T: std::fmt::Debug>(result: Result<T, TufError>, rule: Rule) -> TufError {
    let err = result.unwrap_err();
    assert_eq!(err.rule(), Some(rule), "{err}");
    assert!(err.to_string().starts_with(rule.section()), "{err}");
    err
}

fn stranger_signed(sim: &RepoSim, role: &str) -> Vec<u8> {
    sign_with(&sim.signed(role), &[&new_key(KeyKind::Ed25519)])
}

// ----- root (5.2, 5.3) ---------------------------------------------------------------------

#[test]
fn trusted_root_must_be_signed_by_its_own_keys() {
    let sim = sim();
    let err = refused(
        TrustedMetadataSet::new(&stranger_signed(&sim, ROOT), t0()),
        Rule::TrustedRoot,
    );
    assert!(matches!(
        err,
        TufError::Threshold {
            role: Role::Root,
            valid: 0,
            threshold: 1,
            ..
        }
    ));
}

#[test]
fn root_must_be_of_type_root() {
    let sim = sim();
    let err = TrustedMetadataSet::new(&sim.published[TIMESTAMP], t0()).unwrap_err();
    assert!(
        matches!(
            err,
            TufError::WrongType {
                role: Role::Root,
                ..
            }
        ),
        "{err}"
    );
    let mut set = set(&sim);
    let err = set.update_root(&sim.published[SNAPSHOT]).unwrap_err();
    assert!(
        matches!(
            err,
            TufError::WrongType {
                role: Role::Root,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(set.root().common.version, 1);
}

#[test]
fn new_root_must_be_signed_by_a_threshold_of_the_trusted_root() {
    let mut sim = sim();
    let mut set = set(&sim);
    sim.rotate_keys(ROOT, KeyKind::Ed25519);
    sim.retiring_root_signers.clear();
    sim.set_version(ROOT, 2);
    let err = refused(set.update_root(&sim.sign(ROOT)), Rule::RootSignedByTrusted);
    assert!(matches!(
        err,
        TufError::Threshold {
            role: Role::Root,
            valid: 0,
            ..
        }
    ));
    assert_eq!(set.root().common.version, 1);
}

#[test]
fn new_root_must_be_signed_by_a_threshold_of_its_own_keys() {
    let mut sim = sim();
    let mut set = set(&sim);
    sim.rotate_keys(ROOT, KeyKind::Ed25519);
    // Only the retiring keys sign.
    sim.signers.insert(ROOT.into(), Vec::new());
    sim.set_version(ROOT, 2);
    let err = refused(set.update_root(&sim.sign(ROOT)), Rule::RootSignedBySelf);
    assert!(matches!(
        err,
        TufError::Threshold {
            valid: 0,
            threshold: 1,
            ..
        }
    ));
    assert_eq!(set.root().common.version, 1);
}

#[test]
fn new_root_must_have_the_next_version() {
    let mut sim = sim();
    let mut set = set(&sim);
    for version in [1, 3] {
        sim.set_version(ROOT, version);
        let err = refused(set.update_root(&sim.sign(ROOT)), Rule::RootVersion);
        assert!(
            matches!(err, TufError::VersionMismatch { role: Role::Root, expected: 2, found, .. } if found == version)
        );
    }
    sim.set_version(ROOT, 2);
    set.update_root(&sim.sign(ROOT)).unwrap();
    assert_eq!(set.root().common.version, 2);
}

#[test]
fn an_expired_final_root_is_refused_before_timestamp() {
    let mut sim = sim();
    sim.set_expires(ROOT, t0() - days(1));
    sim.publish(&[ROOT]);
    let mut set = set(&sim);
    set.update_root(&sim.roots[&2]).unwrap();
    let err = refused(set.check_root_final(), Rule::RootExpired);
    assert!(matches!(
        err,
        TufError::Expired {
            role: Role::Root,
            ..
        }
    ));
    refused(
        set.update_timestamp(&sim.published[TIMESTAMP]),
        Rule::RootExpired,
    );
    assert!(set.timestamp().is_none());
}

// ----- timestamp (5.4) ---------------------------------------------------------------------

#[test]
fn timestamp_must_be_signed_by_root_s_timestamp_keys() {
    let sim = sim();
    let mut set = set(&sim);
    let err = refused(
        set.update_timestamp(&stranger_signed(&sim, TIMESTAMP)),
        Rule::TimestampSignatures,
    );
    assert!(matches!(
        err,
        TufError::Threshold {
            role: Role::Timestamp,
            valid: 0,
            threshold: 1,
            ..
        }
    ));
    assert!(set.timestamp().is_none());
}

#[test]
fn timestamp_version_must_not_go_back() {
    let mut sim = sim();
    let old = sim.published[TIMESTAMP].clone();
    sim.publish(&[TIMESTAMP]);
    let mut set = set(&sim);
    set.update_timestamp(&sim.published[TIMESTAMP]).unwrap();
    let err = refused(set.update_timestamp(&old), Rule::TimestampRollback);
    assert!(matches!(
        err,
        TufError::Rollback {
            role: Role::Timestamp,
            trusted: 2,
            new: 1,
            ..
        }
    ));
    // The same version again is no attack, and no update either.
    let err = set.update_timestamp(&sim.published[TIMESTAMP]).unwrap_err();
    assert!(matches!(
        err,
        TufError::EqualVersion {
            role: Role::Timestamp,
            version: 2
        }
    ));
    assert_eq!(set.timestamp().unwrap().common.version, 2);
}

#[test]
fn snapshot_version_named_by_timestamp_must_not_go_back() {
    let mut sim = sim();
    sim.publish(&[SNAPSHOT, TIMESTAMP]);
    let names_snapshot_2 = sim.published[TIMESTAMP].clone();
    sim.timestamp.snapshot_meta = MetaFile::new(1);
    sim.publish(&[TIMESTAMP]);
    let mut set = set(&sim);
    set.update_timestamp(&names_snapshot_2).unwrap();
    let err = refused(
        set.update_timestamp(&sim.published[TIMESTAMP]),
        Rule::SnapshotMetaRollback,
    );
    assert!(matches!(
        err,
        TufError::Rollback {
            role: Role::Snapshot,
            trusted: 2,
            new: 1,
            ..
        }
    ));
}

#[test]
fn an_expired_timestamp_is_refused_but_kept_as_the_rollback_reference() {
    let mut sim = sim();
    sim.set_expires(TIMESTAMP, t0() - days(1));
    sim.publish(&[TIMESTAMP]);
    let mut set = set(&sim);
    let err = refused(
        set.update_timestamp(&sim.published[TIMESTAMP]),
        Rule::TimestampExpired,
    );
    assert!(matches!(
        err,
        TufError::Expired {
            role: Role::Timestamp,
            ..
        }
    ));
    // In plain words, with the rule and how long the publisher has not re-signed.
    let message = err.to_string();
    assert!(
        message.starts_with("5.4.4: the repository's timestamp metadata expired 24 hours ago"),
        "{message}"
    );
    assert!(
        message.contains("the publisher has not re-signed it since"),
        "{message}"
    );
    assert!(message.contains("freeze attack"), "{message}");
    assert_eq!(set.timestamp().unwrap().common.version, 2);
    // Nothing is built on it.
    refused(
        set.update_snapshot(&sim.published[SNAPSHOT], false),
        Rule::TimestampExpired,
    );
}

// ----- snapshot (5.5) ----------------------------------------------------------------------

#[test]
fn snapshot_must_match_the_length_and_hashes_timestamp_gives() {
    let mut sim = sim();
    sim.compute_hashes = true;
    sim.publish(&[SNAPSHOT, TIMESTAMP]);
    let mut set = set(&sim);
    set.update_timestamp(&sim.published[TIMESTAMP]).unwrap();
    // Same version, other content (re-signed with another expiry).
    sim.set_expires(SNAPSHOT, t0() + days(9));
    let other = sim.sign(SNAPSHOT);
    let err = refused(
        set.update_snapshot(&other, false),
        Rule::SnapshotLengthAndHashes,
    );
    assert!(matches!(err, TufError::LengthOrHash { .. }));
    assert!(set.snapshot().is_none());
    // A stored copy is not checked against them (it was when it was downloaded).
    set.update_snapshot(&other, true).unwrap();
}

#[test]
fn snapshot_must_be_signed_by_root_s_snapshot_keys() {
    let sim = sim();
    let mut set = set(&sim);
    set.update_timestamp(&sim.published[TIMESTAMP]).unwrap();
    let err = refused(
        set.update_snapshot(&stranger_signed(&sim, SNAPSHOT), false),
        Rule::SnapshotSignatures,
    );
    assert!(matches!(
        err,
        TufError::Threshold {
            role: Role::Snapshot,
            ..
        }
    ));
}

#[test]
fn snapshot_must_have_the_version_timestamp_names() {
    let mut sim = sim();
    let mut set = set(&sim);
    set.update_timestamp(&sim.published[TIMESTAMP]).unwrap();
    sim.set_version(SNAPSHOT, 2);
    let err = refused(
        set.update_snapshot(&sim.sign(SNAPSHOT), false),
        Rule::SnapshotVersion,
    );
    assert!(matches!(
        err,
        TufError::VersionMismatch {
            role: Role::Snapshot,
            expected: 1,
            found: 2,
            ..
        }
    ));
}

/// A set that trusts timestamp 2 and, as rollback reference, the stored snapshot 1.
fn with_stored_snapshot(sim: &mut RepoSim) -> TrustedMetadataSet {
    let old_timestamp = sim.published[TIMESTAMP].clone();
    let old_snapshot = sim.published[SNAPSHOT].clone();
    sim.publish(&[SNAPSHOT, TIMESTAMP]);
    let mut set = set(sim);
    set.update_timestamp(&old_timestamp).unwrap();
    set.update_timestamp(&sim.published[TIMESTAMP]).unwrap();
    // Signed but not the one the new timestamp names: kept as the reference only.
    refused(
        set.update_snapshot(&old_snapshot, true),
        Rule::SnapshotVersion,
    );
    set
}

#[test]
fn a_role_must_not_disappear_from_snapshot() {
    let mut sim = sim();
    sim.snapshot.meta.remove("stable.json");
    let mut set = with_stored_snapshot(&mut sim);
    let err = refused(
        set.update_snapshot(&sim.published[SNAPSHOT], false),
        Rule::SnapshotRoleRemoved,
    );
    assert!(
        matches!(&err, TufError::Rollback { role: Role::Delegated(name), trusted: 1, new: 0, .. } if name == "stable"),
        "{err}"
    );
}

#[test]
fn a_role_version_in_snapshot_must_not_go_back() {
    let mut sim = sim();
    sim.publish(&[TARGETS, SNAPSHOT, TIMESTAMP]);
    sim.snapshot
        .meta
        .insert("targets.json".into(), MetaFile::new(1));
    let mut set = with_stored_snapshot(&mut sim);
    let err = refused(
        set.update_snapshot(&sim.published[SNAPSHOT], false),
        Rule::SnapshotRoleRollback,
    );
    assert!(matches!(
        err,
        TufError::Rollback {
            role: Role::Targets,
            trusted: 2,
            new: 1,
            ..
        }
    ));
}

#[test]
fn an_expired_snapshot_is_refused() {
    let mut sim = sim();
    sim.set_expires(SNAPSHOT, t0() - days(1));
    sim.publish(&[SNAPSHOT, TIMESTAMP]);
    let mut set = set(&sim);
    set.update_timestamp(&sim.published[TIMESTAMP]).unwrap();
    let err = refused(
        set.update_snapshot(&sim.published[SNAPSHOT], false),
        Rule::SnapshotExpired,
    );
    assert!(matches!(
        err,
        TufError::Expired {
            role: Role::Snapshot,
            ..
        }
    ));
    // Targets are not loaded on top of it.
    refused(
        set.update_targets(&sim.published[TARGETS], false),
        Rule::SnapshotExpired,
    );
}

// ----- targets, top-level and delegated (5.6) ----------------------------------------------

#[test]
fn targets_must_be_listed_in_snapshot() {
    let mut sim = sim();
    sim.snapshot.meta.remove("stable.json");
    sim.publish(&[SNAPSHOT, TIMESTAMP]);
    let mut set = through_targets(&sim);
    let err = refused(
        set.update_delegated_targets(&sim.published["stable"], false, "stable", TARGETS),
        Rule::TargetsInSnapshot,
    );
    assert!(matches!(err, TufError::Missing { .. }));
}

#[test]
fn targets_must_match_the_length_and_hashes_snapshot_gives() {
    let mut sim = sim();
    sim.compute_hashes = true;
    sim.publish(&[TARGETS, SNAPSHOT, TIMESTAMP]);
    let mut set = through_snapshot(&sim);
    sim.set_expires(TARGETS, t0() + days(9));
    let other = sim.sign(TARGETS);
    refused(
        set.update_targets(&other, false),
        Rule::TargetsLengthAndHashes,
    );
    assert!(set.targets(TARGETS).is_none());
}

#[test]
fn targets_must_be_signed_by_the_keys_its_delegator_names() {
    let sim = sim();
    let mut set = through_snapshot(&sim);
    let err = refused(
        set.update_targets(&stranger_signed(&sim, TARGETS), false),
        Rule::TargetsSignatures,
    );
    assert!(matches!(
        err,
        TufError::Threshold {
            role: Role::Targets,
            valid: 0,
            ..
        }
    ));

    set.update_targets(&sim.published[TARGETS], false).unwrap();
    let err = refused(
        set.update_delegated_targets(&stranger_signed(&sim, "stable"), false, "stable", TARGETS),
        Rule::TargetsSignatures,
    );
    assert!(
        matches!(&err, TufError::Threshold { role: Role::Delegated(name), .. } if name == "stable")
    );
    assert!(set.targets("stable").is_none());
}

#[test]
fn targets_must_have_the_version_snapshot_names() {
    let mut sim = sim();
    let mut set = through_targets(&sim);
    sim.set_version("stable", 2);
    let err = refused(
        set.update_delegated_targets(&sim.sign("stable"), false, "stable", TARGETS),
        Rule::TargetsVersion,
    );
    assert!(matches!(
        err,
        TufError::VersionMismatch {
            expected: 1,
            found: 2,
            ..
        }
    ));
    sim.set_version(TARGETS, 2);
    let mut set = through_snapshot(&sim);
    let err = refused(
        set.update_targets(&sim.sign(TARGETS), false),
        Rule::TargetsVersion,
    );
    assert!(matches!(
        err,
        TufError::VersionMismatch {
            role: Role::Targets,
            ..
        }
    ));
}

#[test]
fn expired_targets_are_refused() {
    let mut sim = sim();
    sim.set_expires(TARGETS, t0() - days(1));
    sim.set_expires("stable", t0() - days(1));
    sim.publish(&["stable", TARGETS, SNAPSHOT, TIMESTAMP]);
    let mut set = through_snapshot(&sim);
    let err = refused(
        set.update_targets(&sim.published[TARGETS], false),
        Rule::TargetsExpired,
    );
    assert!(matches!(
        err,
        TufError::Expired {
            role: Role::Targets,
            ..
        }
    ));
    assert!(set.targets(TARGETS).is_none());
}

#[test]
fn a_delegated_role_needs_its_delegator_loaded_and_delegating_to_it() {
    let sim = sim();
    let mut set = through_snapshot(&sim);
    let stable = &sim.published["stable"];
    let err = set
        .update_delegated_targets(stable, false, "stable", TARGETS)
        .unwrap_err();
    assert!(matches!(err, TufError::Misuse(_)), "{err}");

    set.update_targets(&sim.published[TARGETS], false).unwrap();
    let err = set
        .update_delegated_targets(stable, false, "rogue", TARGETS)
        .unwrap_err();
    assert!(
        matches!(&err, TufError::NotDelegated { role: Role::Delegated(r), delegator: Role::Targets, delegated } if r == "rogue" && delegated == &["stable"]),
        "{err}"
    );
    // Root delegates to top-level targets only.
    let err = set
        .update_delegated_targets(stable, false, "stable", ROOT)
        .unwrap_err();
    assert!(
        matches!(
            err,
            TufError::NotDelegated {
                delegator: Role::Root,
                ..
            }
        ),
        "{err}"
    );
    set.update_delegated_targets(stable, false, "stable", TARGETS)
        .unwrap();
}

#[test]
fn out_of_order_calls_are_misuse() {
    let sim = sim();
    let mut set = set(&sim);
    let misuse = |e: TufError| assert!(matches!(e, TufError::Misuse(_)), "{e}");
    misuse(
        set.update_snapshot(&sim.published[SNAPSHOT], false)
            .unwrap_err(),
    );
    misuse(
        set.update_targets(&sim.published[TARGETS], false)
            .unwrap_err(),
    );
    set.update_timestamp(&sim.published[TIMESTAMP]).unwrap();
    misuse(set.update_root(&sim.initial_root()).unwrap_err());
    misuse(
        set.update_targets(&sim.published[TARGETS], false)
            .unwrap_err(),
    );
    set.update_snapshot(&sim.published[SNAPSHOT], false)
        .unwrap();
    misuse(set.update_timestamp(&sim.published[TIMESTAMP]).unwrap_err());
    misuse(set.authorized_targets(TARGETS, ROOT).unwrap_err());
    set.update_targets(&sim.published[TARGETS], false).unwrap();
    misuse(
        set.update_snapshot(&sim.published[SNAPSHOT], false)
            .unwrap_err(),
    );
    misuse(set.reverify_through("stable", TARGETS).unwrap_err());
}

#[test]
fn authorized_targets_hold_only_the_paths_the_delegation_grants() {
    let mut sim = sim();
    sim.add_target("stable", "beta/app-2.0.bin", b"two");
    sim.publish(&["stable", SNAPSHOT, TIMESTAMP]);
    let mut set = through_targets(&sim);
    set.update_delegated_targets(&sim.published["stable"], false, "stable", TARGETS)
        .unwrap();
    assert_eq!(set.targets("stable").unwrap().targets.len(), 2);
    let authorized = set.authorized_targets("stable", TARGETS).unwrap();
    assert_eq!(authorized.role(), "stable");
    assert_eq!(authorized.version(), 2);
    let paths: Vec<&str> = authorized.iter().map(|(path, _)| path).collect();
    assert_eq!(paths, ["stable/app-1.0.bin"]);
    assert!(authorized.get("beta/app-2.0.bin").is_none());
    assert_eq!(authorized.get("stable/app-1.0.bin").unwrap().length, 3);
}

#[test]
fn with_expiry_ignored_expired_metadata_loads() {
    let mut sim = sim();
    for role in [ROOT, TIMESTAMP, SNAPSHOT, TARGETS, "stable"] {
        sim.set_expires(role, t0() - days(1));
    }
    sim.publish(&["stable", TARGETS, SNAPSHOT, TIMESTAMP]);
    let expired_root = sim.sign(ROOT);
    let mut set = TrustedMetadataSet::with_expiry(&expired_root, Expiry::Ignored).unwrap();
    set.check_root_final().unwrap();
    set.update_timestamp(&sim.published[TIMESTAMP]).unwrap();
    set.update_snapshot(&sim.published[SNAPSHOT], false)
        .unwrap();
    set.update_targets(&sim.published[TARGETS], false).unwrap();
    set.update_delegated_targets(&sim.published["stable"], false, "stable", TARGETS)
        .unwrap();
    // Every other rule still holds.
    let mut set = TrustedMetadataSet::with_expiry(&expired_root, Expiry::Ignored).unwrap();
    refused(
        set.update_timestamp(&stranger_signed(&sim, TIMESTAMP)),
        Rule::TimestampSignatures,
    );
}
