//! Interoperability with python-tuf, the TUF reference implementation.
//!
//! python-tuf generates and signs each repository on disk (`tests/interop/make_repo.py`),
//! a static file server on 127.0.0.1 serves it, and our client consumes it through the
//! library API over real HTTP. The script also runs python-tuf's own client over the same
//! files and records, for every lookup, what it found and exactly which files it requested;
//! each test holds our client to the same results and the same requests, on top of the
//! scenario's own assertions.
//!
//! Needs Python 3 with python-tuf (`pip install -r .ci/requirements.txt`); without it these
//! tests fail, they do not skip. `PYTHON` may name the interpreter (default `python3`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use serde::Deserialize;
use tuf_updater_core::tuf::fetch::{HttpConfig, HttpFetcher};
use tuf_updater_core::tuf::metadata::{TargetFile, TargetHashes};
use tuf_updater_core::tuf::{ClientConfig, TufClient, TufError};

const SETUP_HINT: &str = "pip install -r .ci/requirements.txt";

// ------------------------------------------------------------------ python-tuf

/// What `make_repo.py` writes to `<out>/manifest.json`.
#[derive(Debug, Deserialize)]
struct Manifest {
    scenario: String,
    python_tuf_version: String,
    consistent_snapshot: bool,
    root_version: u64,
    /// Each lookup as python-tuf's client did it from scratch (bootstrap: `1.root.json`).
    lookups: Vec<Lookup>,
    extra: serde_json::Value,
}

impl Manifest {
    fn extra<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_value(self.extra.clone())
            .unwrap_or_else(|e| panic!("manifest of {}: unexpected `extra`: {e}", self.scenario))
    }

    fn lookup(&self, path: &str) -> &Lookup {
        self.lookups
            .iter()
            .find(|l| l.path == path)
            .unwrap_or_else(|| panic!("manifest of {} has no lookup {path}", self.scenario))
    }
}

#[derive(Debug, Deserialize)]
struct Lookup {
    path: String,
    found: bool,
    /// The role the scenario put the target in (python-tuf found the same entry).
    role: Option<String>,
    /// Paths requested by python-tuf's `refresh()`, relative to the repository root.
    refresh_requests: Vec<String>,
    /// Paths requested by python-tuf's `get_targetinfo()`.
    lookup_requests: Vec<String>,
    #[serde(default)]
    target_requests: Vec<String>,
    length: Option<u64>,
    hashes: Option<TargetHashes>,
    content_hex: Option<String>,
}

impl Lookup {
    fn content(&self) -> Vec<u8> {
        hex::decode(
            self.content_hex
                .as_deref()
                .expect("found target without content"),
        )
        .unwrap()
    }
}

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string())
}

/// Runs `make_repo.py <out> <scenario>`: python-tuf writes the repository to `out`.
fn make_repo(out: &Path, scenario: &str) -> Manifest {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/make_repo.py");
    let output = Command::new(python())
        .arg("-B")
        .arg(&script)
        .arg(out)
        .arg(scenario)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `{}` ({e}). The python-tuf interoperability tests need Python 3 with \
                 python-tuf: {SETUP_HINT} (set PYTHON to choose the interpreter)",
                python()
            )
        });
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => {}
        Some(3) => panic!(
            "python-tuf is not installed for `{}`, so the interoperability tests cannot run. \
             Install it: {SETUP_HINT}\n{stderr}",
            python()
        ),
        _ => panic!(
            "make_repo.py {scenario} failed ({}); python-tuf must be importable ({SETUP_HINT}):\n{stderr}",
            output.status
        ),
    }
    let text = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    let manifest: Manifest = serde_json::from_str(&text).unwrap();
    assert_eq!(manifest.scenario, scenario);
    assert!(
        manifest.python_tuf_version.starts_with("7."),
        "these tests are written against python-tuf 7 ({SETUP_HINT}); found {}",
        manifest.python_tuf_version
    );
    manifest
}

// ------------------------------------------------------------------ HTTP server

#[derive(Debug, Clone)]
struct Served {
    /// Percent-decoded path relative to the served directory, e.g. `metadata/1.root.json`.
    path: String,
    status: u16,
}

