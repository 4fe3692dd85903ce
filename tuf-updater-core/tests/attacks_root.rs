//! Attacks on root (TUF 1.0.34 sections 5.2 and 5.3): a bad trusted root, new roots not
//! signed by the old or the new keys, version skips and replays, expired roots, and the
//! bound on rotations per refresh.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::*;
use tuf_updater_core::tuf::metadata::{ROOT, TARGETS};
use tuf_updater_core::tuf::signer::KeyKind;

fn log_entry(path: &str, status: u16) -> LogEntry {
    (path.to_string(), status)
}

#[tokio::test]
async fn initial_root_not_signed_by_its_own_threshold_is_refused() {
    let mut sim = RepoSim::new();
    sim.add_key(ROOT, KeyKind::Ed25519);
    sim.set_threshold(ROOT, 2);
    sim.publish_no_bump(&[ROOT]); // 1.root.json: two root keys, threshold 2, both signatures
    let client = Client::new();

    // The app ships a root carrying only one of the two signatures it requires.
    let one_signature = sign_with(&sim.signed(ROOT), &[&sim.signers[ROOT][0]]);
    expect_err(sim.updater_with_root(&client, &one_signature), |e| {
        is_threshold(e, Rule::TrustedRoot, "root", 1, 2)
    });
    // ... or a signature by a key the root does not list.
    let stranger = new_key(KeyKind::Ed25519);
    let forged = sign_with(&sim.signed(ROOT), &[&stranger]);
    expect_err(sim.updater_with_root(&client, &forged), |e| {
        is_threshold(e, Rule::TrustedRoot, "root", 0, 2)
    });
    assert!(
        client.all_files().is_empty(),
        "a refused root is not stored"
    );
    assert!(
        sim.server.log().is_empty(),
        "nothing is fetched without a root"
    );

    // Repaired: the properly signed root is trusted and stored as is.
    sim.refresh(&client).await.unwrap();
    assert_eq!(client.stored("root.json").unwrap(), sim.initial_root());
}

/// The stored root was rotated past the app's; an attacker who can write the metadata
/// directory (or a corrupted disk) must not get the client to fall back to the app's older
/// root, which would undo the rotation.
#[tokio::test]
async fn unusable_stored_root_is_an_error_and_is_left_untouched() {
    let sim = RepoSim::new();
    let client = Client::new();
    sim.refresh(&client).await.unwrap();
    let root_file = client.metadata_dir.join("root.json");

    // Someone edits the stored root: its signature no longer holds.
    let stored = client.stored("root.json").unwrap();
    let tampered = String::from_utf8(stored).unwrap().replace(
        "\"consistent_snapshot\":true",
        "\"consistent_snapshot\":false",
    );
    std::fs::write(&root_file, &tampered).unwrap();
    let before = client.metadata();
    sim.server.clear_log();
    let err = expect_err(sim.updater(&client), |e| {
        matches!(e, TufError::StoredRootUnusable { reason, .. }
            if is_threshold(reason, Rule::TrustedRoot, "root", 0, 1))
    });
    let message = err.to_string();
    assert!(
        message.contains(&root_file.display().to_string()),
        "{message}"
    );
    assert!(message.contains("not signed by a threshold"), "{message}");
    assert!(
        message.contains("delete the metadata directory"),
        "{message}"
    );
    assert_same_files(&before, &client.metadata());
    assert!(
        sim.server.log().is_empty(),
        "nothing fetched without a root"
    );

    // Not JSON at all: the same refusal, the file kept as it is.
    std::fs::write(&root_file, b"{ garbage").unwrap();
    let err = expect_err(sim.updater(&client), |e| {
        matches!(e, TufError::StoredRootUnusable { reason, .. }
            if matches!(**reason, TufError::Malformed { .. }))
    });
    assert!(err.to_string().contains("root.json"), "{err}");
    assert_eq!(client.stored("root.json").unwrap(), b"{ garbage");

    // The documented recovery: delete the metadata directory, start from the app's root.
    std::fs::remove_dir_all(&client.metadata_dir).unwrap();
    sim.refresh(&client).await.unwrap();
    assert_eq!(client.stored("root.json").unwrap(), sim.initial_root());
}

