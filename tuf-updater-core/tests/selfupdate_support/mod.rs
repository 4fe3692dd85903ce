//! What the self-update end-to-end tests share: the `updater-pack` CLI and a repository
//! project to copy (its trusted root is what the test builds of `selfupdate` embed), the
//! example built as 1.0.0, 1.1.0 and a 1.1.0 that never confirms, a repository served over
//! HTTP by `updater-pack serve`, and an installed copy of the app.
//!
//! The builds go to the workspace's own target directory: `cargo test` releases its lock
//! before it runs the tests, and the dependencies compiled for the workspace are reused (a
//! separate target directory would compile every dependency again, minutes on two cores).
//! `SELFUPDATE_E2E_TARGET_DIR` picks another one. Kept in `<target>/selfupdate-e2e/`: the
//! repository project (while `updater-pack` can read it), so its root stays the same from
//! one run to the next, and the three builds of the example, under a fingerprint of what
//! they are built from, so that a run with nothing changed builds nothing.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::UNIX_EPOCH;

use tuf_updater_core::install::Journal;

pub const APP: &str = "selfupdate";

pub fn platform() -> &'static str {
    tuf_updater_core::Platform::current()
        .expect("a platform with release names")
        .as_str()
}

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn target_dir() -> PathBuf {
    match std::env::var_os("SELFUPDATE_E2E_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .unwrap()
            .to_path_buf(),
    }
}

/// A cargo command for a build in the workspace. Without the variables cargo sets for a
/// test process: some build scripts track them (ring reruns when `OUT_DIR` changes), and
/// a build seeing other values than the workspace build would rebuild half the
/// dependencies, and make the next workspace build do it again.
pub fn cargo_build() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into()));
    cmd.current_dir(workspace())
        .args(["build", "-q", "--locked"]);
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name == "OUT_DIR"
            || name == "CARGO_TARGET_TMPDIR"
            || name == "CARGO_CRATE_NAME"
            || name == "CARGO_PRIMARY_PACKAGE"
            || name.starts_with("CARGO_MANIFEST_")
            || name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_EXE_")
        {
            cmd.env_remove(name.as_ref());
        }
    }
    cmd
}

/// Retries `f` while the executable is busy: a file this multi-threaded test process just
/// wrote can still be open in a child that another test thread forked and that has not
/// reached its `exec` yet (ETXTBSY).
fn retry_busy<T>(mut f: impl FnMut() -> std::io::Result<T>) -> std::io::Result<T> {
    let mut tries = 0;
    loop {
        match f() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 100 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

/// `cmd.output()`, retried while the executable is busy.
pub fn output(cmd: &mut Command) -> Output {
    retry_busy(|| cmd.output()).unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
}

/// `cmd.spawn()`, retried while the executable is busy.
pub fn spawn(cmd: &mut Command) -> Child {
    retry_busy(|| cmd.spawn()).unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
}

/// Runs `cmd`, panicking with its output if it fails.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = output(cmd);
    assert!(
        out.status.success(),
        "failed ({}):\n{}\n{}\n(command: {cmd:?})",
        out.status,
        tail(&out.stdout, 30),
        tail(&out.stderr, 60)
    );
    out
}

/// The last `lines` lines of a command's output: where a failing command says why (the
/// command line itself, long with the variables it unsets, goes last).
fn tail(output: &[u8], lines: usize) -> String {
    let text = String::from_utf8_lossy(output);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// Removes the entries of `dir` named with one of `prefixes` and unchanged for `secs`.
fn remove_stale(dir: &Path, prefixes: &[&str], secs: u64) {
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() > secs);
        if stale && prefixes.iter().any(|p| name.starts_with(p)) {
            let path = entry.path();
            let _ = fs::remove_dir_all(&path).or_else(|_| fs::remove_file(&path));
        }
    }
}

/// The tools of the e2e tests, made once per test process.
pub struct Tools {
    pub pack: PathBuf,
    /// A project made by `updater-pack init` to copy; nothing released in it.
    pub template: PathBuf,
    /// Its `1.root.json`, embedded in the builds of the example.
    pub root: PathBuf,
}

/// A lock file held while the shared tools are made (other test processes wait).
pub fn with_lock<T>(dir: &Path, f: impl FnOnce() -> T) -> T {
    fs::create_dir_all(dir).unwrap();
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(".lock"))
        .unwrap();
    file.lock().unwrap();
    let out = f();
    drop(file);
    out
}

pub fn e2e_dir() -> PathBuf {
    target_dir().join("selfupdate-e2e")
}