/// A static file server for one directory: GET only, 404 for anything missing, and a log of
/// every request (written before the response goes out, so a client never outruns it).
struct Server {
    server: Arc<tiny_http::Server>,
    base: String,
    log: Arc<Mutex<Vec<Served>>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(root: &Path) -> Server {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let addr = server.server_addr().to_ip().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let (server, log, root) = (Arc::clone(&server), Arc::clone(&log), root.to_path_buf());
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    let raw = request.url().split('?').next().unwrap_or("").to_string();
                    let path = percent_encoding::percent_decode_str(raw.trim_start_matches('/'))
                        .decode_utf8_lossy()
                        .into_owned();
                    let file = file_under(&root, &path);
                    let body = match (request.method(), file) {
                        (tiny_http::Method::Get, Some(file)) => std::fs::read(file).ok(),
                        _ => None,
                    };
                    let status = if body.is_some() { 200 } else { 404 };
                    log.lock().unwrap().push(Served { path, status });
                    let _ = match body {
                        Some(data) => request.respond(tiny_http::Response::from_data(data)),
                        None => request.respond(tiny_http::Response::empty(404)),
                    };
                }
            })
        };
        Server {
            server,
            base: format!("http://{addr}"),
            log,
            thread: Some(thread),
        }
    }

    fn url(&self, rel: &str) -> String {
        format!("{}/{rel}", self.base)
    }

    /// The requests since the last call.
    fn take(&self) -> Vec<Served> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }

    fn take_paths(&self) -> Vec<String> {
        self.take().into_iter().map(|s| s.path).collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The regular file `path` names under `root`, if any; no `..`, no directories.
fn file_under(root: &Path, path: &str) -> Option<PathBuf> {
    let segments: Vec<&str> = path.split('/').collect();
    if segments
        .iter()
        .any(|s| s.is_empty() || *s == "." || *s == ".." || s.contains('\\'))
    {
        return None;
    }
    let file = segments.iter().fold(root.to_path_buf(), |p, s| p.join(s));
    file.is_file().then_some(file)
}

// ------------------------------------------------------------------ our client

/// Our client for the repository whose metadata is served under `metadata` (relative to the
/// server root) and whose targets under `targets/`, keeping its metadata in `local`.
fn client(server: &Server, metadata: &str, local: &Path, bootstrap: &[u8]) -> TufClient {
    let mut config = ClientConfig::new(server.url(metadata), local);
    config.targets_url = Some(server.url("targets"));
    let fetcher = HttpFetcher::new(&HttpConfig::default()).unwrap();
    TufClient::new(config, Arc::new(fetcher), Some(bootstrap)).unwrap()
}

fn bootstrap_root(repo: &Path) -> Vec<u8> {
    std::fs::read(repo.join("metadata/1.root.json")).unwrap()
}

/// Looks up and downloads `lookup.path` as python-tuf did; checks the bytes.
async fn download_and_check(
    updater: &TufClient,
    lookup: &Lookup,
    info: &TargetFile,
    target_dir: &Path,
) -> PathBuf {
    assert_eq!(Some(info.length), lookup.length, "{}: length", lookup.path);
    assert_eq!(
        Some(&info.hashes),
        lookup.hashes.as_ref(),
        "{}: hashes",
        lookup.path
    );
    let local = TufClient::local_target_path(target_dir, &lookup.path);
    let got = updater
        .download_target(&lookup.path, info, &local)
        .await
        .unwrap_or_else(|e| panic!("downloading {}: {e}", lookup.path));
    assert_eq!(got, local);
    assert_eq!(
        std::fs::read(&local).unwrap(),
        lookup.content(),
        "{}: downloaded bytes differ from python-tuf's content",
        lookup.path
    );
    local
}

/// Every lookup of the manifest, each by a fresh client (empty metadata directory, version 1
/// root), compared with python-tuf's: same refresh requests, same delegated metadata
/// requests, same result, same target URL, same bytes.
async fn check_lookups_like_python_tuf(server: &Server, repo: &Path, manifest: &Manifest) {
    let bootstrap = bootstrap_root(repo);
    assert!(!manifest.lookups.is_empty());
    for lookup in &manifest.lookups {
        let work = tempfile::tempdir().unwrap();
        let mut updater = client(
            server,
            "metadata",
            &work.path().join("metadata"),
            &bootstrap,
        );
        server.take();
        updater
            .refresh()
            .await
            .unwrap_or_else(|e| panic!("{}: refresh failed: {e}", manifest.scenario));
        assert_eq!(
            updater.trusted().root().common.version,
            manifest.root_version
        );
        assert_eq!(
            server.take_paths(),
            lookup.refresh_requests,
            "{}: our refresh requests differ from python-tuf's",
            manifest.scenario
        );
        let info = updater
            .get_target_info(&lookup.path)
            .await
            .unwrap_or_else(|e| panic!("looking up {}: {e}", lookup.path));
        assert_eq!(
            server.take_paths(),
            lookup.lookup_requests,
            "{}: delegated metadata requested for the lookup differs from python-tuf's",
            lookup.path
        );
        match (info, lookup.found) {
            (None, false) => {}
            (Some(info), true) => {
                download_and_check(&updater, lookup, &info, &work.path().join("targets")).await;
                let served = server.take();
                let paths: Vec<String> = served.iter().map(|s| s.path.clone()).collect();
                // An empty target needs no request: its trusted hashes are those of nothing.
                if !(info.length == 0 && paths.is_empty()) {
                    assert_eq!(
                        paths, lookup.target_requests,
                        "{}: target URL differs from python-tuf's",
                        lookup.path
                    );
                }
                assert!(served.iter().all(|s| s.status == 200));
            }
            (Some(info), false) => panic!(
                "our client found {} ({info:?}); python-tuf found nothing",
                lookup.path
            ),
            (None, true) => panic!(
                "our client did not find {}; python-tuf found it in role {:?}",
                lookup.path, lookup.role
            ),
        }
    }
}

/// A python-generated repository, served.
struct Fixture {
    dir: tempfile::TempDir,
    server: Server,
    manifest: Manifest,
}

impl Fixture {
    fn new(scenario: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let manifest = make_repo(&dir.path().join("repo"), scenario);
        let server = Server::start(&dir.path().join("repo"));
        Fixture {
            dir,
            server,
            manifest,
        }
    }

    fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    fn read(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.repo().join(rel)).unwrap()
    }

    fn client(&self, local: &Path) -> TufClient {
        client(
            &self.server,
            "metadata",
            local,
            &bootstrap_root(&self.repo()),
        )
    }
}

