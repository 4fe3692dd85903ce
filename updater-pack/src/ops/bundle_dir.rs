//! The bundles `tauri build` wrote, for `release --bundle-dir`: in a bundle folder
//! (`target/[<triple>/]<profile>/bundle`), or a folder holding several (one per build
//! runner), every `appimage/*.AppImage`, `deb/*.deb`, `rpm/*.rpm`, `macos/*.app.tar.gz`,
//! `nsis/*-setup.exe` and `msi/*.msi`; everything else is skipped, with the reason.
//!
//! The platform of a bundle: its operating system from its content, its architecture from
//! the package's own field (deb `Architecture`, rpm `ARCH`), else its file name (Tauri's
//! `_amd64`, `_x86_64`, `_x64`, `_aarch64`, `universal`...), else a target triple in its
//! path (`target/aarch64-apple-darwin/release/bundle`), else, for a `.app.tar.gz`, the
//! CPU types of its main executable ([`arch`](crate::ops::arch)). A universal
//! macOS bundle is published for both `darwin-x86_64` and `darwin-aarch64`.

use std::fs;
use std::path::{Path, PathBuf};

use semver::Version;
use tuf_updater_core::files::FileError;
use tuf_updater_core::package::{self, FileKind};
use tuf_updater_core::release::{InstallFormat, Platform};

use crate::error::{PackError, Result};
use crate::ops::arch::{macos_arch, name_arch, triple_arch, Arch};

/// How deep under a `--bundle-dir` bundle folders are looked for.
pub const MAX_DEPTH: usize = 8;
/// Most files and folders looked at under the `--bundle-dir`s.
pub const MAX_ENTRIES: usize = 20_000;

/// The folders of Tauri's bundle folder that hold what updates install, and what each
/// holds.
const KINDS: [(&str, &str, InstallFormat); 6] = [
    ("appimage", ".AppImage", InstallFormat::AppImage),
    ("deb", ".deb", InstallFormat::Deb),
    ("rpm", ".rpm", InstallFormat::Rpm),
    ("macos", ".app.tar.gz", InstallFormat::App),
    ("nsis", "-setup.exe", InstallFormat::Nsis),
    ("msi", ".msi", InstallFormat::Msi),
];

/// What the bundle folders hold.
#[derive(Clone, Debug, Default)]
pub struct Found {
    pub bundles: Vec<Bundle>,
    pub skipped: Vec<Skipped>,
    /// `macos/*.app` folders with no `.app.tar.gz` beside them (Tauri writes it only with
    /// `createUpdaterArtifacts`): `release` packs them ([`crate::ops::app_archive`]).
    pub unpacked_apps: Vec<PathBuf>,
}

/// A file to publish, and the format its folder says it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bundle {
    pub path: PathBuf,
    pub format: InstallFormat,
}

/// A file or folder not published, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: String,
}

