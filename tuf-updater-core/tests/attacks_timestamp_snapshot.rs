//! Attacks on timestamp and snapshot (TUF 1.0.34 sections 5.4 and 5.5): forged signatures,
//! rollbacks, freezes, mix-and-match, and recovery from fast-forward attacks by key rotation
//! (5.3.11).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::*;
use tuf_updater_core::tuf::metadata::{ROOT, SNAPSHOT, TARGETS, TIMESTAMP};
use tuf_updater_core::tuf::signer::KeyKind;

fn log_entry(path: &str, status: u16) -> LogEntry {
    (path.to_string(), status)
}

#[tokio::test]
async fn warm_refresh_asks_only_for_the_next_root_and_timestamp() {
    let sim = RepoSim::new();
    let client = Client::new();
    sim.refresh(&client).await.unwrap();
    sim.server.clear_log();

    sim.refresh(&client).await.unwrap();
    assert_eq!(
        sim.server.log(),
        [
            log_entry("/metadata/2.root.json", 404),
            log_entry("/metadata/timestamp.json", 200),
        ]
    );
}

#[tokio::test]
async fn timestamp_with_a_bad_signature_is_refused() {
    let mut sim = RepoSim::new();
    let client = Client::new();
    sim.refresh(&client).await.unwrap();
    let before = client.metadata();

    // Signed by a key root does not list for timestamp.
    let real = sim.set_signers(TIMESTAMP, vec![new_key(KeyKind::Ed25519)]);
    sim.publish(&[TIMESTAMP]);
    sim.server.clear_log();
    expect_err(sim.refresh(&client).await, |e| {
        is_threshold(e, Rule::TimestampSignatures, "timestamp", 0, 1)
    });
    assert_same_files(&before, &client.metadata());
    assert_eq!(
        sim.server.requests(),
        ["/metadata/2.root.json", "/metadata/timestamp.json"]
    );

    // Signed by the right key, but the signed part was altered afterwards.
    sim.set_signers(TIMESTAMP, real);
    sim.publish_no_bump(&[TIMESTAMP]);
    let mut altered: serde_json::Value = serde_json::from_slice(&sim.published[TIMESTAMP]).unwrap();
    altered["signed"]["version"] = 7.into();
    sim.server.put_bytes(
        "/metadata/timestamp.json",
        serde_json::to_vec(&altered).unwrap(),
    );
    expect_err(sim.refresh(&client).await, |e| {
        is_threshold(e, Rule::TimestampSignatures, "timestamp", 0, 1)
    });
    assert_same_files(&before, &client.metadata());

    // Repaired.
    sim.publish_no_bump(&[TIMESTAMP]);
    let updater = sim.refresh(&client).await.unwrap();
    assert_eq!(updater.trusted().timestamp().unwrap().common.version, 2);
    assert_eq!(
        client.stored("timestamp.json").unwrap(),
        sim.published[TIMESTAMP]
    );
}

#[tokio::test]
async fn timestamp_version_rollback_is_refused() {
    let mut sim = RepoSim::new();
    let client = Client::new();
    sim.publish(&[TIMESTAMP]); // 2
    sim.refresh(&client).await.unwrap();
    let before = client.metadata();

    sim.set_version(TIMESTAMP, 1);
    sim.publish_no_bump(&[TIMESTAMP]);
    expect_err(sim.refresh(&client).await, |e| {
        is_rollback(e, Rule::TimestampRollback, "timestamp", 2, 1)
    });
    assert_same_files(&before, &client.metadata());

    sim.set_version(TIMESTAMP, 3);
    sim.publish_no_bump(&[TIMESTAMP]);
    sim.refresh(&client).await.unwrap();
    assert_eq!(client.stored_version("timestamp.json"), Some(3));
}

#[tokio::test]
async fn snapshot_version_rollback_in_timestamp_is_refused() {
    let mut sim = RepoSim::new();
    let client = Client::new();
    sim.publish(&[SNAPSHOT, TIMESTAMP]); // snapshot 2, timestamp 2
    sim.refresh(&client).await.unwrap();
    let before = client.metadata();

    // A newer timestamp pointing back at snapshot 1.
    sim.timestamp.snapshot_meta = tuf_updater_core::tuf::metadata::MetaFile::new(1);
    sim.publish(&[TIMESTAMP]);
    sim.server.clear_log();
    expect_err(sim.refresh(&client).await, |e| {
        is_rollback(e, Rule::SnapshotMetaRollback, "snapshot", 2, 1)
    });
    assert_same_files(&before, &client.metadata());
    assert!(!sim.server.requested("/metadata/1.snapshot.json"));

    sim.publish(&[SNAPSHOT, TIMESTAMP]); // snapshot 3, timestamp 4
    let updater = sim.refresh(&client).await.unwrap();
    assert_eq!(updater.trusted().snapshot().unwrap().common.version, 3);
    assert_eq!(client.stored_version("timestamp.json"), Some(4));
}

