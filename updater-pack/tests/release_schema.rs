//! What `updater-pack` writes and reads of a release is the release schema the client reads
//! (`tuf_updater_core::release`): platform segments with install formats, custom fields that
//! keep unknown entries, and malformed releases reported by `verify`, `status` and `promote`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeMap;

use common::*;
use semver::Version;
use serde_json::{json, Value};
use tuf_updater_core::release::{
    select, Bucket, HeldBackReason, InstallFormat, Platform, ReleasePath, SelectionInput,
};
use tuf_updater_core::tuf::metadata::TargetFile;
use updater_pack::ops::release::stored_path;
use updater_pack::txn::Phase;

const T0: &str = "2030-01-01T00:00:00Z";

/// `release` of `demo VERSION` for `platform` on `channel`, the artifact named `file`.
fn release_args<'a>(
    f: &'a Fixture,
    version: &'a str,
    platform: &'a str,
    channel: &'a str,
    artifact: &'a str,
) -> Vec<&'a str> {
    vec![
        "release",
        f.p(),
        "--app",
        "demo",
        "--version",
        version,
        "--platform",
        platform,
        "--channel",
        channel,
        artifact,
    ]
}

/// Releases `demo VERSION` for `platform` on beta, as an artifact called `file`: of the
/// platform's format if it names one (the content is checked), else pseudo-random bytes.
fn release(f: &Fixture, version: &str, platform: &str, file: &str) -> String {
    let a = artifact_for(f, version, platform, file);
    f.pack.ok(&release_args(
        f,
        version,
        platform,
        "beta",
        a.to_str().unwrap(),
    ))
}

fn artifact_for(f: &Fixture, version: &str, platform: &str, file: &str) -> std::path::PathBuf {
    match platform.parse::<tuf_updater_core::release::PlatformSegment>() {
        Ok(segment) if segment.format.is_some() => format_artifact(
            f.tmp.path(),
            file,
            segment.format.unwrap().as_str(),
            version,
        ),
        _ => f.artifact(file, 2048),
    }
}

/// The targets of a channel's current metadata, as a client parses them.
fn targets(f: &Fixture, channel: &str) -> BTreeMap<String, TargetFile> {
    let role = current(&f.project, channel);
    serde_json::from_value(role["signed"]["targets"].clone()).unwrap()
}

#[test]
fn a_release_with_a_format_is_what_the_client_selects() {
    let f = Fixture::new(Pack::at(T0), &[]);
    let out = release(
        &f,
        "1.0.0",
        "windows-x86_64-nsis",
        "Demo_1.0.0_x64-setup.exe",
    );
    let path = "beta/demo/1.0.0/windows-x86_64-nsis/Demo_1.0.0_x64-setup.exe";
    assert!(out.contains(path), "{out}");
    release(&f, "1.0.0", "linux-x86_64-appimage", "demo.AppImage");
    let targets = targets(&f, "beta");

    let mut input = SelectionInput::new(
        "demo",
        Version::new(0, 9, 0),
        Platform::WindowsX86_64,
        "beta",
        Bucket::new(0).unwrap(),
    );
    input.formats = vec![InstallFormat::Nsis];
    let selection = select(&targets, &input);
    assert!(selection.skipped.is_empty(), "{:?}", selection.skipped);
    let chosen = selection.release().expect("the NSIS release is chosen");
    assert_eq!(chosen.target_path(), path);
    assert_eq!(chosen.path.format(), Some(InstallFormat::Nsis));
    assert_eq!(chosen.path.platform(), Platform::WindowsX86_64);
    assert_eq!(chosen.version(), &Version::new(1, 0, 0));
    assert_eq!(
        chosen.fields.published.to_rfc3339(),
        "2030-01-01T00:00:00+00:00"
    );

    // An install that cannot run NSIS setups is told why it gets nothing.
    input.formats = vec![InstallFormat::Msi];
    let selection = select(&targets, &input);
    assert!(selection.release().is_none());
    assert_eq!(
        selection.held_back[0].reasons,
        [HeldBackReason::Format {
            format: InstallFormat::Nsis
        }]
    );
    f.verify();
}

