//! Attacks through delegations (TUF 1.0.34 section 5.6.7): wrong keys, paths a role was not
//! given, terminating delegations, cycles, the search bound, hashed paths and succinct
//! hashed bins (TAP 15), hostile role names, and a role reached through a second delegator.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::*;
use tuf_updater_core::tuf::metadata::{SNAPSHOT, TARGETS, TIMESTAMP};
use tuf_updater_core::tuf::signer::{KeyKind, Signer};

/// The paths of metadata requests for delegated roles (anything but the top-level four).
fn delegated_requests(sim: &RepoSim) -> Vec<String> {
    sim.server
        .requests()
        .into_iter()
        .filter(|p| {
            p.starts_with("/metadata/")
                && ![
                    "root.json",
                    "timestamp.json",
                    "snapshot.json",
                    "targets.json",
                ]
                .iter()
                .any(|top| p.ends_with(top))
        })
        .collect()
}

fn sha(content: &[u8]) -> String {
    sha256_hex(content)
}

#[tokio::test]
async fn delegated_role_signed_by_the_wrong_key_is_refused() {
    let mut sim = RepoSim::new();
    sim.delegate(TARGETS, "team", &["team/*"], false);
    sim.add_target("team", "team/app.bin", b"app 1");
    sim.publish_all_targets();
    let client = Client::new();
    sim.download(&client, "team/app.bin").await.unwrap();
    let before = client.metadata();
    let before_targets = client.targets();

    // Team 2 lists a new app, signed by a key the delegation does not name.
    let real = sim.set_signers("team", vec![new_key(KeyKind::Ed25519)]);
    sim.add_target("team", "team/app.bin", b"app 2, evil");
    sim.publish(&["team", SNAPSHOT, TIMESTAMP]);
    expect_err(sim.download(&client, "team/app.bin").await, |e| {
        is_threshold(e, Rule::TargetsSignatures, "team", 0, 1)
    });
    let ts = sim.published[TIMESTAMP].clone();
    let snap = sim.published[SNAPSHOT].clone();
    assert_same_files_except(
        &before,
        &client.metadata(),
        &[("timestamp.json", &ts), ("snapshot.json", &snap)],
    );
    assert_same_files(&before_targets, &client.targets());

    sim.set_signers("team", real);
    sim.add_target("team", "team/app.bin", b"app 2");
    sim.publish_no_bump(&["team"]);
    let path = sim.download(&client, "team/app.bin").await.unwrap();
    assert_eq!(std::fs::read(path).unwrap(), b"app 2");
}

#[tokio::test]
async fn target_outside_the_delegated_paths_is_not_found() {
    let mut sim = RepoSim::new();
    sim.delegate(TARGETS, "team", &["team/*"], false);
    sim.add_target("team", "team/app.bin", b"app");
    // Listed by team, but not delegated to it.
    sim.add_target("team", "other/evil.bin", b"evil");
    sim.add_target("team", "team/sub/deep.bin", b"deeper than team/*");
    // Team hands everything on to a sub-role: a delegation may not widen what it was given.
    sim.delegate("team", "wide", &["*", "*/*"], false);
    sim.add_target("wide", "elsewhere/evil.bin", b"evil too");
    sim.publish_all_targets();

    let client = Client::new();
    assert!(sim.lookup(&client, "team/app.bin").await.unwrap().is_some());
    sim.server.clear_log();
    for path in ["other/evil.bin", "team/sub/deep.bin", "elsewhere/evil.bin"] {
        assert!(
            sim.lookup(&client, path).await.unwrap().is_none(),
            "{path} must not be found"
        );
    }
    // Neither team (cached, not re-requested) nor wide was needed for these lookups.
    assert!(
        delegated_requests(&sim).is_empty(),
        "{:?}",
        sim.server.requests()
    );
}

#[tokio::test]
async fn terminating_delegation_stops_the_search() {
    let mut sim = RepoSim::new();
    sim.delegate(TARGETS, "first", &["*"], true);
    sim.delegate(TARGETS, "second", &["*", "other/*"], false);
    sim.add_target("second", "app.bin", b"from second");
    sim.add_target("second", "other/x.bin", b"x");
    // `first` is terminating only for what it was delegated: `*` does not match other/x.bin.
    sim.publish_all_targets();
    let client = Client::new();

    assert!(sim.lookup(&client, "app.bin").await.unwrap().is_none());
    assert_eq!(delegated_requests(&sim), ["/metadata/1.first.json"]);

    sim.server.clear_log();
    let found = sim.lookup(&client, "other/x.bin").await.unwrap().unwrap();
    assert_eq!(found.hashes.get("sha256"), Some(&sha(b"x")));
    assert_eq!(delegated_requests(&sim), ["/metadata/1.second.json"]);
}

