//! Attacks on target downloads (TUF 1.0.34 section 5.7): wrong bytes, too many bytes, a
//! stream that never ends, slow retrieval, tampered caches, and target paths that try to
//! leave the target directory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use tuf_updater_core::tuf::metadata::{SNAPSHOT, TARGETS, TIMESTAMP};
use tuf_updater_core::tuf::TufClient;

/// A repository listing `content` as `app.bin`; returns it and the target's URL path.
fn repo_with_app(content: &[u8]) -> (RepoSim, String) {
    let mut sim = RepoSim::new();
    sim.add_target(TARGETS, "app.bin", content);
    sim.publish(&[TARGETS, SNAPSHOT, TIMESTAMP]);
    let url = sim.target_path("app.bin", content);
    (sim, url)
}

const APP: &[u8] = b"the real app, version 1";

#[tokio::test]
async fn target_with_the_wrong_hash_is_refused_and_not_written() {
    let (sim, url) = repo_with_app(APP);
    let client = Client::new();
    let evil = b"the evil app, version 1";
    assert_eq!(evil.len(), APP.len());
    sim.server.put_bytes(&url, evil.to_vec());

    expect_err(sim.download(&client, "app.bin").await, |e| {
        e.rule() == Some(Rule::TargetLengthAndHashes)
    });
    assert!(client.targets().is_empty(), "{:?}", client.targets().keys());

    sim.server.put_bytes(&url, APP.to_vec());
    let path = sim.download(&client, "app.bin").await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), APP);
    assert_eq!(client.targets().len(), 1);
}

#[tokio::test]
async fn target_longer_than_its_trusted_length_is_refused() {
    let (sim, url) = repo_with_app(APP);
    let client = Client::new();
    let mut longer = APP.to_vec();
    longer.extend_from_slice(b" plus a payload");
    sim.server.put_bytes(&url, longer);

    expect_err(
        sim.download(&client, "app.bin").await,
        |e| matches!(e, TufError::Fetch(FetchError::TooLarge { limit, .. }) if *limit == APP.len() as u64),
    );
    assert!(client.targets().is_empty(), "{:?}", client.targets().keys());
    assert_eq!(sim.server.count(&url), 1, "a refused file is not retried");

    sim.server.put_bytes(&url, APP.to_vec());
    sim.download(&client, "app.bin").await.unwrap();
}

#[tokio::test]
async fn declared_oversized_target_is_refused_before_its_body() {
    let (sim, url) = repo_with_app(APP);
    let client = Client::new();
    // Content-Length: 1 MiB, then a byte every 500 ms.
    sim.server.put(
        &url,
        Reply::Trickle {
            bytes: vec![0; 1024 * 1024],
            chunk: 1,
            pause: Duration::from_millis(500),
        },
    );
    let start = Instant::now();
    expect_err(
        sim.download(&client, "app.bin").await,
        |e| matches!(e, TufError::Fetch(FetchError::TooLarge { limit, .. }) if *limit == APP.len() as u64),
    );
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert!(client.targets().is_empty(), "{:?}", client.targets().keys());
}

#[tokio::test]
async fn endless_target_stream_is_cut_at_the_trusted_length() {
    let (sim, url) = repo_with_app(APP);
    let client = Client::new();
    sim.server.put(&url, Reply::Endless);

    let result = tokio::time::timeout(Duration::from_secs(20), sim.download(&client, "app.bin"))
        .await
        .expect("the download stops");
    expect_err(
        result,
        |e| matches!(e, TufError::Fetch(FetchError::TooLarge { limit, .. }) if *limit == APP.len() as u64),
    );
    assert!(client.targets().is_empty(), "{:?}", client.targets().keys());
    assert!(sim.server.streamed_bytes() < 64 * 1024 * 1024);

    sim.server.put_bytes(&url, APP.to_vec());
    sim.download(&client, "app.bin").await.unwrap();
}

