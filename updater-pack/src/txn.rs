//! All-or-nothing changes to a project.
//!
//! A command first decides everything and stages every new file in a private directory
//! inside the project (same file system, so a rename moves it). Only when every file is
//! staged does [`Transaction::commit`] rename them into place, in an order that never lets a
//! client see a half-published state:
//!
//! 1. new private keys,
//! 2. target files (content-addressed names, new),
//! 3. channel (delegated) metadata `N.<channel>.json`,
//! 4. `N.targets.json`, 5. `N.snapshot.json`, 6. `timestamp.json`,
//! 7. `N.root.json`, 8. project settings.
//!
//! A client that reads the old `timestamp.json` sees the old, complete repository; the new
//! one refers only to files already in place. A new root goes after the timestamp: its
//! roles' metadata is co-signed by old and new keys during a rotation, so it verifies under
//! either root, whereas a new root published first would make clients reject the old
//! timestamp as soon as the timestamp key changes.
//!
//! If a rename fails, the ones done are undone (files removed, `timestamp.json` restored
//! from a hard-link backup, created directories removed), so the project is as it was.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tuf_updater_core::files::{self, FileError};

use crate::error::{PackError, Result};

/// When a staged file is moved into place; see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Keys,
    Targets,
    Delegated,
    TopTargets,
    Snapshot,
    Timestamp,
    Root,
    Settings,
}

#[derive(Debug)]
struct Entry {
    phase: Phase,
    staged: PathBuf,
    dest: PathBuf,
    /// May overwrite an existing file (`timestamp.json`, settings).
    replace: bool,
    /// Owner-only file in an owner-only directory (private keys).
    private: bool,
}

/// Staged writes, committed together.
#[derive(Debug)]
pub struct Transaction {
    stage: tempfile::TempDir,
    entries: Vec<Entry>,
    /// Names of staged files: `0`, `1`, ...
    staged: usize,
}

/// What a commit wrote.
#[derive(Debug, Default, Clone)]
pub struct Committed {
    /// Files moved into place, in order.
    pub written: Vec<PathBuf>,
    /// Files that were already there with the same content.
    pub unchanged: Vec<PathBuf>,
}

impl Transaction {
    /// Stages in a private directory inside `project_dir`.
    pub fn new(project_dir: &Path) -> Result<Self> {
        let stage = tempfile::Builder::new()
            .prefix(".updater-pack-staging-")
            .tempdir_in(project_dir)
            .map_err(FileError::at(project_dir))?;
        Ok(Transaction {
            stage,
            entries: Vec::new(),
            staged: 0,
        })
    }

    fn next_staged(&mut self) -> PathBuf {
        self.staged += 1;
        self.stage.path().join(format!("{}", self.staged))
    }

    fn push(&mut self, phase: Phase, staged: PathBuf, dest: &Path, replace: bool, private: bool) {
        self.entries.push(Entry {
            phase,
            staged,
            dest: dest.to_path_buf(),
            replace,
            private,
        });
    }

    /// Whether a file for `dest` is already staged.
    pub fn stages(&self, dest: &Path) -> bool {
        self.entries.iter().any(|e| e.dest == dest)
    }

    /// The staged file for `dest`, if one is staged: its bytes are the ones that will be
    /// published there (a patch is made from them rather than from the artifact, which may
    /// change after it was copied and hashed).
    pub fn staged_for(&self, dest: &Path) -> Option<&Path> {
        self.entries
            .iter()
            .find(|e| e.dest == dest)
            .map(|e| e.staged.as_path())
    }

    /// Stages `data` for `dest`. `replace` allows overwriting an existing file.
    pub fn add_bytes(
        &mut self,
        phase: Phase,
        dest: &Path,
        data: &[u8],
        replace: bool,
    ) -> Result<()> {
        let staged = self.next_staged();
        write_synced(&staged, data, false)?;
        self.push(phase, staged, dest, replace, false);
        Ok(())
    }

    /// Stages a private file (owner read/write only) for `dest`, which must not exist.
    pub fn add_private(&mut self, dest: &Path, data: &[u8]) -> Result<()> {
        let staged = self.next_staged();
        write_synced(&staged, data, true)?;
        self.push(Phase::Keys, staged, dest, false, true);
        Ok(())
    }