#[tokio::test]
async fn new_root_not_signed_by_the_trusted_root_is_refused() {
    let mut sim = RepoSim::new();
    let client = Client::new();
    sim.refresh(&client).await.unwrap();
    let before = client.metadata();

    // v2 rotates the root key and is signed by the new key only.
    sim.rotate_keys(ROOT, KeyKind::Ed25519);
    let old_root_keys = std::mem::take(&mut sim.retiring_root_signers);
    sim.publish(&[ROOT]);
    sim.server.clear_log();
    expect_err(sim.refresh(&client).await, |e| {
        is_threshold(e, Rule::RootSignedByTrusted, "root", 0, 1)
    });
    assert_same_files(&before, &client.metadata());
    assert_eq!(sim.server.requests(), ["/metadata/2.root.json"]);

    // Repaired: the old key signs the transition too.
    sim.retiring_root_signers = old_root_keys;
    sim.publish_no_bump(&[ROOT]);
    let updater = sim.refresh(&client).await.unwrap();
    assert_eq!(updater.trusted().root().common.version, 2);
    assert_eq!(client.stored("root.json").unwrap(), sim.roots[&2]);
}

#[tokio::test]
async fn new_root_not_signed_by_its_own_threshold_is_refused() {
    let mut sim = RepoSim::new();
    let client = Client::new();
    sim.refresh(&client).await.unwrap();
    let before = client.metadata();

    // v2 has two new root keys and threshold 2, but carries the old key's signature and
    // only one of the new ones.
    sim.rotate_keys(ROOT, KeyKind::Ed25519);
    sim.add_key(ROOT, KeyKind::Ed25519);
    sim.set_threshold(ROOT, 2);
    let second_new_key = sim.signers.get_mut(ROOT).unwrap().pop().unwrap();
    sim.publish(&[ROOT]);
    expect_err(sim.refresh(&client).await, |e| {
        is_threshold(e, Rule::RootSignedBySelf, "root", 1, 2)
    });
    assert_same_files(&before, &client.metadata());

    // Signed by the old key only: none of its own.
    let new_keys = sim.set_signers(ROOT, Vec::new());
    sim.publish_no_bump(&[ROOT]);
    expect_err(sim.refresh(&client).await, |e| {
        is_threshold(e, Rule::RootSignedBySelf, "root", 0, 2)
    });
    assert_same_files(&before, &client.metadata());

    // Repaired: both new keys sign.
    sim.set_signers(ROOT, new_keys);
    sim.signers.get_mut(ROOT).unwrap().push(second_new_key);
    sim.publish_no_bump(&[ROOT]);
    let updater = sim.refresh(&client).await.unwrap();
    assert_eq!(updater.trusted().root().common.version, 2);
    assert_eq!(updater.trusted().root().roles[ROOT].threshold, 2);
    assert_eq!(client.stored("root.json").unwrap(), sim.roots[&2]);
}

#[tokio::test]
async fn root_version_skip_or_replay_at_the_next_url_is_refused() {
    let mut sim = RepoSim::new();
    let client = Client::new();
    sim.refresh(&client).await.unwrap();
    let before = client.metadata();

    // Version 3 content (properly signed) served as 2.root.json.
    sim.set_version(ROOT, 3);
    let v3 = sim.sign(ROOT);
    sim.serve_as(ROOT, 2, v3);
    sim.server.clear_log();
    expect_err(sim.refresh(&client).await, |e| {
        is_version_mismatch(e, Rule::RootVersion, "root", 2, 3)
    });
    assert_same_files(&before, &client.metadata());
    assert_eq!(sim.server.requests(), ["/metadata/2.root.json"]);

    // The trusted version 1 replayed as 2.root.json.
    sim.serve_as(ROOT, 2, sim.initial_root());
    expect_err(sim.refresh(&client).await, |e| {
        is_version_mismatch(e, Rule::RootVersion, "root", 2, 1)
    });
    assert_same_files(&before, &client.metadata());

    // Repaired.
    sim.set_version(ROOT, 2);
    sim.publish_no_bump(&[ROOT]);
    let updater = sim.refresh(&client).await.unwrap();
    assert_eq!(updater.trusted().root().common.version, 2);
}

