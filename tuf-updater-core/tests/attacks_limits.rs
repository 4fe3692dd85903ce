//! Endless data and slow retrieval against metadata (TUF threat model; spec 5.3 to 5.6 "up to
//! N bytes"): every metadata read is capped, by the trusted length when there is one, and
//! bounded in time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use tuf_updater_core::tuf::metadata::{SNAPSHOT, TARGETS, TIMESTAMP};

/// Bounds a refresh in time, so that a client without caps fails instead of hanging.
async fn bounded<T>(work: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), work)
        .await
        .expect("the refresh ended")
}

#[tokio::test]
async fn oversized_timestamp_is_refused() {
    let mut sim = RepoSim::new();
    let client = Client::new();
    sim.refresh(&client).await.unwrap();
    let before = client.metadata();

    // Validly signed, but over the 16 KiB a timestamp may have.
    sim.timestamp
        .extra
        .insert("padding".into(), json!("x".repeat(20_000)));
    sim.publish(&[SNAPSHOT, TIMESTAMP]);
    assert!(sim.published[TIMESTAMP].len() > 16 * 1024);
    sim.server.clear_log();
    expect_err(sim.refresh(&client).await, |e| {
        is_too_large(e, "timestamp.json", 16384)
    });
    assert_same_files(&before, &client.metadata());
    assert_eq!(
        sim.server.requests(),
        ["/metadata/2.root.json", "/metadata/timestamp.json"]
    );

    sim.timestamp.extra.clear();
    sim.publish(&[TIMESTAMP]);
    let updater = sim.refresh(&client).await.unwrap();
    assert_eq!(updater.trusted().snapshot().unwrap().common.version, 2);
}

#[tokio::test]
async fn declared_oversized_timestamp_is_refused_before_its_body() {
    let mut sim = RepoSim::new();
    let mut client = Client::new();
    client.limits.metadata_deadline = Duration::from_secs(20);
    sim.refresh(&client).await.unwrap();
    let before = client.metadata();

    // Content-Length: 20000, then a byte every 100 ms: the header alone is enough to refuse.
    sim.server.put(
        "/metadata/timestamp.json",
        Reply::Trickle {
            bytes: vec![b' '; 20_000],
            chunk: 1,
            pause: Duration::from_millis(100),
        },
    );
    let start = Instant::now();
    expect_err(bounded(sim.refresh(&client)).await, |e| {
        is_too_large(e, "timestamp.json", 16384)
    });
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert_same_files(&before, &client.metadata());

    sim.publish(&[TIMESTAMP]);
    sim.refresh(&client).await.unwrap();
}

#[tokio::test]
async fn endless_timestamp_is_cut_at_the_cap() {
    let mut sim = RepoSim::new();
    let mut client = Client::new();
    client.limits.metadata_deadline = Duration::from_secs(20);
    sim.refresh(&client).await.unwrap();
    let before = client.metadata();

    sim.server.put("/metadata/timestamp.json", Reply::Endless);
    expect_err(bounded(sim.refresh(&client)).await, |e| {
        is_too_large(e, "timestamp.json", 16384)
    });
    assert_same_files(&before, &client.metadata());
    assert!(sim.server.streamed_bytes() < 64 * 1024 * 1024);

    sim.publish(&[TIMESTAMP]);
    sim.refresh(&client).await.unwrap();
    assert_eq!(client.stored_version("timestamp.json"), Some(2));
}

#[tokio::test]
async fn endless_root_is_cut_at_the_cap() {
    let sim = RepoSim::new();
    let mut client = Client::new();
    client.limits.metadata_deadline = Duration::from_secs(20);
    sim.refresh(&client).await.unwrap();
    let before = client.metadata();

    sim.server.put("/metadata/2.root.json", Reply::Endless);
    sim.server.clear_log();
    expect_err(bounded(sim.refresh(&client)).await, |e| {
        is_too_large(e, "2.root.json", 524288)
    });
    assert_same_files(&before, &client.metadata());
    assert_eq!(sim.server.requests(), ["/metadata/2.root.json"]);

    sim.server.drop_path("/metadata/2.root.json");
    sim.refresh(&client).await.unwrap();
}

