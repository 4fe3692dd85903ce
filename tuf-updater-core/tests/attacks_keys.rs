//! Key types and hash algorithms (TUF 1.0.34 section 4.2, used by 5.3.4 to 5.7.3): every
//! supported signing scheme verifies real signatures and refuses altered metadata; keys and
//! hash algorithms the client does not know count for nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeMap;

use common::*;
use serde_json::Value;
use tuf_updater_core::tuf::crypto::HashAlg;
use tuf_updater_core::tuf::metadata::{
    Extra, Key, KeyVal, Signature, TargetFile, ROOT, SNAPSHOT, TARGETS, TIMESTAMP,
};
use tuf_updater_core::tuf::signer::{KeyKind, Signer};

/// Root and targets signed with `kind` (the others with ed25519): a full update and a
/// download work; root and targets altered after signing are refused.
async fn root_and_targets_signed_with(kind: KeyKind, rotate_root_to: KeyKind) {
    let mut sim = RepoSim::with_key_kinds(|role| {
        if role == ROOT || role == TARGETS {
            kind
        } else {
            KeyKind::Ed25519
        }
    });
    let content = b"signed app".to_vec();
    sim.add_target(TARGETS, "app.bin", &content);
    sim.publish(&[TARGETS, SNAPSHOT, TIMESTAMP]);
    let client = Client::new();
    let path = sim.download(&client, "app.bin").await.unwrap();
    assert_eq!(std::fs::read(path).unwrap(), content);
    let before = client.metadata();

    // Root 2, as published, altered afterwards: its signatures no longer match.
    sim.publish(&[ROOT]);
    let mut altered: Value = serde_json::from_slice(&sim.roots[&2]).unwrap();
    altered["signed"]["consistent_snapshot"] = Value::Bool(false);
    sim.serve_as(ROOT, 2, serde_json::to_vec(&altered).unwrap());
    expect_err(sim.refresh(&client).await, |e| {
        is_threshold(e, Rule::RootSignedByTrusted, "root", 0, 1)
    });
    assert_same_files(&before, &client.metadata());

    // Targets 2 altered after signing.
    sim.publish_no_bump(&[ROOT]);
    sim.publish(&[TARGETS, SNAPSHOT, TIMESTAMP]);
    let mut altered: Value = serde_json::from_slice(&sim.published[TARGETS]).unwrap();
    altered["signed"]["targets"]["app.bin"]["length"] = Value::from(content.len() + 1);
    sim.serve_as(TARGETS, 3, serde_json::to_vec(&altered).unwrap());
    expect_err(sim.refresh(&client).await, |e| {
        is_threshold(e, Rule::TargetsSignatures, "targets", 0, 1)
    });
    assert_eq!(client.stored_version("targets.json"), Some(2));

    // Repaired, and root rotated to another key type: signed by both old and new keys.
    sim.publish_no_bump(&[TARGETS]);
    sim.rotate_keys(ROOT, rotate_root_to);
    sim.publish(&[ROOT]);
    let updater = sim.refresh(&client).await.unwrap();
    assert_eq!(updater.trusted().root().common.version, 3);
    assert_eq!(client.stored_version("targets.json"), Some(3));
}

#[tokio::test]
async fn ed25519_signers() {
    root_and_targets_signed_with(KeyKind::Ed25519, KeyKind::EcdsaP256).await;
}

#[tokio::test]
async fn ecdsa_p256_signers() {
    root_and_targets_signed_with(KeyKind::EcdsaP256, KeyKind::EcdsaP384).await;
}

#[tokio::test]
async fn ecdsa_p384_signers() {
    root_and_targets_signed_with(KeyKind::EcdsaP384, KeyKind::Ed25519).await;
}

#[tokio::test]
async fn rsa_pss_sha256_signers() {
    root_and_targets_signed_with(KeyKind::RsaPss(HashAlg::Sha256), KeyKind::Ed25519).await;
}