#[tokio::test]
async fn expired_timestamp_is_a_freeze_attack() {
    let mut sim = RepoSim::new();
    let client = Client::new();
    sim.refresh(&client).await.unwrap();
    let before = client.metadata();

    sim.set_expires(TIMESTAMP, t0() - days(1));
    sim.publish(&[SNAPSHOT, TIMESTAMP]);
    sim.server.clear_log();
    expect_err(sim.refresh(&client).await, |e| {
        matches!(
            e,
            TufError::Expired {
                rule: Rule::TimestampExpired,
                role: Role::Timestamp,
                ..
            }
        )
    });
    assert_same_files(&before, &client.metadata());
    // The new snapshot it names is not fetched.
    assert_eq!(
        sim.server.requests(),
        ["/metadata/2.root.json", "/metadata/timestamp.json"]
    );

    sim.set_expires(TIMESTAMP, sim.expires);
    sim.publish(&[TIMESTAMP]);
    let updater = sim.refresh(&client).await.unwrap();
    assert_eq!(updater.trusted().snapshot().unwrap().common.version, 2);
}

#[tokio::test]
async fn expired_trusted_timestamp_still_guards_against_rollback() {
    let mut sim = RepoSim::new();
    let mut client = Client::new();
    sim.set_version(TIMESTAMP, 5);
    sim.set_expires(TIMESTAMP, t0() + days(10));
    sim.publish_no_bump(&[TIMESTAMP]);
    sim.refresh(&client).await.unwrap();
    assert_eq!(client.stored_version("timestamp.json"), Some(5));

    // Weeks later the stored timestamp has expired; an attacker replays an older version
    // that has not.
    client.now = t0() + days(20);
    let before = client.metadata();
    sim.set_version(TIMESTAMP, 3);
    sim.set_expires(TIMESTAMP, sim.expires);
    sim.publish_no_bump(&[TIMESTAMP]);
    expect_err(sim.refresh(&client).await, |e| {
        is_rollback(e, Rule::TimestampRollback, "timestamp", 5, 3)
    });
    assert_same_files(&before, &client.metadata());

    sim.set_version(TIMESTAMP, 6);
    sim.publish_no_bump(&[TIMESTAMP]);
    sim.refresh(&client).await.unwrap();
    assert_eq!(client.stored_version("timestamp.json"), Some(6));
}

#[tokio::test]
async fn equal_timestamp_version_keeps_the_trusted_one() {
    let mut sim = RepoSim::new();
    let client = Client::new();
    sim.refresh(&client).await.unwrap();
    let before = client.metadata();
    let trusted_expiry = sim.timestamp.common.expires;

    // A different timestamp with the same version 1: a later expiry and snapshot 2.
    sim.publish(&[SNAPSHOT]);
    sim.set_expires(TIMESTAMP, sim.expires + days(30));
    sim.publish_no_bump(&[TIMESTAMP]);
    sim.server.clear_log();
    let updater = sim.refresh(&client).await.unwrap();

    let ts = updater.trusted().timestamp().unwrap();
    assert_eq!(ts.common.expires, trusted_expiry);
    assert_eq!(ts.snapshot_meta.version, 1);
    assert_eq!(updater.trusted().snapshot().unwrap().common.version, 1);
    assert_same_files(&before, &client.metadata());
    assert_eq!(
        sim.server.requests(),
        ["/metadata/2.root.json", "/metadata/timestamp.json"]
    );
}