fn is_hex_digest(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

// ------------------------------------------------------------------ 1. basic

#[derive(Deserialize)]
struct BasicExtra {
    second_refresh_requests: Vec<String>,
}

/// ed25519 keys, consistent snapshots, length and hashes in timestamp and snapshot meta,
/// targets at the top, nested with a space in the name, with sha256 and sha512, empty, and
/// 256 KiB. Then a second update cycle that reuses stored metadata and cached targets.
#[tokio::test]
async fn basic_ed25519_repository_refresh_download_and_cached_reuse() {
    let fx = Fixture::new("basic");
    let m = &fx.manifest;
    assert!(m.consistent_snapshot);
    check_lookups_like_python_tuf(&fx.server, &fx.repo(), m).await;

    let found: Vec<&Lookup> = m.lookups.iter().filter(|l| l.found).collect();
    assert_eq!(found.len(), 5);
    assert_eq!(m.lookup("hello.txt").content(), b"Hello from python-tuf\n");
    assert!(m.lookup("empty.dat").content().is_empty());
    let multi = m.lookup("multi/hashes.bin");
    assert_eq!(
        multi.hashes.as_ref().unwrap().keys().collect::<Vec<_>>(),
        ["sha256", "sha512"]
    );
    let deep = m.lookup("nested/dir/deep file.bin");
    let deep_name = deep.target_requests[0].rsplit('/').next().unwrap();
    assert!(deep.target_requests[0].starts_with("targets/nested/dir/"));
    assert!(is_hex_digest(&deep_name[..64]) && deep_name.ends_with(".deep file.bin"));

    // Cycle 1: one client, every target downloaded into a cache directory.
    let work = tempfile::tempdir().unwrap();
    let (meta_dir, target_dir) = (work.path().join("metadata"), work.path().join("targets"));
    let mut first = fx.client(&meta_dir);
    first.refresh().await.unwrap();
    for lookup in &found {
        let info = first.get_target_info(&lookup.path).await.unwrap().unwrap();
        let local = TufClient::local_target_path(&target_dir, &lookup.path);
        assert!(local.starts_with(&target_dir));
        assert_eq!(first.find_cached_target(&info, &local).unwrap(), None);
        download_and_check(&first, lookup, &info, &target_dir).await;
        assert_eq!(
            first.find_cached_target(&info, &local).unwrap(),
            Some(local)
        );
    }
    // What we store is exactly what python-tuf signed.
    for (stored, published) in [
        ("root.json", "metadata/1.root.json"),
        ("timestamp.json", "metadata/timestamp.json"),
        ("snapshot.json", "metadata/1.snapshot.json"),
        ("targets.json", "metadata/1.targets.json"),
    ] {
        assert_eq!(
            std::fs::read(meta_dir.join(stored)).unwrap(),
            fx.read(published),
            "stored {stored}"
        );
    }

    // Cycle 2: a new client on the same directories, nothing new on the server. It asks for
    // the next root and the timestamp only (as python-tuf does), and downloads nothing.
    let mut second = fx.client(&meta_dir);
    fx.server.take();
    second.refresh().await.unwrap();
    let extra: BasicExtra = m.extra();
    assert_eq!(
        extra.second_refresh_requests,
        ["metadata/2.root.json", "metadata/timestamp.json"]
    );
    assert_eq!(fx.server.take_paths(), extra.second_refresh_requests);
    let mut infos = Vec::new();
    for lookup in &found {
        let info = second.get_target_info(&lookup.path).await.unwrap().unwrap();
        let local = TufClient::local_target_path(&target_dir, &lookup.path);
        assert_eq!(
            second.find_cached_target(&info, &local).unwrap(),
            Some(local)
        );
        infos.push(info);
    }
    assert!(fx.server.take().is_empty(), "cached reuse made requests");

    // A cached file changed on disk (same length) is no longer the target: fetched again.
    let big = m.lookup("big.bin");
    let big_info = &infos[found.iter().position(|l| l.path == "big.bin").unwrap()];
    let local = TufClient::local_target_path(&target_dir, "big.bin");
    let mut bytes = std::fs::read(&local).unwrap();
    bytes[1000] ^= 0x01;
    std::fs::write(&local, &bytes).unwrap();
    assert_eq!(second.find_cached_target(big_info, &local).unwrap(), None);
    download_and_check(&second, big, big_info, &target_dir).await;
    assert_eq!(fx.server.take_paths(), big.target_requests);
    assert_eq!(
        second.find_cached_target(big_info, &local).unwrap(),
        Some(local)
    );
}

// ------------------------------------------------------------------ 2. delegations

#[derive(Deserialize)]
struct DelegationsExtra {
    hash_prefixes: Vec<String>,
    uncovered: String,
}

/// Named delegations with `paths`, nested three roles deep, a terminating role, two roles on
/// the same paths (the first wins), and `path_hash_prefixes`.
#[tokio::test]
async fn delegations_paths_terminating_nested_and_hash_prefixes() {
    let fx = Fixture::new("delegations");
    let m = &fx.manifest;
    check_lookups_like_python_tuf(&fx.server, &fx.repo(), m).await;

    // The scenario's points, spelled out (python-tuf agreed with each above).
    let nightly = m.lookup("projects/alpha/nightly-2024.bin");
    assert_eq!(
        nightly.lookup_requests,
        [
            "metadata/1.projects.json",
            "metadata/1.alpha.json",
            "metadata/1.alpha-nightly.json"
        ]
    );
    assert_eq!(nightly.role.as_deref(), Some("alpha-nightly"));
    let shadow = m.lookup("locked/shadow.txt");
    assert!(!shadow.found, "a terminating role must end the search");
    assert_eq!(shadow.lookup_requests, ["metadata/1.locked.json"]);
    assert!(
        m.lookup("free/open.txt").found,
        "after-locked is a valid role"
    );
    assert_eq!(
        m.lookup("shared/both.txt").content(),
        b"version of the first role\n"
    );
    assert_eq!(
        m.lookup("shared/only-second.txt").lookup_requests,
        ["metadata/1.first.json", "metadata/1.second.json"]
    );
    let extra: DelegationsExtra = m.extra();
    assert_eq!(extra.hash_prefixes.len(), 2);
    assert!(m.lookup("hp/one.bin").found && m.lookup("hp/two.bin").found);
    let uncovered = m.lookup(&extra.uncovered);
    assert!(!uncovered.found && uncovered.lookup_requests.is_empty());
    assert!(!m.lookup("projects/beta/beta.tar.gz").found);
    assert!(!m.lookup("nowhere/missing.txt").found);

    // All lookups by one client: each delegated role is fetched once, then reused.
    let work = tempfile::tempdir().unwrap();
    let mut updater = fx.client(&work.path().join("metadata"));
    updater.refresh().await.unwrap();
    fx.server.take();
    for lookup in &m.lookups {
        let info = updater.get_target_info(&lookup.path).await.unwrap();
        assert_eq!(info.is_some(), lookup.found, "{}", lookup.path);
    }
    let fetched = fx.server.take_paths();
    let unique: BTreeSet<&String> = fetched.iter().collect();
    assert_eq!(
        unique.len(),
        fetched.len(),
        "a role fetched twice: {fetched:?}"
    );
    let expected: BTreeSet<String> = [
        "projects",
        "alpha",
        "alpha-nightly",
        "locked",
        "after-locked",
        "first",
        "second",
        "hashed",
    ]
    .iter()
    .map(|r| format!("metadata/1.{r}.json"))
    .collect();
    assert_eq!(
        fetched.into_iter().collect::<BTreeSet<_>>(),
        expected,
        "delegated roles fetched"
    );
}

// ------------------------------------------------------------------ 3. succinct hashed bins

#[derive(Deserialize)]
struct SuccinctExtra {
    bit_length: u32,
    name_prefix: String,
    bins: Vec<String>,
    missing_bin: String,
    targets: BTreeMap<String, SuccinctTarget>,
}

#[derive(Deserialize)]
struct SuccinctTarget {
    bin: String,
    length: u64,
    hashes: TargetHashes,
    content_hex: String,
}

/// TAP 15 succinct hashed bins (bit_length 5: 32 bins `bin-00`..`bin-1f`), 200 targets.
/// Every target is found through the bin python-tuf assigned it, fetching that bin only.
#[tokio::test]
async fn succinct_hashed_bins_fetch_only_the_targets_bin() {
    let fx = Fixture::new("succinct");
    let m = &fx.manifest;
    let extra: SuccinctExtra = m.extra();
    assert_eq!((extra.bit_length, extra.name_prefix.as_str()), (5, "bin"));
    assert_eq!(extra.bins.len(), 32);
    assert_eq!(extra.targets.len(), 200);
    check_lookups_like_python_tuf(&fx.server, &fx.repo(), m).await;
    for lookup in &m.lookups {
        let bin = match lookup.role.as_deref() {
            Some(bin) => bin.to_string(),
            None => extra.missing_bin.clone(),
        };
        assert_eq!(lookup.lookup_requests, [format!("metadata/1.{bin}.json")]);
    }

    // One client looks up all 200: each lookup fetches its own bin the first time that bin
    // is needed and nothing else. The first target of each bin is downloaded and compared
    // with python-tuf's content (the rest only by length and hashes, to keep the test short).
    let work = tempfile::tempdir().unwrap();
    let mut updater = fx.client(&work.path().join("metadata"));
    updater.refresh().await.unwrap();
    fx.server.take();
    let mut loaded: BTreeSet<String> = BTreeSet::new();
    for (path, expected) in &extra.targets {
        let info = updater
            .get_target_info(path)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{path} not found (python-tuf: in {})", expected.bin));
        let requests = fx.server.take_paths();
        assert_eq!(info.length, expected.length, "{path}");
        assert_eq!(info.hashes, expected.hashes, "{path}");
        if !loaded.insert(expected.bin.clone()) {
            assert!(requests.is_empty(), "{path}: {requests:?}");
            continue;
        }
        assert_eq!(
            requests,
            [format!("metadata/1.{}.json", expected.bin)],
            "{path}"
        );
        let local = TufClient::local_target_path(&work.path().join("targets"), path);
        updater.download_target(path, &info, &local).await.unwrap();
        assert_eq!(
            std::fs::read(&local).unwrap(),
            hex::decode(&expected.content_hex).unwrap()
        );
        let requests = fx.server.take_paths();
        assert_eq!(requests.len(), 1);
        assert!(requests[0].starts_with("targets/pkg/"), "{requests:?}");
    }
    let used: BTreeSet<String> = extra.targets.values().map(|t| t.bin.clone()).collect();
    assert_eq!(loaded, used);
}

// ------------------------------------------------------------------ 4. key types

#[derive(Deserialize)]
struct KeytypesExtra {
    keys: BTreeMap<String, KeyType>,
    roles: BTreeMap<String, RoleKeys>,
    signatures: BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize, PartialEq, Debug)]