/// `appimage/*.AppImage, deb/*.deb, ...`: what is looked for.
pub fn looked_for() -> String {
    KINDS
        .iter()
        .map(|(dir, suffix, _)| format!("{dir}/*{suffix}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every bundle under `dirs`; an error if a folder is missing or there are too many
/// entries. Finding no bundle is not an error here.
pub fn find_bundles(dirs: &[PathBuf]) -> Result<Found> {
    let mut found = Found::default();
    let mut entries = 0usize;
    for dir in dirs {
        let meta = fs::metadata(dir).map_err(|e| {
            let reason = match e.kind() {
                std::io::ErrorKind::NotFound => "no such folder".to_string(),
                _ => e.to_string(),
            };
            PackError::bad_value("--bundle-dir", dir.display(), reason)
        })?;
        if !meta.is_dir() {
            return Err(PackError::bad_value(
                "--bundle-dir",
                dir.display(),
                "not a folder: give Tauri's target/<profile>/bundle folder",
            ));
        }
        let mut walk = Walk {
            found: &mut found,
            entries: &mut entries,
            root: dir,
        };
        walk.dir(dir, 0)?;
    }
    found.bundles.sort_by(|a, b| a.path.cmp(&b.path));
    found.bundles.dedup();
    found.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    found.skipped.dedup();
    found.unpacked_apps.sort();
    found.unpacked_apps.dedup();
    Ok(found)
}

struct Walk<'a> {
    found: &'a mut Found,
    entries: &'a mut usize,
    root: &'a Path,
}

impl Walk<'_> {
    /// The entries of `dir`, sorted, counted against [`MAX_ENTRIES`].
    fn entries(&mut self, dir: &Path) -> Result<Vec<(PathBuf, String, bool)>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(dir).map_err(FileError::at(dir))? {
            let entry = entry.map_err(FileError::at(dir))?;
            *self.entries += 1;
            if *self.entries > MAX_ENTRIES {
                return Err(PackError::bad_value(
                    "--bundle-dir",
                    self.root.display(),
                    format!(
                        "more than {MAX_ENTRIES} files and folders under it: give Tauri's \
                         target/<profile>/bundle folder"
                    ),
                ));
            }
            let path = entry.path();
            // A link is followed to a file, not to a folder (no loops).
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            let name = entry.file_name().to_string_lossy().into_owned();
            out.push((path, name, is_dir));
        }
        out.sort();
        Ok(out)
    }

    fn dir(&mut self, dir: &Path, depth: usize) -> Result<()> {
        let own = dir.file_name().map(|n| n.to_string_lossy().into_owned());
        if let Some(kind) = own.as_deref().and_then(kind_of) {
            return self.kind_dir(dir, kind);
        }
        for (path, name, is_dir) in self.entries(dir)? {
            if is_dir && depth < MAX_DEPTH {
                self.dir(&path, depth + 1)?;
            } else if is_dir {
                self.skip(path, "a folder deeper than updater-pack looks");
            } else if name.ends_with(".dmg") {
                self.skip(
                    path,
                    "a disk image: updates install the .app.tar.gz of macos/",
                );
            } else {
                self.skip(path, "not in a bundle folder of Tauri's");
            }
        }
        Ok(())
    }

    fn kind_dir(&mut self, dir: &Path, (kind, suffix, format): Kind) -> Result<()> {
        for (path, name, is_dir) in self.entries(dir)? {
            if is_dir && name.ends_with(".app") {
                if dir.join(format!("{name}.tar.gz")).is_file() {
                    self.skip(path, "a .app folder: its .app.tar.gz is published");
                } else if kind == "macos" {
                    self.found.unpacked_apps.push(path);
                } else {
                    self.skip(path, "a .app folder outside macos/");
                }
            } else if is_dir {
                self.skip(path, "a folder (the bundler's working files)");
            } else if name.ends_with(".sig") {
                self.skip(
                    path,
                    "a signature of Tauri's updater: the repository's metadata signs releases",
                );
            } else if name.ends_with(suffix) && name.len() > suffix.len() {
                self.found.bundles.push(Bundle { path, format });
            } else {
                self.skip(
                    path,
                    &format!("not what updates install from {kind}/ (*{suffix})"),
                );
            }
        }
        Ok(())
    }

    fn skip(&mut self, path: PathBuf, reason: &str) {
        self.found.skipped.push(Skipped {
            path,
            reason: reason.to_string(),
        });
    }
}

type Kind = (&'static str, &'static str, InstallFormat);

fn kind_of(dir_name: &str) -> Option<Kind> {
    KINDS.into_iter().find(|(dir, _, _)| *dir == dir_name)
}

/// The platforms `bundle` is published for (two for a universal macOS bundle), the
/// content checked to be its folder's format.
pub fn bundle_platforms(bundle: &Bundle) -> Result<Vec<Platform>> {
    let path = &bundle.path;
    let bad = |reason: String| PackError::BadBundle {
        path: path.clone(),
        reason,
    };
    let kind = package::file_kind(path)?;
    let Some(kind) = kind.filter(|k| k.format() == bundle.format) else {
        return Err(bad(format!(
            "its folder holds {} bundles, but its content is {}",
            bundle.format,
            kind.map_or("of no release format", FileKind::describe)
        )));
    };
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| bad("has no UTF-8 file name".into()))?;
    let field = match kind {
        FileKind::Deb => package::deb_fields(path)?.arch,
        FileKind::Rpm => package::rpm_fields(path)?.arch,
        _ => None,
    };
    let mut arch = field.as_deref().and_then(Arch::from_token);
    if arch.is_none() {
        arch = name_arch(path, name)?.or_else(|| triple_arch(path));
    }
    if arch.is_none() && kind == FileKind::AppTarGz {
        arch = macos_arch(path)?;
    }
    let arch = arch.ok_or_else(|| {
        bad(
            "cannot tell its architecture: neither its name (like Demo_1.2.0_x64-setup.exe, \
             _amd64, _aarch64, _universal) nor a target triple in its path states one; \
             rename it or build with --target"
                .into(),
        )
    })?;
    arch.names()
        .iter()
        .map(|a| {
            format!("{}-{a}", kind.os())
                .parse::<Platform>()
                .map_err(|_| {
                    bad(format!(
                        "{} for {a} is not a platform of releases",
                        kind.os()
                    ))
                })
        })
        .collect()
}