#[tokio::test]
async fn snapshot_not_matching_the_timestamp_hashes_is_refused() {
    let mut sim = RepoSim::new();
    sim.compute_hashes = true;
    let client = Client::new();
    sim.publish(&[SNAPSHOT, TIMESTAMP]); // snapshot 2, its hash in timestamp 2
    sim.refresh(&client).await.unwrap();
    let snapshot_2 = sim.published[SNAPSHOT].clone();
    let before = client.metadata();

    // Mix-and-match: timestamp 3 names snapshot 3, the mirror serves snapshot 2's bytes.
    sim.publish(&[SNAPSHOT, TIMESTAMP]);
    let snapshot_3 = sim.published[SNAPSHOT].clone();
    assert_eq!(snapshot_2.len(), snapshot_3.len());
    sim.serve_as(SNAPSHOT, 3, snapshot_2);
    expect_err(sim.refresh(&client).await, |e| {
        e.rule() == Some(Rule::SnapshotLengthAndHashes)
    });
    // Timestamp 3 was valid and is kept (5.4.5); snapshot.json is untouched.
    let ts_3 = sim.published[TIMESTAMP].clone();
    assert_same_files_except(&before, &client.metadata(), &[("timestamp.json", &ts_3)]);

    // The right file, one byte short.
    sim.serve_as(SNAPSHOT, 3, snapshot_3[..snapshot_3.len() - 1].to_vec());
    expect_err(sim.refresh(&client).await, |e| {
        e.rule() == Some(Rule::SnapshotLengthAndHashes)
    });
    assert_same_files_except(&before, &client.metadata(), &[("timestamp.json", &ts_3)]);

    // Repaired.
    sim.serve_as(SNAPSHOT, 3, snapshot_3.clone());
    let updater = sim.refresh(&client).await.unwrap();
    assert_eq!(updater.trusted().snapshot().unwrap().common.version, 3);
    assert_eq!(client.stored("snapshot.json").unwrap(), snapshot_3);
}

#[tokio::test]
async fn snapshot_with_a_bad_signature_is_refused() {
    let mut sim = RepoSim::new();
    let client = Client::new();
    sim.refresh(&client).await.unwrap();
    let before = client.metadata();

    let real = sim.set_signers(SNAPSHOT, vec![new_key(KeyKind::Ed25519)]);
    sim.publish(&[TARGETS, SNAPSHOT, TIMESTAMP]);
    sim.server.clear_log();
    expect_err(sim.refresh(&client).await, |e| {
        is_threshold(e, Rule::SnapshotSignatures, "snapshot", 0, 1)
    });
    let ts = sim.published[TIMESTAMP].clone();
    assert_same_files_except(&before, &client.metadata(), &[("timestamp.json", &ts)]);
    assert_eq!(
        sim.server.requests(),
        [
            "/metadata/2.root.json",
            "/metadata/timestamp.json",
            "/metadata/2.snapshot.json"
        ]
    );

    sim.set_signers(SNAPSHOT, real);
    sim.publish(&[SNAPSHOT, TIMESTAMP]);
    let updater = sim.refresh(&client).await.unwrap();
    assert_eq!(updater.trusted().snapshot().unwrap().common.version, 3);
}

#[tokio::test]
async fn snapshot_version_other_than_the_timestamp_names_is_refused() {
    let mut sim = RepoSim::new();
    let client = Client::new();
    sim.refresh(&client).await.unwrap();
    let before = client.metadata();

    // Timestamp 2 names snapshot 2; 2.snapshot.json holds a (validly signed) version 3.
    sim.publish(&[SNAPSHOT, TIMESTAMP]);
    sim.set_version(SNAPSHOT, 3);
    let v3 = sim.sign(SNAPSHOT);
    sim.serve_as(SNAPSHOT, 2, v3);
    expect_err(sim.refresh(&client).await, |e| {
        is_version_mismatch(e, Rule::SnapshotVersion, "snapshot", 2, 3)
    });
    let ts = sim.published[TIMESTAMP].clone();
    assert_same_files_except(&before, &client.metadata(), &[("timestamp.json", &ts)]);

    sim.set_version(SNAPSHOT, 2);
    sim.publish_no_bump(&[SNAPSHOT]);
    let updater = sim.refresh(&client).await.unwrap();
    assert_eq!(updater.trusted().snapshot().unwrap().common.version, 2);
}

#[tokio::test]
async fn snapshot_rolling_back_a_targets_version_is_refused() {
    let mut sim = RepoSim::new();
    let client = Client::new();
    sim.publish(&[TARGETS, SNAPSHOT, TIMESTAMP]); // targets 2
    sim.refresh(&client).await.unwrap();
    let before = client.metadata();

    // Snapshot 3 lists targets 1 again.
    sim.set_version(TARGETS, 1);
    sim.publish_no_bump(&[TARGETS]);
    sim.publish(&[SNAPSHOT, TIMESTAMP]);
    sim.server.clear_log();
    expect_err(sim.refresh(&client).await, |e| {
        is_rollback(e, Rule::SnapshotRoleRollback, "targets", 2, 1)
    });
    let ts = sim.published[TIMESTAMP].clone();
    assert_same_files_except(&before, &client.metadata(), &[("timestamp.json", &ts)]);
    assert!(!sim.server.requested("/metadata/1.targets.json"));

    sim.set_version(TARGETS, 3);
    sim.publish_no_bump(&[TARGETS]);
    sim.publish(&[SNAPSHOT, TIMESTAMP]);
    let updater = sim.refresh(&client).await.unwrap();
    assert_eq!(
        updater.trusted().targets(TARGETS).unwrap().common.version,
        3
    );
    assert_eq!(client.stored_version("targets.json"), Some(3));
}