#[tokio::test]
async fn root_rotation_chain_is_followed_step_by_step() {
    let mut sim = RepoSim::new();
    let client = Client::new();
    sim.refresh(&client).await.unwrap();

    // 1 -> 2 -> 3, a new root key each time: 3 is signed by the keys of 2 and 3 only, so it
    // verifies only if 2 was trusted first.
    sim.rotate_keys(ROOT, KeyKind::Ed25519);
    sim.publish(&[ROOT]);
    sim.rotate_keys(ROOT, KeyKind::Ed25519);
    sim.publish(&[ROOT]);
    sim.server.clear_log();

    let updater = sim.refresh(&client).await.unwrap();
    assert_eq!(updater.trusted().root().common.version, 3);
    assert_eq!(
        sim.server.log(),
        [
            log_entry("/metadata/2.root.json", 200),
            log_entry("/metadata/3.root.json", 200),
            log_entry("/metadata/4.root.json", 404),
            log_entry("/metadata/timestamp.json", 200),
        ]
    );
    assert_eq!(client.stored("root.json").unwrap(), sim.roots[&3]);
}

#[tokio::test]
async fn bad_root_after_a_good_one_leaves_the_good_one_trusted() {
    let mut sim = RepoSim::new();
    let client = Client::new();
    sim.refresh(&client).await.unwrap();
    let before = client.metadata();

    sim.rotate_keys(ROOT, KeyKind::Ed25519);
    sim.publish(&[ROOT]); // good 2
    sim.rotate_keys(ROOT, KeyKind::Ed25519);
    let keys_of_2 = std::mem::take(&mut sim.retiring_root_signers);
    sim.publish(&[ROOT]); // bad 3: not signed by the keys of 2
    sim.server.clear_log();

    expect_err(sim.refresh(&client).await, |e| {
        e.rule() == Some(Rule::RootSignedByTrusted)
    });
    assert_eq!(
        sim.server.requests(),
        ["/metadata/2.root.json", "/metadata/3.root.json"]
    );
    // 2 was persisted the moment it was accepted (5.3.8); nothing else changed.
    assert_same_files_except(
        &before,
        &client.metadata(),
        &[("root.json", &sim.roots[&2])],
    );

    // Repaired: the next cycle starts from 2 and asks for 3 straight away.
    sim.retiring_root_signers = keys_of_2;
    sim.publish_no_bump(&[ROOT]);
    sim.server.clear_log();
    let updater = sim.refresh(&client).await.unwrap();
    assert_eq!(updater.trusted().root().common.version, 3);
    assert_eq!(sim.server.requests()[0], "/metadata/3.root.json");
    assert_eq!(client.stored("root.json").unwrap(), sim.roots[&3]);
}

#[tokio::test]
async fn expired_final_root_is_a_freeze_attack() {
    let mut sim = RepoSim::new();
    let client = Client::new();
    sim.refresh(&client).await.unwrap();
    let before = client.metadata();

    sim.set_expires(ROOT, t0() - days(1));
    sim.publish(&[ROOT]); // 2, expired
    sim.server.clear_log();
    expect_err(sim.refresh(&client).await, |e| {
        matches!(
            e,
            TufError::Expired {
                rule: Rule::RootExpired,
                role: Role::Root,
                ..
            }
        )
    });
    // The cycle ends before timestamp is even requested.
    assert_eq!(
        sim.server.requests(),
        ["/metadata/2.root.json", "/metadata/3.root.json"]
    );
    assert_same_files_except(
        &before,
        &client.metadata(),
        &[("root.json", &sim.roots[&2])],
    );

    // Repaired: a fresh root 3.
    sim.set_expires(ROOT, sim.expires);
    sim.publish(&[ROOT]);
    let updater = sim.refresh(&client).await.unwrap();
    assert_eq!(updater.trusted().root().common.version, 3);
}

