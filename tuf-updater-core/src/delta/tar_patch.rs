//! Per-file patches of a bundle archive: the new release's uncompressed tar rebuilt byte for
//! byte from the installed bundle's files and what the patch carries.
//!
//! A whole-file patch of a `.tar.gz` is useless (compression scatters every change over the
//! rest of the stream), and the client no longer has the old archive, only its unpacked
//! files. So the patch describes the new *uncompressed* tar: every byte that is not a
//! regular file's content (headers, long-name and pax blocks, padding, end blocks) is
//! carried as is, and each regular file's content is one of
//!
//! - `FromOld`: identical content is installed at some path (length and SHA-256 given),
//! - `PatchOld`: a [`make_patch`] of the installed file at the same path (its length and
//!   SHA-256 given), when clearly smaller than the content compressed,
//! - bytes carried as is.
//!
//! Format: `b"UPDTARP1"`, then one zstd frame holding the records (so headers and literal
//! contents are compressed together), each a tag byte and length-prefixed fields
//! (little-endian `u64` lengths, `u16` path lengths), ending with an end record. Paths are
//! relative to the bundle root: the top-level directory is stripped when every entry sits
//! under one, as the installer does when it unpacks a bundle.
//!
//! The patch proves nothing: the reader refuses paths that leave the bundle, never follows
//! a symlink, checks each installed file's length and SHA-256 before using it, stops before
//! writing past its limit, and the caller checks the whole result against the release's
//! signed tar digest.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};
use thiserror::Error;

use super::mapped::Mapped;
use super::patch::{apply_patch, make_patch, ApplyError, Counting};

/// The first bytes of a tar patch; the digit is the format's version.
pub const MAGIC: &[u8; 8] = b"UPDTARP1";

/// The window of the records' zstd frame (16 MiB): what the applying client allocates.
const WINDOW_LOG: u32 = 24;
/// The compression level of the records (made once by the publisher).
const LEVEL: i32 = 19;
/// The longest path a record may name, in bytes.
const MAX_PATH: usize = 4096;

const TAG_END: u8 = 0;
const TAG_BYTES: u8 = 1;
const TAG_FROM_OLD: u8 = 2;
const TAG_PATCH_OLD: u8 = 3;

/// Why applying a tar patch failed. Every case falls back to the full download.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TarPatchError {
    /// The file does not start with the tar patch's magic header.
    #[error("not a tar patch (no {:?} header)", String::from_utf8_lossy(MAGIC))]
    NotATarPatch,
    /// The compressed records cannot be read: truncated, tampered, not zstd.
    #[error("the tar patch is corrupt: {0}")]
    Corrupt(#[source] io::Error),
    /// The records decode but make no valid patch: an unknown record, a path too long, data
    /// after the end, a file patch that does not produce its length.
    #[error("the tar patch is malformed: {0}")]
    Malformed(String),
    /// A record names a path that is not plain: empty, absolute, with `.`, `..` or an empty
    /// component.
    #[error("the tar patch names {path:?}, which is not a plain path inside the bundle")]
    UnsafePath {
        /// The path as the patch names it.
        path: String,
    },
    /// The installed file cannot be opened without following a symlink, or is missing, or
    /// is not a regular file.
    #[error("installed file {path}: {source}")]
    Installed {
        /// The file's path in the bundle.
        path: String,
        /// Why it cannot be read.
        #[source]
        source: io::Error,
    },
    /// The installed file is not the bytes the patch was made from.
    #[error("installed file {path} differs from the release the patch was made from")]
    InstalledDiffers {
        /// The file's path in the bundle.
        path: String,
    },
    /// Patching one installed file failed.
    #[error("patching {path}: {source}")]
    Patch {
        /// The file's path in the bundle.
        path: String,
        /// The whole-file patch's error.
        #[source]
        source: ApplyError,
    },
    /// The patch would produce more than the signed tar length.
    #[error("the tar patch produces more than the {limit} bytes the release's tar is signed for")]
    TooLong {
        /// The signed tar length, in bytes.
        limit: u64,
    },
    /// Writing the rebuilt tar failed.
    #[error("cannot write the patched tar: {0}")]
    Write(#[source] io::Error),
}

// ---------------------------------------------------------------------------------------
// Making

/// A regular file's content in a tar: where it lies and the bundle-relative path, if any.
struct FileSpan {
    offset: u64,
    len: u64,
    path: Option<Vec<u8>>,
}

/// The regular files of `tar` in archive order, with bundle-relative paths.
fn regular_files(tar: &[u8]) -> io::Result<Vec<FileSpan>> {
    let mut archive = tar::Archive::new(io::Cursor::new(tar));
    let mut raw = Vec::new();
    for entry in archive.entries()? {
        let entry = entry?;
        let kind = entry.header().entry_type();
        let components = components(&entry.path_bytes());
        let regular = matches!(kind, tar::EntryType::Regular | tar::EntryType::Continuous);
        raw.push((
            regular,
            kind.is_dir(),
            entry.raw_file_position(),
            entry.size(),
            components,
        ));
    }
    let strip = strip_top(raw.iter().map(|(_, dir, _, _, c)| (c, *dir)));
    Ok(raw
        .into_iter()
        .filter(|(regular, ..)| *regular)
        .map(|(_, _, offset, len, comps)| FileSpan {
            offset,
            len,
            path: comps.and_then(|c| bundle_path(&c, strip)),
        })
        .collect())
}

/// A tar path's components, `.` and empty ones dropped; `None` if one is `..` or the path is
/// absolute (the installer refuses such archives).
fn components(path: &[u8]) -> Option<Vec<Vec<u8>>> {
    if path.first() == Some(&b'/') {
        return None;
    }
    let mut out = Vec::new();
    for c in path.split(|b| *b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => return None,
            c => out.push(c.to_vec()),
        }
    }
    Some(out)
}