#[test]
fn each_format_of_a_version_is_released_once() {
    let f = Fixture::new(Pack::at(T0), &[]);
    release(&f, "1.0.0", "linux-x86_64-appimage", "demo.AppImage");
    release(&f, "1.0.0", "linux-x86_64-deb", "demo_1.0.0_amd64.deb");
    // `exe` is a format, and a segment without one is a segment of its own.
    release(&f, "1.0.0", "linux-x86_64-exe", "demo");
    release(&f, "1.0.0", "linux-x86_64", "demo.tar.gz");
    assert_eq!(targets(&f, "beta").len(), 4);

    let again = artifact_for(
        &f,
        "1.0.0",
        "linux-x86_64-deb",
        "demo_1.0.0_amd64-rebuilt.deb",
    );
    let again = again.to_str().unwrap();
    assert_unchanged(
        &f.project,
        "demo 1.0.0 for linux-x86_64-deb is already released on beta; versions are never reused",
        || {
            f.pack.fails(&release_args(
                &f,
                "1.0.0",
                "linux-x86_64-deb",
                "beta",
                again,
            ))
        },
    );

    // promote and yank take a segment too: only that format moves or goes.
    let mut promote = f.promote_args("1.0.0", "beta", "stable");
    promote.extend(["--platform", "linux-x86_64-deb"]);
    let out = f.pack.ok(&promote);
    assert!(
        out.contains("Promoted stable/demo/1.0.0/linux-x86_64-deb/demo_1.0.0_amd64.deb"),
        "{out}"
    );
    assert_eq!(targets(&f, "stable").len(), 1);
    let mut promote = f.promote_args("1.0.0", "beta", "stable");
    promote.extend(["--platform", "linux-x86_64-appimage"]);
    f.pack.ok(&promote);
    assert_eq!(targets(&f, "stable").len(), 2);
    assert_unchanged(
        &f.project,
        "demo 1.0.0 for linux-x86_64-appimage is already released on stable",
        || f.pack.fails(&f.promote_args("1.0.0", "beta", "stable")),
    );
    f.pack.ok(&[
        "yank",
        f.p(),
        "--app",
        "demo",
        "--version",
        "1.0.0",
        "--channel",
        "beta",
        "--platform",
        "linux-x86_64-appimage",
    ]);
    let left: Vec<String> = targets(&f, "beta").into_keys().collect();
    assert_eq!(
        left,
        [
            "beta/demo/1.0.0/linux-x86_64-deb/demo_1.0.0_amd64.deb",
            "beta/demo/1.0.0/linux-x86_64-exe/demo",
            "beta/demo/1.0.0/linux-x86_64/demo.tar.gz",
        ]
    );
    let status = f.pack.ok(&["status", f.p()]);
    assert!(
        status.contains("demo 1.0.0  [linux-x86_64-deb, linux-x86_64-exe, linux-x86_64]"),
        "{status}"
    );
    f.verify();
}

#[test]
fn an_invalid_platform_or_format_names_the_rule() {
    let f = Fixture::new(Pack::at(T0), &[]);
    release(&f, "1.0.0", "linux-x86_64", "demo.AppImage");
    let a = f.artifact("x.AppImage", 100);
    let a = a.to_str().unwrap();
    let rule = "expected <os>-<arch>[-<format>] with <os>-<arch> one of linux-x86_64, \
                linux-aarch64, linux-i686, linux-armv7, darwin-x86_64, darwin-aarch64, \
                windows-x86_64, windows-aarch64, windows-i686 and format one of exe, appimage, \
                app, deb, rpm, nsis, msi";
    for bad in [
        "linux-x86_64-zip",
        "darwin-i686",
        "macos-aarch64",
        "linux-x86_64-",
    ] {
        let expected = format!("invalid platform \"{bad}\": {rule}");
        assert_unchanged(&f.project, &expected, || {
            f.pack.fails(&release_args(&f, "1.1.0", bad, "beta", a))
        });
        let mut promote = f.promote_args("1.0.0", "beta", "stable");
        promote.extend(["--platform", bad]);
        assert_unchanged(&f.project, &expected, || f.pack.fails(&promote));
        assert_unchanged(&f.project, &expected, || {
            f.pack.fails(&[
                "yank",
                f.p(),
                "--app",
                "demo",
                "--version",
                "1.0.0",
                "--channel",
                "beta",
                "--platform",
                bad,
            ])
        });
    }
}

#[test]
fn promote_keeps_unknown_custom_fields() {
    let f = Fixture::new(Pack::at(T0), &[]);
    let notes = f.tmp.path().join("notes.md");
    std::fs::write(&notes, "## 1.0.0").unwrap();
    let a = format_artifact(f.tmp.path(), "demo.AppImage", "appimage", "1.0.0");
    let mut args = release_args(
        &f,
        "1.0.0",
        "linux-x86_64-appimage",
        "beta",
        a.to_str().unwrap(),
    );
    args.extend(["--notes", notes.to_str().unwrap(), "--min-version", "0.5.0"]);
    f.pack.ok(&args);
    let path = "beta/demo/1.0.0/linux-x86_64-appimage/demo.AppImage";
    // Another tool (or a later version of this one) added fields this version does not know.
    f.change(T0, |s| {
        let beta = s.draft.channel_mut("beta").unwrap();
        let custom = beta.targets.get_mut(path).unwrap().custom.as_mut().unwrap();
        custom["x-build"] = json!({ "ci": 7, "commit": "abc123" });
        custom["x-channel-note"] = json!("from the nightly pipeline");
    });

    let later = Pack::at("2030-01-02T00:00:00Z");
    let mut args = f.promote_args("1.0.0", "beta", "stable");
    args.extend(["--rollout", "10", "--critical", "true"]);
    later.ok(&args);
    let stable = targets(&f, "stable");
    let promoted = &stable["stable/demo/1.0.0/linux-x86_64-appimage/demo.AppImage"];
    assert_eq!(
        promoted.custom.as_ref().unwrap(),
        &json!({
            "version": "1.0.0",
            "notes": "## 1.0.0",
            "published": "2030-01-02T00:00:00Z",
            "kind": "full",
            "critical": true,
            "min_version": "0.5.0",
            "rollout": { "percent": 10 },
            "x-build": { "ci": 7, "commit": "abc123" },
            "x-channel-note": "from the nightly pipeline"
        })
    );
    later.ok(&["verify", f.p()]);
}