/// The version a file name states when it is not `version` (`Demo_1.1.0_amd64.deb` for
/// 1.2.0); `None` when it states `version` or none (a `.app.tar.gz` is named without).
pub fn other_name_version(name: &str, version: &Version) -> Option<String> {
    let want = version.to_string();
    let wants = [want.clone(), want.replace('-', "~")];
    let bytes = name.as_bytes();
    let mut other = None;
    for start in 0..bytes.len() {
        let after_separator = start == 0
            || bytes
                .get(start - 1)
                .is_some_and(|b| matches!(b, b'_' | b'-' | b' '));
        let Some(rest) = name.get(start..).filter(|_| after_separator) else {
            continue;
        };
        let Some(core) = version_core(rest) else {
            continue;
        };
        if wants.iter().any(|w| states(rest, w)) {
            return None;
        }
        other.get_or_insert_with(|| core.to_string());
    }
    other
}

/// `1.2.3` at the start of `s`.
fn version_core(s: &str) -> Option<&str> {
    let mut end = 0;
    for part in 0..3 {
        let digits = s.get(end..)?.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        end += digits;
        if part < 2 {
            if s.as_bytes().get(end) != Some(&b'.') {
                return None;
            }
            end += 1;
        }
    }
    s.get(..end)
}

/// Whether `s` starts with the version `want`, whole: followed by nothing, `_`, a space,
/// an RPM release (`-1`) or an extension (`.x86_64`), not by more of a version.
fn states(s: &str, want: &str) -> bool {
    let Some(rest) = s.strip_prefix(want) else {
        return false;
    };
    let mut chars = rest.chars();
    match chars.next() {
        None | Some('_' | ' ') => true,
        Some('-') => chars.next().is_some_and(|c| c.is_ascii_digit()),
        Some('.') => !chars.next().is_some_and(|c| c.is_ascii_digit()),
        Some(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_in_tauri_file_names() {
        let v = Version::parse("1.2.0").unwrap();
        for ok in [
            "Demo_1.2.0_amd64.AppImage",
            "demo_1.2.0_amd64.deb",
            "demo-1.2.0-1.x86_64.rpm",
            "Demo_1.2.0_x64-setup.exe",
            "Demo_1.2.0_x64_en-US.msi",
            "Demo.app.tar.gz",
            "Demo 2_1.2.0_x64-setup.exe",
        ] {
            assert_eq!(other_name_version(ok, &v), None, "{ok}");
        }
        for (bad, found) in [
            ("Demo_1.1.0_amd64.AppImage", "1.1.0"),
            ("demo-1.2.1-1.x86_64.rpm", "1.2.1"),
            ("Demo_1.2.0-beta.1_x64-setup.exe", "1.2.0"),
            ("Demo_1.2.0.1_x64_en-US.msi", "1.2.0"),
            ("Demo_1.2.00_x64.msi", "1.2.00"),
        ] {
            assert_eq!(other_name_version(bad, &v).as_deref(), Some(found), "{bad}");
        }
        let pre = Version::parse("1.2.0-beta.1").unwrap();
        assert_eq!(
            other_name_version("Demo_1.2.0-beta.1_x64-setup.exe", &pre),
            None
        );
        assert_eq!(
            other_name_version("demo-1.2.0~beta.1-1.x86_64.rpm", &pre),
            None
        );
    }
}
