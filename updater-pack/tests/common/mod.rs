//! Shared helpers of the `updater-pack` integration tests: run the binary, fingerprint a
//! project tree, serve it, and run our client against it.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tuf_updater_core::tuf::fetch::{HttpConfig, HttpFetcher};
use tuf_updater_core::tuf::metadata::TargetFile;
use tuf_updater_core::tuf::{ClientConfig, TufClient, TufError};
use updater_pack::keys::Passphrase;
use updater_pack::ops::session::{Context, Session};
use updater_pack::Project;

/// A real S3 server (SeaweedFS) for the `publish` tests.
#[cfg(unix)]
pub mod seaweed;

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_updater-pack"))
}

/// Runs `updater-pack` with a controlled environment.
#[derive(Clone, Debug, Default)]
pub struct Pack {
    pub now: Option<String>,
    pub passphrase: Option<String>,
}

impl Pack {
    pub fn at(now: &str) -> Self {
        Pack {
            now: Some(now.to_string()),
            passphrase: None,
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin());
        cmd.args(args)
            .env_remove("UPDATER_PACK_PASSPHRASE")
            .env_remove("UPDATER_PACK_NOW")
            .env_remove("UPDATER_PACK_LOG")
            .stdin(Stdio::null());
        if let Some(now) = &self.now {
            cmd.env("UPDATER_PACK_NOW", now);
        }
        if let Some(p) = &self.passphrase {
            cmd.env("UPDATER_PACK_PASSPHRASE", p);
        }
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run updater-pack")
    }

    /// Runs and expects success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "updater-pack {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs and expects failure with exit status 1; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "updater-pack {args:?} should fail:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stderr).unwrap()
    }
}

