//! The shared, slow part: an `updater-pack` project (keys and repository, made with the
//! `updater_pack` library) whose `1.root.json` every build embeds, and the app built with
//! `cargo build -p demo-app` as 1.0.0, 1.1.0, 1.2.0-beta.1 and a broken 1.1.0, one after the
//! other, each copied out.
//!
//! Kept in `<target>/demo-e2e/`: the project (while it can be read, so that its root, and
//! with it the builds, stay the same from run to run), and the builds under a fingerprint of
//! what they are made from (so a run with nothing changed builds nothing). The builds go to
//! the workspace's own target directory, as `scripts/demo.sh`'s do (`DEMO_E2E_TARGET_DIR`
//! picks another): `cargo test` releases its lock before it runs the tests, and the Tauri
//! stack compiled for the workspace is reused; only the few crates whose features differ
//! without the test-only dependencies are compiled once more, and kept beside the others.
//! The next workspace build compiles the app crate again (its `DEMO_APP_*` variables
//! changed), seconds. nextest runs each test in its own process: a file lock lets the first
//! build, and the others wait and reuse.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use updater_pack::keys::Passphrase;
use updater_pack::lifetime::ExpiryPolicy;
use updater_pack::ops::init::{init, InitOptions};
use updater_pack::Project;

use super::{target_dir, workspace};

/// The app's builds (artifacts the scenarios publish and install).
pub struct Bins {
    /// The project to copy; nothing released in it.
    pub template: PathBuf,
    pub v1_0_0: PathBuf,
    pub v1_1_0: PathBuf,
    pub v1_2_0_beta_1: PathBuf,
    /// 1.1.0 built with `DEMO_APP_BROKEN=1`: exits with code 3 before its window loads.
    pub v1_1_0_broken: PathBuf,
    /// 1.0.0 and 1.1.0 as Debian packages, made by Tauri's own bundler (`tauri bundle`,
    /// from `@tauri-apps/cli` in `demo-app/node_modules`) from the builds above.
    pub deb_1_0_0: PathBuf,
    pub deb_1_1_0: PathBuf,
    /// Tauri's bundle folder (`target/debug/bundle`) as the bundling of 1.1.0 left it, its
    /// `deb/demo-app_1.1.0_amd64.deb` kept (the folder itself is the next bundling's).
    pub bundle_1_1_0: PathBuf,
}

pub fn e2e_dir() -> PathBuf {
    target_dir().join("demo-e2e")
}

pub fn bins() -> &'static Bins {
    static BINS: OnceLock<Bins> = OnceLock::new();
    BINS.get_or_init(|| with_lock(&e2e_dir(), make_bins))
}

/// Runs `f` holding `<dir>/.lock` (other test processes wait).
fn with_lock<T>(dir: &Path, f: impl FnOnce() -> T) -> T {
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

/// The project every build embeds the root of: made once, kept while it can be read.
fn template() -> PathBuf {
    let dir = e2e_dir().join("template");
    let project = Project::new(&dir, None);
    let now = updater_pack::clock::now().unwrap();
    if updater_pack::ops::status::status(&project, now, 30).is_ok() {
        return dir;
    }
    let tmp = e2e_dir().join("template-tmp");
    let _ = fs::remove_dir_all(&tmp);
    let channels = vec!["stable".to_string(), "beta".to_string()];
    // Root, targets and channels signed for long: the builds embed this root for good.
    let long: Vec<_> = ["root=3650d", "targets=3650d", "channels=3650d"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    let opts = InitOptions {
        expires: ExpiryPolicy::default()
            .with_overrides(&long, &channels)
            .unwrap(),
        channels,
        ..InitOptions::default()
    };
    init(&Project::new(&tmp, None), &opts, Passphrase::none(), now).unwrap();
    let _ = fs::remove_dir_all(&dir);
    fs::rename(&tmp, &dir).unwrap();
    dir
}

/// What the builds depend on: the sources of the app, the plugin and tuf-updater-core, the
/// manifests, the lock file and the embedded root.
fn fingerprint(root: &Path) -> String {
    use sha2::{Digest, Sha256};
    fn walk(path: &Path, files: &mut Vec<PathBuf>) {
        match fs::read_dir(path) {
            Ok(dir) => {
                for entry in dir.flatten() {
                    walk(&entry.path(), files);
                }
            }
            Err(_) => files.push(path.to_path_buf()),
        }
    }
    let ws = workspace();
    let mut files = Vec::new();
    for dir in [
        "tuf-updater-core/src",
        "tauri-plugin-tuf-updater/src",
        "tauri-plugin-tuf-updater/permissions",
        "tauri-plugin-tuf-updater/dist-js",
        "demo-app/src",
        "demo-app/ui",
        "demo-app/capabilities",
        "demo-app/icons",
    ] {
        walk(&ws.join(dir), &mut files);
    }
    files.sort();
    for file in [
        "tuf-updater-core/Cargo.toml",
        "tuf-updater-core/build.rs",
        "tauri-plugin-tuf-updater/Cargo.toml",
        "tauri-plugin-tuf-updater/build.rs",
        "demo-app/Cargo.toml",
        "demo-app/build.rs",
        "demo-app/tauri.conf.json",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        files.push(ws.join(file));
    }
    files.push(root.to_path_buf());
    let mut hash = Sha256::new();
    for file in files {
        hash.update(file.to_string_lossy().as_bytes());
        hash.update(fs::read(&file).unwrap_or_default());
    }
    hex::encode(hash.finalize())
}

/// Removes the builds of other fingerprints unused for a day.
fn remove_stale(keep: &Path) {
    for entry in fs::read_dir(e2e_dir()).unwrap().flatten() {
        let path = entry.path();
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() > 24 * 3600);
        let name = entry.file_name().to_string_lossy().into_owned();
        if old && name.starts_with("bins-") && path != keep {
            let _ = fs::remove_dir_all(&path);
        }
    }
}

/// `cargo build -p demo-app` into the e2e target directory, without the variables cargo
/// sets for a test process (build scripts may track them).
fn cargo_build(target: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.current_dir(workspace())
        .args(["build", "--locked", "-q", "-p", "demo-app", "--target-dir"])
        .arg(target);
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name == "OUT_DIR"
            || name == "CARGO_TARGET_DIR"
            || name == "CARGO_TARGET_TMPDIR"
            || name == "CARGO_CRATE_NAME"
            || name == "CARGO_PRIMARY_PACKAGE"
            || name.starts_with("CARGO_MANIFEST_")
            || name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_EXE_")
            || name.starts_with("DEMO_APP_")
        {
            cmd.env_remove(name.as_ref());
        }
    }
    cmd
}

