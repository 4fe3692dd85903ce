//! Attacks on top-level targets (TUF 1.0.34 section 5.6): mix-and-match against snapshot's
//! hashes, signature thresholds (including one key counted twice), version mismatch,
//! expiry; and what must survive unchanged: unknown fields, consistent snapshot URLs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::*;
use serde_json::{json, Value};
use tuf_updater_core::tuf::metadata::{Key, KeyVal, ROOT, SNAPSHOT, TARGETS, TIMESTAMP};
use tuf_updater_core::tuf::signer::{KeyKind, Signer};

/// The metadata files a refresh that got as far as targets has legitimately updated.
fn new_ts_and_snapshot(sim: &RepoSim) -> [(&'static str, Vec<u8>); 2] {
    [
        ("timestamp.json", sim.published[TIMESTAMP].clone()),
        ("snapshot.json", sim.published[SNAPSHOT].clone()),
    ]
}

fn as_refs<'a>(files: &'a [(&'static str, Vec<u8>)]) -> Vec<(&'static str, &'a [u8])> {
    files.iter().map(|(n, b)| (*n, b.as_slice())).collect()
}

#[tokio::test]
async fn targets_not_matching_the_snapshot_hashes_is_refused() {
    let mut sim = RepoSim::new();
    sim.compute_hashes = true;
    sim.publish(&[TARGETS, SNAPSHOT, TIMESTAMP]);
    let client = Client::new();
    sim.refresh(&client).await.unwrap();
    let before = client.metadata();

    // Snapshot 3 names targets 3 by hash; the mirror serves another targets 3, validly
    // signed (by an attacker holding the targets key but not the snapshot key).
    sim.publish(&[TARGETS, SNAPSHOT, TIMESTAMP]);
    let real = sim.published[TARGETS].clone();
    sim.set_expires(TARGETS, sim.expires + chrono::Duration::seconds(1));
    let other = sim.sign(TARGETS);
    assert_eq!(other.len(), real.len());
    sim.serve_as(TARGETS, 3, other);
    expect_err(sim.refresh(&client).await, |e| {
        e.rule() == Some(Rule::TargetsLengthAndHashes)
    });
    let updated = new_ts_and_snapshot(&sim);
    assert_same_files_except(&before, &client.metadata(), &as_refs(&updated));

    sim.serve_as(TARGETS, 3, real.clone());
    sim.refresh(&client).await.unwrap();
    assert_eq!(client.stored("targets.json").unwrap(), real);
}

#[tokio::test]
async fn targets_below_its_threshold_is_refused() {
    let mut sim = RepoSim::new();
    sim.add_key(TARGETS, KeyKind::Ed25519);
    sim.set_threshold(TARGETS, 2);
    sim.publish(&[ROOT, TARGETS, SNAPSHOT, TIMESTAMP]);
    let client = Client::new();
    sim.refresh(&client).await.unwrap();
    let before = client.metadata();

    let second = sim.signers.get_mut(TARGETS).unwrap().pop().unwrap();
    sim.publish(&[TARGETS, SNAPSHOT, TIMESTAMP]);
    expect_err(sim.refresh(&client).await, |e| {
        is_threshold(e, Rule::TargetsSignatures, "targets", 1, 2)
    });
    let updated = new_ts_and_snapshot(&sim);
    assert_same_files_except(&before, &client.metadata(), &as_refs(&updated));

    sim.signers.get_mut(TARGETS).unwrap().push(second);
    sim.publish_no_bump(&[TARGETS]);
    let updater = sim.refresh(&client).await.unwrap();
    assert_eq!(
        updater.trusted().targets(TARGETS).unwrap().common.version,
        3
    );
}

/// Root lists the targets key a second time under `alias` (as `alias_key`), targets needs 2
/// signatures, and carries the one key's signature under both key IDs: that is one key.
async fn one_key_under_two_keyids(mut sim: RepoSim, alias_key: Key) {
    let client = Client::new();
    sim.refresh(&client).await.unwrap();
    let before = client.metadata();

    let keyid = sim.signers[TARGETS][0].keyid().to_string();
    let alias = "f00dfacef00dfacef00dfacef00dfacef00dfacef00dfacef00dfacef00dface";
    sim.root.keys.insert(alias.to_string(), alias_key);
    let role = sim.root.roles.get_mut(TARGETS).unwrap();
    role.keyids.push(alias.to_string());
    role.threshold = 2;
    sim.publish(&[ROOT, TARGETS, SNAPSHOT, TIMESTAMP]);
    let signed = sim.signed(TARGETS);
    let key = &sim.signers[TARGETS][0];
    let forged = envelope(
        &signed,
        &[
            signature_as(key, &keyid, &signed),
            signature_as(key, alias, &signed),
        ],
    );
    sim.serve_as(TARGETS, 2, forged);

    expect_err(sim.refresh(&client).await, |e| {
        is_threshold(e, Rule::TargetsSignatures, "targets", 1, 2)
    });
    let mut updated = new_ts_and_snapshot(&sim).to_vec();
    updated.push(("root.json", sim.roots[&2].clone()));
    assert_same_files_except(&before, &client.metadata(), &as_refs(&updated));

    // Repaired: a real second key.
    sim.root.keys.remove(alias);
    sim.root
        .roles
        .get_mut(TARGETS)
        .unwrap()
        .keyids
        .retain(|id| id != alias);
    sim.add_key(TARGETS, KeyKind::Ed25519);
    sim.publish(&[ROOT, TARGETS, SNAPSHOT, TIMESTAMP]);
    let updater = sim.refresh(&client).await.unwrap();
    assert_eq!(
        updater.trusted().targets(TARGETS).unwrap().common.version,
        3
    );
}

#[tokio::test]
async fn one_key_listed_twice_counts_once() {
    let sim = RepoSim::new();
    let same = sim.signers[TARGETS][0].public_key().clone();
    one_key_under_two_keyids(sim, same).await;
}

/// The same ed25519 key written in upper-case hex is still the same key.
#[tokio::test]
async fn one_ed25519_key_in_upper_case_hex_counts_once() {
    let sim = RepoSim::new();
    let mut alias = sim.signers[TARGETS][0].public_key().clone();
    alias.keyval.public = alias.keyval.public.to_uppercase();
    one_key_under_two_keyids(sim, alias).await;
}

/// The same P-256 key under the key type `ecdsa-sha2-nistp256` (which the client also
/// accepts) instead of `ecdsa` is still the same key.
#[tokio::test]
async fn one_ecdsa_key_under_another_keytype_name_counts_once() {
    let sim = RepoSim::with_key_kinds(|role| {
        if role == TARGETS {
            KeyKind::EcdsaP256
        } else {
            KeyKind::Ed25519
        }
    });
    let real = sim.signers[TARGETS][0].public_key().clone();
    assert_eq!(real.keytype, "ecdsa");
    let alias = Key {
        keytype: "ecdsa-sha2-nistp256".into(),
        scheme: real.scheme.clone(),
        keyval: KeyVal {
            public: real.keyval.public.clone(),
            extra: Default::default(),
        },
        extra: Default::default(),
    };
    one_key_under_two_keyids(sim, alias).await;
}

#[tokio::test]
async fn duplicate_signatures_are_refused() {
    let mut sim = RepoSim::new();
    let client = Client::new();
    sim.refresh(&client).await.unwrap();
    let before = client.metadata();

    sim.publish(&[TARGETS, SNAPSHOT, TIMESTAMP]);
    let signed = sim.signed(TARGETS);
    let key = &sim.signers[TARGETS][0];
    let sig = signature_as(key, key.keyid(), &signed);
    sim.serve_as(TARGETS, 2, envelope(&signed, &[sig.clone(), sig]));
    expect_err(sim.refresh(&client).await, |e| {
        matches!(
            e,
            TufError::Malformed {
                role: Role::Targets,
                ..
            }
        )
    });
    let updated = new_ts_and_snapshot(&sim);
    assert_same_files_except(&before, &client.metadata(), &as_refs(&updated));

    sim.publish_no_bump(&[TARGETS]);
    sim.refresh(&client).await.unwrap();
    assert_eq!(client.stored_version("targets.json"), Some(2));
}

#[tokio::test]
async fn zero_threshold_delegation_is_refused_at_parse() {
    let mut sim = RepoSim::new();
    let client = Client::new();
    sim.refresh(&client).await.unwrap();
    let before = client.metadata();

    // A delegation that would accept unsigned metadata, and that metadata, unsigned.
    sim.delegate(TARGETS, "open", &["*"], false);
    let open_key = sim.set_signers("open", Vec::new());
    sim.targets
        .delegations
        .as_mut()
        .unwrap()
        .roles
        .as_mut()
        .unwrap()[0]
        .threshold = 0;
    sim.add_target("open", "free.bin", b"free");
    sim.publish_all_targets();
    sim.server.clear_log();
    expect_err(sim.lookup(&client, "free.bin").await, |e| {
        matches!(e, TufError::Malformed { .. })
    });
    let updated = new_ts_and_snapshot(&sim);
    assert_same_files_except(&before, &client.metadata(), &as_refs(&updated));
    assert!(!sim.server.requested("/metadata/1.open.json"));

    sim.set_signers("open", open_key);
    sim.targets
        .delegations
        .as_mut()
        .unwrap()
        .roles
        .as_mut()
        .unwrap()[0]
        .threshold = 1;
    sim.publish_all_targets();
    assert!(sim.lookup(&client, "free.bin").await.unwrap().is_some());
}

#[tokio::test]
async fn targets_version_other_than_the_snapshot_names_is_refused() {
    let mut sim = RepoSim::new();
    let client = Client::new();
    sim.refresh(&client).await.unwrap();
    let before = client.metadata();

    sim.publish(&[TARGETS, SNAPSHOT, TIMESTAMP]); // snapshot 2 names targets 2
    sim.set_version(TARGETS, 3);
    let v3 = sim.sign(TARGETS);
    sim.serve_as(TARGETS, 2, v3);
    expect_err(sim.refresh(&client).await, |e| {
        is_version_mismatch(e, Rule::TargetsVersion, "targets", 2, 3)
    });
    let updated = new_ts_and_snapshot(&sim);
    assert_same_files_except(&before, &client.metadata(), &as_refs(&updated));

    sim.set_version(TARGETS, 2);
    sim.publish_no_bump(&[TARGETS]);
    sim.refresh(&client).await.unwrap();
    assert_eq!(client.stored_version("targets.json"), Some(2));
}

#[tokio::test]
async fn expired_targets_is_a_freeze_attack() {
    let mut sim = RepoSim::new();
    let client = Client::new();
    sim.refresh(&client).await.unwrap();
    let before = client.metadata();

    sim.set_expires(TARGETS, t0() - days(1));
    sim.publish(&[TARGETS, SNAPSHOT, TIMESTAMP]);
    expect_err(sim.refresh(&client).await, |e| {
        matches!(
            e,
            TufError::Expired {
                rule: Rule::TargetsExpired,
                role: Role::Targets,
                ..
            }
        )
    });
    let updated = new_ts_and_snapshot(&sim);
    assert_same_files_except(&before, &client.metadata(), &as_refs(&updated));

    sim.set_expires(TARGETS, sim.expires);
    sim.publish(&[TARGETS, SNAPSHOT, TIMESTAMP]);
    sim.refresh(&client).await.unwrap();
    assert_eq!(client.stored_version("targets.json"), Some(3));
}

#[tokio::test]
async fn unlisted_target_is_not_found_and_not_requested() {
    let mut sim = RepoSim::new();
    sim.add_target(TARGETS, "real.bin", b"real");
    sim.publish(&[TARGETS, SNAPSHOT, TIMESTAMP]);
    // Served, but listed by no role.
    sim.server
        .put_bytes("/targets/ghost.bin", b"ghost".to_vec());
    let client = Client::new();
    assert!(sim.lookup(&client, "ghost.bin").await.unwrap().is_none());
    assert!(sim.lookup(&client, "real.bin").await.unwrap().is_some());
    assert!(sim
        .server
        .requests()
        .iter()
        .all(|p| !p.starts_with("/targets/")));
    assert!(client.targets().is_empty());
}

#[tokio::test]
async fn unknown_fields_verify_and_are_stored_byte_for_byte() {
    let mut sim = RepoSim::new();
    let client = Client::new();
    sim.refresh(&client).await.unwrap();

    // Fields a newer repository tool might write, at every level that keeps `extra`.
    let note = json!({"nested": [1, "two", null, {"deep": true}], "x": "\u{e9}\u{1F600}"});
    sim.root.extra.insert("x-root".into(), note.clone());
    for key in sim.root.keys.values_mut() {
        key.extra.insert("x-key".into(), json!("hsm"));
        key.keyval.extra.insert("x-keyval".into(), json!(7));
    }
    for role in sim.root.roles.values_mut() {
        role.extra.insert("x-role".into(), json!([]));
    }
    sim.delegate(TARGETS, "team", &["team/*"], false);
    {
        let d = sim.targets.delegations.as_mut().unwrap();
        d.extra.insert("x-delegations".into(), note.clone());
        d.roles.as_mut().unwrap()[0]
            .extra
            .insert("x-delegated-role".into(), json!({"a": 1}));
    }
    sim.add_target("team", "team/app.bin", b"app");
    let target = sim
        .delegated
        .get_mut("team")
        .unwrap()
        .targets
        .get_mut("team/app.bin")
        .unwrap();
    target.custom = Some(json!({"channel": "stable"}));
    target.extra.insert("x-target".into(), note.clone());
    sim.delegated
        .get_mut("team")
        .unwrap()
        .extra
        .insert("x-targets".into(), note.clone());
    sim.publish(&[ROOT, TARGETS, "team"]);
    sim.snapshot
        .meta
        .get_mut("targets.json")
        .unwrap()
        .extra
        .insert("x-meta".into(), json!(1));
    sim.snapshot.extra.insert("x-snapshot".into(), note.clone());
    sim.publish(&[SNAPSHOT]);
    sim.timestamp
        .snapshot_meta
        .extra
        .insert("x-meta".into(), json!(2));
    sim.timestamp
        .extra
        .insert("x-timestamp".into(), note.clone());
    sim.publish(&[TIMESTAMP]);

    let mut updater = sim.refresh(&client).await.unwrap();
    let info = updater
        .get_target_info("team/app.bin")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.custom, Some(json!({"channel": "stable"})));
    assert_eq!(info.extra["x-target"], note);
    assert_eq!(updater.trusted().root().extra["x-root"], note);
    assert_eq!(
        updater.trusted().timestamp().unwrap().extra["x-timestamp"],
        note
    );
    assert_eq!(
        updater.trusted().snapshot().unwrap().extra["x-snapshot"],
        note
    );
    assert_eq!(
        updater.trusted().targets("team").unwrap().extra["x-targets"],
        note
    );

    // What is stored is exactly what was verified.
    assert_eq!(client.stored("root.json").unwrap(), sim.roots[&2]);
    for (file, role) in [
        ("timestamp.json", TIMESTAMP),
        ("snapshot.json", SNAPSHOT),
        ("targets.json", TARGETS),
        ("team.json", "team"),
    ] {
        assert_eq!(client.stored(file).unwrap(), sim.published[role], "{file}");
    }

    // The signatures cover the unknown fields: changing one is a forgery.
    let before = client.metadata();
    sim.publish(&["team", SNAPSHOT, TIMESTAMP]);
    let mut altered: Value = serde_json::from_slice(&sim.published["team"]).unwrap();
    altered["signed"]["targets"]["team/app.bin"]["x-target"] = json!("changed");
    sim.serve_as("team", 2, serde_json::to_vec(&altered).unwrap());
    let mut updater = sim.refresh(&client).await.unwrap();
    expect_err(updater.get_target_info("team/app.bin").await, |e| {
        is_threshold(e, Rule::TargetsSignatures, "team", 0, 1)
    });
    let updated = new_ts_and_snapshot(&sim);
    assert_same_files_except(&before, &client.metadata(), &as_refs(&updated));
}

#[tokio::test]
async fn consistent_snapshot_urls_are_versioned_and_hash_prefixed() {
    let mut sim = RepoSim::new();
    let content = b"consistent app".to_vec();
    sim.add_target(TARGETS, "dir/sub/app.bin", &content);
    sim.publish(&[TARGETS, SNAPSHOT, TIMESTAMP]);
    let client = Client::new();
    let path = sim.download(&client, "dir/sub/app.bin").await.unwrap();
    assert_eq!(std::fs::read(path).unwrap(), content);
    assert_eq!(
        sim.server.requests(),
        [
            "/metadata/2.root.json".to_string(),
            "/metadata/timestamp.json".to_string(),
            "/metadata/2.snapshot.json".to_string(),
            "/metadata/2.targets.json".to_string(),
            format!("/targets/dir/sub/{}.app.bin", sha256_hex(&content)),
        ]
    );
}

#[tokio::test]
async fn without_consistent_snapshot_urls_are_plain_names() {
    let mut sim = RepoSim::new();
    let client = Client::new();
    sim.refresh(&client).await.unwrap();

    // Root 2 turns consistent snapshots off (5.3.12: the final root decides).
    sim.root.consistent_snapshot = false;
    sim.publish(&[ROOT]);
    let content = b"plain app".to_vec();
    sim.add_target(TARGETS, "dir/sub/app.bin", &content);
    sim.publish(&[TARGETS, SNAPSHOT, TIMESTAMP]);
    sim.server.clear_log();
    let path = sim.download(&client, "dir/sub/app.bin").await.unwrap();
    assert_eq!(std::fs::read(path).unwrap(), content);
    assert_eq!(
        sim.server.requests(),
        [
            "/metadata/2.root.json",
            "/metadata/3.root.json",
            "/metadata/timestamp.json",
            "/metadata/snapshot.json",
            "/metadata/targets.json",
            "/targets/dir/sub/app.bin",
        ]
    );
}

/// The signatures cover the canonical form of the signed text, and the client must use
/// exactly what they cover. JSON lets a key repeat; a file that repeats one must be refused or
/// read as the signer's canonical form, never with the other copy. Each repeated member is
/// tried before and after the signed one, also spelled with an escape.
#[tokio::test]
async fn repeated_keys_cannot_smuggle_unsigned_content() {
    let mut sim = RepoSim::new();
    let good = b"good app".to_vec();
    let evil = b"evil app, and longer".to_vec();
    sim.add_target(TARGETS, "app.bin", &good);
    sim.publish(&[TARGETS, SNAPSHOT, TIMESTAMP]);
    let evil_url = sim.target_path("app.bin", &evil);
    sim.server.put_bytes(&evil_url, evil.clone());

    let signed = sim.signed(TARGETS);
    let text = String::from_utf8(canonical(&signed)).unwrap();
    let key = &sim.signers[TARGETS][0];
    let signatures = serde_json::to_string(&[signature_as(key, key.keyid(), &signed)]).unwrap();
    let (gh, eh) = (sha256_hex(&good), sha256_hex(&evil));
    let good_info = format!(
        r#"{{"hashes":{{"sha256":"{gh}"}},"length":{}}}"#,
        good.len()
    );
    let evil_info = format!(
        r#"{{"hashes":{{"sha256":"{eh}"}},"length":{}}}"#,
        evil.len()
    );
    // (what, a member of the signed text, a rival member with the same key)
    let members = [
        (
            "target",
            format!(r#""app.bin":{good_info}"#),
            format!(r#""app.bin":{evil_info}"#),
        ),
        (
            "target, escaped",
            format!(r#""app.bin":{good_info}"#),
            format!(r#""app\u002ebin":{evil_info}"#),
        ),
        (
            "hashes",
            format!(r#""hashes":{{"sha256":"{gh}"}}"#),
            format!(r#""hashes":{{"sha256":"{eh}"}}"#),
        ),
        (
            "hashes, escaped",
            format!(r#""hashes":{{"sha256":"{gh}"}}"#),
            format!(r#""h\u0061shes":{{"sha256":"{eh}"}}"#),
        ),
        (
            "sha256",
            format!(r#""sha256":"{gh}""#),
            format!(r#""sha256":"{eh}""#),
        ),
        (
            "length",
            format!(r#""length":{}"#, good.len()),
            format!(r#""length":{}"#, evil.len()),
        ),
        (
            "targets",
            format!(r#""targets":{{"app.bin":{good_info}}}"#),
            format!(r#""targets":{{"app.bin":{evil_info}}}"#),
        ),
    ];
    for (what, member, rival) in &members {
        assert_eq!(text.matches(member.as_str()).count(), 1, "{what}: {text}");
        for (order, variant) in [
            (
                "rival first",
                text.replace(member, &format!("{rival},{member}")),
            ),
            (
                "rival last",
                text.replace(member, &format!("{member},{rival}")),
            ),
        ] {
            let file = format!(r#"{{"signatures":{signatures},"signed":{variant}}}"#);
            sim.serve_as(TARGETS, 2, file.into_bytes());
            let client = Client::new();
            match sim.lookup(&client, "app.bin").await {
                Err(_) => {}
                Ok(Some(info)) => {
                    assert_eq!(info.hashes.get("sha256"), Some(&gh), "{what}, {order}");
                    assert_eq!(info.length, good.len() as u64, "{what}, {order}");
                }
                Ok(None) => panic!("{what}, {order}: the signed target vanished"),
            }
        }
    }

    // The same signed content laid out differently (members reversed, white space) verifies.
    let Value::Object(map) = &signed else {
        unreachable!()
    };
    let reversed: Vec<String> = map
        .iter()
        .rev()
        .map(|(k, v)| format!("\n  {} : {}", Value::from(k.as_str()), v))
        .collect();
    let file = format!(
        "{{ \"signed\" : {{{} }},\n \"signatures\" : {signatures} }}",
        reversed.join(" ,")
    );
    sim.serve_as(TARGETS, 2, file.into_bytes());
    let client = Client::new();
    let info = sim.lookup(&client, "app.bin").await.unwrap().unwrap();
    assert_eq!(info.hashes.get("sha256"), Some(&gh));
}

/// A refresh that finds nothing new may leave the stored targets.json unverified until the
/// first lookup. That lookup must verify it: a stored file that does not verify is fetched
/// again, not used.
#[tokio::test]
async fn stored_targets_is_verified_before_use_when_nothing_changed() {
    let mut sim = RepoSim::new();
    let good = b"good app".to_vec();
    sim.add_target(TARGETS, "app.bin", &good);
    sim.publish(&[TARGETS, SNAPSHOT, TIMESTAMP]);
    let client = Client::new();
    assert!(sim.lookup(&client, "app.bin").await.unwrap().is_some());

    // The stored copy now names other bytes; its version and expiry are untouched.
    let stored = String::from_utf8(client.stored("targets.json").unwrap()).unwrap();
    let evil_hash = sha256_hex(b"evil app");
    let tampered = stored.replace(&sha256_hex(&good), &evil_hash);
    assert_ne!(tampered, stored);
    std::fs::write(client.metadata_dir.join("targets.json"), tampered).unwrap();

    sim.server.clear_log();
    let info = sim.lookup(&client, "app.bin").await.unwrap().unwrap();
    assert_eq!(info.hashes.get("sha256"), Some(&sha256_hex(&good)));
    assert!(sim.server.requested("/metadata/2.targets.json"));
    assert_eq!(
        client.stored("targets.json").unwrap(),
        sim.published[TARGETS]
    );
}

#[tokio::test]
async fn stored_targets_expired_by_the_clock_is_a_freeze_attack() {
    let mut sim = RepoSim::new();
    let mut client = Client::new();
    sim.set_expires(TARGETS, t0() + days(10));
    sim.publish(&[TARGETS, SNAPSHOT, TIMESTAMP]);
    sim.refresh(&client).await.unwrap();

    // Nothing changes in the repository; three weeks later the stored targets has expired.
    client.now = t0() + days(21);
    let before = client.metadata();
    expect_err(sim.refresh(&client).await, |e| {
        matches!(
            e,
            TufError::Expired {
                rule: Rule::TargetsExpired,
                role: Role::Targets,
                ..
            }
        )
    });
    assert_same_files(&before, &client.metadata());

    sim.set_expires(TARGETS, sim.expires);
    sim.publish(&[TARGETS, SNAPSHOT, TIMESTAMP]);
    sim.refresh(&client).await.unwrap();
    assert_eq!(client.stored_version("targets.json"), Some(3));
}