#[tokio::test]
async fn terminating_delegation_deep_down_stops_backtracking() {
    let mut sim = RepoSim::new();
    sim.delegate(TARGETS, "a", &["*"], false);
    sim.delegate(TARGETS, "c", &["*"], false);
    sim.delegate("a", "a1", &["*"], true);
    sim.add_target("c", "app.bin", b"from c");
    sim.publish_all_targets();
    let client = Client::new();

    // targets -> a -> a1 (terminating, no app.bin): c, a sibling of a, is never searched.
    assert!(sim.lookup(&client, "app.bin").await.unwrap().is_none());
    assert_eq!(
        delegated_requests(&sim),
        ["/metadata/1.a.json", "/metadata/1.a1.json"]
    );
}

#[test]
fn delegation_cycles_terminate() {
    let mut sim = RepoSim::new();
    sim.delegate(TARGETS, "a", &["*"], false);
    sim.delegate(TARGETS, "c", &["*"], false);
    sim.delegate("a", "b", &["*"], false);
    // b delegates back to a (with a's key): targets -> a -> b -> a -> ...
    let a_key = clone_key(&sim.signers["a"][0]);
    sim.add_delegation("b", delegated_role("a", &["*"]), &[&a_key]);
    sim.add_target("c", "app.bin", b"after the cycle");
    sim.publish_all_targets();

    // The cycle is walked once, then the search backtracks to c.
    let limit = std::time::Duration::from_secs(20);
    let client = Client::new();
    let found = sim
        .lookup_within(&client, "app.bin", limit)
        .unwrap()
        .expect("found in c, after the cycle");
    assert_eq!(found.hashes.get("sha256"), Some(&sha(b"after the cycle")));
    assert_eq!(
        delegated_requests(&sim),
        [
            "/metadata/1.a.json",
            "/metadata/1.b.json",
            "/metadata/1.c.json"
        ]
    );

    let client = Client::new();
    assert!(sim
        .lookup_within(&client, "missing.bin", limit)
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn max_delegations_bounds_the_search() {
    let mut sim = RepoSim::new();
    let mut parent = TARGETS.to_string();
    for i in 1..=5 {
        let name = format!("r{i}");
        sim.delegate(&parent, &name, &["*"], false);
        parent = name;
    }
    sim.add_target("r5", "deep.bin", b"deep");
    sim.publish_all_targets();

    // targets, r1..r4: five roles; r5 would be the sixth.
    let mut client = Client::new();
    client.limits.max_delegations = 5;
    assert!(sim.lookup(&client, "deep.bin").await.unwrap().is_none());
    assert!(!sim.server.requested("/metadata/1.r5.json"));
    assert!(sim.server.requested("/metadata/1.r4.json"));

    let mut client = Client::new();
    client.limits.max_delegations = 6;
    assert!(sim.lookup(&client, "deep.bin").await.unwrap().is_some());
    assert!(sim.server.requested("/metadata/1.r5.json"));
}

#[tokio::test]
async fn path_hash_prefixes_select_the_role() {
    let mut sim = RepoSim::new();
    let path = "files/app.bin";
    let digest = sha(path.as_bytes());
    let (right, wrong) = (&digest[..2], if &digest[..2] == "00" { "01" } else { "00" });

    // Listed first, but its prefix does not cover the path: it must not be asked.
    let key = new_key(KeyKind::Ed25519);
    let mut role = delegated_role("wrong", &[]);
    role.paths = None;
    role.path_hash_prefixes = Some(vec![wrong.to_string()]);
    sim.add_delegation(TARGETS, role, &[&key]);
    sim.signers.insert("wrong".into(), vec![key]);
    sim.add_target("wrong", path, b"evil");

    let key = new_key(KeyKind::Ed25519);
    let mut role = delegated_role("right", &[]);
    role.paths = None;
    role.path_hash_prefixes = Some(vec!["ff".to_string(), right.to_string()]);
    sim.add_delegation(TARGETS, role, &[&key]);
    sim.signers.insert("right".into(), vec![key]);
    sim.add_target("right", path, b"good");
    sim.publish_all_targets();

    let client = Client::new();
    let found = sim.lookup(&client, path).await.unwrap().unwrap();
    assert_eq!(found.hashes.get("sha256"), Some(&sha(b"good")));
    assert_eq!(delegated_requests(&sim), ["/metadata/1.right.json"]);
}

#[tokio::test]
async fn succinct_hashed_bins_lookup_requests_exactly_one_bin() {
    let mut sim = RepoSim::new();
    sim.add_succinct_roles(TARGETS, 4, "bin");
    let path = "files/app.bin";
    let bin = bin_for("bin", 4, path);
    sim.add_target(&bin, path, b"binned");
    // Another target put into a bin that is not its own.
    let stray = "files/stray.bin";
    let stray_bin = bin_for("bin", 4, stray);
    let wrong_bin = if stray_bin == "bin-0" {
        "bin-1"
    } else {
        "bin-0"
    };
    sim.add_target(wrong_bin, stray, b"stray");
    sim.publish_all_targets();
    assert_eq!(sim.snapshot.meta.len(), 17);

    let client = Client::new();
    let found = sim.lookup(&client, path).await.unwrap().unwrap();
    assert_eq!(found.hashes.get("sha256"), Some(&sha(b"binned")));
    assert_eq!(
        delegated_requests(&sim),
        [format!("/metadata/1.{bin}.json")]
    );

    sim.server.clear_log();
    let client = Client::new();
    assert!(sim.lookup(&client, stray).await.unwrap().is_none());
    assert_eq!(
        delegated_requests(&sim),
        [format!("/metadata/1.{stray_bin}.json")]
    );
}

#[tokio::test]
async fn hostile_role_names_are_quoted_in_urls_and_file_names() {
    let mut sim = RepoSim::new();
    sim.delegate(TARGETS, "../a/b?c", &["x/*"], false);
    sim.add_target("../a/b?c", "x/app.bin", b"quoted");
    sim.delegate(TARGETS, "..", &["y/*"], false);
    sim.add_target("..", "y/app.bin", b"dots");
    sim.publish_all_targets();

    let client = Client::new();
    assert!(sim.lookup(&client, "x/app.bin").await.unwrap().is_some());
    assert!(sim.lookup(&client, "y/app.bin").await.unwrap().is_some());
    assert_eq!(
        delegated_requests(&sim),
        ["/metadata/1...%2Fa%2Fb%3Fc.json", "/metadata/1....json"]
    );
    // Stored inside metadata/, one escaped file name each; nothing anywhere else.
    let files: Vec<String> = client.all_files().into_keys().collect();
    assert_eq!(
        files,
        [
            "metadata/%2E%2E.json",
            "metadata/..%2Fa%2Fb%3Fc.json",
            "metadata/root.json",
            "metadata/snapshot.json",
            "metadata/targets.json",
            "metadata/timestamp.json",
        ]
    );
    assert_eq!(
        client.stored("..%2Fa%2Fb%3Fc.json").unwrap(),
        sim.published["../a/b?c"]
    );
    assert!(!client.tmp.path().join("a").exists());
}

#[tokio::test]
async fn role_trusted_through_one_delegator_must_satisfy_another() {
    let mut sim = RepoSim::new();
    sim.delegate(TARGETS, "b", &["b/*"], false);
    sim.delegate(TARGETS, "c", &["c/*"], false);
    sim.delegate("b", "d", &["b/*"], false);
    // c also delegates to d, but trusts a key d is not signed with.
    let c_trusts = new_key(KeyKind::Ed25519);
    sim.add_delegation("c", delegated_role("d", &["c/*"]), &[&c_trusts]);
    sim.add_target("d", "b/app.bin", b"via b");
    sim.add_target("d", "c/app.bin", b"via c");
    sim.publish_all_targets();

    // Through b, d is trusted; in the same cycle, through c, it is not.
    let client = Client::new();
    let mut updater = sim.refresh(&client).await.unwrap();
    assert!(updater
        .get_target_info("b/app.bin")
        .await
        .unwrap()
        .is_some());
    expect_err(updater.get_target_info("c/app.bin").await, |e| {
        is_threshold(e, Rule::TargetsSignaturesSecondDelegator, "d", 0, 1)
    });
    // A fresh cycle reaching d through c first refuses it too.
    let client = Client::new();
    expect_err(sim.lookup(&client, "c/app.bin").await, |e| {
        is_threshold(e, Rule::TargetsSignatures, "d", 0, 1)
    });
    assert!(client.stored("d.json").is_none());

    // Repaired: c trusts d's real key.
    let d_key = clone_key(&sim.signers["d"][0]);
    let c = sim.delegated.get_mut("c").unwrap();
    let delegations = c.delegations.as_mut().unwrap();
    delegations.keys.clear();
    delegations
        .keys
        .insert(d_key.keyid().to_string(), d_key.public_key().clone());
    delegations.roles.as_mut().unwrap()[0].keyids = vec![d_key.keyid().to_string()];
    sim.publish(&["c", SNAPSHOT, TIMESTAMP]);
    let client = Client::new();
    let mut updater = sim.refresh(&client).await.unwrap();
    assert!(updater
        .get_target_info("b/app.bin")
        .await
        .unwrap()
        .is_some());
    let found = updater.get_target_info("c/app.bin").await.unwrap().unwrap();
    assert_eq!(found.hashes.get("sha256"), Some(&sha(b"via c")));
}

#[tokio::test]
async fn delegated_role_missing_from_snapshot_is_refused() {
    let mut sim = RepoSim::new();
    sim.delegate(TARGETS, "ghost", &["*"], false);
    sim.add_target("ghost", "app.bin", b"app");
    sim.publish_all_targets();
    sim.snapshot.meta.remove("ghost.json");
    sim.publish(&[SNAPSHOT, TIMESTAMP]);

    let client = Client::new();
    expect_err(sim.lookup(&client, "app.bin").await, |e| {
        matches!(
            e,
            TufError::Missing {
                rule: Rule::TargetsInSnapshot,
                ..
            }
        )
    });
    assert!(delegated_requests(&sim).is_empty());
    assert!(client.stored("ghost.json").is_none());

    sim.publish(&["ghost", SNAPSHOT, TIMESTAMP]);
    assert!(sim.lookup(&client, "app.bin").await.unwrap().is_some());
}

#[tokio::test]
async fn delegation_named_like_a_top_level_role_is_refused() {
    let mut sim = RepoSim::new();
    let client = Client::new();
    sim.refresh(&client).await.unwrap();
    let before = client.metadata();

    // Stored as Root.json, which is root.json on case-insensitive file systems.
    sim.delegate(TARGETS, "Root", &["*"], false);
    sim.publish_all_targets();
    expect_err(sim.refresh(&client).await, |e| {
        matches!(
            e,
            TufError::Malformed {
                role: Role::Targets,
                ..
            }
        )
    });
    let ts = sim.published[TIMESTAMP].clone();
    let snap = sim.published[SNAPSHOT].clone();
    assert_same_files_except(
        &before,
        &client.metadata(),
        &[("timestamp.json", &ts), ("snapshot.json", &snap)],
    );
    assert!(!sim.server.requested("/metadata/1.Root.json"));
}

#[tokio::test]
async fn delegated_targets_gives_only_verified_roles_delegated_by_targets() {
    let mut sim = RepoSim::new();
    sim.delegate(TARGETS, "stable", &["stable/*"], false);
    sim.add_target("stable", "stable/app.bin", b"app");
    sim.publish_all_targets();
    let client = Client::new();

    let mut updater = sim.refresh(&client).await.unwrap();
    let role = updater.delegated_targets("stable").await.unwrap();
    assert!(role.get("stable/app.bin").is_some());
    for top in [TARGETS, "root"] {
        expect_err(updater.delegated_targets(top).await, |e| {
            matches!(
                e,
                TufError::NotDelegated {
                    delegator: Role::Targets,
                    ..
                }
            )
        });
    }

    // Stable 2 is signed by a key the delegation does not name.
    let real = sim.set_signers("stable", vec![new_key(KeyKind::Ed25519)]);
    sim.add_target("stable", "stable/app.bin", b"evil");
    sim.publish(&["stable", SNAPSHOT, TIMESTAMP]);
    let mut updater = sim.refresh(&client).await.unwrap();
    expect_err(updater.delegated_targets("stable").await, |e| {
        is_threshold(e, Rule::TargetsSignatures, "stable", 0, 1)
    });
    assert_eq!(client.stored_version("stable.json"), Some(1));

    // A role that snapshot lists but targets does not delegate to.
    sim.set_signers("stable", real);
    sim.delegated.insert(
        "rogue".into(),
        tuf_updater_core::tuf::metadata::Targets::new(
            tuf_updater_core::tuf::metadata::Common::new(1, sim.expires),
        ),
    );
    sim.signers
        .insert("rogue".into(), vec![new_key(KeyKind::Ed25519)]);
    sim.publish(&["stable", "rogue", SNAPSHOT, TIMESTAMP]);
    let mut updater = sim.refresh(&client).await.unwrap();
    expect_err(
        updater.delegated_targets("rogue").await,
        |e| matches!(e, TufError::NotDelegated { role: Role::Delegated(r), .. } if r == "rogue"),
    );
    assert!(client.stored("rogue.json").is_none());
    assert!(updater.delegated_targets("stable").await.is_ok());
}