fn make_bins() -> Bins {
    let template = template();
    let root = template.join("repository/metadata/1.root.json");
    assert!(root.is_file(), "{} missing", root.display());
    let key = fingerprint(&root);
    let out = e2e_dir().join(format!("bins-{}", &key[..16]));
    let bins = Bins {
        v1_0_0: out.join("demo-app-1.0.0"),
        v1_1_0: out.join("demo-app-1.1.0"),
        v1_2_0_beta_1: out.join("demo-app-1.2.0-beta.1"),
        v1_1_0_broken: out.join("demo-app-1.1.0-broken"),
        deb_1_0_0: out.join("demo-app_1.0.0_amd64.deb"),
        deb_1_1_0: out.join("demo-app_1.1.0_amd64.deb"),
        bundle_1_1_0: out.join("bundle-1.1.0"),
        template,
    };
    remove_stale(&out);
    // Builds kept before the bundle folder was: made again.
    if out.is_dir() && bins.bundle_1_1_0.is_dir() {
        return bins;
    }
    let target = match std::env::var_os("DEMO_E2E_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => target_dir(),
    };
    let tmp = e2e_dir().join("bins-tmp");
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).unwrap();
    for (dest, version, broken, deb) in [
        (&bins.v1_0_0, "1.0.0", false, Some(&bins.deb_1_0_0)),
        (&bins.v1_1_0, "1.1.0", false, Some(&bins.deb_1_1_0)),
        (&bins.v1_2_0_beta_1, "1.2.0-beta.1", false, None),
        (&bins.v1_1_0_broken, "1.1.0", true, None),
    ] {
        let mut cmd = cargo_build(&target);
        cmd.env("DEMO_APP_VERSION", version)
            .env("DEMO_APP_ROOT", &root);
        if broken {
            cmd.env("DEMO_APP_BROKEN", "1");
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "building demo-app {version} failed ({}):\n{}\n(command: {cmd:?})",
            out.status,
            tail(&out.stderr, 60)
        );
        let copy = tmp.join(dest.file_name().unwrap());
        fs::copy(target.join("debug").join(super::APP), &copy).unwrap();
        // Symbols would make each artifact several times larger; `strip` is optional.
        let _ = Command::new("strip").arg(&copy).output();
        if let Some(deb) = deb {
            // The bundler packs the binary it finds in the target dir: the stripped one.
            fs::copy(&copy, target.join("debug").join(super::APP)).unwrap();
            bundle_deb(&target, version, &tmp.join(deb.file_name().unwrap()));
        }
    }
    let _ = fs::remove_dir_all(&out);
    fs::rename(&tmp, &out).unwrap();
    bins
}

/// `tauri bundle --bundles deb` over the app built in `target` as `version`, the package
/// copied to `dest` and, in a bundle folder of its own, to `bundle-<version>/deb/` beside it.
fn bundle_deb(target: &Path, version: &str, dest: &Path) {
    let app_dir = workspace().join("demo-app");
    let cli = app_dir.join("node_modules/.bin/tauri");
    assert!(
        cli.is_file(),
        "Tauri's CLI is missing: run `npm ci` in demo-app (.ci/run does)"
    );
    let config =
        format!(r#"{{"version":"{version}","bundle":{{"active":true,"targets":["deb"]}}}}"#);
    let mut cmd = Command::new(&cli);
    cmd.current_dir(&app_dir)
        .args(["bundle", "--debug", "--ci", "--bundles", "deb", "--config"])
        .arg(&config)
        .env("CARGO_TARGET_DIR", target);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "bundling demo-app {version} as a deb failed ({}):\n{}\n(command: {cmd:?})",
        out.status,
        tail(&out.stderr, 60)
    );
    let deb = target
        .join("debug/bundle/deb")
        .join(dest.file_name().unwrap());
    fs::copy(&deb, dest).unwrap_or_else(|e| panic!("{}: {e}", deb.display()));
    let kept = dest
        .with_file_name(format!("bundle-{version}"))
        .join("deb")
        .join(dest.file_name().unwrap());
    fs::create_dir_all(kept.parent().unwrap()).unwrap();
    fs::copy(&deb, &kept).unwrap();
}

/// The last `lines` lines of a command's output: where a build says why it failed.
fn tail(output: &[u8], lines: usize) -> String {
    let text = String::from_utf8_lossy(output);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
