//! The file toolbox every module uses: a read capped at a length, an atomic (optionally
//! durable) write, a directory sync, a remove that takes files and trees. Each failure names
//! its path ([`FileError`]); the error types of the TUF client, the installer, the facade and
//! the publisher convert from it, so no module writes its own `io()` helper.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// An I/O failure on a named path.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct FileError {
    /// The path the operation was on.
    pub path: PathBuf,
    /// The I/O error.
    #[source]
    pub source: std::io::Error,
}

impl FileError {
    /// The failure `source` on `path`.
    pub fn new(path: impl Into<PathBuf>, source: std::io::Error) -> FileError {
        FileError {
            path: path.into(),
            source,
        }
    }

    /// A `map_err` adapter: `.map_err(FileError::at(path))`.
    pub fn at(path: &Path) -> impl FnOnce(std::io::Error) -> FileError + '_ {
        move |source| FileError::new(path, source)
    }

    /// The kind of the underlying I/O error.
    pub fn kind(&self) -> std::io::ErrorKind {
        self.source.kind()
    }
}

/// What a capped read found.
#[derive(Debug, PartialEq, Eq)]
pub enum Capped {
    /// No file at the path.
    Missing,
    /// The file holds more than the cap; nothing of it was kept.
    TooLarge,
    /// The whole file, at most the cap.
    Data(Vec<u8>),
}

impl Capped {
    /// The bytes, or `None` when missing or too large.
    pub fn into_data(self) -> Option<Vec<u8>> {
        match self {
            Capped::Data(data) => Some(data),
            Capped::Missing | Capped::TooLarge => None,
        }
    }
}

/// Reads at most `max_len` bytes of `path`, without trusting the length the file system
/// reports (a file may grow while it is read, or be a device).
pub fn read_capped(path: &Path, max_len: u64) -> Result<Capped, FileError> {
    let file = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Capped::Missing),
        Err(e) => return Err(FileError::new(path, e)),
    };
    let hint = file.metadata().map(|m| m.len()).unwrap_or(0).min(max_len);
    let mut data = Vec::with_capacity(usize::try_from(hint).unwrap_or(0));
    file.take(max_len.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(FileError::at(path))?;
    if data.len() as u64 > max_len {
        return Ok(Capped::TooLarge);
    }
    Ok(Capped::Data(data))
}

/// Whether a write must survive a power cut once it returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Atomic (readers see the old or the new content) but maybe not yet on disk.
    Atomic,
    /// Atomic, and the file and its directory entry are fsynced before returning.
    Durable,
}

/// Writes `data` to `path` through a temporary file in the same directory and a rename, so a
/// reader never sees half of it. Creates the directory if needed.
pub fn write_atomic(path: &Path, data: &[u8], durability: Durability) -> Result<(), FileError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(FileError::at(dir))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .suffix(".part")
        .tempfile_in(dir)
        .map_err(FileError::at(dir))?;
    tmp.write_all(data).map_err(FileError::at(path))?;
    let durable = durability == Durability::Durable;
    if durable {
        tmp.as_file().sync_all().map_err(FileError::at(path))?;
    }
    tmp.persist(path)
        .map_err(|e| FileError::new(path, e.error))?;
    if durable {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Flushes the file at `path` to disk. On Unix any descriptor can be synced (a read-only
/// file's too); Windows flushes only a handle with write access (`FlushFileBuffers`).
pub fn sync_file(path: &Path) -> Result<(), FileError> {
    #[cfg(unix)]
    let file = fs::File::open(path);
    #[cfg(not(unix))]
    let file = fs::OpenOptions::new().write(true).open(path);
    file.and_then(|f| f.sync_all()).map_err(FileError::at(path))
}

/// Makes the entries of `dir` (a rename, a new file) durable. A no-op where directories
/// cannot be opened for syncing, as on Windows, whose renames are journalled by NTFS.
pub fn sync_dir(dir: &Path) -> Result<(), FileError> {
    #[cfg(unix)]
    {
        let d = fs::File::open(dir).map_err(FileError::at(dir))?;
        d.sync_all().map_err(FileError::at(dir))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Removes a file, a symlink (not what it points to) or a directory tree; absent is fine.
pub fn remove_any(path: &Path) -> Result<(), FileError> {
    let result = match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    };
    result.map_err(FileError::at(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_read_tells_missing_too_large_and_data_apart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        assert_eq!(read_capped(&path, 4).unwrap(), Capped::Missing);
        fs::write(&path, b"12345").unwrap();
        assert_eq!(read_capped(&path, 4).unwrap(), Capped::TooLarge);
        assert_eq!(
            read_capped(&path, 5).unwrap(),
            Capped::Data(b"12345".to_vec())
        );
        let err = read_capped(dir.path(), 5).unwrap_err();
        assert_eq!(err.path, dir.path());
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("f");
        write_atomic(&path, b"one", Durability::Durable).unwrap();
        write_atomic(&path, b"two", Durability::Atomic).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("f")]);
    }

    #[test]
    fn remove_any_takes_files_trees_and_absent_paths() {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("t");
        fs::create_dir_all(tree.join("a/b")).unwrap();
        fs::write(tree.join("a/b/c"), b"x").unwrap();
        let file = dir.path().join("f");
        fs::write(&file, b"x").unwrap();
        remove_any(&tree).unwrap();
        remove_any(&file).unwrap();
        remove_any(&file).unwrap();
        assert!(!tree.exists() && !file.exists());
    }

    #[cfg(unix)]
    #[test]
    fn remove_any_removes_a_symlink_not_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("keep"), b"x").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        remove_any(&link).unwrap();
        assert!(target.join("keep").exists());
        assert!(fs::symlink_metadata(&link).is_err());
    }
}