/// Whether the bundle is the archive's one top-level directory, as `unpack::stage_bundle`
/// decides after unpacking: every entry under one name, and that name a directory.
fn strip_top<'a, I>(entries: I) -> bool
where
    I: Iterator<Item = (&'a Option<Vec<Vec<u8>>>, bool)>,
{
    let mut top: Option<&[u8]> = None;
    let mut is_dir = false;
    for (comps, dir) in entries {
        let Some(comps) = comps else { return false };
        let Some(first) = comps.first() else { continue };
        match top {
            None => top = Some(first),
            Some(t) if t == first.as_slice() => {}
            Some(_) => return false,
        }
        is_dir |= comps.len() > 1 || dir;
    }
    top.is_some() && is_dir
}

/// The path of a file in the bundle: its components joined, the top directory stripped.
fn bundle_path(comps: &[Vec<u8>], strip: bool) -> Option<Vec<u8>> {
    let comps = if strip { comps.get(1..)? } else { comps };
    if comps.is_empty() {
        return None;
    }
    Some(comps.join(&b'/'))
}

/// Writes the patch that rebuilds `new_tar` from a bundle unpacked from `old_tar` to `out`;
/// returns its length.
pub fn make_tar_patch(old_tar: &[u8], new_tar: &[u8], out: impl Write) -> io::Result<u64> {
    let old_files = regular_files(old_tar)?;
    let mut by_hash: HashMap<[u8; 32], &[u8]> = HashMap::new();
    let mut by_path: HashMap<&[u8], &[u8]> = HashMap::new();
    for f in &old_files {
        let (Some(path), Some(content)) = (&f.path, span(old_tar, f.offset, f.len)) else {
            continue;
        };
        if path.len() > MAX_PATH {
            continue;
        }
        by_hash
            .entry(Sha256::digest(content).into())
            .or_insert(path);
        by_path.insert(path, content);
    }
    let mut counted = Counting {
        inner: out,
        count: 0,
    };
    counted.write_all(MAGIC)?;
    let mut z = zstd::stream::write::Encoder::new(&mut counted, LEVEL)?;
    z.window_log(WINDOW_LOG)?;
    z.long_distance_matching(true)?;
    z.include_checksum(true)?;
    let mut pos = 0u64;
    for f in regular_files(new_tar)? {
        let (Some(before), Some(content)) = (
            span(new_tar, pos, f.offset.saturating_sub(pos)),
            span(new_tar, f.offset, f.len),
        ) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "tar entry out of bounds",
            ));
        };
        write_bytes(&mut z, before)?;
        pos = f.offset + f.len;
        let digest: [u8; 32] = Sha256::digest(content).into();
        let path = f.path.as_deref();
        if content.is_empty() {
            continue;
        } else if let Some(old_path) = by_hash.get(&digest) {
            z.write_all(&[TAG_FROM_OLD])?;
            write_path(&mut z, old_path)?;
            z.write_all(&f.len.to_le_bytes())?;
            z.write_all(&digest)?;
        } else if let Some((path, old)) = path.and_then(|p| Some((p, *by_path.get(p)?))) {
            write_patched_or_bytes(&mut z, path, old, content)?;
        } else {
            write_bytes(&mut z, content)?;
        }
    }
    write_bytes(&mut z, new_tar.get(pos as usize..).unwrap_or_default())?;
    z.write_all(&[TAG_END])?;
    z.finish()?;
    Ok(counted.count)
}