#[tokio::test]
async fn signature_by_an_unknown_key_type_does_not_count() {
    let mut sim = RepoSim::new();
    let client = Client::new();
    sim.refresh(&client).await.unwrap();

    // Root 2 lists a key of a type the client does not know for targets, threshold 2.
    let unknown_id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    sim.root.keys.insert(
        unknown_id.into(),
        Key {
            keytype: "quantum-2040".into(),
            scheme: "quantum-2040-sha3".into(),
            keyval: KeyVal {
                public: "c0ffee".into(),
                extra: Extra::new(),
            },
            extra: Extra::new(),
        },
    );
    sim.root
        .roles
        .get_mut(TARGETS)
        .unwrap()
        .keyids
        .push(unknown_id.into());
    sim.set_threshold(TARGETS, 2);
    sim.publish(&[ROOT, TARGETS, SNAPSHOT, TIMESTAMP]);
    // Targets 2 carries the real signature and one "by" the unknown key.
    let signed = sim.signed(TARGETS);
    let key = &sim.signers[TARGETS][0];
    let unknown = Signature {
        keyid: unknown_id.into(),
        sig: "c0ffee".repeat(16),
        extra: Extra::new(),
    };
    sim.serve_as(
        TARGETS,
        2,
        envelope(&signed, &[signature_as(key, key.keyid(), &signed), unknown]),
    );
    expect_err(sim.refresh(&client).await, |e| {
        is_threshold(e, Rule::TargetsSignatures, "targets", 1, 2)
    });
    assert_eq!(client.stored_version("targets.json"), Some(1));

    // With threshold 1 the unknown key is harmless: the known one suffices.
    sim.set_threshold(TARGETS, 1);
    sim.publish(&[ROOT]);
    let updater = sim.refresh(&client).await.unwrap();
    assert_eq!(updater.trusted().root().common.version, 3);
    assert_eq!(client.stored_version("targets.json"), Some(2));
}

#[tokio::test]
async fn target_with_only_an_unknown_hash_algorithm_is_refused() {
    let mut sim = RepoSim::new();
    let content = b"hashed with something else".to_vec();
    let digest = "ab".repeat(32);
    sim.targets.targets.insert(
        "app.bin".into(),
        TargetFile::new(
            content.len() as u64,
            BTreeMap::from([("sha3-256".to_string(), digest.clone())]),
        ),
    );
    sim.server
        .put_bytes(&format!("/targets/{digest}.app.bin"), content.clone());
    sim.publish(&[TARGETS, SNAPSHOT, TIMESTAMP]);
    let client = Client::new();

    expect_err(sim.download(&client, "app.bin").await, |e| {
        e.rule() == Some(Rule::TargetLengthAndHashes)
    });
    assert!(
        sim.server
            .requests()
            .iter()
            .all(|p| !p.starts_with("/targets/")),
        "nothing to verify it with, so nothing is fetched"
    );
    assert!(client.targets().is_empty(), "{:?}", client.targets().keys());

    // Repaired: sha256 listed.
    sim.add_target(TARGETS, "app.bin", &content);
    sim.publish(&[TARGETS, SNAPSHOT, TIMESTAMP]);
    let path = sim.download(&client, "app.bin").await.unwrap();
    assert_eq!(std::fs::read(path).unwrap(), content);
}

#[tokio::test]
async fn metadata_hash_with_an_unknown_algorithm_is_refused() {
    let mut sim = RepoSim::new();
    let client = Client::new();
    sim.refresh(&client).await.unwrap();

    sim.compute_hashes = true;
    sim.publish(&[TARGETS]);
    let meta = sim.snapshot.meta.get_mut("targets.json").unwrap();
    meta.hashes = Some(BTreeMap::from([("md5".to_string(), "00".repeat(16))]));
    sim.publish(&[SNAPSHOT, TIMESTAMP]);
    expect_err(sim.refresh(&client).await, |e| {
        e.rule() == Some(Rule::TargetsLengthAndHashes)
    });
    assert_eq!(client.stored_version("targets.json"), Some(1));

    sim.publish_no_bump(&[TARGETS]);
    sim.publish(&[SNAPSHOT, TIMESTAMP]);
    sim.refresh(&client).await.unwrap();
    assert_eq!(client.stored_version("targets.json"), Some(2));
}