pub fn tools() -> &'static Tools {
    static TOOLS: OnceLock<Tools> = OnceLock::new();
    TOOLS.get_or_init(|| with_lock(&e2e_dir(), make_tools))
}

fn make_tools() -> Tools {
    let target = target_dir();
    let dir = e2e_dir();
    run_ok(
        cargo_build()
            .args(["-p", "updater-pack", "--bin", "updater-pack"])
            .arg("--target-dir")
            .arg(&target),
    );
    // Copies (the workspace build may replace the binary while the tests run), one per
    // build of updater-pack; those unused for a day go.
    remove_stale(&dir, &["updater-pack-", "bins-"], 24 * 3600);
    let built = target.join("debug").join("updater-pack");
    let meta = fs::metadata(&built).unwrap();
    let stamp = meta
        .modified()
        .unwrap()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let pack = dir.join(format!("updater-pack-{:x}-{stamp:x}", meta.len()));
    if !pack.exists() {
        let tmp = dir.join("updater-pack-tmp");
        fs::copy(&built, &tmp).unwrap();
        let _ = Command::new("strip").arg(&tmp).output();
        fs::rename(&tmp, &pack).unwrap();
    }
    // The project is kept while updater-pack can read it, so that its root, and with it
    // the builds of the example, stay the same across runs.
    let template = dir.join("template");
    let usable = Command::new(&pack)
        .arg("status")
        .arg(&template)
        .output()
        .is_ok_and(|o| o.status.success());
    if !usable {
        let tmp = dir.join("template-tmp");
        let _ = fs::remove_dir_all(&tmp);
        run_ok(Command::new(&pack).arg("init").arg(&tmp).args([
            "--expires",
            "root=3650d",
            "--expires",
            "targets=3650d",
            "--expires",
            "channels=3650d",
        ]));
        let _ = fs::remove_dir_all(&template);
        fs::rename(&tmp, &template).unwrap();
    }
    let root = template.join("repository/metadata/1.root.json");
    assert!(root.is_file(), "{} missing", root.display());
    Tools {
        pack,
        template,
        root,
    }
}

/// The example, built as three versions (stripped copies; the artifacts the tests publish).
pub struct Bins {
    pub v1_0_0: PathBuf,
    pub v1_1_0: PathBuf,
    /// 1.1.0 built with SELFUPDATE_NO_CONFIRM: it never confirms itself.
    pub v1_1_0_no_confirm: PathBuf,
}

pub fn bins() -> &'static Bins {
    static BINS: OnceLock<Bins> = OnceLock::new();
    BINS.get_or_init(|| {
        let tools = tools();
        with_lock(&e2e_dir(), || make_bins(tools))
    })
}

/// What the builds of the example depend on: the sources of tuf-updater-core, the manifests,
/// the lock file and the embedded root. Equal fingerprints, equal builds (a test process
/// per test, as nextest runs them, then builds nothing).
pub fn sources_fingerprint(root: &Path) -> String {
    use sha2::{Digest, Sha256};
    fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, files);
            } else {
                files.push(path);
            }
        }
    }
    let ws = workspace();
    let core = ws.join("tuf-updater-core");
    let mut files = Vec::new();
    walk(&core.join("src"), &mut files);
    files.sort();
    files.extend([
        core.join("examples/selfupdate.rs"),
        core.join("build.rs"),
        core.join("Cargo.toml"),
        ws.join("Cargo.toml"),
        ws.join("Cargo.lock"),
        root.to_path_buf(),
    ]);
    let mut hash = Sha256::new();
    for file in files {
        hash.update(file.to_string_lossy().as_bytes());
        hash.update(fs::read(&file).unwrap_or_default());
    }
    hex::encode(hash.finalize())
}