struct KeyType {
    keytype: String,
    scheme: String,
}

#[derive(Deserialize)]
struct RoleKeys {
    keyids: Vec<String>,
    threshold: u64,
}

/// Root: threshold 2 of ECDSA P-256, RSA-PSS-SHA256 (3072) and ed25519, signed by the first
/// two only; timestamp ECDSA P-384; snapshot RSA-PSS; targets threshold 2 of P-256 and P-384;
/// delegated roles with RSA PKCS#1 v1.5, P-384 and a mixed threshold-2 set. With exactly a
/// threshold of signatures everywhere, each signature of each type has to verify.
#[tokio::test]
async fn ecdsa_rsa_and_mixed_threshold_keys() {
    let fx = Fixture::new("keytypes");
    let m = &fx.manifest;
    let extra: KeytypesExtra = m.extra();
    let schemes: BTreeSet<&str> = extra.keys.values().map(|k| k.scheme.as_str()).collect();
    assert_eq!(
        schemes,
        BTreeSet::from([
            "ecdsa-sha2-nistp256",
            "ecdsa-sha2-nistp384",
            "ed25519",
            "rsassa-pss-sha256"
        ])
    );
    assert_eq!(extra.roles["root"].threshold, 2);
    assert_eq!(extra.roles["root"].keyids.len(), 3);
    assert_eq!(extra.signatures["root"].len(), 2);
    assert_eq!(extra.roles["targets"].threshold, 2);
    assert_eq!(extra.signatures["targets"].len(), 2);
    check_lookups_like_python_tuf(&fx.server, &fx.repo(), m).await;

    // Our client reads python-tuf's keys as python-tuf wrote them.
    let work = tempfile::tempdir().unwrap();
    let mut updater = fx.client(&work.path().join("metadata"));
    updater.refresh().await.unwrap();
    let root = updater.trusted().root();
    let keys: BTreeMap<String, KeyType> = root
        .keys
        .iter()
        .map(|(id, k)| {
            let kt = KeyType {
                keytype: k.keytype.clone(),
                scheme: k.scheme.clone(),
            };
            (id.clone(), kt)
        })
        .collect();
    assert_eq!(keys, extra.keys);
    for (name, expected) in &extra.roles {
        let role = root.role(name).unwrap();
        let mut keyids = role.keyids.clone();
        keyids.sort();
        assert_eq!(
            (keyids, role.threshold),
            (expected.keyids.clone(), expected.threshold)
        );
    }
    for path in ["pkcs1/a.txt", "p384/b.txt", "mixed/c.txt"] {
        assert!(
            updater.get_target_info(path).await.unwrap().is_some(),
            "{path}"
        );
    }
}