#[tokio::test]
async fn trusted_root_expired_by_the_clock_is_a_freeze_attack() {
    let mut sim = RepoSim::new();
    let mut client = Client::new();
    sim.refresh(&client).await.unwrap();
    let before = client.metadata();

    // A year and a month later the repository (or an attacker in the way) offers nothing new.
    client.now = t0() + days(400);
    sim.server.clear_log();
    expect_err(sim.refresh(&client).await, |e| {
        matches!(
            e,
            TufError::Expired {
                rule: Rule::RootExpired,
                role: Role::Root,
                ..
            }
        )
    });
    assert_eq!(sim.server.requests(), ["/metadata/2.root.json"]);
    assert_same_files(&before, &client.metadata());

    // Repaired: every role re-signed with a later expiry.
    sim.expires = t0() + days(800);
    for role in [ROOT, TARGETS, "snapshot", "timestamp"] {
        sim.set_expires(role, sim.expires);
    }
    sim.publish(&[ROOT, TARGETS, "snapshot", "timestamp"]);
    let updater = sim.refresh(&client).await.unwrap();
    assert_eq!(updater.trusted().root().common.version, 2);
}

#[tokio::test]
async fn expired_intermediate_root_is_accepted_on_the_way() {
    let mut sim = RepoSim::new();
    let client = Client::new();
    sim.refresh(&client).await.unwrap();

    sim.set_expires(ROOT, t0() - days(1));
    sim.publish(&[ROOT]); // 2, expired (5.3.6: expiry of intermediate roots is not checked)
    sim.set_expires(ROOT, sim.expires);
    sim.publish(&[ROOT]); // 3
    let updater = sim.refresh(&client).await.unwrap();
    assert_eq!(updater.trusted().root().common.version, 3);
    assert_eq!(client.stored("root.json").unwrap(), sim.roots[&3]);
}

#[tokio::test]
async fn root_rotations_per_refresh_are_bounded() {
    let mut sim = RepoSim::new();
    let mut client = Client::new();
    client.limits.max_root_rotations = 3;
    sim.refresh(&client).await.unwrap();

    for _ in 0..5 {
        sim.rotate_keys(ROOT, KeyKind::Ed25519);
        sim.publish(&[ROOT]); // 2..=6
    }
    sim.server.clear_log();
    let updater = sim.refresh(&client).await.unwrap();
    assert_eq!(updater.trusted().root().common.version, 4);
    assert_eq!(
        sim.server.requests(),
        [
            "/metadata/2.root.json",
            "/metadata/3.root.json",
            "/metadata/4.root.json",
            "/metadata/timestamp.json",
        ]
    );
    assert_eq!(client.stored("root.json").unwrap(), sim.roots[&4]);

    // The next cycle carries on from 4.
    sim.server.clear_log();
    let updater = sim.refresh(&client).await.unwrap();
    assert_eq!(updater.trusted().root().common.version, 6);
    assert_eq!(
        sim.server.requests(),
        [
            "/metadata/5.root.json",
            "/metadata/6.root.json",
            "/metadata/7.root.json",
            "/metadata/timestamp.json",
        ]
    );
}

#[tokio::test]
async fn new_root_with_a_zero_threshold_is_refused_at_parse() {
    let mut sim = RepoSim::new();
    let client = Client::new();
    sim.refresh(&client).await.unwrap();
    let before = client.metadata();

    // A root that would let unsigned targets metadata through.
    sim.set_threshold(TARGETS, 0);
    sim.publish(&[ROOT]);
    expect_err(sim.refresh(&client).await, |e| {
        matches!(e, TufError::Malformed { .. })
    });
    assert_same_files(&before, &client.metadata());

    sim.set_threshold(TARGETS, 1);
    sim.publish_no_bump(&[ROOT]);
    let updater = sim.refresh(&client).await.unwrap();
    assert_eq!(updater.trusted().root().common.version, 2);
}
