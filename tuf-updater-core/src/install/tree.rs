//! A staged bundle's tree: made durable before the journal says `Staged` (every file and
//! directory fsynced, so a power cut cannot leave a swapped-in bundle with empty files), and
//! identified by a digest of everything in it, computed at staging and checked again just
//! before the swap (a staged tree changed in between is not installed).

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::error::InstallError;
use super::swap::sibling;
use crate::files::{remove_any, sync_dir, FileError};

/// A fresh random name beside the bundle `target` to stage its new version under:
/// `.<bundle>.staged-<random>`. Staged trees a killed process left beside it under that
/// pattern (or the fixed `.<bundle>.staged` of earlier versions) are removed first: their
/// names say whose they are, and no journal points at them, since a journal that did
/// would have been finished or undone before a new stage starts.
pub(crate) fn fresh_staging_name(target: &Path) -> Result<PathBuf, InstallError> {
    let ours = sibling(target, ".staged");
    let prefix = ours
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let dir = super::swap::parent_of(target);
    for entry in fs::read_dir(dir).map_err(FileError::at(dir))?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == prefix || name.starts_with(&format!("{prefix}-")) {
            let path = entry.path();
            tracing::info!(path = %path.display(), "removing a staged bundle an interrupted update left");
            remove_any(&path)?;
        }
    }
    let random = rand_core::RngCore::next_u64(&mut rand_core::OsRng);
    Ok(sibling(target, &format!(".staged-{random:016x}")))
}

/// Every entry under `root` (not following symlinks), directories after their contents.
fn entries(root: &Path) -> Result<Vec<(PathBuf, fs::FileType)>, InstallError> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut children: Vec<_> = fs::read_dir(&dir)
            .map_err(FileError::at(&dir))?
            .collect::<Result<_, _>>()
            .map_err(FileError::at(&dir))?;
        children.sort_by_key(|e| e.file_name());
        for child in children {
            let path = child.path();
            let kind = child.file_type().map_err(FileError::at(&path))?;
            if kind.is_dir() {
                stack.push(path.clone());
            }
            out.push((path, kind));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Fsyncs every regular file and directory under `root`, and `root` itself.
pub(crate) fn sync_tree(root: &Path) -> Result<(), InstallError> {
    let all = entries(root)?;
    for (path, kind) in &all {
        if kind.is_file() {
            crate::files::sync_file(path)?;
        }
    }
    // Deepest first: a directory's entries are durable before the directory naming them.
    for (path, kind) in all.iter().rev() {
        if kind.is_dir() {
            sync_dir(path)?;
        }
    }
    sync_dir(root)?;
    Ok(())
}

/// A digest of the tree under `root`: each entry's relative path, kind, permissions, and a
/// file's content or a link's target, in path order.
pub(crate) fn tree_digest(root: &Path) -> Result<String, InstallError> {
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    for (path, kind) in entries(root)? {
        let rel = path.strip_prefix(root).unwrap_or(&path);
        hash.update(rel.to_string_lossy().as_bytes());
        hash.update([0]);
        let meta = fs::symlink_metadata(&path).map_err(FileError::at(&path))?;
        hash.update(mode_of(&meta).to_le_bytes());
        if kind.is_file() {
            hash.update(b"f");
            hash.update(meta.len().to_le_bytes());
            let mut file = fs::File::open(&path).map_err(FileError::at(&path))?;
            loop {
                let n = file.read(&mut buf).map_err(FileError::at(&path))?;
                match buf.get(..n) {
                    Some(chunk) if !chunk.is_empty() => hash.update(chunk),
                    _ => break,
                }
            }
        } else if kind.is_symlink() {
            hash.update(b"l");
            let target = fs::read_link(&path).map_err(FileError::at(&path))?;
            hash.update(target.to_string_lossy().as_bytes());
        } else if kind.is_dir() {
            hash.update(b"d");
        } else {
            hash.update(b"o");
        }
        hash.update([0]);
    }
    Ok(hex::encode(hash.finalize()))
}

#[cfg(unix)]
fn mode_of(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn mode_of(meta: &fs::Metadata) -> u32 {
    u32::from(meta.permissions().readonly())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let app = dir.path().join("Contents/MacOS");
        fs::create_dir_all(&app).unwrap();
        fs::write(app.join("app"), b"binary").unwrap();
        fs::write(dir.path().join("Contents/Info.plist"), b"plist").unwrap();
        dir
    }

    #[test]
    fn the_digest_changes_with_any_content_name_or_mode_and_only_then() {
        let dir = tree();
        let d0 = tree_digest(dir.path()).unwrap();
        assert_eq!(tree_digest(dir.path()).unwrap(), d0, "stable");
        sync_tree(dir.path()).unwrap();
        assert_eq!(
            tree_digest(dir.path()).unwrap(),
            d0,
            "syncing changes nothing"
        );
        let exe = dir.path().join("Contents/MacOS/app");
        fs::write(&exe, b"binarz").unwrap();
        let d1 = tree_digest(dir.path()).unwrap();
        assert_ne!(d1, d0, "content");
        fs::write(dir.path().join("Contents/extra"), b"").unwrap();
        let d2 = tree_digest(dir.path()).unwrap();
        assert_ne!(d2, d1, "a new file");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&exe, fs::Permissions::from_mode(0o4755)).unwrap();
            assert_ne!(tree_digest(dir.path()).unwrap(), d2, "a setuid bit");
            std::os::unix::fs::symlink("/etc/passwd", dir.path().join("Contents/link")).unwrap();
            let d3 = tree_digest(dir.path()).unwrap();
            fs::remove_file(dir.path().join("Contents/link")).unwrap();
            std::os::unix::fs::symlink("/etc/shadow", dir.path().join("Contents/link")).unwrap();
            assert_ne!(tree_digest(dir.path()).unwrap(), d3, "a link's target");
        }
    }
}