// ------------------------------------------------------------------ 5. root rotation

#[derive(Deserialize)]
struct RotationExtra {
    stage: u64,
    roles: BTreeMap<String, RoleKeys>,
    /// python-tuf's refresh from the metadata it stored at the previous stage.
    persisted_refresh_requests: Vec<String>,
}

fn assert_role_keys(updater: &TufClient, expected: &BTreeMap<String, RoleKeys>) {
    for (name, want) in expected {
        let role = updater.trusted().root().role(name).unwrap();
        let mut keyids = role.keyids.clone();
        keyids.sort();
        assert_eq!(keyids, want.keyids, "{name} keys");
        assert_eq!(role.threshold, want.threshold, "{name} threshold");
    }
}

/// python-tuf rotates the root keys (v2: new keys, threshold 2, signed by old and new; the
/// timestamp key changes too), then publishes v3 (a third root key). Our client follows each
/// stage from its stored metadata, and a fresh client follows the whole chain.
#[tokio::test]
async fn root_rotation_made_by_python_tuf() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let work = tempfile::tempdir().unwrap();
    let (meta_dir, target_dir) = (work.path().join("metadata"), work.path().join("targets"));

    let m1 = make_repo(&repo, "rotation-1");
    let server = Server::start(&repo);
    let bootstrap = bootstrap_root(&repo);
    for (stage, manifest) in [(1u64, Some(m1)), (2, None), (3, None)] {
        let m = manifest.unwrap_or_else(|| make_repo(&repo, &format!("rotation-{stage}")));
        let extra: RotationExtra = m.extra();
        assert_eq!((extra.stage, m.root_version), (stage, stage));

        // Our client that has followed every stage, like python-tuf's persisted one.
        let mut updater = client(&server, "metadata", &meta_dir, &bootstrap);
        server.take();
        updater
            .refresh()
            .await
            .unwrap_or_else(|e| panic!("stage {stage}: refresh failed: {e}"));
        let requests = server.take();
        assert_eq!(
            requests.iter().map(|r| r.path.clone()).collect::<Vec<_>>(),
            extra.persisted_refresh_requests,
            "stage {stage}: refresh requests differ from python-tuf's"
        );
        // The stored root is the trust anchor: only newer roots are asked for.
        let stored = (stage - 1).max(1);
        assert_eq!(
            requests[0].path,
            format!("metadata/{}.root.json", stored + 1)
        );
        assert_eq!(updater.trusted().root().common.version, stage);
        assert_role_keys(&updater, &extra.roles);
        assert_eq!(
            std::fs::read(meta_dir.join("root.json")).unwrap(),
            std::fs::read(repo.join(format!("metadata/{stage}.root.json"))).unwrap()
        );
        for lookup in m.lookups.iter() {
            match updater.get_target_info(&lookup.path).await.unwrap() {
                Some(info) => {
                    assert!(lookup.found, "{}", lookup.path);
                    download_and_check(&updater, lookup, &info, &target_dir).await;
                }
                None => assert!(!lookup.found, "{}", lookup.path),
            }
        }
        // Fresh clients from the version 1 root follow the whole chain, as python-tuf's do.
        let chain: Vec<String> = (2..=stage + 1)
            .map(|v| format!("metadata/{v}.root.json"))
            .collect();
        assert_eq!(m.lookups[0].refresh_requests[..chain.len()], chain[..]);
        check_lookups_like_python_tuf(&server, &repo, &m).await;
    }
}