/// `len` bytes of `data` from `offset`, if they are there.
fn span(data: &[u8], offset: u64, len: u64) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    data.get(start..end)
}

fn write_bytes(z: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    z.write_all(&[TAG_BYTES])?;
    z.write_all(&(bytes.len() as u64).to_le_bytes())?;
    z.write_all(bytes)
}

fn write_path(z: &mut impl Write, path: &[u8]) -> io::Result<()> {
    let len = u16::try_from(path.len())
        .ok()
        .filter(|l| usize::from(*l) <= MAX_PATH)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path too long"))?;
    z.write_all(&len.to_le_bytes())?;
    z.write_all(path)
}

/// A `PatchOld` record for `content` if its patch from `old` is at most three quarters of
/// the content compressed alone (else the bytes, which the records' frame compresses).
fn write_patched_or_bytes(
    z: &mut impl Write,
    path: &[u8],
    old: &[u8],
    content: &[u8],
) -> io::Result<()> {
    if path.len() > MAX_PATH {
        return write_bytes(z, content);
    }
    let mut patch = Vec::new();
    make_patch(old, content, &mut patch)?;
    let compressed = zstd::bulk::compress(content, LEVEL)?.len();
    if patch.len().saturating_mul(4) > compressed.saturating_mul(3) {
        return write_bytes(z, content);
    }
    z.write_all(&[TAG_PATCH_OLD])?;
    write_path(z, path)?;
    z.write_all(&(old.len() as u64).to_le_bytes())?;
    z.write_all(&Sha256::digest(old))?;
    z.write_all(&(content.len() as u64).to_le_bytes())?;
    z.write_all(&(patch.len() as u64).to_le_bytes())?;
    z.write_all(&patch)
}

// ---------------------------------------------------------------------------------------
// Applying

