//! `release` checks an artifact's content (`tuf_updater_core::package`): a platform segment
//! that names a format gets a file of that format, on its operating system, and a deb or rpm
//! declaring the release's version; a segment without a format gets the one the content has,
//! and content of no known format is published as before, without one. Every refusal leaves
//! the repository as it was.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::path::{Path, PathBuf};

use common::*;

const T0: &str = "2030-01-01T00:00:00Z";

fn release_args<'a>(
    f: &'a Fixture,
    version: &'a str,
    platform: &'a str,
    artifact: &'a Path,
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
        "beta",
        artifact.to_str().unwrap(),
    ]
}

fn made(f: &Fixture, name: &str, format: &str, version: &str) -> PathBuf {
    format_artifact(f.tmp.path(), name, format, version)
}

#[test]
fn the_format_is_inferred_from_the_content() {
    let f = Fixture::new(Pack::at(T0), &[]);
    // A real ELF executable: updater-pack itself.
    let elf = f.tmp.path().join("demo");
    std::fs::copy(bin(), &elf).unwrap();
    let out = f.pack.ok(&release_args(&f, "1.0.0", "linux-x86_64", &elf));
    assert!(
        out.contains("Released beta/demo/1.0.0/linux-x86_64-exe/demo\n"),
        "{out}"
    );
    assert!(
        out.contains("format exe inferred from the content (an ELF executable)"),
        "{out}"
    );

    for (platform, name, format, target) in [
        (
            "linux-x86_64",
            "demo.AppImage",
            "appimage",
            "linux-x86_64-appimage",
        ),
        (
            "linux-x86_64",
            "demo_1.0.0_amd64.deb",
            "deb",
            "linux-x86_64-deb",
        ),
        (
            "linux-x86_64",
            "demo-1.0.0-1.x86_64.rpm",
            "rpm",
            "linux-x86_64-rpm",
        ),
        (
            "windows-x86_64",
            "Demo_1.0.0_x64-setup.exe",
            "nsis",
            "windows-x86_64-nsis",
        ),
        ("windows-x86_64", "Demo.exe", "pe", "windows-x86_64-exe"),
        (
            "windows-x86_64",
            "Demo_1.0.0_x64_en-US.msi",
            "msi",
            "windows-x86_64-msi",
        ),
        (
            "darwin-aarch64",
            "Demo.app.tar.gz",
            "app",
            "darwin-aarch64-app",
        ),
        ("darwin-aarch64", "demo-mac", "macho", "darwin-aarch64-exe"),
    ] {
        let a = made(&f, name, format, "1.0.0");
        let out = f.pack.ok(&release_args(&f, "1.0.0", platform, &a));
        let path = format!("Released beta/demo/1.0.0/{target}/{name}\n");
        assert!(out.contains(&path), "{format}: {out}");
        assert!(out.contains("inferred from the content"), "{out}");
    }
    // Named and right: nothing to infer, nothing said.
    let a = made(&f, "demo.AppImage", "appimage", "1.1.0");
    let out = f
        .pack
        .ok(&release_args(&f, "1.1.0", "linux-x86_64-appimage", &a));
    assert!(out.contains("linux-x86_64-appimage/demo.AppImage"), "{out}");
    assert!(!out.contains("inferred"), "{out}");
    f.verify();
}

#[test]
fn unrecognised_content_keeps_the_plain_segment() {
    let f = Fixture::new(Pack::at(T0), &[]);
    let a = f.artifact("demo.tar.zst", 4096);
    let out = f.pack.ok(&release_args(&f, "1.0.0", "linux-x86_64", &a));
    assert!(
        out.contains("Released beta/demo/1.0.0/linux-x86_64/demo.tar.zst\n"),
        "{out}"
    );
    assert!(
        out.contains("content of no known release format: published without a format in its platform segment (linux-x86_64)"),
        "{out}"
    );
    f.verify();
}