#[tokio::test]
async fn snapshot_dropping_a_targets_role_is_refused() {
    let mut sim = RepoSim::new();
    let client = Client::new();
    sim.delegate(TARGETS, "team", &["team/*"], false);
    sim.add_target("team", "team/app.bin", b"team app");
    sim.publish_all_targets();
    sim.download(&client, "team/app.bin").await.unwrap();
    let before = client.metadata();

    sim.snapshot.meta.remove("team.json");
    sim.publish(&[SNAPSHOT, TIMESTAMP]);
    expect_err(sim.refresh(&client).await, |e| {
        is_rollback(e, Rule::SnapshotRoleRemoved, "team", 1, 0)
    });
    let ts = sim.published[TIMESTAMP].clone();
    assert_same_files_except(&before, &client.metadata(), &[("timestamp.json", &ts)]);

    sim.publish(&["team", SNAPSHOT, TIMESTAMP]);
    sim.download(&client, "team/app.bin").await.unwrap();
    assert_eq!(client.stored_version("team.json"), Some(2));
}

#[tokio::test]
async fn expired_snapshot_is_a_freeze_attack() {
    let mut sim = RepoSim::new();
    let client = Client::new();
    sim.refresh(&client).await.unwrap();
    let before = client.metadata();

    sim.set_expires(SNAPSHOT, t0() - days(1));
    sim.publish(&[TARGETS, SNAPSHOT, TIMESTAMP]);
    sim.server.clear_log();
    expect_err(sim.refresh(&client).await, |e| {
        matches!(
            e,
            TufError::Expired {
                rule: Rule::SnapshotExpired,
                role: Role::Snapshot,
                ..
            }
        )
    });
    let ts = sim.published[TIMESTAMP].clone();
    assert_same_files_except(&before, &client.metadata(), &[("timestamp.json", &ts)]);
    assert!(!sim.server.requested("/metadata/2.targets.json"));

    sim.set_expires(SNAPSHOT, sim.expires);
    sim.publish(&[SNAPSHOT, TIMESTAMP]);
    let updater = sim.refresh(&client).await.unwrap();
    assert_eq!(updater.trusted().snapshot().unwrap().common.version, 3);
    assert_eq!(
        updater.trusted().targets(TARGETS).unwrap().common.version,
        2
    );
}

#[tokio::test]
async fn timestamp_fast_forward_is_recovered_by_rotating_the_timestamp_key() {
    let mut sim = RepoSim::new();
    let client = Client::new();
    sim.refresh(&client).await.unwrap();

    // An attacker with the timestamp key pushes version 100.
    sim.set_version(TIMESTAMP, 100);
    sim.publish_no_bump(&[TIMESTAMP]);
    sim.refresh(&client).await.unwrap();
    assert_eq!(client.stored_version("timestamp.json"), Some(100));

    // Without a key rotation, going back is a rollback.
    sim.set_version(TIMESTAMP, 1);
    sim.publish_no_bump(&[TIMESTAMP]);
    expect_err(sim.refresh(&client).await, |e| {
        e.rule() == Some(Rule::TimestampRollback)
    });

    // The repository rotates the timestamp key in root 2 and starts again at version 1.
    sim.rotate_keys(TIMESTAMP, KeyKind::Ed25519);
    sim.publish(&[ROOT]);
    sim.publish_no_bump(&[TIMESTAMP]);
    let updater = sim.refresh(&client).await.unwrap();
    assert_eq!(updater.trusted().timestamp().unwrap().common.version, 1);
    assert_eq!(client.stored_version("timestamp.json"), Some(1));
}

/// Pushes snapshot 99999 (and a timestamp naming it) to `client`, as an attacker holding the
/// snapshot and timestamp keys would.
async fn fast_forward_snapshot(sim: &mut RepoSim, client: &Client) {
    sim.refresh(client).await.unwrap();
    sim.set_version(SNAPSHOT, 99_999);
    sim.publish_no_bump(&[SNAPSHOT]);
    sim.publish(&[TIMESTAMP]);
    sim.refresh(client).await.unwrap();
    assert_eq!(client.stored_version("snapshot.json"), Some(99_999));
}