fn make_bins(tools: &Tools) -> Bins {
    let target = target_dir();
    let key = sources_fingerprint(&tools.root);
    let out = e2e_dir().join(format!("bins-{}", &key[..16]));
    let bins = Bins {
        v1_0_0: out.join("selfupdate-1.0.0"),
        v1_1_0: out.join("selfupdate-1.1.0"),
        v1_1_0_no_confirm: out.join("selfupdate-1.1.0-no-confirm"),
    };
    if out.is_dir() {
        return bins;
    }
    let tmp = e2e_dir().join("bins-tmp");
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).unwrap();
    let build = |dest: &Path, version: &str, no_confirm: bool| {
        let mut cmd = cargo_build();
        cmd.args([
            "-p",
            "tuf-updater-core",
            "--example",
            APP,
            "--features",
            "fault-injection",
        ])
        .arg("--target-dir")
        .arg(&target)
        .env("SELFUPDATE_VERSION", version)
        .env("SELFUPDATE_ROOT", &tools.root);
        if no_confirm {
            cmd.env("SELFUPDATE_NO_CONFIRM", "1");
        } else {
            cmd.env_remove("SELFUPDATE_NO_CONFIRM");
        }
        run_ok(&mut cmd);
        let dest = tmp.join(dest.file_name().unwrap());
        fs::copy(target.join("debug/examples").join(APP), &dest).unwrap();
        // Debug info would make each artifact ten times larger; `strip` is optional.
        let _ = Command::new("strip").arg(&dest).output();
        let printed = run_ok(Command::new(&dest).arg("--version"));
        assert_eq!(
            String::from_utf8_lossy(&printed.stdout).trim(),
            format!("{APP} {version}")
        );
    };
    build(&bins.v1_0_0, "1.0.0", false);
    build(&bins.v1_1_0, "1.1.0", false);
    build(&bins.v1_1_0_no_confirm, "1.1.0", true);
    fs::rename(&tmp, &out).unwrap();
    bins
}

/// A copy of the template project, in which a test releases what it needs.
pub struct Repo {
    _dir: tempfile::TempDir,
    pub proj: PathBuf,
}

impl Repo {
    pub fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let proj = dir.path().join("proj");
        copy_dir(&tools().template, &proj);
        Repo { _dir: dir, proj }
    }

    /// `updater-pack release` of `artifact` as `selfupdate` `version` on `channel`.
    pub fn release(&self, artifact: &Path, version: &str, channel: &str, extra: &[&str]) {
        self.release_app(APP, artifact, version, channel, extra);
    }

    pub fn release_app(
        &self,
        app: &str,
        artifact: &Path,
        version: &str,
        channel: &str,
        extra: &[&str],
    ) {
        run_ok(
            Command::new(&tools().pack)
                .arg("release")
                .arg(&self.proj)
                .args(["--app", app, "--version", version, "--platform"])
                .arg(platform())
                .args(["--channel", channel, "--name", app])
                .args(extra)
                .arg(artifact),
        );
    }

    /// `updater-pack release` of `artifact` as `selfupdate` `version` on `channel`, named
    /// `name` in the repository.
    pub fn release_named(&self, artifact: &Path, version: &str, channel: &str, name: &str) {
        run_ok(
            Command::new(&tools().pack)
                .arg("release")
                .arg(&self.proj)
                .args(["--app", APP, "--version", version, "--platform"])
                .arg(platform())
                .args(["--channel", channel, "--name", name])
                .arg(artifact),
        );
    }

    pub fn repository(&self) -> PathBuf {
        self.proj.join("repository")
    }

    /// The file the server sends for a release (hash-prefixed name).
    pub fn stored_target(&self, channel: &str, version: &str) -> PathBuf {
        let dir = self
            .repository()
            .join("targets")
            .join(channel)
            .join(APP)
            .join(version);
        // The segment is `<platform>-<format>` when `release` recognised the content (an
        // executable: `-exe`), else the bare platform (an archive).
        let segments: Vec<PathBuf> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                name == platform() || name.starts_with(&format!("{}-", platform()))
            })
            .collect();
        assert_eq!(segments.len(), 1, "{segments:?}");
        // The release's file, not the patches to it stored beside it.
        let files: Vec<PathBuf> = fs::read_dir(&segments[0])
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| !p.to_string_lossy().contains(".from-"))
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        files[0].clone()
    }

    pub fn serve(&self) -> Server {
        self.serve_with(&["--quiet"], Stdio::null())
    }

    /// [`Repo::serve`], logging each request (`<status> <path> <bytes> bytes`) to `log`.
    pub fn serve_logged(&self, log: &Path) -> Server {
        self.serve_with(&[], fs::File::create(log).unwrap().into())
    }

    fn serve_with(&self, args: &[&str], stderr: Stdio) -> Server {
        let mut child = spawn(
            Command::new(&tools().pack)
                .arg("serve")
                .arg(&self.proj)
                .args(["--addr", "127.0.0.1:0"])
                .args(args)
                .stdout(Stdio::piped())
                .stderr(stderr),
        );
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.kill();
                panic!("updater-pack serve exited: {:?}", child.wait());
            };
            if let Some(rest) = line.strip_prefix("Serving ") {
                let url = rest.rsplit(" at ").next().unwrap().trim().to_string();
                break url.trim_end_matches('/').to_string();
            }
        };
        Server { child, url }
    }
}