#[tokio::test]
async fn target_shorter_than_its_trusted_length_is_never_installed() {
    let (sim, url) = repo_with_app(APP);
    let client = Client::new();
    let short = APP.len() - 3;
    sim.server.put_bytes(&url, APP[..short].to_vec());

    expect_err(sim.download(&client, "app.bin").await, |e| {
        matches!(e, TufError::Fetch(FetchError::Transport { .. }))
    });
    // Retried (a cut transfer), then given up; only the hidden partial file remains.
    assert_eq!(sim.server.count(&url), 1 + client.download.retries as usize);
    assert!(!client.local_target("app.bin").exists());
    let files = client.targets();
    assert!(
        files
            .keys()
            .all(|f| f.starts_with('.') && f.ends_with(".part")),
        "{:?}",
        files.keys()
    );

    sim.server.put_bytes(&url, APP.to_vec());
    let path = sim.download(&client, "app.bin").await.unwrap();
    assert_eq!(std::fs::read(path).unwrap(), APP);
    assert_eq!(client.targets().len(), 1, "{:?}", client.targets().keys());
}

#[tokio::test]
async fn tampered_cached_target_is_downloaded_again() {
    let (sim, url) = repo_with_app(APP);
    let client = Client::new();
    let path = sim.download(&client, "app.bin").await.unwrap();

    // Same length, other bytes.
    let mut tampered = APP.to_vec();
    tampered[0] ^= 0x01;
    std::fs::write(&path, &tampered).unwrap();
    let mut updater = sim.refresh(&client).await.unwrap();
    let info = updater.get_target_info("app.bin").await.unwrap().unwrap();
    assert!(updater.find_cached_target(&info, &path).unwrap().is_none());

    let again = sim.download(&client, "app.bin").await.unwrap();
    assert_eq!(again, path);
    assert_eq!(std::fs::read(&path).unwrap(), APP);
    assert_eq!(sim.server.count(&url), 2);
}