/// Rebuilds the new tar from `patch` and the bundle installed at `bundle_root`, streaming it
/// to `out`; stops with [`TarPatchError::TooLong`] before writing past `limit` bytes.
/// Returns the bytes written. The caller checks them against the signed tar digest.
pub fn apply_tar_patch(
    bundle_root: &Path,
    mut patch: impl Read,
    mut out: impl Write,
    limit: u64,
) -> Result<u64, TarPatchError> {
    let mut magic = [0u8; 8];
    patch
        .read_exact(&mut magic)
        .map_err(|_| TarPatchError::NotATarPatch)?;
    if &magic != MAGIC {
        return Err(TarPatchError::NotATarPatch);
    }
    let mut z = zstd::stream::read::Decoder::new(patch).map_err(TarPatchError::Corrupt)?;
    z.window_log_max(WINDOW_LOG)
        .map_err(TarPatchError::Corrupt)?;
    let root = Root::open(bundle_root)?;
    let mut written = 0u64;
    loop {
        let tag = read_array::<1>(&mut z)?[0];
        if tag == TAG_END {
            break;
        }
        let len = match tag {
            TAG_BYTES => {
                let len = read_u64(&mut z)?;
                room(written, len, limit)?;
                copy_exact(&mut z, &mut out, len)?;
                len
            }
            TAG_FROM_OLD => {
                let path = read_path(&mut z)?;
                let len = read_u64(&mut z)?;
                room(written, len, limit)?;
                let sha = read_array::<32>(&mut z)?;
                let old = root.verified(&path, len, &sha)?;
                out.write_all(old.bytes()).map_err(TarPatchError::Write)?;
                len
            }
            TAG_PATCH_OLD => apply_patch_old(&root, &mut z, &mut out, written, limit)?,
            other => {
                return Err(TarPatchError::Malformed(format!("unknown record {other}")));
            }
        };
        written += len;
    }
    // Nothing may follow the end record (and reading on checks the frame's checksum).
    let mut rest = [0u8; 1];
    match z.read(&mut rest) {
        Ok(0) => Ok(written),
        Ok(_) => Err(TarPatchError::Malformed("data after the end record".into())),
        Err(e) => Err(TarPatchError::Corrupt(e)),
    }
}

/// A `PatchOld` record after its tag: applies the patch to the verified installed file.
fn apply_patch_old(
    root: &Root,
    z: &mut impl Read,
    out: &mut impl Write,
    written: u64,
    limit: u64,
) -> Result<u64, TarPatchError> {
    let path = read_path(z)?;
    let old_len = read_u64(z)?;
    let old_sha = read_array::<32>(z)?;
    let new_len = read_u64(z)?;
    room(written, new_len, limit)?;
    let patch_len = read_u64(z)?;
    let old = root.verified(&path, old_len, &old_sha)?;
    let mut body = z.take(patch_len);
    let failed = |source| TarPatchError::Patch {
        path: String::from_utf8_lossy(&path).into_owned(),
        source,
    };
    let n = apply_patch(old.bytes(), &mut body, &mut *out, new_len).map_err(|e| match e {
        ApplyError::Write(e) => TarPatchError::Write(e),
        other => failed(other),
    })?;
    if n != new_len || body.limit() != 0 {
        return Err(TarPatchError::Malformed(format!(
            "the patch of {} does not produce its {new_len} bytes",
            String::from_utf8_lossy(&path)
        )));
    }
    Ok(n)
}

/// The room left for a record of `len` bytes after `written`, if it fits in `limit`.
fn room(written: u64, len: u64, limit: u64) -> Result<u64, TarPatchError> {
    match written.checked_add(len) {
        Some(end) if end <= limit => Ok(len),
        _ => Err(TarPatchError::TooLong { limit }),
    }
}

fn read_array<const N: usize>(r: &mut impl Read) -> Result<[u8; N], TarPatchError> {
    let mut buf = [0u8; N];
    r.read_exact(&mut buf).map_err(TarPatchError::Corrupt)?;
    Ok(buf)
}

fn read_u64(r: &mut impl Read) -> Result<u64, TarPatchError> {
    Ok(u64::from_le_bytes(read_array::<8>(r)?))
}

/// A path field, checked: relative, no empty, `.` or `..` component, no NUL, at most
/// [`MAX_PATH`] bytes.
fn read_path(r: &mut impl Read) -> Result<Vec<u8>, TarPatchError> {
    let len = usize::from(u16::from_le_bytes(read_array::<2>(r)?));
    if len > MAX_PATH {
        return Err(TarPatchError::Malformed(format!("a path of {len} bytes")));
    }
    let mut path = vec![0u8; len];
    r.read_exact(&mut path).map_err(TarPatchError::Corrupt)?;
    let plain = !path.is_empty()
        && !path.contains(&0)
        && path
            .split(|b| *b == b'/')
            .all(|c| !matches!(c, b"" | b"." | b".."));
    if !plain {
        return Err(TarPatchError::UnsafePath {
            path: String::from_utf8_lossy(&path).into_owned(),
        });
    }
    Ok(path)
}

