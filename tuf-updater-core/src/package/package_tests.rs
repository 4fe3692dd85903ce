//! Tests of [`package`](super) on real files made by the tools that make them (`dpkg-deb`,
//! `rpmbuild`, `makensis`, `msibuild`) and on hostile ones built by hand.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;
use crate::release::InstallFormat;

/// Runs a tool the tests need; fails, naming the Debian package, when it is not installed.
fn run(tool: &str, package: &str, args: &[&str], dir: &Path) {
    let out = Command::new(tool)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {tool} ({e}): install the Debian package `{package}` (scripts/install-deps.sh --test)")
        });
    assert!(
        out.status.success(),
        "{tool} {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

const CONTROL: &str = "Package: demo-app\nVersion: 1:1.2.0-1\nArchitecture: amd64\n\
Maintainer: Demo <demo@example.com>\nDescription: a demo\n multi-line\n";

/// A `.deb` made by `dpkg-deb` with the control tar compressed by `compression`.
fn real_deb(dir: &Path, compression: &str) -> PathBuf {
    let root = dir.join(format!("pkg-{compression}"));
    fs::create_dir_all(root.join("DEBIAN")).unwrap();
    fs::create_dir_all(root.join("usr/bin")).unwrap();
    fs::write(root.join("DEBIAN/control"), CONTROL).unwrap();
    fs::write(root.join("usr/bin/demo-app"), b"#!/bin/sh\n").unwrap();
    let out = dir.join(format!("demo-{compression}.deb"));
    let z = format!("-Z{compression}");
    let args = [
        "--root-owner-group",
        &z,
        "--build",
        root.to_str().unwrap(),
        out.to_str().unwrap(),
    ];
    run("dpkg-deb", "dpkg", &args, dir);
    out
}

fn real_rpm(dir: &Path) -> PathBuf {
    let spec = dir.join("demo.spec");
    fs::write(
        &spec,
        "Name: demo-app\nVersion: 1.2.0\nRelease: 3\nSummary: demo\nLicense: MIT\n\
         BuildArch: noarch\n%description\ndemo\n%files\n",
    )
    .unwrap();
    let top = format!("_topdir {}", dir.join("rpmbuild").display());
    let args = [
        "-bb",
        "--nodeps",
        "--define",
        &top,
        "--quiet",
        spec.to_str().unwrap(),
    ];
    run("rpmbuild", "rpm", &args, dir);
    dir.join("rpmbuild/RPMS/noarch/demo-app-1.2.0-3.noarch.rpm")
}

fn real_nsis(dir: &Path) -> PathBuf {
    fs::write(
        dir.join("setup.nsi"),
        "Name \"Demo\"\nOutFile \"setup.exe\"\nRequestExecutionLevel user\nSection\nSectionEnd\n",
    )
    .unwrap();
    run("makensis", "nsis", &["-V1", "setup.nsi"], dir);
    dir.join("setup.exe")
}

/// A PE without an NSIS header: NSIS's own stub (the setup program before its data).
fn plain_pe() -> PathBuf {
    let stub = PathBuf::from("/usr/share/nsis/Stubs/zlib-x86-unicode");
    assert!(
        stub.is_file(),
        "{} is missing: install the Debian package `nsis`",
        stub.display()
    );
    stub
}

fn real_msi(dir: &Path) -> PathBuf {
    let guid = "{12345678-1234-1234-1234-123456789012}";
    let args = ["demo.msi", "-s", "Demo", "Demo Inc", "Intel;1033", guid];
    run("msibuild", "msitools", &args, dir);
    dir.join("demo.msi")
}

/// A gzip of a tar of `entries` (path, contents; a path ending in `/` is a directory).
fn tar_gz(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data) in entries {
        let mut header = tar::Header::new_gnu();
        if path.ends_with('/') {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_size(0);
        } else {
            header.set_size(data.len() as u64);
        }
        header.set_mode(0o755);
        header.set_cksum();
        builder.append_data(&mut header, path, *data).unwrap();
    }
    gzip(&builder.into_inner().unwrap())
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

/// An `ar` archive of `members` (name, data), as dpkg-deb writes it.
fn ar(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = b"!<arch>\n".to_vec();
    for (name, data) in members {
        let header = format!(
            "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
            name,
            0,
            0,
            0,
            100644,
            data.len()
        );
        assert_eq!(header.len(), 60);
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        if data.len() % 2 == 1 {
            out.push(b'\n');
        }
    }
    out
}

fn sniffed(path: &Path) -> Option<InstallFormat> {
    sniff_file(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn real_packages_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for z in ["gzip", "xz", "zstd", "none"] {
        assert_eq!(sniffed(&real_deb(d, z)), Some(InstallFormat::Deb), "{z}");
    }
    assert_eq!(sniffed(&real_rpm(d)), Some(InstallFormat::Rpm));
    assert_eq!(sniffed(&real_nsis(d)), Some(InstallFormat::Nsis));
    assert_eq!(sniffed(&plain_pe()), Some(InstallFormat::Exe));
    assert_eq!(sniffed(&real_msi(d)), Some(InstallFormat::Msi));

    let exe = std::env::current_exe().unwrap();
    assert_eq!(sniffed(&exe), Some(InstallFormat::Exe));
    let mut image = fs::read(&exe).unwrap();
    for kind in [2u8, 1] {
        image[8..11].copy_from_slice(&[b'A', b'I', kind]);
        let path = d.join(format!("demo-{kind}.AppImage"));
        fs::write(&path, &image).unwrap();
        assert_eq!(sniffed(&path), Some(InstallFormat::AppImage), "type {kind}");
    }
    image[8..11].copy_from_slice(b"AI\x03");
    assert_eq!(sniff_bytes(&image).unwrap(), Some(InstallFormat::Exe));
}

#[test]
fn mach_o_thin_and_fat_are_executables() {
    let mut thin = vec![0u8; 64];
    for magic in [
        [0xFE, 0xED, 0xFA, 0xCE],
        [0xFE, 0xED, 0xFA, 0xCF],
        [0xCE, 0xFA, 0xED, 0xFE],
        [0xCF, 0xFA, 0xED, 0xFE],
    ] {
        thin[..4].copy_from_slice(&magic);
        assert_eq!(
            sniff_bytes(&thin).unwrap(),
            Some(InstallFormat::Exe),
            "{magic:x?}"
        );
    }
    // Universal: two architectures.
    let fat = [0xCA, 0xFE, 0xBA, 0xBE, 0, 0, 0, 2, 1, 0, 0, 7];
    assert_eq!(sniff_bytes(&fat).unwrap(), Some(InstallFormat::Exe));
    // A Java class file (version 52) starts with the same magic.
    let class = [0xCA, 0xFE, 0xBA, 0xBE, 0, 0, 0, 52, 0, 0];
    assert_eq!(sniff_bytes(&class).unwrap(), None);
}

#[test]
fn an_app_tar_gz_is_one_app_directory() {
    let app = tar_gz(&[
        ("Demo.app/", b""),
        ("Demo.app/Contents/", b""),
        ("Demo.app/Contents/MacOS/demo", b"\xCF\xFA\xED\xFE"),
        ("Demo.app/Contents/Info.plist", b"<plist/>"),
    ]);
    assert_eq!(sniff_bytes(&app).unwrap(), Some(InstallFormat::App));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Demo.app.tar.gz");
    fs::write(&path, &app).unwrap();
    assert_eq!(sniffed(&path), Some(InstallFormat::App));
    let dotted = tar_gz(&[("./Demo.app/Contents/MacOS/demo", b"x")]);
    assert_eq!(sniff_bytes(&dotted).unwrap(), Some(InstallFormat::App));

    let two = tar_gz(&[("Demo.app/a", b"x"), ("Other.app/b", b"y")]);
    let stray = tar_gz(&[("Demo.app/a", b"x"), ("README", b"y")]);
    let not_app = tar_gz(&[("demo/bin/demo", b"x")]);
    let bare = tar_gz(&[(".app/x", b"x")]);
    let gz_not_tar = gzip(b"just some text, not a tar archive at all");
    for (what, data) in [
        ("two apps", two),
        ("stray file", stray),
        ("no .app", not_app),
        ("bare .app", bare),
        ("not a tar", gz_not_tar),
    ] {
        assert_eq!(sniff_bytes(&data).unwrap(), None, "{what}");
    }
}

#[test]
fn unknown_content_is_none() {
    for data in [
        &b""[..],
        b"#!/bin/sh\necho hi\n",
        b"MZ",
        b"\x7fEL",
        b"!<arch>\nnot-debian     ",
        // MZ whose PE offset points past the end.
        &[
            b'M', b'Z', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x7F,
        ],
    ] {
        assert_eq!(sniff_bytes(data).unwrap(), None, "{data:?}");
    }
    let err = sniff_file(Path::new("/nonexistent/demo.deb")).unwrap_err();
    assert!(
        err.to_string().starts_with("/nonexistent/demo.deb: "),
        "{err}"
    );
}

#[test]
fn nsis_header_must_be_block_aligned() {
    let mut pe = vec![0u8; 4096];
    pe[..2].copy_from_slice(b"MZ");
    pe[0x3C..0x40].copy_from_slice(&0x80u32.to_le_bytes());
    pe[0x80..0x84].copy_from_slice(b"PE\0\0");
    let signature = b"\xEF\xBE\xAD\xDENullsoftInst";
    let mut misaligned = pe.clone();
    misaligned[1030..1046].copy_from_slice(signature);
    assert_eq!(sniff_bytes(&misaligned).unwrap(), Some(InstallFormat::Exe));
    pe[1024 + 4..1024 + 20].copy_from_slice(signature);
    assert_eq!(sniff_bytes(&pe).unwrap(), Some(InstallFormat::Nsis));
}

#[test]
fn a_gzip_bomb_is_refused_not_decompressed() {
    // 200 MiB of zeros in a tar entry: about 200 KiB compressed.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut header = tar::Header::new_gnu();
    header.set_size(200 << 20);
    header.set_path("Demo.app/zeros").unwrap();
    header.set_cksum();
    gz.write_all(header.as_bytes()).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..200 {
        gz.write_all(&zeros).unwrap();
    }
    let bomb = gz.finish().unwrap();
    let err = sniff_bytes(&bomb).unwrap_err();
    assert!(matches!(err, PackageError::TooLarge { .. }), "{err}");
    assert!(
        err.to_string().contains("decompressed tar is larger than"),
        "{err}"
    );

    // Cut short: the gzip stream ends in the middle.
    let whole = tar_gz(&[("Demo.app/a", &[7u8; 5000])]);
    let err = sniff_bytes(&whole[..whole.len() / 2]).unwrap_err();
    assert!(matches!(err, PackageError::Malformed { .. }), "{err}");
}

#[test]
fn deb_fields_come_from_every_control_compression() {
    let dir = tempfile::tempdir().unwrap();
    for z in ["gzip", "xz", "zstd", "none"] {
        let deb = real_deb(dir.path(), z);
        let fields = deb_fields(&deb).unwrap_or_else(|e| panic!("{z}: {e}"));
        assert_eq!(
            fields,
            PackageFields {
                name: "demo-app".into(),
                version: "1:1.2.0-1".into(),
                release: None,
                arch: Some("amd64".into()),
            },
            "{z}"
        );
        assert_eq!(deb_fields_bytes(&fs::read(&deb).unwrap()).unwrap(), fields);
    }
}

#[test]
fn rpm_fields_come_from_the_main_header() {
    let dir = tempfile::tempdir().unwrap();
    let rpm = real_rpm(dir.path());
    let fields = rpm_fields(&rpm).unwrap();
    assert_eq!(
        fields,
        PackageFields {
            name: "demo-app".into(),
            version: "1.2.0".into(),
            release: Some("3".into()),
            arch: Some("noarch".into()),
        }
    );
    // The other parser refuses it, naming the file.
    let err = deb_fields(&rpm).unwrap_err();
    assert!(
        err.to_string()
            .contains("not a valid Debian package: not an ar archive"),
        "{err}"
    );
    assert!(
        err.to_string().starts_with(&rpm.display().to_string()),
        "{err}"
    );
}

/// Every prefix of a real package (a truncated download) is an error, never a panic.
#[test]
fn truncated_packages_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let deb = fs::read(real_deb(dir.path(), "xz")).unwrap();
    let rpm = fs::read(real_rpm(dir.path())).unwrap();
    // Up to the end of control.tar.xz, an error; past it (data.tar cut), the fields.
    let whole = deb_fields_bytes(&deb).unwrap();
    let mut first_ok = None;
    for cut in (0..deb.len()).step_by(7) {
        match deb_fields_bytes(&deb[..cut]) {
            Ok(fields) => {
                assert_eq!(fields, whole);
                first_ok.get_or_insert(cut);
            }
            Err(e) => assert!(
                first_ok.is_none(),
                "deb cut at {cut} after an earlier success: {e}"
            ),
        }
        let _ = sniff_bytes(&deb[..cut]).unwrap();
    }
    assert!(
        first_ok.is_some_and(|cut| cut > 8 + 60 + 4 + 60 + 100),
        "{first_ok:?}"
    );
    // The fields are in the main header; past it, the payload is not read.
    let header_end = 4096.min(rpm.len());
    for cut in (0..header_end).step_by(3) {
        let _ = rpm_fields_bytes(&rpm[..cut]);
        let _ = sniff_bytes(&rpm[..cut]).unwrap();
    }
    let err = rpm_fields_bytes(&rpm[..200]).unwrap_err();
    assert!(
        err.to_string().contains("past the end of the file"),
        "{err}"
    );
}

#[test]
fn hostile_debs_are_refused_clearly() {
    let control = |text: &str| {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(text.len() as u64);
        h.set_cksum();
        b.append_data(&mut h, "./control", text.as_bytes()).unwrap();
        gzip(&b.into_inner().unwrap())
    };
    let good = control("Package: demo\nVersion: 2.0.0\n");
    let fields = deb_fields_bytes(&ar(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar.gz", &good),
    ]))
    .unwrap();
    assert_eq!(
        (fields.name.as_str(), fields.version.as_str(), fields.arch),
        ("demo", "2.0.0", None)
    );

    let reason = |data: &[u8]| deb_fields_bytes(data).unwrap_err().to_string();
    let no_control = ar(&[("debian-binary", b"2.0\n"), ("data.tar.gz", &good)]);
    assert!(
        reason(&no_control).ends_with("no control.tar member"),
        "{}",
        reason(&no_control)
    );
    let mut past_end = ar(&[("debian-binary", b"2.0\n"), ("control.tar.gz", &good)]);
    let at = 8 + 60 + 4 + 48;
    past_end[at..at + 10].copy_from_slice(b"9999999999");
    assert!(
        reason(&past_end).contains("past the end of the file"),
        "{}",
        reason(&past_end)
    );
    let no_version = ar(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar.gz", &control("Package: demo\n")),
    ]);
    assert!(reason(&no_version).ends_with("the control file has no Version field"));
    let huge = "Package: demo\nVersion: 1\nDescription: x\n".to_string() + &" y\n".repeat(600_000);
    let huge = ar(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar.gz", &control(&huge)),
    ]);
    let err = deb_fields_bytes(&huge).unwrap_err();
    assert!(matches!(err, PackageError::TooLarge { .. }), "{err}");
    let mut bomb = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for _ in 0..32 {
        bomb.write_all(&vec![0u8; 1 << 20]).unwrap();
    }
    let bomb = ar(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar.gz", &bomb.finish().unwrap()),
    ]);
    let err = deb_fields_bytes(&bomb).unwrap_err();
    assert!(err.to_string().contains("control.tar"), "{err}");
    let odd = ar(&[("debian-binary", b"2.0\n"), ("control.tar.lz4", b"x")]);
    assert!(
        reason(&odd).contains("unknown compression"),
        "{}",
        reason(&odd)
    );
}