/// Every file and directory under `dir`: relative path -> (mode, SHA-256 of content).
pub fn tree(dir: &Path) -> BTreeMap<String, (u32, String)> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, (u32, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let rel = path.strip_prefix(base).unwrap().display().to_string();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let mode = mode_of(&meta);
            if meta.is_dir() {
                out.insert(format!("{rel}/"), (mode, String::new()));
                walk(base, &path, out);
            } else {
                let data = std::fs::read(&path).unwrap();
                out.insert(rel, (mode, hex::encode(Sha256::digest(&data))));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[cfg(unix)]
pub fn mode_of(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o777
}

#[cfg(not(unix))]
pub fn mode_of(_meta: &std::fs::Metadata) -> u32 {
    0
}

/// Asserts that only the owner can read or change `path` (Unix: mode 0600 or 0700; Windows:
/// a DACL for the current user only).
pub fn assert_owner_only(path: &Path) {
    if let Err(e) = file_trust::check_owner_only(path) {
        panic!("{e}");
    }
}

/// Asserts that `f` fails with a message containing `expected` and leaves `dir` unchanged.
pub fn assert_unchanged(dir: &Path, expected: &str, f: impl FnOnce() -> String) {
    let before = tree(dir);
    let message = f();
    assert!(
        message.contains(expected),
        "expected the error to mention {expected:?}, got:\n{message}"
    );
    let after = tree(dir);
    if before != after {
        let added: Vec<_> = after.keys().filter(|k| !before.contains_key(*k)).collect();
        let removed: Vec<_> = before.keys().filter(|k| !after.contains_key(*k)).collect();
        let changed: Vec<_> = before
            .iter()
            .filter(|(k, v)| after.get(*k).is_some_and(|w| w != *v))
            .map(|(k, _)| k)
            .collect();
        panic!("the project changed: added {added:?}, removed {removed:?}, changed {changed:?}");
    }
}

/// A file of `size` pseudo-random bytes (seeded by `name`).
pub fn artifact(dir: &Path, name: &str, size: usize) -> PathBuf {
    let mut data = Vec::with_capacity(size + 32);
    let mut block = Sha256::digest(name.as_bytes()).to_vec();
    while data.len() < size {
        data.extend_from_slice(&block);
        block = Sha256::digest(&block).to_vec();
    }
    data.truncate(size);
    let path = dir.join(name);
    std::fs::write(&path, data).unwrap();
    path
}

pub fn sha256_file(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

/// `updater-pack serve` on a free port of 127.0.0.1; killed when dropped.
pub struct Served {
    child: Child,
    pub url: String,
}

impl Served {
    pub fn start(project: &Path) -> Self {
        let mut child = Command::new(bin())
            .args([
                "serve",
                project.to_str().unwrap(),
                "--addr",
                "127.0.0.1:0",
                "--quiet",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start updater-pack serve");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_string();
        Served { child, url }
    }

    pub fn metadata_url(&self) -> String {
        format!("{}metadata/", self.url)
    }

    pub fn targets_url(&self) -> String {
        format!("{}targets/", self.url)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Our client as an app runs it: trusted metadata kept in `dir` between update cycles,
/// bootstrapped from the root the app embeds.
pub struct OurClient {
    pub dir: tempfile::TempDir,
    pub embedded_root: Vec<u8>,
    pub metadata_url: String,
    pub targets_url: String,
}

impl OurClient {
    pub fn new(embedded_root: &Path, served: &Served) -> Self {
        OurClient {
            dir: tempfile::tempdir().unwrap(),
            embedded_root: std::fs::read(embedded_root).unwrap(),
            metadata_url: served.metadata_url(),
            targets_url: served.targets_url(),
        }
    }

    fn updater(&self, now: DateTime<Utc>) -> Result<TufClient, TufError> {
        let mut config = ClientConfig::new(&self.metadata_url, self.dir.path().join("metadata"));
        config.targets_url = Some(self.targets_url.clone());
        let fetcher = Arc::new(HttpFetcher::new(&HttpConfig::default()).unwrap());
        TufClient::with_time(config, fetcher, Some(&self.embedded_root), now)
    }

    /// One update cycle: refresh, then look `path` up.
    pub fn lookup(&self, now: DateTime<Utc>, path: &str) -> Result<Option<TargetFile>, TufError> {
        block_on(async {
            let mut updater = self.updater(now)?;
            updater.refresh().await?;
            updater.get_target_info(path).await
        })
    }

    /// One update cycle that downloads `path`; returns the downloaded bytes.
    pub fn download(&self, now: DateTime<Utc>, path: &str) -> Result<Vec<u8>, TufError> {
        block_on(async {
            let mut updater = self.updater(now)?;
            updater.refresh().await?;
            let info = updater
                .get_target_info(path)
                .await?
                .ok_or_else(|| TufError::TargetNotFound(path.to_string()))?;
            let local = self.dir.path().join("download");
            updater.download_target(path, &info, &local).await?;
            Ok(std::fs::read(&local).unwrap())
        })
    }

    /// The version of the root the client trusts now.
    pub fn trusted_root_version(&self) -> u64 {
        let data = std::fs::read(self.dir.path().join("metadata/root.json")).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&data).unwrap();
        v["signed"]["version"].as_u64().unwrap()
    }
}

pub fn time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Reads a metadata file of the project as JSON.
pub fn metadata(project: &Path, file: &str) -> serde_json::Value {
    let data = std::fs::read(project.join("repository/metadata").join(file)).unwrap();
    serde_json::from_slice(&data).unwrap()
}

/// The current version of a role, as the snapshot names it (root: the latest root).
pub fn current_version(project: &Path, role: &str) -> u64 {
    if role == "root" {
        let mut n = 1;
        while project
            .join(format!("repository/metadata/{}.root.json", n + 1))
            .exists()
        {
            n += 1;
        }
        return n;
    }
    let ts = metadata(project, "timestamp.json");
    if role == "timestamp" {
        return ts["signed"]["version"].as_u64().unwrap();
    }
    let snap_v = ts["signed"]["meta"]["snapshot.json"]["version"]
        .as_u64()
        .unwrap();
    if role == "snapshot" {
        return snap_v;
    }
    let snap = metadata(project, &format!("{snap_v}.snapshot.json"));
    snap["signed"]["meta"][format!("{role}.json")]["version"]
        .as_u64()
        .unwrap()
}

/// The current metadata of a role.
pub fn current(project: &Path, role: &str) -> serde_json::Value {
    if role == "timestamp" {
        return metadata(project, "timestamp.json");
    }
    let v = current_version(project, role);
    metadata(project, &format!("{v}.{role}.json"))
}

/// A fresh project made by `init` (ed25519, stable and beta), in a temporary directory. It
/// has the `channel` layout unless `init_args` name one: the commands' rules are the same in
/// both, and these tests read the channel roles directly; `tests/per_app.rs` covers what
/// the per-app layout (the default) adds.
pub struct Fixture {
    pub tmp: tempfile::TempDir,
    pub project: PathBuf,
    pub pack: Pack,
}

impl Fixture {
    pub fn new(pack: Pack, init_args: &[&str]) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let project = tmp.path().join("proj");
        let mut args = vec!["init", project.to_str().unwrap()];
        args.extend_from_slice(init_args);
        if !init_args.contains(&"--layout") {
            args.extend(["--layout", "channel"]);
        }
        pack.ok(&args);
        Fixture { tmp, project, pack }
    }

    pub fn p(&self) -> &str {
        self.project.to_str().unwrap()
    }

    pub fn artifact(&self, name: &str, size: usize) -> PathBuf {
        artifact(self.tmp.path(), name, size)
    }

    /// The arguments of `promote` of `demo VERSION` from one channel to another.
    pub fn promote_args<'a>(
        &'a self,
        version: &'a str,
        from: &'a str,
        to: &'a str,
    ) -> Vec<&'a str> {
        vec![
            "promote",
            self.p(),
            "--app",
            "demo",
            "--version",
            version,
            "--from",
            from,
            "--to",
            to,
        ]
    }

    /// `release` of `demo VERSION` for linux-x86_64 on `channel`.
    pub fn release(&self, version: &str, channel: &str) -> String {
        self.release_of("demo", version, channel)
    }

    /// `release` of `APP VERSION` for linux-x86_64 on `channel`.
    pub fn release_of(&self, app: &str, version: &str, channel: &str) -> String {
        let file = self.artifact(&format!("{app}-{version}.AppImage"), 4096);
        self.pack.ok(&[
            "release",
            self.p(),
            "--app",
            app,
            "--version",
            version,
            "--platform",
            "linux-x86_64",
            "--channel",
            channel,
            file.to_str().unwrap(),
        ])
    }

    pub fn verify(&self) -> String {
        self.pack.ok(&["verify", self.p()])
    }

    /// Changes the repository through the library at `now` (RFC 3339): `edit` changes the
    /// session's draft and stages files, then the change is signed with the project's keys
    /// and committed, as a command would.
    pub fn change(&self, now: &str, edit: impl FnOnce(&mut Session)) {
        let ctx = Context {
            now: time(now),
            expires: Vec::new(),
            passphrase: Passphrase::none(),
        };
        let mut session = Session::open(&Project::new(&self.project, None), ctx).unwrap();
        edit(&mut session);
        session.commit().unwrap();
    }
}

/// A small file of `format`'s content (its magic numbers and, for a deb or rpm, a header
/// declaring `version`), padded with pseudo-random bytes seeded by `name`: what the content
/// check of `release` recognises.
pub fn format_artifact(dir: &Path, name: &str, format: &str, version: &str) -> PathBuf {
    let filler = std::fs::read(artifact(dir, &format!("{name}.filler"), 2048)).unwrap();
    let with_head = |head: &[u8]| {
        let mut data = filler.clone();
        data.splice(..head.len(), head.iter().copied());
        data
    };
    let data = match format {
        "exe" => with_head(b"\x7fELF\x02\x01\x01\0"),
        "appimage" => with_head(b"\x7fELF\x02\x01\x01\0AI\x02"),
        "msi" => with_head(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"),
        "nsis" | "pe" => {
            let mut pe = filler.clone();
            pe[..0x80].fill(0);
            pe[..2].copy_from_slice(b"MZ");
            pe[0x3C..0x40].copy_from_slice(&0x80u32.to_le_bytes());
            pe[0x80..0x84].copy_from_slice(b"PE\0\0");
            if format == "nsis" {
                pe[516..532].copy_from_slice(b"\xEF\xBE\xAD\xDENullsoftInst");
            }
            pe
        }
        "macho" => with_head(b"\xCF\xFA\xED\xFE"),
        "deb" => synthetic_deb(version),
        "rpm" => synthetic_rpm(version),
        "app" => {
            let mut tar = tar::Builder::new(Vec::new());
            let mut header = tar::Header::new_gnu();
            header.set_size(filler.len() as u64);
            header.set_mode(0o755);
            tar.append_data(
                &mut header,
                "Demo.app/Contents/MacOS/demo",
                filler.as_slice(),
            )
            .unwrap();
            gzip(&tar.into_inner().unwrap())
        }
        other => panic!("no artifact of format {other}"),
    };
    let path = dir.join(name);
    std::fs::write(&path, data).unwrap();
    path
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

/// A Debian package (`ar`: debian-binary, control.tar.gz, data.tar.gz) of `demo` `version`.
pub fn synthetic_deb(version: &str) -> Vec<u8> {
    let control = format!("Package: demo\nVersion: {version}\nArchitecture: amd64\n");
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(control.len() as u64);
    header.set_mode(0o644);
    tar.append_data(&mut header, "./control", control.as_bytes())
        .unwrap();
    let control_tar = gzip(&tar.into_inner().unwrap());
    let data_tar = gzip(&tar::Builder::new(Vec::new()).into_inner().unwrap());
    let mut out = b"!<arch>\n".to_vec();
    for (name, data) in [
        ("debian-binary", &b"2.0\n"[..]),
        ("control.tar.gz", &control_tar),
        ("data.tar.gz", &data_tar),
    ] {
        let header = format!(
            "{name:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
            0,
            0,
            0,
            100644,
            data.len()
        );
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        if data.len() % 2 == 1 {
            out.push(b'\n');
        }
    }
    out
}

/// An RPM package of `demo` `version`: lead, empty signature header, main header with NAME,
/// VERSION, RELEASE and ARCH.
pub fn synthetic_rpm(version: &str) -> Vec<u8> {
    let mut out = b"\xED\xAB\xEE\xDB\x03\x00\x00\x00".to_vec();
    out.resize(96, 0);
    let header = |entries: &[(u32, &str)]| {
        let mut index = Vec::new();
        let mut store = Vec::new();
        for (tag, value) in entries {
            for word in [*tag, 6, store.len() as u32, 1] {
                index.extend_from_slice(&word.to_be_bytes());
            }
            store.extend_from_slice(value.as_bytes());
            store.push(0);
        }
        let mut h = b"\x8E\xAD\xE8\x01\0\0\0\0".to_vec();
        h.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        h.extend_from_slice(&(store.len() as u32).to_be_bytes());
        h.extend_from_slice(&index);
        h.extend_from_slice(&store);
        h
    };
    out.extend_from_slice(&header(&[]));
    out.resize(out.len().next_multiple_of(8), 0);
    out.extend_from_slice(&header(&[
        (1000, "demo"),
        (1001, version),
        (1002, "1"),
        (1022, "x86_64"),
    ]));
    out.extend_from_slice(b"payload");
    out
}

/// Runs python-tuf's client (tests/python_tuf_client.py) against `served`: refreshes from
/// `root` (or the metadata kept in `work`), downloads `get`, checks `absent` is not found;
/// its JSON report. Fails when python3 or python-tuf is missing; `PYTHON` picks another
/// interpreter.
pub fn python_client(
    served: &Served,
    work: &Path,
    root: Option<&Path>,
    get: &[&str],
    absent: &[&str],
) -> serde_json::Value {
    python_client_at(&served.metadata_url(), served, work, root, get, absent)
}

/// [`python_client`] for the repository whose metadata is at `metadata_url` (an app's own,
/// say), targets at the served `targets/`.
pub fn python_client_at(
    metadata_url: &str,
    served: &Served,
    work: &Path,
    root: Option<&Path>,
    get: &[&str],
    absent: &[&str],
) -> serde_json::Value {
    python_client_urls(metadata_url, &served.targets_url(), work, root, get, absent)
}

/// [`python_client`] for the repository whose metadata is at `metadata_url` and targets at
/// `targets_url` (a bucket's web endpoint, say).
pub fn python_client_urls(
    metadata_url: &str,
    targets_url: &str,
    work: &Path,
    root: Option<&Path>,
    get: &[&str],
    absent: &[&str],
) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python_tuf_client.py");
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let mut cmd = Command::new(&python);
    cmd.arg(&script)
        .args(["--metadata-url", metadata_url])
        .args(["--targets-url", targets_url])
        .args(["--metadata-dir", work.join("metadata").to_str().unwrap()])
        .args(["--download-dir", work.join("downloads").to_str().unwrap()]);
    if let Some(root) = root {
        cmd.args(["--root", root.to_str().unwrap()]);
    }
    for g in get {
        cmd.args(["--get", g]);
    }
    for a in absent {
        cmd.args(["--absent", a]);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python} (python-tuf interop needs it): {e}"));
    assert!(
        out.status.success(),
        "python-tuf client of {metadata_url} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Runs `f` to completion on a runtime of its own.
pub fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}