/// Copies exactly `len` bytes from `r` to `out`.
fn copy_exact(r: &mut impl Read, out: &mut impl Write, len: u64) -> Result<(), TarPatchError> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut left = len;
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let chunk = buf.get_mut(..want).unwrap_or_default();
        r.read_exact(chunk).map_err(TarPatchError::Corrupt)?;
        out.write_all(chunk).map_err(TarPatchError::Write)?;
        left -= want as u64;
    }
    Ok(())
}

/// The installed bundle, opened once: files are opened under it without following links.
struct Root {
    #[cfg(unix)]
    dir: File,
    #[cfg(not(unix))]
    dir: std::path::PathBuf,
}

impl Root {
    fn open(path: &Path) -> Result<Root, TarPatchError> {
        let installed = |source| TarPatchError::Installed {
            path: path.display().to_string(),
            source,
        };
        #[cfg(unix)]
        {
            use rustix::fs::{openat, Mode, OFlags, CWD};
            let fd = openat(
                CWD,
                path,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| installed(e.into()))?;
            Ok(Root {
                dir: File::from(fd),
            })
        }
        #[cfg(not(unix))]
        {
            std::fs::metadata(path).map_err(installed)?;
            Ok(Root {
                dir: path.to_path_buf(),
            })
        }
    }

    /// The installed file at bundle-relative `path`, opened without following a symlink
    /// at any component, mapped, and checked to be `len` bytes with SHA-256 `sha`.
    fn verified(&self, path: &[u8], len: u64, sha: &[u8; 32]) -> Result<Mapped, TarPatchError> {
        let name = || String::from_utf8_lossy(path).into_owned();
        let file = self
            .open_file(path)
            .map_err(|source| TarPatchError::Installed {
                path: name(),
                source,
            })?;
        let meta = file.metadata().map_err(|source| TarPatchError::Installed {
            path: name(),
            source,
        })?;
        if !meta.is_file() || meta.len() != len {
            return Err(TarPatchError::InstalledDiffers { path: name() });
        }
        let mapped = Mapped::from_file(&file).map_err(|source| TarPatchError::Installed {
            path: name(),
            source,
        })?;
        if mapped.bytes().len() as u64 != len || Sha256::digest(mapped.bytes())[..] != sha[..] {
            return Err(TarPatchError::InstalledDiffers { path: name() });
        }
        Ok(mapped)
    }

    #[cfg(unix)]
    fn open_file(&self, path: &[u8]) -> io::Result<File> {
        use rustix::fs::{openat, Mode, OFlags};
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        let comps: Vec<&[u8]> = path.split(|b| *b == b'/').collect();
        let Some((last, dirs)) = comps.split_last() else {
            return Err(io::ErrorKind::NotFound.into());
        };
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let mut dir: Option<File> = None;
        for c in dirs {
            let parent = dir.as_ref().unwrap_or(&self.dir);
            let fd = openat(
                parent,
                OsStr::from_bytes(c),
                flags | OFlags::DIRECTORY,
                Mode::empty(),
            )?;
            dir = Some(File::from(fd));
        }
        let parent = dir.as_ref().unwrap_or(&self.dir);
        let fd = openat(parent, OsStr::from_bytes(last), flags, Mode::empty())?;
        Ok(File::from(fd))
    }