    /// Stages a copy of `src` for `dest`, hashing it on the way: returns its length and
    /// SHA-256. Reading and hashing one stream means the bytes published are the bytes hashed.
    pub fn add_copy(&mut self, phase: Phase, dest: &Path, src: &Path) -> Result<(u64, String)> {
        let staged = self.next_staged();
        let (len, sha) = copy_hashing(src, &staged)?;
        self.push(phase, staged, dest, false, false);
        Ok((len, sha))
    }

    /// Stages a file whose bytes were copied earlier (see [`Transaction::add_copy_unplaced`]).
    pub fn place(&mut self, phase: Phase, staged: StagedFile, dest: &Path) {
        self.push(phase, staged.0, dest, false, false);
    }

    /// Copies and hashes `src` into the staging area before its destination is known
    /// (the destination's name contains the hash).
    pub fn add_copy_unplaced(&mut self, src: &Path) -> Result<(StagedFile, u64, String)> {
        let staged = self.next_staged();
        let (len, sha) = copy_hashing(src, &staged)?;
        Ok((StagedFile(staged), len, sha))
    }

    /// Stages `src` (an existing file of the repository) under a second name: a hard link
    /// where the file system allows, a copy otherwise.
    pub fn add_link(&mut self, phase: Phase, dest: &Path, src: &Path) -> Result<()> {
        let staged = self.next_staged();
        if fs::hard_link(src, &staged).is_err() {
            copy_hashing(src, &staged)?;
        }
        self.push(phase, staged, dest, false, false);
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Moves every staged file into place, in phase order; all or nothing.
    pub fn commit(mut self) -> Result<Committed> {
        self.entries.sort_by_key(|e| e.phase);
        // Checks first, so that a refusal changes nothing.
        let mut skip = vec![false; self.entries.len()];
        for (entry, skip) in self.entries.iter().zip(skip.iter_mut()) {
            if entry.replace || !exists(&entry.dest)? {
                continue;
            }
            if same_content(&entry.staged, &entry.dest)? {
                *skip = true;
                continue;
            }
            return Err(PackError::inconsistent(format!(
                "{} already exists with other content, but no metadata refers to it \
                 (left by an interrupted command?); move it away and retry",
                entry.dest.display()
            )));
        }
        let mut undo = Undo::default();
        let mut committed = Committed::default();
        let backup_dir = self.stage.path().join("backup");
        for (i, (entry, skip)) in self.entries.iter().zip(&skip).enumerate() {
            if *skip {
                committed.unchanged.push(entry.dest.clone());
                continue;
            }
            if let Err(e) = move_entry(entry, i, &backup_dir, &mut undo) {
                undo.run();
                return Err(e);
            }
            committed.written.push(entry.dest.clone());
        }
        // Make the renames durable; a failure here does not undo a complete commit.
        for dir in undo.parents() {
            if let Err(e) = files::sync_dir(&dir) {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot sync directory");
            }
        }
        Ok(committed)
    }
}

/// A staged file not yet given a destination.
#[derive(Debug)]
pub struct StagedFile(PathBuf);

impl StagedFile {
    /// Where the staged copy is until it is placed (to read what was hashed).
    pub fn path(&self) -> &Path {
        &self.0
    }
}

fn move_entry(entry: &Entry, i: usize, backup_dir: &Path, undo: &mut Undo) -> Result<()> {
    let parent = entry.dest.parent().ok_or_else(|| no_parent(&entry.dest))?;
    create_dirs(parent, entry.private, &mut undo.created_dirs)?;
    let mut backup = None;
    if entry.replace && exists(&entry.dest)? {
        fs::create_dir_all(backup_dir).map_err(FileError::at(backup_dir))?;
        let path = backup_dir.join(i.to_string());
        fs::hard_link(&entry.dest, &path)
            .or_else(|_| fs::copy(&entry.dest, &path).map(|_| ()))
            .map_err(FileError::at(&entry.dest))?;
        backup = Some(path);
    }
    rename_or_copy(&entry.staged, &entry.dest, entry.private)?;
    undo.moved.push((entry.dest.clone(), backup));
    Ok(())
}

#[derive(Default)]
struct Undo {
    /// Destinations written, with the backup of what they replaced.
    moved: Vec<(PathBuf, Option<PathBuf>)>,
    created_dirs: Vec<PathBuf>,
}

impl Undo {
    fn run(&mut self) {
        for (dest, backup) in self.moved.iter().rev() {
            let result = match backup {
                Some(b) => fs::rename(b, dest),
                None => fs::remove_file(dest),
            };
            if let Err(e) = result {
                tracing::error!(file = %dest.display(), error = %e, "cannot undo");
            }
        }
        for dir in self.created_dirs.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }

    fn parents(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = self
            .moved
            .iter()
            .filter_map(|(d, _)| d.parent().map(Path::to_path_buf))
            .collect();
        dirs.sort();
        dirs.dedup();
        dirs
    }
}

fn exists(path: &Path) -> Result<bool> {
    match fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(false)
        }
        Err(e) => Err(FileError::new(path, e).into()),
    }
}

/// A path that names no file in a directory (`/`, or empty).
fn no_parent(path: &Path) -> FileError {
    FileError::new(
        path,
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a file in a directory",
        ),
    )
}

/// Creates `dir` and its missing parents, recording each one created. Private directories
/// are owner-only.
fn create_dirs(dir: &Path, private: bool, created: &mut Vec<PathBuf>) -> Result<()> {
    if exists(dir)? {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dirs(parent, private, created)?;
    }
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(if private { 0o700 } else { 0o755 });
    }
    builder.create(dir).map_err(FileError::at(dir))?;
    created.push(dir.to_path_buf());
    if private {
        // Windows: a DACL for the current user only (what the directory holds inherits it).
        file_trust::restrict_to_owner(dir).map_err(FileError::at(dir))?;
    }
    Ok(())
}

/// Moves `from` to `to`; across file systems (keys kept elsewhere) by copying into a
/// temporary file beside `to` and renaming that, owner-only when `private`.
fn rename_or_copy(from: &Path, to: &Path, private: bool) -> Result<()> {
    match fs::rename(from, to) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::CrossesDevices => {
            let dir = to.parent().unwrap_or(Path::new("."));
            let tmp = tempfile::Builder::new()
                .prefix(".tmp-")
                .tempfile_in(dir)
                .map_err(FileError::at(dir))?;
            if private {
                file_trust::restrict_to_owner(tmp.path()).map_err(FileError::at(tmp.path()))?;
            }
            let mut src = fs::File::open(from).map_err(FileError::at(from))?;
            let mut out = tmp.as_file();
            std::io::copy(&mut src, &mut out).map_err(FileError::at(to))?;
            tmp.as_file().sync_all().map_err(FileError::at(to))?;
            tmp.persist(to).map_err(|e| FileError::new(to, e.error))?;
            Ok(())
        }
        Err(e) => Err(FileError::new(to, e).into()),
    }
}

/// Writes and fsyncs a new file; `private` makes it owner read/write only from its creation
/// (Unix: mode 0600; Windows: a DACL for the current user only), or fails.
fn write_synced(path: &Path, data: &[u8], private: bool) -> Result<()> {
    let file = if private {
        file_trust::create_owner_only(path)
    } else {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o644);
        }
        options.open(path)
    };
    let mut file = file.map_err(FileError::at(path))?;
    file.write_all(data).map_err(FileError::at(path))?;
    file.sync_all().map_err(FileError::at(path))?;
    Ok(())
}

/// Copies `src` to the new file `dest`, returning length and SHA-256 of what was copied.
fn copy_hashing(src: &Path, dest: &Path) -> Result<(u64, String)> {
    let mut input = fs::File::open(src).map_err(FileError::at(src))?;
    let mut output = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dest)
        .map_err(FileError::at(dest))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut len: u64 = 0;
    loop {
        let n = input.read(&mut buf).map_err(FileError::at(src))?;
        let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
            break;
        };
        hasher.update(chunk);
        output.write_all(chunk).map_err(FileError::at(dest))?;
        len += n as u64;
    }
    output.sync_all().map_err(FileError::at(dest))?;
    Ok((len, hex::encode(hasher.finalize())))
}

