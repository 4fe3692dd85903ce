//! The release format of a file, from its first bytes (and, for an NSIS setup, its first
//! header; for a `.app.tar.gz`, the names in its tar).

use std::fs;
use std::io::{Cursor, Read, Seek};
use std::path::{Component, Path};

use flate2::read::GzDecoder;

use super::error::PackageError;
use super::io::{read_full, CappedReader, Source, IN_MEMORY};
use crate::files::FileError;
use crate::release::InstallFormat;

/// How far into a PE file the first header of an NSIS setup is looked for. NSIS puts it
/// right after its stub (about 100 KiB), and itself looks no further than the file.
pub const NSIS_SCAN_LIMIT: u64 = 64 * 1024 * 1024;

/// Largest tar a `.tar.gz` may decompress to when its entries are listed.
const MAX_TAR: u64 = 8 * 1024 * 1024 * 1024;
/// Up to this much, a `.tar.gz` may decompress to any size under [`MAX_TAR`]; beyond, at
/// most [`MAX_RATIO`] times its compressed size: a bundle compresses a few times, a
/// gzip bomb a thousand.
const RATIO_FREE: u64 = 64 * 1024 * 1024;
const MAX_RATIO: u64 = 64;

/// The first header of an NSIS setup (`firstheader` in NSIS's exehead): flags, then this
/// signature, at a 512-byte boundary.
const NSIS_SIGNATURE: &[u8; 16] = b"\xEF\xBE\xAD\xDENullsoftInst";
const NSIS_ALIGN: usize = 512;

const ELF: &[u8] = b"\x7fELF";
const OLE: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
const AR: &[u8] = b"!<arch>\n";
const RPM: &[u8] = b"\xED\xAB\xEE\xDB";
const GZIP: &[u8] = b"\x1F\x8B";

/// What a file is, a little finer than its [`InstallFormat`]: which kind of executable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileKind {
    /// A Linux ELF executable (not an AppImage).
    Elf,
    /// An AppImage: an ELF executable with the AppImage magic.
    AppImage,
    /// A macOS Mach-O executable (thin or universal).
    MachO,
    /// A Windows PE executable that is not an NSIS setup.
    Pe,
    /// An NSIS setup program (a PE with an NSIS header).
    Nsis,
    /// A Windows Installer package (an OLE compound file).
    Msi,
    /// A Debian package (an `ar` archive).
    Deb,
    /// An RPM package.
    Rpm,
    /// A `.tar.gz` of one `*.app` directory.
    AppTarGz,
}

impl FileKind {
    /// How a release of this kind is installed.
    pub fn format(self) -> InstallFormat {
        match self {
            FileKind::Elf | FileKind::MachO | FileKind::Pe => InstallFormat::Exe,
            FileKind::AppImage => InstallFormat::AppImage,
            FileKind::Nsis => InstallFormat::Nsis,
            FileKind::Msi => InstallFormat::Msi,
            FileKind::Deb => InstallFormat::Deb,
            FileKind::Rpm => InstallFormat::Rpm,
            FileKind::AppTarGz => InstallFormat::App,
        }
    }

    /// The operating system it is for, as platforms name it: `linux`, `darwin` or
    /// `windows`.
    pub fn os(self) -> &'static str {
        match self {
            FileKind::Elf | FileKind::AppImage | FileKind::Deb | FileKind::Rpm => "linux",
            FileKind::MachO | FileKind::AppTarGz => "darwin",
            FileKind::Pe | FileKind::Nsis | FileKind::Msi => "windows",
        }
    }

    /// What it is, in words: `an ELF executable`, `a Debian package`.
    pub fn describe(self) -> &'static str {
        match self {
            FileKind::Elf => "an ELF executable",
            FileKind::AppImage => "an AppImage",
            FileKind::MachO => "a Mach-O executable",
            FileKind::Pe => "a Windows (PE) executable",
            FileKind::Nsis => "an NSIS setup",
            FileKind::Msi => "a Windows Installer package (MSI)",
            FileKind::Deb => "a Debian package",
            FileKind::Rpm => "an RPM package",
            FileKind::AppTarGz => "a macOS .app bundle in a .tar.gz",
        }
    }
}