/// Adds `path` with `custom` to `channel` through the library, its artifact stored where a
/// client fetches it, and signs the change with the repository's keys.
fn add_target(f: &Fixture, channel: &str, path: &str, custom: Value) {
    let artifact = f.artifact("bad.AppImage", 512);
    f.change(T0, |s| {
        let (staged, length, sha256) = s.txn.add_copy_unplaced(&artifact).unwrap();
        let release_path: ReleasePath = path.parse().unwrap();
        let stored = stored_path(&s.project, &release_path, &sha256);
        s.txn.place(Phase::Targets, staged, &stored);
        let mut file = TargetFile::new(length, BTreeMap::from([("sha256".into(), sha256)]));
        file.custom = Some(custom);
        s.draft
            .channel_mut(channel)
            .unwrap()
            .targets
            .insert(path.to_string(), file);
    });
}

#[test]
fn malformed_releases_are_reported_with_path_and_reason() {
    let f = Fixture::new(Pack::at(T0), &[]);
    release(&f, "1.0.0", "linux-x86_64", "demo.AppImage");
    f.verify();
    let bad = "beta/demo/1.1.0/linux-x86_64/demo.AppImage";
    add_target(
        &f,
        "beta",
        bad,
        json!({ "version": "1.1.0", "published": T0, "kind": "full",
                "rollout": { "percent": 101 } }),
    );
    let reason = "custom field \"rollout\": percent 101 is not an integer from 0 to 100";

    let err = f.pack.fails(&["verify", f.p()]);
    assert!(err.contains("1 problem(s)"), "{err}");
    assert!(
        err.contains(&format!("{bad}: not a valid release: {reason}")),
        "{err}"
    );

    let status = f.pack.ok(&["status", f.p()]);
    assert!(status.contains("beta (1 release, metadata"), "{status}");
    assert!(
        status.contains(&format!("! {bad}: not a valid release: {reason}")),
        "{status}"
    );
    assert!(
        status.contains(&format!(
            "channel beta lists {bad}, which clients skip: not a valid release: {reason}"
        )),
        "{status}"
    );
    let json: Value = serde_json::from_str(&f.pack.ok(&["status", f.p(), "--json"])).unwrap();
    assert_eq!(json["channels"][1]["malformed"][0]["path"], bad);
    assert_eq!(
        json["channels"][1]["malformed"][0]["reason"],
        format!("not a valid release: {reason}")
    );
    assert_eq!(
        f.pack
            .run(&["status", f.p(), "--fail-on-warnings"])
            .status
            .code(),
        Some(1)
    );

    assert_unchanged(
        &f.project,
        &format!("{bad} is not a valid release: {reason}"),
        || f.pack.fails(&f.promote_args("1.1.0", "beta", "stable")),
    );

    // Versions that disagree, and a release of another channel in beta's role.
    let mismatch = "beta/demo/1.2.0/linux-x86_64/demo.AppImage";
    add_target(
        &f,
        "beta",
        mismatch,
        json!({ "version": "1.2.1", "published": T0, "kind": "full" }),
    );
    let stray = "stable/demo/1.3.0/linux-x86_64/demo.AppImage";
    add_target(
        &f,
        "beta",
        stray,
        json!({ "version": "1.3.0", "published": T0, "kind": "full" }),
    );
    let err = f.pack.fails(&["verify", f.p()]);
    assert!(
        err.contains(&format!(
            "{mismatch}: not a valid release: custom version 1.2.1 differs from version 1.2.0 \
             in the target path"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{stray}: a release of channel stable listed by channel beta"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("{bad}: not a valid release: {reason}")),
        "{err}"
    );
    assert!(err.contains("4 problem(s)"), "{err}");
    let status = f.pack.ok(&["status", f.p()]);
    assert!(status.contains("beta (1 release, metadata"), "{status}");
    assert!(
        status.contains(&format!(
            "! {stray}: a release of channel stable listed by channel beta"
        )),
        "{status}"
    );
}