/// Length and SHA-256 of a file.
pub fn hash_file(path: &Path) -> Result<(u64, String)> {
    let mut input = fs::File::open(path).map_err(FileError::at(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut len: u64 = 0;
    loop {
        let n = input.read(&mut buf).map_err(FileError::at(path))?;
        let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
            break;
        };
        hasher.update(chunk);
        len += n as u64;
    }
    Ok((len, hex::encode(hasher.finalize())))
}

fn same_content(a: &Path, b: &Path) -> Result<bool> {
    let len = |p: &Path| fs::metadata(p).map(|m| m.len()).map_err(FileError::at(p));
    if len(a)? != len(b)? {
        return Ok(false);
    }
    Ok(hash_file(a)?.1 == hash_file(b)?.1)
}

/// The project lock: one command at a time changes a project. The file holds the PID of its
/// owner and is removed when the command ends, successfully or not.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
}

impl Lock {
    pub fn acquire(path: &Path) -> Result<Self> {
        let mut file = match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(PackError::Locked(path.to_path_buf()))
            }
            Err(e) => return Err(FileError::new(path, e).into()),
        };
        let _ = writeln!(file, "{}", std::process::id());
        Ok(Lock {
            path: path.to_path_buf(),
        })
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_orders_and_skips_identical() {
        let dir = tempfile::tempdir().unwrap();
        let ts = dir.path().join("repo/metadata/timestamp.json");
        fs::create_dir_all(ts.parent().unwrap()).unwrap();
        fs::write(&ts, b"old").unwrap();
        let same = dir.path().join("repo/targets/a");
        fs::create_dir_all(same.parent().unwrap()).unwrap();
        fs::write(&same, b"same").unwrap();

        let mut txn = Transaction::new(dir.path()).unwrap();
        txn.add_bytes(Phase::Timestamp, &ts, b"new", true).unwrap();
        txn.add_bytes(Phase::Targets, &same, b"same", false)
            .unwrap();
        let snap = dir.path().join("repo/metadata/2.snapshot.json");
        txn.add_bytes(Phase::Snapshot, &snap, b"snap", false)
            .unwrap();
        let done = txn.commit().unwrap();
        assert_eq!(done.written, vec![snap.clone(), ts.clone()]);
        assert_eq!(done.unchanged, vec![same]);
        assert_eq!(fs::read(&ts).unwrap(), b"new");
        // staging directory gone
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(leftovers, vec!["repo".to_string()]);
    }

    #[test]
    fn refuses_foreign_file_without_changing_anything() {
        let dir = tempfile::tempdir().unwrap();
        let existing = dir.path().join("m/3.snapshot.json");
        fs::create_dir_all(existing.parent().unwrap()).unwrap();
        fs::write(&existing, b"other").unwrap();
        let mut txn = Transaction::new(dir.path()).unwrap();
        let new_dir_file = dir.path().join("t/x/y");
        txn.add_bytes(Phase::Targets, &new_dir_file, b"t", false)
            .unwrap();
        txn.add_bytes(Phase::Snapshot, &existing, b"mine", false)
            .unwrap();
        assert!(matches!(txn.commit(), Err(PackError::Inconsistent(_))));
        assert!(!dir.path().join("t").exists());
        assert_eq!(fs::read(&existing).unwrap(), b"other");
    }

    #[test]
    fn undo_restores_replaced_file_and_removes_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let ts = dir.path().join("timestamp.json");
        fs::write(&ts, b"old").unwrap();
        let mut txn = Transaction::new(dir.path()).unwrap();
        txn.add_bytes(
            Phase::Targets,
            &dir.path().join("new/dir/file"),
            b"t",
            false,
        )
        .unwrap();
        txn.add_bytes(Phase::Timestamp, &ts, b"new", true).unwrap();
        // A destination whose parent is a file: the rename fails after two moves.
        txn.add_bytes(Phase::Root, &ts.join("impossible"), b"r", false)
            .unwrap();
        assert!(txn.commit().is_err());
        assert_eq!(fs::read(&ts).unwrap(), b"old");
        assert!(!dir.path().join("new").exists());
    }

    #[test]
    fn lock_is_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".lock");
        let lock = Lock::acquire(&path).unwrap();
        assert!(matches!(Lock::acquire(&path), Err(PackError::Locked(_))));
        drop(lock);
        assert!(Lock::acquire(&path).is_ok());
    }
}