#[test]
fn hostile_rpm_headers_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let rpm = fs::read(real_rpm(dir.path())).unwrap();
    let mut huge_index = rpm.clone();
    huge_index[96 + 8..96 + 12].copy_from_slice(&0x7FFF_FFFFu32.to_be_bytes());
    let err = rpm_fields_bytes(&huge_index).unwrap_err();
    assert!(matches!(err, PackageError::TooLarge { .. }), "{err}");
    let mut huge_store = rpm.clone();
    huge_store[96 + 12..96 + 16].copy_from_slice(&0x7FFF_FFFFu32.to_be_bytes());
    assert!(matches!(
        rpm_fields_bytes(&huge_store).unwrap_err(),
        PackageError::TooLarge { .. }
    ));
    let mut no_magic = rpm.clone();
    no_magic[96] = 0;
    let err = rpm_fields_bytes(&no_magic).unwrap_err();
    assert!(
        err.to_string()
            .contains("signature header at offset 96 has no header magic"),
        "{err}"
    );
    // Every index entry's offset pointing far past the store.
    let main = main_header_offset(&rpm);
    let count = u32::from_be_bytes(rpm[main + 8..main + 12].try_into().unwrap()) as usize;
    let mut wild = rpm.clone();
    for i in 0..count {
        let at = main + 16 + i * 16 + 8;
        wild[at..at + 4].copy_from_slice(&0xFFFF_FF00u32.to_be_bytes());
    }
    let err = rpm_fields_bytes(&wild).unwrap_err();
    assert!(err.to_string().contains("past its header's data"), "{err}");
}

fn main_header_offset(rpm: &[u8]) -> usize {
    let be = |at: usize| u32::from_be_bytes(rpm[at..at + 4].try_into().unwrap()) as usize;
    let sig_end = 96 + 16 + be(96 + 8) * 16 + be(96 + 12);
    sig_end.next_multiple_of(8)
}