    #[cfg(not(unix))]
    fn open_file(&self, path: &[u8]) -> io::Result<File> {
        let text = std::str::from_utf8(path).map_err(|_| io::ErrorKind::InvalidInput)?;
        let mut at = self.dir.clone();
        for c in text.split('/') {
            at.push(c);
            if std::fs::symlink_metadata(&at)?.file_type().is_symlink() {
                return Err(io::Error::other("a symlink"));
            }
        }
        File::open(&at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delta::test_support::noise;
    use std::fs;

    /// A tar of `Demo.app/` holding `files`, as a macOS `.app.tar.gz` holds its bundle.
    fn tar_of(files: &[(String, Vec<u8>)]) -> Vec<u8> {
        let mut tar = tar::Builder::new(Vec::new());
        let mut dir = tar::Header::new_gnu();
        dir.set_entry_type(tar::EntryType::Directory);
        dir.set_size(0);
        dir.set_mode(0o755);
        tar.append_data(&mut dir, "Demo.app/", io::empty()).unwrap();
        for (name, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_mtime(1_700_000_000);
            tar.append_data(&mut h, format!("Demo.app/{name}"), data.as_slice())
                .unwrap();
        }
        tar.into_inner().unwrap()
    }

    /// The bundle unpacked from `tar_of(files)`.
    fn install(files: &[(String, Vec<u8>)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, data) in files {
            let path = dir.path().join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, data).unwrap();
        }
        dir
    }

    fn old_files() -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<(String, Vec<u8>)> = (0..40)
            .map(|i| (format!("Contents/Resources/r{i}.bin"), noise(8192, i)))
            .collect();
        files.push(("Contents/MacOS/demo".into(), noise(400_000, 99)));
        // A name over 100 bytes: a GNU long-name block before its header.
        files.push((
            format!("Contents/Resources/{}.txt", "n".repeat(120)),
            b"long".to_vec(),
        ));
        files.push(("Contents/empty".into(), Vec::new()));
        files
    }

    fn patch(old: &[u8], new: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let len = make_tar_patch(old, new, &mut out).unwrap();
        assert_eq!(len, out.len() as u64);
        out
    }

    fn apply(root: &Path, patch: &[u8], limit: u64) -> (Result<u64, TarPatchError>, Vec<u8>) {
        let mut out = Vec::new();
        let r = apply_tar_patch(root, patch, &mut out, limit);
        (r, out)
    }

    #[test]
    fn unchanged_files_cost_almost_nothing() {
        let files = old_files();
        let tar = tar_of(&files);
        let p = patch(&tar, &tar);
        assert!(p.len() < 4096, "a patch of {} bytes for no change", p.len());
        let bundle = install(&files);
        let (r, out) = apply(bundle.path(), &p, tar.len() as u64);
        assert_eq!(r.unwrap(), tar.len() as u64);
        assert!(out == tar);
    }

    #[test]
    fn changed_files_are_patched_new_ones_carried_moved_ones_found() {
        let old = old_files();
        let mut new = old.clone();
        new[3].1 = noise(8192, 1000); // replaced outright: carried
        new[40].1[1000..1100].copy_from_slice(&noise(100, 7)); // the executable, edited
        new.push(("Contents/Resources/new.bin".into(), noise(5000, 2000)));
        new.push(("Contents/Moved/r7.bin".into(), old[7].1.clone())); // same bytes elsewhere
        new.remove(10);
        let (old_tar, new_tar) = (tar_of(&old), tar_of(&new));
        let p = patch(&old_tar, &new_tar);
        // 8192 + 5000 new bytes, a small patch of the executable, headers.
        assert!(p.len() < 8192 + 5000 + 4096, "a patch of {} bytes", p.len());
        let bundle = install(&old);
        let (r, out) = apply(bundle.path(), &p, new_tar.len() as u64);
        assert_eq!(r.unwrap(), new_tar.len() as u64);
        assert!(out == new_tar, "the rebuilt tar differs");
    }

    #[test]
    fn a_tar_without_one_top_directory_keeps_its_paths() {
        let mut tar = tar::Builder::new(Vec::new());
        for (name, seed) in [("a/x", 1), ("b/y", 2)] {
            let mut h = tar::Header::new_gnu();
            h.set_size(3000);
            tar.append_data(&mut h, name, noise(3000, seed).as_slice())
                .unwrap();
        }
        let t = tar.into_inner().unwrap();
        let p = patch(&t, &t);
        let bundle = install(&[
            ("a/x".into(), noise(3000, 1)),
            ("b/y".into(), noise(3000, 2)),
        ]);
        let (r, out) = apply(bundle.path(), &p, t.len() as u64);
        r.unwrap();
        assert!(out == t);
        assert!(p.len() < 1000, "{}", p.len());
    }