#[tokio::test]
async fn snapshot_fast_forward_is_recovered_by_rotating_snapshot_and_timestamp_keys() {
    let mut sim = RepoSim::new();
    let client = Client::new();
    fast_forward_snapshot(&mut sim, &client).await;

    publish_recovery(&mut sim, &[SNAPSHOT, TIMESTAMP]);
    let updater = sim.refresh(&client).await.unwrap();
    assert_eq!(updater.trusted().snapshot().unwrap().common.version, 1);
    assert_eq!(client.stored_version("snapshot.json"), Some(1));
}

/// Spec 5.3.11: "If the timestamp and / or snapshot keys have been rotated, then delete the
/// trusted timestamp and snapshot metadata files." Rotating the snapshot key alone must be
/// enough to recover from a snapshot fast-forward.
#[tokio::test]
async fn snapshot_fast_forward_is_recovered_by_rotating_the_snapshot_key_alone() {
    let mut sim = RepoSim::new();
    let client = Client::new();
    fast_forward_snapshot(&mut sim, &client).await;

    publish_recovery(&mut sim, &[SNAPSHOT]); // same timestamp key
    let updater = sim.refresh(&client).await.unwrap();
    assert_eq!(updater.trusted().snapshot().unwrap().common.version, 1);
    assert_eq!(client.stored_version("snapshot.json"), Some(1));
}

/// 5.3.11 must hold even when the refresh that brings the rotated root fails afterwards
/// (here the next root request errors, as an attacker in the middle can arrange; a crash
/// right after the new root is stored is the same): the next cycle starts from the rotated
/// root, sees no rotation, and must not be left with the fast-forwarded timestamp.
#[tokio::test]
async fn snapshot_key_rotation_is_honoured_when_the_refresh_bringing_it_fails() {
    let mut sim = RepoSim::new();
    let client = Client::new();
    fast_forward_snapshot(&mut sim, &client).await;

    publish_recovery(&mut sim, &[SNAPSHOT]);
    sim.server.put("/metadata/3.root.json", Reply::Status(500));
    expect_err(
        sim.refresh(&client).await,
        |e| matches!(e, TufError::Fetch(FetchError::Status { url, status: 500 }) if url.ends_with("/3.root.json")),
    );
    assert_eq!(client.stored("root.json").unwrap(), sim.roots[&2]);

    sim.server.drop_path("/metadata/3.root.json");
    let updater = sim.refresh(&client).await.unwrap();
    assert_eq!(updater.trusted().snapshot().unwrap().common.version, 1);
    assert_eq!(client.stored_version("snapshot.json"), Some(1));
}

#[tokio::test]
async fn targets_fast_forward_is_recovered_by_rotating_the_snapshot_key() {
    let mut sim = RepoSim::new();
    let client = Client::new();
    sim.refresh(&client).await.unwrap();

    // An attacker with the targets and snapshot keys pushes targets 100.
    sim.set_version(TARGETS, 100);
    sim.publish_no_bump(&[TARGETS]);
    sim.publish(&[SNAPSHOT, TIMESTAMP]);
    sim.refresh(&client).await.unwrap();
    assert_eq!(client.stored_version("targets.json"), Some(100));

    // Going back to targets 2 under the same snapshot key is a rollback.
    sim.set_version(TARGETS, 2);
    sim.publish_no_bump(&[TARGETS]);
    sim.publish(&[SNAPSHOT, TIMESTAMP]);
    expect_err(sim.refresh(&client).await, |e| {
        e.rule() == Some(Rule::SnapshotRoleRollback)
    });

    // Under a new snapshot key the old snapshot is no reference any more.
    sim.rotate_keys(SNAPSHOT, KeyKind::Ed25519);
    sim.publish(&[ROOT]);
    sim.publish(&[SNAPSHOT, TIMESTAMP]);
    let updater = sim.refresh(&client).await.unwrap();
    assert_eq!(
        updater.trusted().targets(TARGETS).unwrap().common.version,
        2
    );
    assert_eq!(client.stored_version("targets.json"), Some(2));
}

/// The repository's answer to a snapshot fast-forward: new keys for `rotated` in a new root,
/// snapshot back at version 1, and a timestamp naming it.
fn publish_recovery(sim: &mut RepoSim, rotated: &[&str]) {
    for role in rotated {
        sim.rotate_keys(role, KeyKind::Ed25519);
    }
    sim.publish(&[ROOT]);
    sim.set_version(SNAPSHOT, 1);
    sim.publish_no_bump(&[SNAPSHOT]);
    sim.publish(&[TIMESTAMP]);
}
