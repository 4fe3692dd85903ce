//! Turning a verified artifact into the thing that will be swapped in: the executable itself
//! (a plain binary, an AppImage), or the contents of a `.tar.gz` (what `tauri build` makes
//! for macOS, `.app.tar.gz`, and for Linux, `.AppImage.tar.gz`).

use std::fs;
use std::path::{Component, Path, PathBuf};

use super::error::InstallError;
use crate::files::FileError;

pub fn is_tar_gz(name: &str) -> bool {
    name.ends_with(".tar.gz") || name.ends_with(".tgz")
}

/// Writes the new executable for `artifact` at `dest`, executable by its owner.
pub fn stage_executable(artifact: &Path, name: &str, dest: &Path) -> Result<(), InstallError> {
    if is_tar_gz(name) {
        let dir = dest.with_extension("unpack");
        let _ = fs::remove_dir_all(&dir);
        unpack_tar_gz(artifact, &dir)?;
        let file = single_file(&dir)?;
        fs::rename(&file, dest).map_err(FileError::at(dest))?;
        fs::remove_dir_all(&dir).map_err(FileError::at(&dir))?;
    } else {
        fs::copy(artifact, dest).map_err(FileError::at(dest))?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dest, fs::Permissions::from_mode(0o755))
            .map_err(FileError::at(dest))?;
    }
    fs::File::open(dest)
        .and_then(|f| f.sync_all())
        .map_err(FileError::at(dest))?;
    Ok(())
}

/// Unpacks a bundle archive into `dest`. When everything in the archive sits under one
/// top-level directory (`MyApp.app/...`), that directory's contents become `dest`.
pub fn stage_bundle(artifact: &Path, name: &str, dest: &Path) -> Result<(), InstallError> {
    if !is_tar_gz(name) {
        return Err(InstallError::Artifact(format!(
            "{name}: a bundle update must be a .tar.gz archive"
        )));
    }
    let unpack = dest.with_extension("unpack");
    let _ = fs::remove_dir_all(&unpack);
    unpack_tar_gz(artifact, &unpack)?;
    let entries: Vec<PathBuf> = fs::read_dir(&unpack)
        .map_err(FileError::at(&unpack))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    match entries.as_slice() {
        [only] if only.is_dir() => {
            fs::rename(only, dest).map_err(FileError::at(dest))?;
            fs::remove_dir_all(&unpack).map_err(FileError::at(&unpack))?;
        }
        _ => fs::rename(&unpack, dest).map_err(FileError::at(dest))?,
    }
    Ok(())
}

fn unpack_tar_gz(archive: &Path, dir: &Path) -> Result<(), InstallError> {
    fs::create_dir_all(dir).map_err(FileError::at(dir))?;
    let file = fs::File::open(archive).map_err(FileError::at(archive))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    tar.set_preserve_permissions(true);
    for entry in tar.entries().map_err(FileError::at(archive))? {
        let mut entry = entry.map_err(FileError::at(archive))?;
        let path = entry.path().map_err(FileError::at(archive))?.into_owned();
        // unpack_in refuses `..` and absolute paths too; we say why instead of skipping.
        if path
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(InstallError::Artifact(format!(
                "archive entry {} escapes the install directory",
                path.display()
            )));
        }
        entry.unpack_in(dir).map_err(FileError::at(dir))?;
    }
    Ok(())
}

/// The one regular file in a tree (an archive holding a single executable).
fn single_file(dir: &Path) -> Result<PathBuf, InstallError> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).map_err(FileError::at(&d))? {
            let path = entry.map_err(FileError::at(&d))?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    match files.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(InstallError::Artifact(format!(
            "expected one file in the archive for an executable update, found {}",
            files.len()
        ))),
    }
}