/// The format of the file at `path` from its content; `None` when it is none of
/// [`InstallFormat`]'s.
///
/// ELF: `Exe`, or `AppImage` when it has the AppImage magic (`AI` and the type, 1 or 2, at
/// offset 8). Mach-O, thin or fat: `Exe`. PE: `Exe`, or `Nsis` when it carries an NSIS
/// first header within [`NSIS_SCAN_LIMIT`]. OLE compound file: `Msi`. `ar` archive whose first
/// member is `debian-binary`: `Deb`. RPM lead: `Rpm`. gzip of a tar whose entries are all
/// under one `*.app` directory: `App`.
pub fn sniff_file(path: &Path) -> Result<Option<InstallFormat>, PackageError> {
    Ok(file_kind(path)?.map(FileKind::format))
}

/// [`sniff_file`] of bytes in memory.
pub fn sniff_bytes(data: &[u8]) -> Result<Option<InstallFormat>, PackageError> {
    Ok(bytes_kind(data)?.map(FileKind::format))
}

/// The [`FileKind`] of the file at `path`, as [`sniff_file`] tells it.
pub fn file_kind(path: &Path) -> Result<Option<FileKind>, PackageError> {
    let file = fs::File::open(path).map_err(FileError::at(path))?;
    sniff(Source::new(std::io::BufReader::new(file), path)?)
}

/// [`file_kind`] of bytes in memory.
pub fn bytes_kind(data: &[u8]) -> Result<Option<FileKind>, PackageError> {
    sniff(Source::new(Cursor::new(data), Path::new(IN_MEMORY))?)
}

fn sniff<R: Read + Seek>(mut src: Source<R>) -> Result<Option<FileKind>, PackageError> {
    let mut head = [0u8; 76];
    let n = src.read_at(0, &mut head)?;
    let head = head.get(..n).unwrap_or_default();
    if head.starts_with(ELF) {
        let appimage = matches!(head.get(8..11), Some(b"AI\x01" | b"AI\x02"));
        return Ok(Some(if appimage {
            FileKind::AppImage
        } else {
            FileKind::Elf
        }));
    }
    if is_mach_o(head) {
        return Ok(Some(FileKind::MachO));
    }
    if head.starts_with(b"MZ") {
        return pe(&mut src, head);
    }
    if head.starts_with(OLE) {
        return Ok(Some(FileKind::Msi));
    }
    if head.starts_with(AR) {
        // The first member's name, 16 bytes after the global header; GNU ar ends it with `/`.
        let name = head.get(8..24).unwrap_or_default();
        return Ok((trim_ar_name(name) == b"debian-binary").then_some(FileKind::Deb));
    }
    if head.starts_with(RPM) {
        return Ok(Some(FileKind::Rpm));
    }
    if head.starts_with(GZIP) {
        return app_tar_gz(&mut src);
    }
    Ok(None)
}

/// An `ar` member name without its padding and GNU's trailing `/`.
pub(super) fn trim_ar_name(name: &[u8]) -> &[u8] {
    let end = name.iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1);
    let name = name.get(..end).unwrap_or_default();
    name.strip_suffix(b"/").unwrap_or(name)
}

/// Thin Mach-O (32 or 64 bits, either byte order) or fat (universal). A Java class file
/// also starts with `CAFEBABE`; its next word is its version (45 or more), where a fat
/// Mach-O has its number of architectures (a handful).
fn is_mach_o(head: &[u8]) -> bool {
    let Some(magic) = head.get(..4) else {
        return false;
    };
    match magic {
        b"\xFE\xED\xFA\xCE" | b"\xFE\xED\xFA\xCF" | b"\xCE\xFA\xED\xFE" | b"\xCF\xFA\xED\xFE" => {
            true
        }
        b"\xCA\xFE\xBA\xBE" | b"\xCA\xFE\xBA\xBF" => head
            .get(4..8)
            .and_then(|w| <[u8; 4]>::try_from(w).ok())
            .is_some_and(|w| (1..45).contains(&u32::from_be_bytes(w))),
        _ => false,
    }
}

