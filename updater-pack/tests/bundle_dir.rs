#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! `release --bundle-dir`: the bundle folder `tauri build` writes, laid out as Tauri lays it
//! out (`src-tauri/target/[<triple>/]<profile>/bundle/<kind>/...`, `tauri.conf.json` in
//! `src-tauri/`), published as one release in one commit: every bundle under the segment
//! its content, name or package says, or, when one fails a check, nothing.

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use common::*;

const T0: &str = "2030-01-01T00:00:00Z";

/// A Tauri app's folder: `src-tauri/tauri.conf.json` with `conf`.
fn tauri_app(f: &Fixture, name: &str, conf: &str) -> PathBuf {
    let root = f.tmp.path().join(name);
    std::fs::create_dir_all(root.join("src-tauri")).unwrap();
    std::fs::write(root.join("src-tauri/tauri.conf.json"), conf).unwrap();
    root
}

/// A file of `format` at `dest` (made aside: `format_artifact` leaves a filler file beside
/// what it makes).
fn put(f: &Fixture, dest: &Path, format: &str, version: &str) {
    let scratch = f.tmp.path().join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    let name = dest.file_name().unwrap().to_str().unwrap();
    let made = format_artifact(&scratch, name, format, version);
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    std::fs::rename(made, dest).unwrap();
}

/// What a Linux runner's `tauri build` writes for `version`: an AppImage, a deb and an rpm,
/// Tauri's signatures and working folders beside them.
fn linux_bundles(f: &Fixture, bundle: &Path, version: &str) {
    put(
        f,
        &bundle.join(format!("appimage/Demo_{version}_amd64.AppImage")),
        "appimage",
        version,
    );
    let sig = bundle.join(format!("appimage/Demo_{version}_amd64.AppImage.sig"));
    std::fs::write(sig, "signature").unwrap();
    std::fs::create_dir_all(bundle.join("appimage/demo.AppDir/usr/bin")).unwrap();
    put(
        f,
        &bundle.join(format!("deb/demo_{version}_amd64.deb")),
        "deb",
        version,
    );
    std::fs::create_dir_all(bundle.join(format!("deb/demo_{version}_amd64/data"))).unwrap();
    put(
        f,
        &bundle.join(format!("rpm/demo-{version}-1.x86_64.rpm")),
        "rpm",
        version,
    );
}

/// What a Windows runner's `tauri build` writes: an NSIS setup and an MSI.
fn windows_bundles(f: &Fixture, bundle: &Path, version: &str) {
    put(
        f,
        &bundle.join(format!("nsis/Demo_{version}_x64-setup.exe")),
        "nsis",
        version,
    );
    let sig = bundle.join(format!("nsis/Demo_{version}_x64-setup.exe.sig"));
    std::fs::write(sig, "signature").unwrap();
    put(
        f,
        &bundle.join(format!("msi/Demo_{version}_x64_en-US.msi")),
        "msi",
        version,
    );
}

const CPU_X86_64: u32 = 0x0100_0007;
const CPU_ARM64: u32 = 0x0100_000C;

/// A `.app.tar.gz` whose executable is a Mach-O of `cpus` (one: thin; two: fat).
fn mac_bundle(dest: &Path, cpus: &[u32]) {
    let mut exe = Vec::new();
    if let [cpu] = cpus {
        exe.extend_from_slice(&0xFEED_FACFu32.to_le_bytes());
        exe.extend_from_slice(&cpu.to_le_bytes());
    } else {
        exe.extend_from_slice(&0xCAFE_BABEu32.to_be_bytes());
        exe.extend_from_slice(&(cpus.len() as u32).to_be_bytes());
        for cpu in cpus {
            exe.extend_from_slice(&cpu.to_be_bytes());
            exe.extend_from_slice(&[0; 16]);
        }
    }
    exe.resize(4096, 0);
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(exe.len() as u64);
    header.set_mode(0o755);
    tar.append_data(&mut header, "Demo.app/Contents/MacOS/demo", exe.as_slice())
        .unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar.into_inner().unwrap()).unwrap();
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    std::fs::write(dest, gz.finish().unwrap()).unwrap();
}

/// What a macOS runner's `tauri build` writes: the `.app.tar.gz` the updater installs, the
/// `.app` folder it is made of and a disk image.
fn mac_bundles(bundle: &Path, version: &str, cpus: &[u32]) {
    mac_bundle(&bundle.join("macos/Demo.app.tar.gz"), cpus);
    std::fs::write(bundle.join("macos/Demo.app.tar.gz.sig"), "signature").unwrap();
    std::fs::create_dir_all(bundle.join("macos/Demo.app/Contents/MacOS")).unwrap();
    std::fs::create_dir_all(bundle.join("dmg")).unwrap();
    std::fs::write(
        bundle.join(format!("dmg/Demo_{version}_aarch64.dmg")),
        "dmg",
    )
    .unwrap();
}

