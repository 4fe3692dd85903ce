//! Each `updater-pack` command, through the binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::*;
use std::path::Path;

fn key_files(project: &Path, role: &str) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(project.join("keys").join(role))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect()
}

#[test]
fn init_creates_owner_only_keys_and_signed_metadata() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("new/proj");
    let out = Pack::default().ok(&["init", project.to_str().unwrap()]);
    assert!(
        out.contains("Embed this file in your app as its trusted root"),
        "{out}"
    );
    let root = Path::new("repository").join("metadata").join("1.root.json");
    assert!(out.contains(&root.display().to_string()), "{out}");

    for role in ["root", "targets", "snapshot", "timestamp", "stable", "beta"] {
        let files = key_files(&project, role);
        assert_eq!(files.len(), 1, "{role}");
        assert_owner_only(&files[0]);
        assert_owner_only(&project.join("keys").join(role));
        let pem = std::fs::read_to_string(&files[0]).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    }
    assert_owner_only(&project.join("keys"));

    let root = metadata(&project, "1.root.json");
    assert_eq!(root["signed"]["consistent_snapshot"], true);
    assert_eq!(root["signed"]["spec_version"], "1.0.34");
    let targets = metadata(&project, "1.targets.json");
    let roles = targets["signed"]["delegations"]["roles"]
        .as_array()
        .unwrap();
    let names: Vec<&str> = roles.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["stable", "beta"]);
    assert_eq!(roles[0]["paths"][0], "stable/*/*/*/*");
    assert_eq!(roles[1]["paths"][0], "beta/*/*/*/*");
    // Each channel its own key.
    assert_ne!(roles[0]["keyids"], roles[1]["keyids"]);
    for file in [
        "1.stable.json",
        "1.beta.json",
        "1.snapshot.json",
        "timestamp.json",
    ] {
        assert!(
            project.join("repository/metadata").join(file).is_file(),
            "{file}"
        );
    }
    // Default lifetimes: root 365 d, targets and channels 90 d, snapshot 7 d, timestamp 1 d.
    let created = chrono::Utc::now();
    for (role, days) in [
        ("root", 365),
        ("targets", 90),
        ("stable", 90),
        ("snapshot", 7),
        ("timestamp", 1),
    ] {
        let m = current(&project, role);
        let expires = time(m["signed"]["expires"].as_str().unwrap());
        let diff = (expires - created).num_seconds() - days * 86_400;
        assert!(diff.abs() < 120, "{role} lifetime is off by {diff} s");
    }
    assert!(project.join("updater-pack.json").is_file());
    Fixture {
        tmp,
        project: project.clone(),
        pack: Pack::default(),
    }
    .verify();
}

