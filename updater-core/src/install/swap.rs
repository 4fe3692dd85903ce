//! File-system moves that are atomic: a file replaced by rename from a sibling temporary
//! file, two directories exchanged in one system call (`renameat2(RENAME_EXCHANGE)` on Linux,
//! `renamex_np(RENAME_SWAP)` on macOS). Each makes its result durable before returning.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::error::InstallError;
use crate::files::{sync_dir, FileError};

fn parent_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// A hidden sibling of `path` with a suffix: same directory, so same file system.
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(suffix);
    path.with_file_name(name)
}

/// A fresh name for the temporary copy beside `target`: hidden, and random so that it can
/// be no one else's file. Recorded in the journal before it is created.
pub fn scratch_name(target: &Path) -> PathBuf {
    let random = rand_core::RngCore::next_u64(&mut rand_core::OsRng);
    sibling(target, &format!(".update-{random:016x}"))
}

/// Copies `from` over `to` atomically through the temporary file `scratch` (a sibling of
/// `to`, so the rename stays on one file system): written, fsynced, given `from`'s
/// permissions, renamed into place; then the directory is fsynced. A `scratch` left by an
/// earlier, interrupted copy is replaced; on an error it is removed.
pub fn replace_file(from: &Path, to: &Path, scratch: &Path) -> Result<(), InstallError> {
    // Windows cannot rename over a running executable; self-replace knows the way around.
    // (Not exercised here: our CI is Linux.)
    #[cfg(windows)]
    if std::env::current_exe().is_ok_and(|exe| exe == to) {
        return self_replace::self_replace(from).map_err(|e| FileError::new(to, e).into());
    }
    let result = copy_then_rename(from, to, scratch);
    if result.is_err() {
        let _ = fs::remove_file(scratch);
    }
    result
}

fn copy_then_rename(from: &Path, to: &Path, scratch: &Path) -> Result<(), InstallError> {
    match fs::remove_file(scratch) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(FileError::new(scratch, e).into())
        }
        _ => {}
    }
    let mut tmp = fs::File::create_new(scratch).map_err(FileError::at(scratch))?;
    let mut src = fs::File::open(from).map_err(FileError::at(from))?;
    std::io::copy(&mut src, &mut tmp).map_err(FileError::at(scratch))?;
    tmp.flush().map_err(FileError::at(scratch))?;
    let permissions = src.metadata().map_err(FileError::at(from))?.permissions();
    fs::set_permissions(scratch, permissions).map_err(FileError::at(scratch))?;
    tmp.sync_all().map_err(FileError::at(scratch))?;
    drop(tmp);
    fs::rename(scratch, to).map_err(FileError::at(to))?;
    sync_dir(parent_of(to))?;
    Ok(())
}

/// Exchanges two directories (or files) in one atomic step.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "macos"))]
pub fn exchange(a: &Path, b: &Path) -> Result<(), InstallError> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE)
        .map_err(|e| FileError::new(a, e.into()))?;
    sync_dir(parent_of(a))?;
    if parent_of(a) != parent_of(b) {
        sync_dir(parent_of(b))?;
    }
    Ok(())
}

/// Without an exchange call (Windows, BSDs): two renames through a third name. Not atomic;
/// the journal's marker check tells which side of the gap a crash left us on.
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "macos")))]
pub fn exchange(a: &Path, b: &Path) -> Result<(), InstallError> {
    let tmp = sibling(a, ".exchange");
    fs::rename(a, &tmp).map_err(FileError::at(a))?;
    fs::rename(b, a).map_err(FileError::at(b))?;
    fs::rename(&tmp, b).map_err(FileError::at(&tmp))?;
    Ok(())
}

/// The hex SHA-256 of a file, read in chunks.
pub fn sha256_file(path: &Path) -> Result<String, InstallError> {
    let mut file = fs::File::open(path).map_err(FileError::at(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(FileError::at(path))?;
        match buf.get(..n) {
            Some(chunk) if !chunk.is_empty() => hasher.update(chunk),
            _ => break,
        }
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_file_keeps_permissions_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("new");
        let to = dir.path().join("app");
        fs::write(&from, b"new").unwrap();
        fs::write(&to, b"old").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&from, fs::Permissions::from_mode(0o755)).unwrap();
        }
        let scratch = scratch_name(&to);
        fs::write(&scratch, b"left by a killed copy").unwrap();
        replace_file(&from, &to, &scratch).unwrap();
        assert_eq!(fs::read(&to).unwrap(), b"new");
        assert!(!scratch.exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&to).unwrap().permissions().mode() & 0o777,
                0o755
            );
        }
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn exchange_swaps_two_directories() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        fs::create_dir(&a).unwrap();
        fs::create_dir(&b).unwrap();
        fs::write(a.join("f"), b"A").unwrap();
        fs::write(b.join("f"), b"B").unwrap();
        exchange(&a, &b).unwrap();
        assert_eq!(fs::read(a.join("f")).unwrap(), b"B");
        assert_eq!(fs::read(b.join("f")).unwrap(), b"A");
    }
}