#[tokio::test]
async fn valid_cached_target_is_reused_without_a_request() {
    let (sim, url) = repo_with_app(APP);
    let client = Client::new();
    let path = sim.download(&client, "app.bin").await.unwrap();
    let written = std::fs::metadata(&path).unwrap().modified().unwrap();
    sim.server.clear_log();

    let mut updater = sim.refresh(&client).await.unwrap();
    let info = updater.get_target_info("app.bin").await.unwrap().unwrap();
    assert_eq!(
        updater.find_cached_target(&info, &path).unwrap(),
        Some(path.clone())
    );
    assert!(!sim.server.requested(&url));
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        written
    );

    // A file of the right length but another hash is not "valid".
    let other = Client::new();
    std::fs::create_dir_all(&other.target_dir).unwrap();
    std::fs::write(other.local_target("app.bin"), vec![b'x'; APP.len()]).unwrap();
    assert!(updater
        .find_cached_target(&info, &other.local_target("app.bin"))
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn target_paths_with_dot_dot_stay_inside_the_target_directory() {
    let mut sim = RepoSim::new();
    let paths = ["../escape.bin", "sub/../../../x.bin", "..", "./dot.bin"];
    for (i, path) in paths.iter().enumerate() {
        sim.add_target(TARGETS, path, format!("content {i}").as_bytes());
    }
    sim.publish(&[TARGETS, SNAPSHOT, TIMESTAMP]);
    let client = Client::new();

    for (i, path) in paths.iter().enumerate() {
        let local = sim.download(&client, path).await.unwrap();
        assert_eq!(local.parent().unwrap(), client.target_dir, "{path}");
        assert_eq!(
            std::fs::read(&local).unwrap(),
            format!("content {i}").as_bytes()
        );
    }
    let targets: Vec<String> = client.targets().into_keys().collect();
    assert_eq!(
        targets,
        [
            "%2E%2E",
            ".%2Fdot.bin",
            "..%2Fescape.bin",
            "sub%2F..%2F..%2F..%2Fx.bin"
        ]
    );
    // Nothing outside metadata/ and targets/.
    assert!(client
        .all_files()
        .keys()
        .all(|f| f.starts_with("metadata/") || f.starts_with("targets/")));
    assert_eq!(
        TufClient::local_target_path(&client.target_dir, "../escape.bin"),
        client.target_dir.join("..%2Fescape.bin")
    );
}

#[tokio::test]
async fn slow_target_download_is_aborted() {
    let content: Vec<u8> = (0..2000u32).map(|i| (i % 251) as u8).collect();
    let (sim, url) = repo_with_app(&content);
    let mut client = Client::new();
    client.limits.slow_grace = Duration::from_millis(300);
    client.limits.min_target_bytes_per_sec = 1000;
    // 10 bytes every 50 ms: 200 bytes/s, ten seconds for the whole file.
    sim.server.put(
        &url,
        Reply::Trickle {
            bytes: content.clone(),
            chunk: 10,
            pause: Duration::from_millis(50),
        },
    );

    let start = Instant::now();
    expect_err(sim.download(&client, "app.bin").await, |e| {
        matches!(
            e,
            TufError::Fetch(FetchError::TooSlow {
                min_bytes_per_sec: 1000,
                ..
            })
        )
    });
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert!(client.targets().is_empty(), "{:?}", client.targets().keys());
    assert!(sim.server.streamed_bytes() < content.len() as u64);

    sim.server.put_bytes(&url, content.clone());
    let path = sim.download(&client, "app.bin").await.unwrap();
    assert_eq!(std::fs::read(path).unwrap(), content);
}

/// The app's API key, sent as its own header on every request.
fn fetcher_with_api_key() -> tuf_updater_core::tuf::fetch::HttpFetcher {
    tuf_updater_core::tuf::fetch::HttpFetcher::new(&tuf_updater_core::tuf::fetch::HttpConfig {
        headers: vec![("X-Api-Key".into(), "secret-key".into())],
        ..Default::default()
    })
    .unwrap()
}

#[tokio::test]
async fn api_key_does_not_follow_a_redirect_to_another_origin() {
    let mirror = Server::start();
    let attacker = Server::start();
    // Another port on the same host is another origin.
    mirror.put(
        "/app.bin",
        Reply::Redirect(format!("{}/loot", attacker.base)),
    );
    attacker.put_bytes("/loot", APP.to_vec());
    let fetcher = fetcher_with_api_key();
    let url = format!("{}/app.bin", mirror.base);
    let body =
        tuf_updater_core::tuf::fetch::fetch_capped(&fetcher, &url, 1024, Duration::from_secs(10))
            .await
            .unwrap();
    assert_eq!(body, APP);
    assert_eq!(
        mirror.header_values("/app.bin", "x-api-key"),
        vec![Some("secret-key".to_string())]
    );
    assert_eq!(attacker.header_values("/loot", "x-api-key"), vec![None]);
}

#[tokio::test]
async fn api_key_follows_a_same_origin_redirect() {
    let mirror = Server::start();
    mirror.put("/app.bin", Reply::Redirect("/moved/app.bin".into()));
    mirror.put_bytes("/moved/app.bin", APP.to_vec());
    let fetcher = fetcher_with_api_key();
    let url = format!("{}/app.bin", mirror.base);
    let body =
        tuf_updater_core::tuf::fetch::fetch_capped(&fetcher, &url, 1024, Duration::from_secs(10))
            .await
            .unwrap();
    assert_eq!(body, APP);
    assert_eq!(
        mirror.header_values("/moved/app.bin", "x-api-key"),
        vec![Some("secret-key".to_string())]
    );
}

#[tokio::test]
async fn a_redirect_loop_ends_in_an_error() {
    let mirror = Server::start();
    mirror.put("/app.bin", Reply::Redirect("/app.bin".into()));
    let url = format!("{}/app.bin", mirror.base);
    let err = tuf_updater_core::tuf::fetch::fetch_capped(
        &fetcher_with_api_key(),
        &url,
        1024,
        Duration::from_secs(10),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("redirects"), "{err}");
    assert_eq!(mirror.count("/app.bin"), 6);
}