#[test]
fn init_with_options() {
    let f = Fixture::new(
        Pack::default(),
        &[
            "--channels",
            "stable,beta,nightly",
            "--key-type",
            "ecdsa-p256",
            "--root-keys",
            "3",
            "--root-threshold",
            "2",
            "--expires",
            "timestamp=6h",
            "--expires",
            "nightly=7d",
        ],
    );
    let root = metadata(&f.project, "1.root.json");
    assert_eq!(
        root["signed"]["roles"]["root"]["keyids"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(root["signed"]["roles"]["root"]["threshold"], 2);
    assert_eq!(root["signatures"].as_array().unwrap().len(), 3);
    let key = root["signed"]["keys"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap();
    assert_eq!(key["scheme"], "ecdsa-sha2-nistp256");
    let ts = metadata(&f.project, "timestamp.json");
    let nightly = metadata(&f.project, "1.nightly.json");
    let snap = metadata(&f.project, "1.snapshot.json");
    let hours = |m: &serde_json::Value| {
        (time(m["signed"]["expires"].as_str().unwrap())
            - time(snap["signed"]["expires"].as_str().unwrap()))
        .num_hours()
    };
    assert_eq!(hours(&ts), 6 - 7 * 24);
    assert_eq!(hours(&nightly), 0);
    // The settings persist: later signing uses them.
    f.release("1.0.0", "nightly");
    let ts = metadata(&f.project, "timestamp.json");
    let nightly = current(&f.project, "nightly");
    let snap = current(&f.project, "snapshot");
    let lifetime = |m: &serde_json::Value| {
        (time(m["signed"]["expires"].as_str().unwrap())
            - time(snap["signed"]["expires"].as_str().unwrap()))
        .num_hours()
    };
    assert_eq!(lifetime(&ts), 6 - 7 * 24);
    assert_eq!(lifetime(&nightly), 0);
    f.verify();
}

#[test]
fn release_writes_target_custom_fields_and_resigns() {
    let f = Fixture::new(Pack::at("2030-01-01T00:00:00Z"), &[]);
    let notes = f.tmp.path().join("notes.md");
    std::fs::write(&notes, "## 1.4.0\n- faster\n").unwrap();
    let file = f.artifact("My App_1.4.0_amd64.AppImage", 10_000);
    let out = f.pack.ok(&[
        "release",
        f.p(),
        "--app",
        "demo",
        "--version",
        "1.4.0",
        "--platform",
        "linux-x86_64",
        "--channel",
        "beta",
        "--notes",
        notes.to_str().unwrap(),
        "--rollout",
        "25",
        "--min-version",
        "1.0.0",
        file.to_str().unwrap(),
    ]);
    let path = "beta/demo/1.4.0/linux-x86_64/My App_1.4.0_amd64.AppImage";
    assert!(out.contains(path), "{out}");
    let beta = current(&f.project, "beta");
    assert_eq!(beta["signed"]["version"], 2);
    let target = &beta["signed"]["targets"][path];
    assert_eq!(target["length"], 10_000);
    let sha = sha256_file(&file);
    assert_eq!(target["hashes"]["sha256"], sha.as_str());
    assert_eq!(
        target["custom"],
        serde_json::json!({
            "version": "1.4.0",
            "notes": "## 1.4.0\n- faster\n",
            "published": "2030-01-01T00:00:00Z",
            "kind": "full",
            "critical": false,
            "min_version": "1.0.0",
            "rollout": { "percent": 25 }
        })
    );
    let stored = f
        .project
        .join("repository/targets/beta/demo/1.4.0/linux-x86_64")
        .join(format!("{sha}.My App_1.4.0_amd64.AppImage"));
    assert_eq!(
        std::fs::read(&stored).unwrap(),
        std::fs::read(&file).unwrap()
    );
    assert_eq!(current_version(&f.project, "snapshot"), 2);
    assert_eq!(current_version(&f.project, "timestamp"), 2);
    // Untouched roles keep their versions.
    assert_eq!(current_version(&f.project, "stable"), 1);
    assert_eq!(current_version(&f.project, "targets"), 1);

    // Critical, another platform of the same version, a Tauri updater bundle.
    let mac = f.artifact("demo.app.tar.gz", 3000);
    f.pack.ok(&[
        "release",
        f.p(),
        "--app",
        "demo",
        "--version",
        "1.4.0",
        "--platform",
        "darwin-aarch64",
        "--channel",
        "beta",
        "--critical",
        mac.to_str().unwrap(),
    ]);
    let beta = current(&f.project, "beta");
    let mac_target = &beta["signed"]["targets"]["beta/demo/1.4.0/darwin-aarch64/demo.app.tar.gz"];
    assert_eq!(mac_target["custom"]["critical"], true);
    assert_eq!(mac_target["custom"]["rollout"]["percent"], 100);
    assert!(mac_target["custom"].get("min_version").is_none());
    f.verify();
}

#[test]
fn promote_publishes_the_same_bytes_on_another_channel() {
    let f = Fixture::new(Pack::at("2030-01-01T00:00:00Z"), &[]);
    f.release("1.0.0", "beta");
    let later = Pack::at("2030-01-02T00:00:00Z");
    let out = later.ok(&[
        "promote",
        f.p(),
        "--app",
        "demo",
        "--version",
        "1.0.0",
        "--from",
        "beta",
        "--to",
        "stable",
        "--rollout",
        "10",
    ]);
    assert!(
        out.contains("Promoted stable/demo/1.0.0/linux-x86_64/demo-1.0.0.AppImage"),
        "{out}"
    );
    let beta = current(&f.project, "beta");
    let stable = current(&f.project, "stable");
    let b = &beta["signed"]["targets"]["beta/demo/1.0.0/linux-x86_64/demo-1.0.0.AppImage"];
    let s = &stable["signed"]["targets"]["stable/demo/1.0.0/linux-x86_64/demo-1.0.0.AppImage"];
    assert_eq!(b["hashes"], s["hashes"]);
    assert_eq!(b["length"], s["length"]);
    assert_eq!(s["custom"]["published"], "2030-01-02T00:00:00Z");
    assert_eq!(s["custom"]["rollout"]["percent"], 10);
    assert_eq!(s["custom"]["version"], "1.0.0");
    // The beta role was not re-signed.
    assert_eq!(beta["signed"]["version"], 2);
    let sha = b["hashes"]["sha256"].as_str().unwrap();
    let name = format!("{sha}.demo-1.0.0.AppImage");
    let from = f
        .project
        .join("repository/targets/beta/demo/1.0.0/linux-x86_64")
        .join(&name);
    let to = f
        .project
        .join("repository/targets/stable/demo/1.0.0/linux-x86_64")
        .join(&name);
    assert_eq!(std::fs::read(&from).unwrap(), std::fs::read(&to).unwrap());
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // A hard link: no second copy of the bytes.
        assert_eq!(
            std::fs::metadata(&from).unwrap().ino(),
            std::fs::metadata(&to).unwrap().ino()
        );
    }
    later.ok(&["verify", f.p()]);
}

#[test]
fn yank_removes_a_release_and_optionally_its_files() {
    let f = Fixture::new(Pack::default(), &[]);
    f.release("1.0.0", "beta");
    f.release("1.1.0", "beta");
    let out = f.pack.ok(&[
        "yank",
        f.p(),
        "--app",
        "demo",
        "--version",
        "1.1.0",
        "--channel",
        "beta",
    ]);
    assert!(
        out.contains("Yanked beta/demo/1.1.0/linux-x86_64/demo-1.1.0.AppImage"),
        "{out}"
    );
    let beta = current(&f.project, "beta");
    let targets = beta["signed"]["targets"].as_object().unwrap();
    assert_eq!(targets.len(), 1);
    assert!(targets.contains_key("beta/demo/1.0.0/linux-x86_64/demo-1.0.0.AppImage"));
    // Files kept by default.
    let dir_110 = f.project.join("repository/targets/beta/demo/1.1.0");
    assert!(dir_110.exists());

    f.pack.ok(&[
        "yank",
        f.p(),
        "--app",
        "demo",
        "--version",
        "1.0.0",
        "--channel",
        "beta",
        "--delete-files",
    ]);
    assert!(!f
        .project
        .join("repository/targets/beta/demo/1.0.0")
        .exists());
    assert!(current(&f.project, "beta")["signed"]["targets"]
        .as_object()
        .unwrap()
        .is_empty());
    f.verify();
}

#[test]
fn timestamp_resigns_snapshot_and_timestamp_with_fresh_expiry() {
    let f = Fixture::new(Pack::at("2030-01-01T00:00:00Z"), &[]);
    let out = Pack::at("2030-01-05T12:00:00Z").ok(&["timestamp", f.p()]);
    assert!(out.contains("snapshot   v2"), "{out}");
    let ts = metadata(&f.project, "timestamp.json");
    assert_eq!(ts["signed"]["version"], 2);
    assert_eq!(ts["signed"]["expires"], "2030-01-06T12:00:00Z");
    assert_eq!(
        current(&f.project, "snapshot")["signed"]["expires"],
        "2030-01-12T12:00:00Z"
    );
    // With a one-off lifetime.
    Pack::at("2030-01-05T13:00:00Z").ok(&["timestamp", f.p(), "--expires", "timestamp=2h"]);
    assert_eq!(
        metadata(&f.project, "timestamp.json")["signed"]["expires"],
        "2030-01-05T15:00:00Z"
    );
    Pack::at("2030-01-05T14:00:00Z").ok(&["verify", f.p()]);
}

#[test]
fn rotate_every_kind_of_role() {
    let f = Fixture::new(Pack::default(), &[]);
    f.release("1.0.0", "beta");
    let root_before = key_files(&f.project, "root");

    let out = f.pack.ok(&["rotate", f.p(), "--role", "root", "--replace"]);
    assert!(out.contains("Rotated the keys of root"), "{out}");
    let root2 = metadata(&f.project, "2.root.json");
    // Signed by the old and the new root key.
    assert_eq!(root2["signatures"].as_array().unwrap().len(), 2);
    let old_id = root_before[0]
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(root2["signed"]["keys"].get(&old_id).is_none());
    assert!(f
        .project
        .join("keys/retired/root")
        .join(format!("{old_id}.pem"))
        .exists());
    f.verify();

    for role in ["timestamp", "snapshot", "targets"] {
        let before = metadata(&f.project, "2.root.json")["signed"]["roles"][role]["keyids"].clone();
        f.pack.ok(&["rotate", f.p(), "--role", role, "--replace"]);
        let root = current(&f.project, "root");
        assert_ne!(root["signed"]["roles"][role]["keyids"], before, "{role}");
        // The rotated role's new metadata is co-signed by the outgoing key.
        let m = current(&f.project, role);
        assert_eq!(m["signatures"].as_array().unwrap().len(), 2, "{role}");
        f.verify();
    }

    // A channel: the delegation in targets changes, the channel is re-signed.
    let before =
        current(&f.project, "targets")["signed"]["delegations"]["roles"][1]["keyids"].clone();
    f.pack.ok(&["rotate", f.p(), "--role", "beta", "--replace"]);
    let targets = current(&f.project, "targets");
    assert_ne!(
        targets["signed"]["delegations"]["roles"][1]["keyids"],
        before
    );
    assert_eq!(
        current(&f.project, "beta")["signatures"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    f.verify();
    // Releasing to beta uses the new key.
    f.release("1.1.0", "beta");

    // Add a key and raise the threshold; then remove one by prefix.
    f.pack.ok(&[
        "rotate",
        f.p(),
        "--role",
        "stable",
        "--add",
        "1",
        "--threshold",
        "2",
    ]);
    let stable = &current(&f.project, "targets")["signed"]["delegations"]["roles"][0];
    assert_eq!(stable["threshold"], 2);
    let ids: Vec<String> = stable["keyids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(
        current(&f.project, "stable")["signatures"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    f.pack.ok(&[
        "rotate",
        f.p(),
        "--role",
        "stable",
        "--remove",
        &ids[0][..10],
        "--threshold",
        "1",
    ]);
    let stable = &current(&f.project, "targets")["signed"]["delegations"]["roles"][0];
    assert_eq!(stable["keyids"].as_array().unwrap().len(), 1);
    f.verify();
}

#[test]
fn resign_refreshes_any_role() {
    let f = Fixture::new(Pack::at("2030-01-01T00:00:00Z"), &[]);
    let later = Pack::at("2030-03-01T00:00:00Z");
    let out = later.ok(&[
        "resign",
        f.p(),
        "--role",
        "targets",
        "--role",
        "stable",
        "--role",
        "root",
    ]);
    assert!(out.contains("root       v2"), "{out}");
    assert_eq!(
        current(&f.project, "targets")["signed"]["expires"],
        "2030-05-30T00:00:00Z"
    );
    assert_eq!(current(&f.project, "stable")["signed"]["version"], 2);
    assert_eq!(
        metadata(&f.project, "2.root.json")["signed"]["expires"],
        "2031-03-01T00:00:00Z"
    );
    later.ok(&["verify", f.p()]);
}

#[test]
fn status_shows_channels_releases_expiry_and_warnings() {
    let f = Fixture::new(Pack::at("2030-01-01T00:00:00Z"), &[]);
    f.release("1.0.0", "beta");
    Pack::at("2030-01-01T00:00:00Z").ok(&f.promote_args("1.0.0", "beta", "stable"));
    let out = Pack::at("2030-01-01T01:00:00Z").ok(&["status", f.p()]);
    assert!(out.contains("stable (1 release, metadata"), "{out}");
    assert!(out.contains("demo 1.0.0  [linux-x86_64]"), "{out}");
    assert!(out.contains("No warnings."), "{out}");
    assert!(
        out.contains("timestamp  v3    expires 2030-01-02T00:00:00Z"),
        "{out}"
    );

    // 20 hours later the timestamp (1 day) is in its last 12 hours; 80 days later the
    // targets roles are within 30 days of expiry; 2 days later the timestamp has expired.
    let out = Pack::at("2030-01-01T20:00:00Z").ok(&["status", f.p()]);
    assert!(out.contains("timestamp expires in 4 hours"), "{out}");
    let out = Pack::at("2030-03-22T00:00:00Z").ok(&["status", f.p(), "--days", "30"]);
    assert!(out.contains("targets expires in 10 days"), "{out}");
    assert!(out.contains("resign"), "{out}");
    assert!(out.contains("timestamp EXPIRED"), "{out}");
    let out = Pack::at("2030-03-22T00:00:00Z").run(&["status", f.p(), "--fail-on-warnings"]);
    assert_eq!(out.status.code(), Some(1));

    let json = Pack::at("2030-01-01T01:00:00Z").ok(&["status", f.p(), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["channels"][0]["name"], "stable");
    assert_eq!(v["channels"][1]["releases"][0]["version"], "1.0.0");
    assert_eq!(v["roles"][0]["role"], "root");
    assert!(v["warnings"].as_array().unwrap().is_empty());
}

#[test]
fn verify_finds_tampering_and_expiry() {
    let f = Fixture::new(Pack::at("2030-01-01T00:00:00Z"), &[]);
    f.release("1.0.0", "beta");
    let out = f.verify();
    assert!(out.contains("1 target file(s)"), "{out}");
    assert!(out.contains("channel beta v2: 1 target(s)"), "{out}");

    // An expired timestamp is what a client refuses.
    let err = Pack::at("2030-01-03T00:00:00Z").fails(&["verify", f.p()]);
    assert!(
        err.contains("timestamp") && err.contains("expired"),
        "{err}"
    );

    // A changed target file.
    let dir = f
        .project
        .join("repository/targets/beta/demo/1.0.0/linux-x86_64");
    let stored = dir.read_dir().unwrap().next().unwrap().unwrap().path();
    let mut data = std::fs::read(&stored).unwrap();
    data[0] ^= 1;
    std::fs::write(&stored, data).unwrap();
    let err = f.pack.fails(&["verify", f.p()]);
    assert!(
        err.contains("does not match the signed length and hashes"),
        "{err}"
    );

    // A changed channel file (signature no longer valid).
    let beta = f.project.join("repository/metadata/2.beta.json");
    let text = std::fs::read_to_string(&beta)
        .unwrap()
        .replace("\"full\"", "\"fuIl\"");
    std::fs::write(&beta, text).unwrap();
    let err = f.pack.fails(&["verify", f.p()]);
    assert!(err.contains("snapshot") || err.contains("hashes"), "{err}");
}

#[test]
fn publish_copies_in_a_safe_order_and_only_what_changed() {
    let f = Fixture::new(Pack::default(), &[]);
    f.release("1.0.0", "beta");
    let dest = f.tmp.path().join("www");
    let out = f.pack.ok(&["publish", f.p(), dest.to_str().unwrap()]);
    let order: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("  targets/") || l.starts_with("  metadata/"))
        .map(str::trim)
        .collect();
    let pos = |name: &str| order.iter().position(|l| l.ends_with(name)).unwrap();
    assert!(order[0].starts_with("targets/"), "{order:?}");
    assert!(pos("2.beta.json") < pos("1.targets.json"));
    assert!(pos("1.targets.json") < pos("2.snapshot.json"));
    assert!(pos("2.snapshot.json") < pos("timestamp.json"));
    assert!(pos("timestamp.json") < pos("1.root.json"));
    assert_eq!(tree(&dest), tree(&f.project.join("repository")));
    f.pack.ok(&["verify", dest.to_str().unwrap()]);

    // Next time only the new files.
    f.release("1.1.0", "beta");
    let out = f
        .pack
        .ok(&["publish", f.p(), dest.to_str().unwrap(), "--dry-run"]);
    assert!(out.contains("Would copy 4 file(s)"), "{out}");
    let out = f.pack.ok(&["publish", f.p(), dest.to_str().unwrap()]);
    assert!(out.contains("Copied 4 file(s)"), "{out}");
    assert_eq!(tree(&dest), tree(&f.project.join("repository")));

    // A repository that does not verify is not published.
    let ts = f.project.join("repository/metadata/timestamp.json");
    std::fs::write(&ts, b"{}").unwrap();
    let before = tree(&dest);
    let err = f.pack.fails(&["publish", f.p(), dest.to_str().unwrap()]);
    assert!(err.contains("verification failed"), "{err}");
    assert_eq!(before, tree(&dest));
}

#[test]
fn serve_answers_files_ranges_and_nothing_else() {
    let f = Fixture::new(Pack::default(), &[]);
    f.release("1.0.0", "beta");
    let served = Served::start(&f.project);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest_client();
        let get = |path: &str, range: Option<&str>| {
            let mut req = client.get(format!("{}{path}", served.url));
            if let Some(r) = range {
                req = req.header("Range", r);
            }
            req.send()
        };
        let r = get("metadata/1.root.json", None).await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.bytes().await.unwrap().to_vec(),
            std::fs::read(f.project.join("repository/metadata/1.root.json")).unwrap()
        );
        assert_eq!(
            get("metadata/99.root.json", None).await.unwrap().status(),
            404
        );
        assert_eq!(get("updater-pack.json", None).await.unwrap().status(), 404);
        assert_eq!(
            get("metadata/../../updater-pack.json", None)
                .await
                .unwrap()
                .status(),
            404
        );
        assert_eq!(
            get("metadata/%2E%2E/%2E%2E/updater-pack.json", None)
                .await
                .unwrap()
                .status(),
            404
        );
        let r = get("metadata/1.root.json", Some("bytes=10-"))
            .await
            .unwrap();
        assert_eq!(r.status(), 206);
        let body = r.bytes().await.unwrap().to_vec();
        let full = std::fs::read(f.project.join("repository/metadata/1.root.json")).unwrap();
        assert_eq!(body, full[10..].to_vec());
    });
    // Not on a public address unless asked.
    let err = f.pack.fails(&["serve", f.p(), "--addr", "0.0.0.0:0"]);
    assert!(err.contains("not a loopback address"), "{err}");
}

fn reqwest_client() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

#[test]
fn keys_can_live_outside_the_project() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("proj");
    let keys = tmp.path().join("offline-keys");
    let p = project.to_str().unwrap();
    let k = keys.to_str().unwrap();
    let pack = Pack::default();
    pack.ok(&["init", p, "--keys-dir", k]);
    assert!(!project.join("keys").exists());
    assert_owner_only(&keys.join("root"));
    let a = artifact(tmp.path(), "demo.AppImage", 100);
    let args = [
        "release",
        p,
        "--app",
        "demo",
        "--version",
        "1.0.0",
        "--platform",
        "linux-x86_64",
        "--channel",
        "beta",
        a.to_str().unwrap(),
    ];
    // Without the keys directory the beta key is missing ...
    let err = pack.fails(&args);
    assert!(err.contains("role beta needs 1 signature(s)"), "{err}");
    // ... with it, the release is signed.
    let mut with_keys = args.to_vec();
    with_keys.extend(["--keys-dir", k]);
    pack.ok(&with_keys);
    pack.ok(&["rotate", p, "--role", "root", "--replace", "--keys-dir", k]);
    assert!(keys.join("retired/root").is_dir());
    pack.ok(&["verify", p]);
}
