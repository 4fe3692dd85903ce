//! Turning a verified artifact into the thing that will be swapped in: the executable itself
//! (a plain binary, an AppImage), or the contents of a `.tar.gz` (what `tauri build` makes
//! for macOS, `.app.tar.gz`, and for Linux, `.AppImage.tar.gz`).

use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use super::error::InstallError;
use crate::files::FileError;

/// Whether a file name is a gzipped tar (`.tar.gz` or `.tgz`).
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
    crate::files::sync_file(dest)?;
    Ok(())
}

/// Copies a verified package (or installer) to `dest` as it is, durably: the package
/// manager (or the installer) unpacks it.
pub(crate) fn stage_package(artifact: &Path, dest: &Path) -> Result<(), InstallError> {
    fs::copy(artifact, dest).map_err(FileError::at(dest))?;
    crate::files::sync_file(dest)?;
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
    let file = fs::File::open(artifact).map_err(FileError::at(artifact))?;
    stage_bundle_from(flate2::read::GzDecoder::new(file), artifact, dest)
}

/// Unpacks an uncompressed tar into `dest`, as [`stage_bundle`] does a `.tar.gz`: the tar a
/// bundle patch rebuilt (verified against the release's signed tar digest).
pub fn stage_bundle_tar(tar: &Path, dest: &Path) -> Result<(), InstallError> {
    let file = fs::File::open(tar).map_err(FileError::at(tar))?;
    stage_bundle_from(std::io::BufReader::new(file), tar, dest)
}

/// Unpacks the tar stream `tar` (read from `source`, named in errors) into `dest`.
fn stage_bundle_from(tar: impl Read, source: &Path, dest: &Path) -> Result<(), InstallError> {
    let unpack = dest.with_extension("unpack");
    let _ = fs::remove_dir_all(&unpack);
    unpack_tar(tar, source, &unpack)?;
    let entries: Vec<PathBuf> = fs::read_dir(&unpack)
        .map_err(FileError::at(&unpack))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    match entries.as_slice() {
        // Not `is_dir()`, which follows a symlink: the bundle would be the link.
        [only] if fs::symlink_metadata(only).is_ok_and(|m| m.is_dir()) => {
            fs::rename(only, dest).map_err(FileError::at(dest))?;
            fs::remove_dir_all(&unpack).map_err(FileError::at(&unpack))?;
        }
        _ => fs::rename(&unpack, dest).map_err(FileError::at(dest))?,
    }
    Ok(())
}

fn unpack_tar_gz(archive: &Path, dir: &Path) -> Result<(), InstallError> {
    let file = fs::File::open(archive).map_err(FileError::at(archive))?;
    unpack_tar(flate2::read::GzDecoder::new(file), archive, dir)
}