/// A file starting with `MZ`: a PE if `PE\0\0` is where its DOS header says; then an NSIS
/// setup if it carries the NSIS first header.
fn pe<R: Read + Seek>(src: &mut Source<R>, head: &[u8]) -> Result<Option<FileKind>, PackageError> {
    let Some(lfanew) = head
        .get(0x3C..0x40)
        .and_then(|w| <[u8; 4]>::try_from(w).ok())
        .map(u32::from_le_bytes)
    else {
        return Ok(None);
    };
    let mut signature = [0u8; 4];
    if src.read_at(u64::from(lfanew), &mut signature)? < 4 || &signature != b"PE\0\0" {
        return Ok(None);
    }
    Ok(Some(if has_nsis_header(src)? {
        FileKind::Nsis
    } else {
        FileKind::Pe
    }))
}

/// Whether an NSIS first header is at a 512-byte boundary within [`NSIS_SCAN_LIMIT`],
/// reading the file a block at a time.
fn has_nsis_header<R: Read + Seek>(src: &mut Source<R>) -> Result<bool, PackageError> {
    let path = src.path.clone();
    let limit = src.len.min(NSIS_SCAN_LIMIT);
    let reader = src.reader_at(0)?;
    let mut chunk = vec![0u8; 256 * NSIS_ALIGN];
    let mut at = 0u64;
    while at < limit {
        let n = read_full(reader, &mut chunk).map_err(|e| FileError::new(&path, e))?;
        let data = chunk.get(..n).unwrap_or_default();
        let found = data
            .chunks(NSIS_ALIGN)
            .any(|block| block.get(4..20) == Some(NSIS_SIGNATURE.as_slice()));
        if found {
            return Ok(true);
        }
        if n < chunk.len() {
            break;
        }
        at += n as u64;
    }
    Ok(false)
}

/// A gzip: an `App` if it is a tar whose entries are all under one `*.app` directory.
fn app_tar_gz<R: Read + Seek>(src: &mut Source<R>) -> Result<Option<FileKind>, PackageError> {
    const FORMAT: &str = ".tar.gz";
    let limit = MAX_TAR.min(RATIO_FREE.max(src.len.saturating_mul(MAX_RATIO)));
    let path = src.path.clone();
    let gz = GzDecoder::new(src.reader_at(0)?);
    let mut archive = tar::Archive::new(CappedReader::new(gz, limit));
    let mut top: Option<String> = None;
    let mut all_under_app = true;
    let listed = (|| -> std::io::Result<()> {
        for entry in archive.entries()? {
            let entry = entry?;
            let entry_path = entry.path()?;
            let mut parts = entry_path
                .components()
                .filter(|c| !matches!(c, Component::CurDir));
            let first = match parts.next() {
                Some(Component::Normal(name)) => name.to_string_lossy().into_owned(),
                // `./` itself, or an absolute or `..` path: not a bundle's.
                None => continue,
                Some(_) => {
                    all_under_app = false;
                    continue;
                }
            };
            match &top {
                Some(t) if *t != first => all_under_app = false,
                Some(_) => {}
                None => top = Some(first),
            }
        }
        Ok(())
    })();
    let capped = archive.into_inner();
    if capped.exceeded {
        return Err(PackageError::TooLarge {
            path,
            format: FORMAT,
            what: "the decompressed tar".into(),
            limit,
        });
    }
    if let Some(reason) = capped.failed {
        return Err(PackageError::Malformed {
            path,
            format: FORMAT,
            reason: format!("gzip: {reason}"),
        });
    }
    let is_app = top.is_some_and(|t| t.len() > ".app".len() && t.ends_with(".app"));
    Ok((listed.is_ok() && all_under_app && is_app).then_some(FileKind::AppTarGz))
}