// ------------------------------------------------------------------ 6. no consistent snapshots

/// `consistent_snapshot: false`: unversioned snapshot, targets and delegated role names,
/// targets at their plain paths (the server has nothing else).
#[tokio::test]
async fn consistent_snapshot_off() {
    let fx = Fixture::new("no-consistent");
    let m = &fx.manifest;
    assert!(!m.consistent_snapshot);
    check_lookups_like_python_tuf(&fx.server, &fx.repo(), m).await;

    let work = tempfile::tempdir().unwrap();
    let mut updater = fx.client(&work.path().join("metadata"));
    fx.server.take();
    updater.refresh().await.unwrap();
    assert!(!updater.trusted().root().consistent_snapshot);
    let manual = m.lookup("docs/manual.txt");
    let info = updater
        .get_target_info(&manual.path)
        .await
        .unwrap()
        .unwrap();
    download_and_check(&updater, manual, &info, &work.path().join("targets")).await;
    assert_eq!(
        fx.server.take_paths(),
        [
            "metadata/2.root.json",
            "metadata/timestamp.json",
            "metadata/snapshot.json",
            "metadata/targets.json",
            "metadata/docs.json",
            "targets/docs/manual.txt"
        ]
    );
}

// ------------------------------------------------------------------ 7. tampering