#[test]
fn content_of_another_format_is_refused() {
    let f = Fixture::new(Pack::at(T0), &[]);
    let elf = made(&f, "demo", "exe", "1.0.0");
    let image = made(&f, "demo.AppImage", "appimage", "1.0.0");
    let deb = made(&f, "demo.deb", "deb", "1.0.0");
    let random = f.artifact("demo.bin", 1024);
    for (platform, artifact, content) in [
        ("linux-x86_64-deb", &elf, "an ELF executable"),
        ("linux-x86_64-exe", &image, "an AppImage"),
        ("linux-x86_64-appimage", &elf, "an ELF executable"),
        ("linux-x86_64-rpm", &deb, "a Debian package"),
        (
            "linux-x86_64-appimage",
            &random,
            "of none of the release formats (exe, appimage, app, deb, rpm, nsis, msi)",
        ),
    ] {
        let expected = format!(
            "artifact {} is published as {platform} but its content is {content}",
            artifact.display()
        );
        assert_unchanged(&f.project, &expected, || {
            f.pack.fails(&release_args(&f, "1.0.0", platform, artifact))
        });
    }
}

#[test]
fn content_for_another_os_is_refused() {
    let f = Fixture::new(Pack::at(T0), &[]);
    for (platform, format, content) in [
        ("windows-x86_64", "exe", "an ELF executable"),
        ("darwin-aarch64", "appimage", "an AppImage"),
        ("darwin-x86_64", "deb", "a Debian package"),
        ("windows-x86_64", "rpm", "an RPM package"),
        ("linux-x86_64", "pe", "a Windows (PE) executable"),
        ("darwin-aarch64", "nsis", "an NSIS setup"),
        ("linux-x86_64", "msi", "a Windows Installer package (MSI)"),
        ("linux-x86_64", "macho", "a Mach-O executable"),
        ("windows-x86_64", "app", "a macOS .app bundle in a .tar.gz"),
    ] {
        let a = made(&f, &format!("demo-{format}"), format, "1.0.0");
        let expected = format!(
            "artifact {} is {content}, which does not run on {platform}",
            a.display()
        );
        assert_unchanged(&f.project, &expected, || {
            f.pack.fails(&release_args(&f, "1.0.0", platform, &a))
        });
    }
}

#[test]
fn a_package_declares_the_release_version() {
    let f = Fixture::new(Pack::at(T0), &[]);
    let deb = made(&f, "demo_1.0.1_amd64.deb", "deb", "1.0.1");
    let expected = format!(
        "artifact {}: the Debian package's Version is \"1.0.1\", not the release's version 1.0.0",
        deb.display()
    );
    for platform in ["linux-x86_64", "linux-x86_64-deb"] {
        assert_unchanged(&f.project, &expected, || {
            f.pack.fails(&release_args(&f, "1.0.0", platform, &deb))
        });
    }
    let rpm = made(&f, "demo-1.0.1.rpm", "rpm", "1.0.1");
    let expected = format!(
        "artifact {}: the RPM package's VERSION is \"1.0.1\", not the release's version 1.0.0",
        rpm.display()
    );
    assert_unchanged(&f.project, &expected, || {
        f.pack
            .fails(&release_args(&f, "1.0.0", "linux-x86_64-rpm", &rpm))
    });
    // An epoch and a Debian revision are not the version.
    let deb = made(&f, "demo_1.0.0-3_amd64.deb", "deb", "2:1.0.0-3");
    f.pack
        .ok(&release_args(&f, "1.0.0", "linux-x86_64-deb", &deb));
    // A package that cannot be read is refused with what is wrong with it.
    let broken = f.tmp.path().join("broken.deb");
    let whole = synthetic_deb("1.1.0");
    std::fs::write(&broken, &whole[..100]).unwrap();
    let expected = format!(
        "artifact {}: not a valid Debian package: ",
        broken.display()
    );
    assert_unchanged(&f.project, &expected, || {
        f.pack
            .fails(&release_args(&f, "1.1.0", "linux-x86_64", &broken))
    });
}