/// `updater-pack serve`, stopped when dropped.
pub struct Server {
    child: Child,
    pub url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One run of the app.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(out: Output) -> Run {
        #[cfg(unix)]
        let signal = std::os::unix::process::ExitStatusExt::signal(&out.status);
        #[cfg(not(unix))]
        let signal = None;
        Run {
            code: out.status.code(),
            signal,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }

    /// Panics with the output unless it exited 0.
    pub fn assert_ok(&self) -> &Self {
        assert!(self.ok(), "{self:#?}");
        self
    }

    pub fn assert_failed(&self) -> &Self {
        assert_eq!(self.code, Some(1), "{self:#?}");
        self
    }

    pub fn assert_stdout(&self, needle: &str) -> &Self {
        assert!(self.stdout.contains(needle), "{needle:?} not in {self:#?}");
        self
    }

    pub fn assert_stderr(&self, needle: &str) -> &Self {
        assert!(self.stderr.contains(needle), "{needle:?} not in {self:#?}");
        self
    }
}

/// The app installed in a temporary directory: `app/selfupdate`, data in `data/`, and a
/// policy file `policy.json` (absent unless a test writes it) in place of the system one.
pub struct App {
    dir: tempfile::TempDir,
    pub exe: PathBuf,
    pub data: PathBuf,
    pub policy: PathBuf,
}

impl App {
    pub fn install(bin: &Path) -> App {
        let dir = tempfile::tempdir().unwrap();
        let app_dir = dir.path().join("app");
        fs::create_dir_all(&app_dir).unwrap();
        let exe = app_dir.join(APP);
        fs::copy(bin, &exe).unwrap();
        App {
            exe,
            data: dir.path().join("data"),
            policy: dir.path().join("policy.json"),
            dir,
        }
    }

    /// The app installed as a bundle folder `app/<bundle>` holding `files` (relative path,
    /// contents); `exe` is the path of the executable among them.
    pub fn install_bundle(bundle: &str, files: &[(String, Vec<u8>)], exe: &str) -> App {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("app").join(bundle);
        for (path, data) in files {
            let path = root.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, data).unwrap();
        }
        let exe = root.join(exe);
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&exe, fs::Permissions::from_mode(0o755)).unwrap();
        App {
            exe,
            data: dir.path().join("data"),
            policy: dir.path().join("policy.json"),
            dir,
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.exe);
        cmd.args(args)
            .env("SELFUPDATE_UPDATE_POLICY", &self.policy)
            .env("SELFUPDATE_LOG", "warn")
            .env_remove("UPDATER_CRASH_AT")
            .env_remove("APPIMAGE")
            .stdin(Stdio::null());
        cmd
    }

    pub fn update_command(&self, url: &str) -> Command {
        let mut cmd = self.command(&["update", "--repo", url, "--data-dir"]);
        cmd.arg(&self.data);
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(output(&mut self.command(args)))
    }

    pub fn update(&self, url: &str) -> Run {
        Run::from(output(&mut self.update_command(url)))
    }

    /// `selfupdate run`: a normal start (resolves the journal, confirms a new version).
    pub fn start(&self) -> Run {
        let mut cmd = self.command(&["run", "--data-dir"]);
        cmd.arg(&self.data);
        Run::from(output(&mut cmd))
    }

    /// What `selfupdate --version` says, e.g. `1.0.0`; panics unless it runs.
    pub fn version(&self) -> String {
        let run = self.run(&["--version"]);
        run.assert_ok();
        run.stdout
            .trim()
            .strip_prefix("selfupdate ")
            .unwrap_or_else(|| panic!("{run:#?}"))
            .to_string()
    }

    pub fn journal(&self) -> Option<Journal> {
        Journal::load(&self.data.join("install/journal.json")).unwrap()
    }

    /// Names in a directory of the install, sorted (empty if it does not exist).
    pub fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    pub fn app_dir(&self) -> PathBuf {
        self.exe.parent().unwrap().to_path_buf()
    }

    /// No update in progress and nothing left over: the app directory holds the app only,
    /// the install state only its lock, the downloads nothing.
    pub fn assert_clean(&self) {
        assert!(self.journal().is_none(), "{:?}", self.journal());
        assert_eq!(Self::names(&self.app_dir()), vec![APP.to_string()]);
        assert_eq!(
            Self::names(&self.data.join("install")),
            vec!["lock".to_string()]
        );
        assert_eq!(
            Self::names(&self.data.join("downloads")),
            Vec::<String>::new()
        );
    }
}

pub fn sha256(path: &Path) -> String {
    tuf_updater_core::install::sha256_file(path).unwrap()
}