/// The targets `channel` lists (the channel layout: one role per channel).
fn targets(f: &Fixture, channel: &str) -> BTreeSet<String> {
    current(&f.project, channel)["signed"]["targets"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

fn release<'a>(f: &'a Fixture, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["release", f.p(), "--channel", "beta"];
    args.extend_from_slice(extra);
    args
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn every_bundle_of_a_tauri_build_is_one_release() {
    let f = Fixture::new(Pack::at(T0), &[]);
    let app = tauri_app(&f, "app", r#"{"productName":"Demo","version":"1.2.0"}"#);
    let bundle = app.join("src-tauri/target/release/bundle");
    linux_bundles(&f, &bundle, "1.2.0");
    let before = current_version(&f.project, "beta");

    let out = f.pack.ok(&release(&f, &["--bundle-dir", s(&bundle)]));

    assert_eq!(
        targets(&f, "beta"),
        BTreeSet::from([
            "beta/demo/1.2.0/linux-x86_64-appimage/Demo_1.2.0_amd64.AppImage".to_string(),
            "beta/demo/1.2.0/linux-x86_64-deb/demo_1.2.0_amd64.deb".to_string(),
            "beta/demo/1.2.0/linux-x86_64-rpm/demo-1.2.0-1.x86_64.rpm".to_string(),
        ])
    );
    // One commit: the channel role signed once for the three.
    assert_eq!(current_version(&f.project, "beta"), before + 1);
    assert!(
        out.starts_with("Released demo 1.2.0 on beta: 3 bundle(s)\n"),
        "{out}"
    );
    assert!(out.contains("tauri.conf.json"), "{out}");
    let deb_size = std::fs::metadata(bundle.join("deb/demo_1.2.0_amd64.deb"))
        .unwrap()
        .len();
    let deb_line = out
        .lines()
        .find(|l| l.contains("linux-x86_64-deb"))
        .unwrap();
    assert!(deb_line.contains(" deb "), "{deb_line}");
    assert!(
        deb_line.contains(&format!(" {deb_size} bytes")),
        "{deb_line}"
    );
    for (skipped, why) in [
        ("Demo_1.2.0_amd64.AppImage.sig", "a signature"),
        ("demo.AppDir", "working files"),
        ("demo_1.2.0_amd64", "working files"),
    ] {
        assert!(
            out.lines()
                .any(|l| l.contains("skipped") && l.contains(skipped) && l.contains(why)),
            "{skipped}: {out}"
        );
    }
    f.verify();
}

#[test]
fn the_version_from_a_package_json_and_the_app_from_the_flag() {
    let f = Fixture::new(Pack::at(T0), &[]);
    // Tauri 2: `version` may name a package.json, relative to the configuration.
    let app = tauri_app(
        &f,
        "app",
        r#"{"productName":"My Demo","version":"../package.json"}"#,
    );
    std::fs::write(
        app.join("package.json"),
        r#"{"name":"x","version":"2.0.0"}"#,
    )
    .unwrap();
    // A workspace's target folder, beside src-tauri, and a target triple.
    let bundle = app.join("target/x86_64-pc-windows-msvc/release/bundle");
    windows_bundles(&f, &bundle, "2.0.0");

    // "my demo" is no app name: the error says to pass --app, and nothing is written.
    assert_unchanged(&f.project, "pass --app NAME, e.g. --app my-demo", || {
        f.pack.fails(&release(&f, &["--bundle-dir", s(&bundle)]))
    });
    let out = f.pack.ok(&release(
        &f,
        &["--bundle-dir", s(&bundle), "--app", "my-demo"],
    ));
    assert!(out.contains("package.json"), "{out}");
    assert_eq!(
        targets(&f, "beta"),
        BTreeSet::from([
            "beta/my-demo/2.0.0/windows-x86_64-msi/Demo_2.0.0_x64_en-US.msi".to_string(),
            "beta/my-demo/2.0.0/windows-x86_64-nsis/Demo_2.0.0_x64-setup.exe".to_string(),
        ])
    );

    // A product name that is one, lowercased; --version and --config given.
    let other = tauri_app(&f, "other", r#"{"productName":"Tool","version":"1.0.0"}"#);
    let bundle = f.tmp.path().join("elsewhere/bundle");
    linux_bundles(&f, &bundle, "3.0.0");
    let conf = other.join("src-tauri/tauri.conf.json");
    f.pack.ok(&release(
        &f,
        &[
            "--bundle-dir",
            s(&bundle),
            "--config",
            s(&conf),
            "--version",
            "3.0.0",
        ],
    ));
    assert!(targets(&f, "beta").contains("beta/tool/3.0.0/linux-x86_64-deb/demo_3.0.0_amd64.deb"));
}

#[test]
fn a_bundle_of_another_version_refuses_the_whole_release() {
    let f = Fixture::new(Pack::at(T0), &[]);
    let app = tauri_app(&f, "app", r#"{"productName":"Demo","version":"1.2.0"}"#);
    let bundle = app.join("src-tauri/target/release/bundle");
    linux_bundles(&f, &bundle, "1.2.0");
    f.release("1.0.0", "beta");

    // A leftover of an earlier build, by its name.
    let old = bundle.join("nsis/Demo_1.1.0_x64-setup.exe");
    put(&f, &old, "nsis", "1.1.0");
    assert_unchanged(&f.project, "Demo_1.1.0_x64-setup.exe", || {
        let err = f.pack.fails(&release(&f, &["--bundle-dir", s(&bundle)]));
        assert!(
            err.contains("states version 1.1.0, not the release's 1.2.0"),
            "{err}"
        );
        err
    });
    std::fs::remove_file(&old).unwrap();

    // A package declaring another version under the right name: found while the other
    // bundles are staged, and none of them is published.
    let rpm = bundle.join("rpm/demo-1.2.0-1.x86_64.rpm");
    put(&f, &rpm, "rpm", "1.1.0");
    assert_unchanged(&f.project, "demo-1.2.0-1.x86_64.rpm", || {
        let err = f.pack.fails(&release(&f, &["--bundle-dir", s(&bundle)]));
        assert!(
            err.contains("\"1.1.0\", not the release's version 1.2.0"),
            "{err}"
        );
        err
    });

    // Content of another format than its folder's.
    put(&f, &rpm, "deb", "1.2.0");
    assert_unchanged(&f.project, "its content is a Debian package", || {
        f.pack.fails(&release(&f, &["--bundle-dir", s(&bundle)]))
    });
}

#[test]
fn runners_add_their_segments_to_the_same_version() {
    let f = Fixture::new(Pack::at(T0), &[]);
    let app = tauri_app(&f, "app", r#"{"productName":"Demo","version":"1.2.0"}"#);
    let linux = app.join("src-tauri/target/release/bundle");
    linux_bundles(&f, &linux, "1.2.0");
    f.pack.ok(&release(&f, &["--bundle-dir", s(&linux)]));

    // Another runner's bundle folder, for the same version: its segments are added.
    let windows = f.tmp.path().join("windows-runner/bundle");
    windows_bundles(&f, &windows, "1.2.0");
    f.pack.ok(&release(
        &f,
        &[
            "--bundle-dir",
            s(&windows),
            "--app",
            "demo",
            "--version",
            "1.2.0",
        ],
    ));
    assert_eq!(targets(&f, "beta").len(), 5);

    // The same segments twice are refused.
    assert_unchanged(&f.project, "already released on beta", || {
        f.pack.fails(&release(&f, &["--bundle-dir", s(&linux)]))
    });

    // Several runners' folders at once: one folder holding them (as CI collects them), or
    // --bundle-dir repeated. A universal macOS bundle is published for both architectures.
    let all = f.tmp.path().join("all-bundles");
    linux_bundles(&f, &all.join("ubuntu-latest/bundle"), "1.3.0");
    windows_bundles(&f, &all.join("windows-latest/bundle"), "1.3.0");
    mac_bundles(
        &all.join("macos-latest/bundle"),
        "1.3.0",
        &[CPU_X86_64, CPU_ARM64],
    );
    let out = f.pack.ok(&release(
        &f,
        &[
            "--bundle-dir",
            s(&all),
            "--app",
            "demo",
            "--version",
            "1.3.0",
        ],
    ));
    assert!(
        out.contains("Released demo 1.3.0 on beta: 7 bundle(s)"),
        "{out}"
    );
    assert!(
        out.contains("Demo_1.3.0_aarch64.dmg: a disk image"),
        "{out}"
    );
    assert!(out.contains("Demo.app: a .app folder"), "{out}");
    let v13: BTreeSet<String> = targets(&f, "beta")
        .into_iter()
        .filter(|t| t.starts_with("beta/demo/1.3.0/"))
        .map(|t| t.split('/').nth(3).unwrap().to_string())
        .collect();
    assert_eq!(
        v13,
        BTreeSet::from(
            [
                "darwin-aarch64-app",
                "darwin-x86_64-app",
                "linux-x86_64-appimage",
                "linux-x86_64-deb",
                "linux-x86_64-rpm",
                "windows-x86_64-msi",
                "windows-x86_64-nsis",
            ]
            .map(String::from)
        )
    );

    let arm = f
        .tmp
        .path()
        .join("target/aarch64-apple-darwin/release/bundle");
    mac_bundles(&arm, "1.4.0", &[CPU_ARM64]);
    let intel = f.tmp.path().join("intel/bundle");
    mac_bundles(&intel, "1.4.0", &[CPU_X86_64]);
    f.pack.ok(&release(
        &f,
        &[
            "--bundle-dir",
            s(&arm),
            "--bundle-dir",
            s(&intel),
            "--app",
            "demo",
            "--version",
            "1.4.0",
        ],
    ));
    let targets = targets(&f, "beta");
    assert!(targets.contains("beta/demo/1.4.0/darwin-aarch64-app/Demo.app.tar.gz"));
    assert!(targets.contains("beta/demo/1.4.0/darwin-x86_64-app/Demo.app.tar.gz"));
    f.verify();
}

#[test]
fn the_per_app_layout_gets_the_release_too() {
    let f = Fixture::new(Pack::at(T0), &["--layout", "per-app"]);
    let app = tauri_app(&f, "app", r#"{"productName":"Demo","version":"1.2.0"}"#);
    let bundle = app.join("src-tauri/target/release/bundle");
    linux_bundles(&f, &bundle, "1.2.0");
    let out = f.pack.ok(&release(&f, &["--bundle-dir", s(&bundle)]));
    assert!(out.contains("3 bundle(s)"), "{out}");
    assert!(f.project.join("repository/apps/demo/metadata").is_dir());
    f.verify();
}

#[test]
fn bad_inputs_give_clear_errors() {
    let f = Fixture::new(Pack::at(T0), &[]);
    let missing = f.tmp.path().join("missing");
    assert_unchanged(&f.project, "--bundle-dir", || {
        let err = f.pack.fails(&release(&f, &["--bundle-dir", s(&missing)]));
        assert!(err.contains("no such folder"), "{err}");
        err
    });

    // Nothing the updater installs: the message says what was looked for and skipped.
    let app = tauri_app(&f, "app", r#"{"productName":"Demo","version":"1.0.0"}"#);
    let bundle = app.join("src-tauri/target/release/bundle");
    std::fs::create_dir_all(bundle.join("dmg")).unwrap();
    std::fs::write(bundle.join("dmg/Demo_1.0.0_aarch64.dmg"), "dmg").unwrap();
    assert_unchanged(&f.project, "no bundles found", || {
        let err = f.pack.fails(&release(&f, &["--bundle-dir", s(&bundle)]));
        assert!(err.contains("deb/*.deb"), "{err}");
        assert!(
            err.contains("Demo_1.0.0_aarch64.dmg (a disk image"),
            "{err}"
        );
        err
    });

    // A configuration that is not JSON, or none to be found.
    mac_bundles(&bundle, "1.0.0", &[CPU_ARM64]);
    std::fs::write(app.join("src-tauri/tauri.conf.json"), "{ version: 1 }").unwrap();
    assert_unchanged(&f.project, "not valid JSON", || {
        f.pack.fails(&release(&f, &["--bundle-dir", s(&bundle)]))
    });
    let conf = f.tmp.path().join("nowhere/tauri.conf.json");
    assert_unchanged(&f.project, "no such file", || {
        f.pack.fails(&release(
            &f,
            &["--bundle-dir", s(&bundle), "--config", s(&conf)],
        ))
    });
    let loose = f.tmp.path().join("loose/bundle");
    mac_bundles(&loose, "1.0.0", &[CPU_ARM64]);
    assert_unchanged(
        &f.project,
        "give --config PATH, or both --version and --app",
        || f.pack.fails(&release(&f, &["--bundle-dir", s(&loose)])),
    );

    // A macOS bundle whose architecture nothing tells; two bundles of one segment.
    let args = |dir: &Path| {
        vec![
            "release".to_string(),
            f.p().to_string(),
            "--channel".into(),
            "beta".into(),
            "--bundle-dir".into(),
            s(dir).to_string(),
            "--app".into(),
            "demo".into(),
            "--version".into(),
            "1.0.0".into(),
        ]
    };
    let run = |dir: &Path| {
        let args = args(dir);
        f.pack
            .fails(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let unknown = f.tmp.path().join("unknown/bundle");
    mac_bundle(&unknown.join("macos/Demo.app.tar.gz"), &[0x12]);
    assert_unchanged(&f.project, "cannot tell its architecture", || run(&unknown));
    let twice = f.tmp.path().join("twice/bundle");
    put(&f, &twice.join("deb/demo_1.0.0_amd64.deb"), "deb", "1.0.0");
    put(&f, &twice.join("deb/other_1.0.0_amd64.deb"), "deb", "1.0.0");
    assert_unchanged(&f.project, "is also a linux-x86_64-deb bundle", || {
        run(&twice)
    });

    // --bundle-dir with an artifact or --platform is a usage error.
    let out = f.pack.run(&release(
        &f,
        &[
            "--bundle-dir",
            s(&twice),
            "--platform",
            "linux-x86_64",
            "--app",
            "demo",
        ],
    ));
    assert_eq!(out.status.code(), Some(2));
}

/// Tauri writes `macos/*.app.tar.gz` only with `createUpdaterArtifacts` (and its own
/// signing key): without it, the `.app` folder is packed as the archive updates install,
/// links kept as links and executables executable.
#[cfg(unix)]
#[test]
fn a_mac_app_folder_without_its_archive_is_packed_and_released() {
    use std::os::unix::fs::PermissionsExt;
    let f = Fixture::new(Pack::at(T0), &[]);
    let app = tauri_app(&f, "app", r#"{"productName":"Demo","version":"1.3.0"}"#);
    let bundle = app.join("src-tauri/target/aarch64-apple-darwin/release/bundle");
    let contents = bundle.join("macos/Demo.app/Contents");
    std::fs::create_dir_all(contents.join("MacOS")).unwrap();
    std::fs::create_dir_all(contents.join("Frameworks/Lib.framework/Versions/A")).unwrap();
    let archive = f.tmp.path().join("made/Demo.app.tar.gz");
    mac_bundle(&archive, &[0x0100_000C]);
    // The executable of the test archive, written into the folder as the bundler would.
    let exe = contents.join("MacOS/demo");
    let mut gz = tar::Archive::new(flate2::read::GzDecoder::new(
        std::fs::File::open(&archive).unwrap(),
    ));
    let mut entry = gz.entries().unwrap().next().unwrap().unwrap();
    entry.unpack(&exe).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(contents.join("Info.plist"), "<plist/>").unwrap();
    std::os::unix::fs::symlink(
        "A",
        contents.join("Frameworks/Lib.framework/Versions/Current"),
    )
    .unwrap();

    let out = f.pack.ok(&release(&f, &["--bundle-dir", s(&bundle)]));
    assert!(out.contains("1 bundle(s)"), "{out}");
    assert!(out.contains("macos/Demo.app\n"), "{out}");
    let target = "beta/demo/1.3.0/darwin-aarch64-app/Demo.app.tar.gz";
    assert!(targets(&f, "beta").contains(target), "{out}");
    f.verify();

    // What was published: the folder's tree under Demo.app/, the link a link.
    let stored = std::fs::read_dir(
        f.project
            .join("repository/targets/beta/demo/1.3.0/darwin-aarch64-app"),
    )
    .unwrap()
    .next()
    .unwrap()
    .unwrap()
    .path();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(
        std::fs::File::open(stored).unwrap(),
    ));
    let mut seen = BTreeSet::new();
    for entry in tar.entries().unwrap() {
        let entry = entry.unwrap();
        let path = entry.path().unwrap().display().to_string();
        let header = entry.header();
        if path == "Demo.app/Contents/MacOS/demo" {
            assert_eq!(header.mode().unwrap() & 0o111, 0o111, "not executable");
        }
        if path == "Demo.app/Contents/Frameworks/Lib.framework/Versions/Current" {
            assert!(header.entry_type().is_symlink());
            assert_eq!(entry.link_name().unwrap().unwrap().to_str(), Some("A"));
        }
        seen.insert(path.trim_end_matches('/').to_string());
    }
    for want in [
        "Demo.app/Contents/MacOS/demo",
        "Demo.app/Contents/Info.plist",
        "Demo.app/Contents/Frameworks/Lib.framework/Versions/Current",
    ] {
        assert!(seen.contains(want), "{want} not in {seen:?}");
    }
}