    #[test]
    fn the_output_stops_at_the_limit() {
        let files = old_files();
        let tar = tar_of(&files);
        let p = patch(&tar, &tar);
        let bundle = install(&files);
        let limit = tar.len() as u64 - 1;
        let (r, out) = apply(bundle.path(), &p, limit);
        assert!(
            matches!(r, Err(TarPatchError::TooLong { limit: l }) if l == limit),
            "{r:?}"
        );
        assert!(out.len() as u64 <= limit);
    }

    /// A patch of hand-written records.
    fn records(body: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend(zstd::bulk::compress(body, 3).unwrap());
        out
    }

    fn from_old(path: &[u8], data: &[u8]) -> Vec<u8> {
        let mut r = vec![TAG_FROM_OLD];
        r.extend((path.len() as u16).to_le_bytes());
        r.extend(path);
        r.extend((data.len() as u64).to_le_bytes());
        r.extend(Sha256::digest(data));
        r.push(TAG_END);
        r
    }

    #[test]
    fn paths_out_of_the_bundle_are_refused() {
        let outer = tempfile::tempdir().unwrap();
        let root = outer.path().join("Demo.app");
        fs::create_dir_all(root.join("Contents")).unwrap();
        let secret = outer.path().join("secret");
        fs::write(&secret, b"the user's data").unwrap();
        for path in [
            "../secret",
            "Contents/../../secret",
            "/etc/passwd",
            "Contents//x",
            "./x",
            "",
        ] {
            let (r, out) = apply(
                &root,
                &records(&from_old(path.as_bytes(), b"the user's data")),
                1 << 20,
            );
            assert!(
                matches!(r, Err(TarPatchError::UnsafePath { .. })),
                "{path}: {r:?}"
            );
            assert!(out.is_empty());
        }
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_in_the_installed_bundle_are_not_followed() {
        let outer = tempfile::tempdir().unwrap();
        let root = outer.path().join("Demo.app");
        fs::create_dir_all(&root).unwrap();
        let elsewhere = outer.path().join("elsewhere");
        fs::create_dir_all(&elsewhere).unwrap();
        fs::write(elsewhere.join("secret"), b"the user's data").unwrap();
        std::os::unix::fs::symlink(&elsewhere, root.join("Contents")).unwrap();
        std::os::unix::fs::symlink(elsewhere.join("secret"), root.join("file")).unwrap();
        for path in ["Contents/secret", "file"] {
            let (r, out) = apply(
                &root,
                &records(&from_old(path.as_bytes(), b"the user's data")),
                1 << 20,
            );
            assert!(
                matches!(r, Err(TarPatchError::Installed { .. })),
                "{path}: {r:?}"
            );
            assert!(out.is_empty(), "{path}: the outside file was read");
        }
    }

    #[test]
    fn an_installed_file_that_differs_is_named() {
        let files = old_files();
        let tar = tar_of(&files);
        let mut new = files.clone();
        new[40].1[5] ^= 1;
        let p = patch(&tar, &tar_of(&new));
        let mut changed = files.clone();
        changed[40].1[200_000] ^= 1; // the installed executable, modified
        let bundle = install(&changed);
        let (r, _) = apply(bundle.path(), &p, u64::MAX);
        match r {
            Err(TarPatchError::InstalledDiffers { path }) => {
                assert_eq!(path, "Contents/MacOS/demo")
            }
            other => panic!("{other:?}"),
        }
        // Same length, other bytes, in a file taken as is.
        let (r, _) = apply(
            bundle.path(),
            &records(&from_old(b"Contents/MacOS/demo", &files[40].1)),
            u64::MAX,
        );
        assert!(
            matches!(r, Err(TarPatchError::InstalledDiffers { .. })),
            "{r:?}"
        );
    }

    #[test]
    fn huge_claims_truncation_and_foreign_bytes_are_refused() {
        let bundle = tempfile::tempdir().unwrap();
        let mut huge = vec![TAG_BYTES];
        huge.extend(u64::MAX.to_le_bytes());
        huge.extend(b"abc");
        let (r, out) = apply(bundle.path(), &records(&huge), 1 << 30);
        assert!(matches!(r, Err(TarPatchError::TooLong { .. })), "{r:?}");
        assert!(out.is_empty());

        let mut short = vec![TAG_BYTES];
        short.extend(100u64.to_le_bytes());
        short.extend(b"abc");
        let (r, _) = apply(bundle.path(), &records(&short), 1 << 30);
        assert!(matches!(r, Err(TarPatchError::Corrupt(_))), "{r:?}");

        let files = old_files();
        let tar = tar_of(&files);
        let p = patch(&tar, &tar);
        let installed = install(&files);
        for cut in [p.len() / 2, p.len() - 1, 9] {
            let (r, _) = apply(installed.path(), &p[..cut], u64::MAX);
            assert!(
                matches!(r, Err(TarPatchError::Corrupt(_))),
                "cut at {cut}: {r:?}"
            );
        }
        let (r, _) = apply(installed.path(), b"\x1f\x8b not a patch", u64::MAX);
        assert!(matches!(r, Err(TarPatchError::NotATarPatch)), "{r:?}");
        let (r, _) = apply(installed.path(), &records(&[9]), u64::MAX);
        assert!(matches!(r, Err(TarPatchError::Malformed(_))), "{r:?}");
        let (r, _) = apply(installed.path(), &records(&[TAG_BYTES, 1, 0]), u64::MAX);
        assert!(matches!(r, Err(TarPatchError::Corrupt(_))), "{r:?}");
    }

    /// A `PatchOld` record whose inner patch makes more than the length it declares is
    /// stopped at that length, and one declaring more than the limit is refused before
    /// anything is read.
    #[test]
    fn a_patch_record_cannot_expand_past_its_length_or_the_limit() {
        let old = noise(50_000, 1);
        let bundle = install(&[("f".into(), old.clone())]);
        let mut longer = old.clone();
        longer.extend(vec![0u8; 1 << 20]);
        let mut inner = Vec::new();
        make_patch(&old, &longer, &mut inner).unwrap();
        let record = |declared: u64| {
            let mut r = vec![TAG_PATCH_OLD];
            r.extend(1u16.to_le_bytes());
            r.push(b'f');
            r.extend((old.len() as u64).to_le_bytes());
            r.extend(Sha256::digest(&old));
            r.extend(declared.to_le_bytes());
            r.extend((inner.len() as u64).to_le_bytes());
            r.extend(&inner);
            r.push(TAG_END);
            records(&r)
        };
        let (r, out) = apply(bundle.path(), &record(60_000), u64::MAX);
        assert!(
            matches!(
                r,
                Err(TarPatchError::Patch {
                    source: ApplyError::TooLong { .. },
                    ..
                })
            ),
            "{r:?}"
        );
        assert!(out.len() <= 60_000);
        let (r, out) = apply(bundle.path(), &record(longer.len() as u64), 100_000);
        assert!(
            matches!(r, Err(TarPatchError::TooLong { limit: 100_000 })),
            "{r:?}"
        );
        assert!(out.is_empty());
        // Declared right, within the limit: it applies.
        let (r, out) = apply(bundle.path(), &record(longer.len() as u64), u64::MAX);
        assert_eq!(r.unwrap(), longer.len() as u64);
        assert!(out == longer);
    }

    #[test]
    fn the_top_directory_is_stripped_like_the_installer_does() {
        let c = |p: &str| components(p.as_bytes());
        let strip = |entries: &[(&str, bool)]| {
            let comps: Vec<_> = entries.iter().map(|(p, d)| (c(p), *d)).collect();
            strip_top(comps.iter().map(|(c, d)| (c, *d)))
        };
        assert!(strip(&[("Demo.app/", true), ("Demo.app/x", false)]));
        assert!(strip(&[("./Demo.app/x", false)]));
        assert!(!strip(&[("Demo.app", false)]));
        assert!(!strip(&[("a/x", false), ("b/y", false)]));
        assert!(!strip(&[("../x/y", false)]));
        assert_eq!(c("/etc/passwd"), None);
        assert_eq!(c("a/../b"), None);
    }
}