fn unpack_tar(stream: impl Read, archive: &Path, dir: &Path) -> Result<(), InstallError> {
    fs::create_dir_all(dir).map_err(FileError::at(dir))?;
    let mut tar = tar::Archive::new(stream);
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

/// The one regular file in a tree (an archive holding a single executable). Symlinks are
/// neither followed nor taken: one could lead out of the tree, or be the "executable".
fn single_file(dir: &Path) -> Result<PathBuf, InstallError> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).map_err(FileError::at(&d))? {
            let entry = entry.map_err(FileError::at(&d))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(FileError::at(&path))?;
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                files.push(path);
            } else {
                return Err(InstallError::Artifact(format!(
                    "archive entry {} of an executable update is not a regular file",
                    path.strip_prefix(dir).unwrap_or(&path).display()
                )));
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

// Symlinks and Unix modes: what these tests are about.
#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;

    /// A `.tar.gz` of symlinks `(name, target)` and files `(name, data)`.
    fn archive(dir: &Path, links: &[(&str, &str)], files: &[(&str, &[u8])]) -> PathBuf {
        let path = dir.join("artifact.tar.gz");
        let gz = flate2::write::GzEncoder::new(
            fs::File::create(&path).unwrap(),
            flate2::Compression::fast(),
        );
        let mut tar = tar::Builder::new(gz);
        for (name, target) in links {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_size(0);
            header.set_mode(0o777);
            tar.append_link(&mut header, name, target).unwrap();
        }
        for (name, data) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            tar.append_data(&mut header, name, *data).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap();
        path
    }

    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
    }

    /// Found by fuzzing (fuzz/, unpack): the one "file" of an executable update was a symlink
    /// out of the staging folder; it became the staged executable, and making it executable
    /// changed the mode of the file it points to.
    #[test]
    fn an_executable_update_that_is_a_symlink_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        fs::write(&outside, b"not ours").unwrap();
        fs::set_permissions(
            &outside,
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        let artifact = archive(dir.path(), &[("app", outside.to_str().unwrap())], &[]);
        let dest = dir.path().join("staged");
        let result = stage_executable(&artifact, "app.tar.gz", &dest);
        assert!(result.is_err(), "{result:?}");
        assert_eq!(mode(&outside), 0o600);
        assert!(fs::symlink_metadata(&dest).is_err());
    }

    /// Found by fuzzing (fuzz/, unpack): a symlink to a directory was walked into (a symlink
    /// to `/` walked the whole file system), and its one file moved out of it.
    #[test]
    fn a_symlinked_directory_is_not_walked_into() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        fs::create_dir(&outside).unwrap();
        fs::write(outside.join("only"), b"not ours").unwrap();
        let artifact = archive(dir.path(), &[("bin", outside.to_str().unwrap())], &[]);
        let dest = dir.path().join("staged");
        assert!(stage_executable(&artifact, "app.tar.gz", &dest).is_err());
        assert_eq!(fs::read(outside.join("only")).unwrap(), b"not ours");
    }

    /// Found by fuzzing (fuzz/, unpack): a bundle archive holding one symlink to a directory
    /// was staged as that symlink.
    #[test]
    fn a_bundle_is_never_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        fs::create_dir(&outside).unwrap();
        let artifact = archive(dir.path(), &[("App.app", outside.to_str().unwrap())], &[]);
        let dest = dir.path().join("staged");
        if stage_bundle(&artifact, "App.app.tar.gz", &dest).is_ok() {
            assert!(fs::symlink_metadata(&dest).unwrap().is_dir());
        }
    }

    #[test]
    fn an_uncompressed_tar_stages_the_same_bundle_with_the_same_checks() {
        let dir = tempfile::tempdir().unwrap();
        let gz = archive(
            dir.path(),
            &[("App.app/Current", "MacOS")],
            &[("App.app/MacOS/app", b"v2")],
        );
        let tar = dir.path().join("artifact.tar");
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(fs::File::open(&gz).unwrap())
            .read_to_end(&mut plain)
            .unwrap();
        fs::write(&tar, &plain).unwrap();
        let dest = dir.path().join("staged");
        stage_bundle_tar(&tar, &dest).unwrap();
        assert_eq!(fs::read(dest.join("MacOS/app")).unwrap(), b"v2");
        assert!(fs::symlink_metadata(dest.join("Current"))
            .unwrap()
            .file_type()
            .is_symlink());

        // An entry out of the bundle is refused here too (written by hand: the tar crate's
        // builder refuses `..`).
        let mut header = tar::Header::new_gnu();
        header.set_size(1);
        header.set_mode(0o644);
        header.as_gnu_mut().unwrap().name[..9].copy_from_slice(b"../escape");
        header.set_cksum();
        let mut evil = header.as_bytes().to_vec();
        evil.extend([b'x'; 1].iter().chain([0u8; 511].iter()));
        evil.extend([0u8; 1024]);
        fs::write(&tar, &evil).unwrap();
        let dest = dir.path().join("staged2");
        assert!(matches!(
            stage_bundle_tar(&tar, &dest),
            Err(InstallError::Artifact(_))
        ));
        assert!(!dir.path().join("escape").exists());
    }

    #[test]
    fn a_bundle_keeps_its_inner_symlinks_and_an_executable_is_staged() {
        let dir = tempfile::tempdir().unwrap();
        let artifact = archive(
            dir.path(),
            &[("App.app/Current", "MacOS")],
            &[("App.app/MacOS/app", b"v2")],
        );
        let dest = dir.path().join("staged");
        stage_bundle(&artifact, "App.app.tar.gz", &dest).unwrap();
        assert!(fs::symlink_metadata(dest.join("Current"))
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(dest.join("Current/app")).unwrap(), b"v2");

        let artifact = archive(dir.path(), &[], &[("bin/app", b"v2")]);
        let exe = dir.path().join("exe");
        stage_executable(&artifact, "app.tar.gz", &exe).unwrap();
        assert_eq!(fs::read(&exe).unwrap(), b"v2");
        assert_eq!(mode(&exe), 0o755);
    }
}