#[derive(Deserialize)]
struct TamperedExtra {
    cases: Vec<TamperCase>,
    evil_file: String,
}

#[derive(Deserialize)]
struct TamperCase {
    name: String,
    metadata: String,
    lookup: Option<String>,
    python_error: PythonError,
    python_requests: Vec<String>,
}

#[derive(Deserialize, Debug)]
struct PythonError {
    #[serde(rename = "type")]
    kind: String,
    message: String,
}

fn assert_unsigned(err: &TufError, expected_role: &str, case: &str) {
    match err {
        TufError::Threshold {
            role,
            valid,
            threshold,
            ..
        } => assert_eq!(
            (role.name(), *valid, *threshold),
            (expected_role, 0, 1),
            "{case}: {err}"
        ),
        other => panic!(
            "{case}: expected a signature threshold failure for {expected_role}, got: {other}"
        ),
    }
}

/// python-tuf metadata changed after signing (or signed by the wrong key) is refused as
/// python-tuf refuses it, and the forged metadata is neither stored nor acted upon.
#[tokio::test]
async fn metadata_tampered_after_signing_is_refused() {
    let fx = Fixture::new("tampered");
    let m = &fx.manifest;
    // The genuine repository works: the refusals below are the tampering's doing.
    check_lookups_like_python_tuf(&fx.server, &fx.repo(), m).await;
    let extra: TamperedExtra = m.extra();
    assert!(fx.repo().join(&extra.evil_file).is_file());
    let names: Vec<&str> = extra.cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["targets-length", "delegated-entry", "timestamp-wrong-key"]
    );
    let bootstrap = bootstrap_root(&fx.repo());

    for case in &extra.cases {
        assert_eq!(
            case.python_error.kind, "UnsignedMetadataError",
            "{}",
            case.name
        );
        let work = tempfile::tempdir().unwrap();
        let meta_dir = work.path().join("metadata");
        let mut updater = client(&fx.server, &case.metadata, &meta_dir, &bootstrap);
        fx.server.take();
        match case.name.as_str() {
            "targets-length" => {
                // targets.json now gives the attacker's payload's length and hash.
                let err = updater.refresh().await.unwrap_err();
                assert_unsigned(&err, "targets", &case.name);
                assert!(!meta_dir.join("targets.json").exists());
            }
            "timestamp-wrong-key" => {
                let err = updater.refresh().await.unwrap_err();
                assert_unsigned(&err, "timestamp", &case.name);
                assert!(!meta_dir.join("timestamp.json").exists());
            }
            "delegated-entry" => {
                updater.refresh().await.unwrap();
                assert!(updater
                    .get_target_info("payload.bin")
                    .await
                    .unwrap()
                    .is_some());
                let lookup = case.lookup.as_deref().unwrap();
                let err = updater.get_target_info(lookup).await.unwrap_err();
                assert_unsigned(&err, "sub", &case.name);
                assert!(!meta_dir.join("sub.json").exists());
            }
            other => panic!("unknown case {other}"),
        }
        let requests = fx.server.take_paths();
        assert_eq!(
            requests, case.python_requests,
            "{}: requests differ from python-tuf's (which refused: {:?})",
            case.name, case.python_error.message
        );
        assert!(requests.iter().all(|p| !p.starts_with("targets/")));

        // Refusing did not poison the client: the genuine repository still works from the
        // same metadata directory, and yields the genuine payload.
        let mut genuine = client(&fx.server, "metadata", &meta_dir, &bootstrap);
        let lookup = m.lookup("payload.bin");
        let info = genuine
            .get_target_info("payload.bin")
            .await
            .unwrap()
            .unwrap();
        download_and_check(&genuine, lookup, &info, &work.path().join("targets")).await;
        assert_eq!(lookup.content(), b"the genuine payload\n");
    }
}