#[tokio::test]
async fn snapshot_is_capped_by_the_length_timestamp_gives() {
    let mut sim = RepoSim::new();
    sim.compute_hashes = true;
    let mut client = Client::new();
    client.limits.metadata_deadline = Duration::from_secs(20);
    sim.refresh(&client).await.unwrap();

    sim.publish(&[SNAPSHOT, TIMESTAMP]);
    let length = sim.published[SNAPSHOT].len();
    assert_eq!(sim.timestamp.snapshot_meta.length, Some(length as u64));
    sim.server.put(&sim.current_path(SNAPSHOT), Reply::Endless);
    expect_err(bounded(sim.refresh(&client)).await, |e| {
        is_too_large(e, "2.snapshot.json", length as u64)
    });
    assert_eq!(client.stored_version("snapshot.json"), Some(1));

    sim.publish_no_bump(&[SNAPSHOT]);
    sim.refresh(&client).await.unwrap();
    assert_eq!(client.stored_version("snapshot.json"), Some(2));
}

#[tokio::test]
async fn targets_is_capped_by_the_snapshot_length_or_the_limit() {
    let mut sim = RepoSim::new();
    let mut client = Client::new();
    client.limits.metadata_deadline = Duration::from_secs(20);
    client.limits.targets_max_len = 10_000;
    sim.refresh(&client).await.unwrap();

    // Snapshot gives no length: the configured limit applies.
    sim.publish(&[TARGETS, SNAPSHOT, TIMESTAMP]);
    sim.server.put(&sim.current_path(TARGETS), Reply::Endless);
    expect_err(bounded(sim.refresh(&client)).await, |e| {
        is_too_large(e, "2.targets.json", 10000)
    });
    assert_eq!(client.stored_version("targets.json"), Some(1));

    // Snapshot gives the length: that is the cap.
    sim.compute_hashes = true;
    sim.publish(&[TARGETS, SNAPSHOT, TIMESTAMP]);
    let length = sim.published[TARGETS].len();
    sim.server.put(&sim.current_path(TARGETS), Reply::Endless);
    expect_err(bounded(sim.refresh(&client)).await, |e| {
        is_too_large(e, "3.targets.json", length as u64)
    });
    assert_eq!(client.stored_version("targets.json"), Some(1));

    sim.publish_no_bump(&[TARGETS]);
    sim.refresh(&client).await.unwrap();
    assert_eq!(client.stored_version("targets.json"), Some(3));
}

#[tokio::test]
async fn a_stored_role_is_reused_up_to_the_snapshot_length_even_over_the_default_limit() {
    // The snapshot's length bounds a role, stored or fetched alike: a stored role larger than
    // the default limit but within its signed length is not downloaded again at every cycle.
    let mut sim = RepoSim::new();
    let mut client = Client::new();
    client.limits.targets_max_len = 2_000;
    sim.compute_hashes = true;
    sim.delegate(TARGETS, "big", &["big/*"], false);
    sim.add_target("big", "big/file", b"content");
    for role in [TARGETS, "big"] {
        sim.targets_mut(role)
            .extra
            .insert("padding".into(), json!("x".repeat(5_000)));
    }
    sim.publish_all_targets();
    sim.publish(&[SNAPSHOT, TIMESTAMP]);
    assert!(sim.published["big"].len() > 5_000);
    assert!(sim.lookup(&client, "big/file").await.unwrap().is_some());

    sim.server.clear_log();
    assert!(sim.lookup(&client, "big/file").await.unwrap().is_some());
    let fetched: Vec<String> = sim
        .server
        .requests()
        .into_iter()
        .filter(|r| r.contains("targets") || r.contains("big"))
        .collect();
    assert!(fetched.is_empty(), "fetched again: {fetched:?}");
}

#[tokio::test]
async fn slow_metadata_hits_the_deadline() {
    let mut sim = RepoSim::new();
    let mut client = Client::new();
    sim.refresh(&client).await.unwrap();
    let before = client.metadata();

    // One byte every 100 ms: the timestamp would take most of a minute.
    sim.publish(&[TIMESTAMP]);
    let bytes = sim.published[TIMESTAMP].clone();
    assert!(bytes.len() > 200);
    sim.server.put(
        "/metadata/timestamp.json",
        Reply::Trickle {
            bytes,
            chunk: 1,
            pause: Duration::from_millis(100),
        },
    );
    client.limits.metadata_deadline = Duration::from_millis(500);
    let start = Instant::now();
    expect_err(
        bounded(sim.refresh(&client)).await,
        |e| matches!(e, TufError::Fetch(FetchError::Timeout { url, .. }) if url.ends_with("/timestamp.json")),
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert_same_files(&before, &client.metadata());

    sim.publish_no_bump(&[TIMESTAMP]);
    sim.refresh(&client).await.unwrap();
    assert_eq!(client.stored_version("timestamp.json"), Some(2));
}
