//! What this process runs from, and so what an update replaces: its executable, the AppImage
//! it was started from, on macOS the `.app` bundle that contains it, or on Linux the deb or
//! rpm package that installed it (`dpkg -S`, `rpm -qf`), which is updated through its
//! package manager, or on Windows the NSIS setup or MSI whose uninstall entry holds it
//! (`uninstall.rs`), which is updated by the new version's installer.
//!
//! An AppImage's runtime mounts the image (read-only, FUSE) at a fresh mount point, sets
//! `APPIMAGE` to the image file and `APPDIR` to the mount point, and starts the executable
//! inside the mount. Both variables are inherited by every child process: an app started
//! from a terminal or an IDE that is itself an AppImage sees that other image's variables.
//! So the variables are believed only when this executable lives inside `APPDIR` and
//! `APPDIR` is a mount point; otherwise the image named is not ours and is left alone.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use super::journal::{InstallTarget, PackagedApp};
use super::InstallError;
use crate::files::FileError;

/// This process's install target (see the module documentation).
pub fn detect_target() -> Result<InstallTarget, InstallError> {
    let exe = match super::early::exe_at_start() {
        Some(exe) => exe,
        None => std::env::current_exe().map_err(FileError::at(Path::new("current executable")))?,
    };
    let exe = fs::canonicalize(&exe).unwrap_or(exe);
    let appimage = std::env::var_os("APPIMAGE").filter(|v| !v.is_empty());
    let appdir = std::env::var_os("APPDIR").filter(|v| !v.is_empty());
    if let Some(image) = appimage {
        match own_appimage(&exe, image, appdir) {
            Ok(image) => return Ok(InstallTarget::Executable(image)),
            Err(reason) => {
                tracing::warn!(exe = %exe.display(), "APPIMAGE ignored: {reason}");
            }
        }
    }
    if cfg!(target_os = "linux") {
        if let Some((manager, name)) = super::package::owner(&exe) {
            return Ok(InstallTarget::Package(PackagedApp { manager, name, exe }));
        }
    }
    #[cfg(windows)]
    if let Some(app) = super::uninstall::installer_app(&exe, &super::uninstall::read_entries()) {
        return Ok(InstallTarget::Installer(app));
    }
    if cfg!(target_os = "macos") {
        if let Some(bundle) = exe
            .ancestors()
            .find(|p| p.extension().is_some_and(|e| e == "app"))
        {
            return Ok(InstallTarget::Bundle(bundle.to_path_buf()));
        }
    }
    Ok(InstallTarget::Executable(exe))
}

/// The AppImage file this executable (canonical path `exe`) was started from, given the
/// `APPIMAGE` and `APPDIR` variables; or why they do not describe this process.
pub(crate) fn own_appimage(
    exe: &Path,
    appimage: OsString,
    appdir: Option<OsString>,
) -> Result<PathBuf, String> {
    let appdir = appdir.ok_or("APPDIR is not set (an AppImage runtime sets both)")?;
    let mount = fs::canonicalize(&appdir)
        .map_err(|e| format!("APPDIR {}: {e}", Path::new(&appdir).display()))?;
    if !exe.starts_with(&mount) {
        return Err(format!(
            "this executable is not inside APPDIR {} (the variables were inherited from \
             another AppImage)",
            mount.display()
        ));
    }
    if !is_mount_point(&mount)? {
        return Err(format!("APPDIR {} is not a mount point", mount.display()));
    }
    let image = PathBuf::from(appimage);
    match fs::metadata(&image) {
        Ok(m) if m.is_file() => Ok(fs::canonicalize(&image).unwrap_or(image)),
        Ok(_) => Err(format!("APPIMAGE {} is not a file", image.display())),
        Err(e) => Err(format!("APPIMAGE {}: {e}", image.display())),
    }
}

/// Whether `dir` is the root of a mounted file system: on another device than its parent.
#[cfg(unix)]
fn is_mount_point(dir: &Path) -> Result<bool, String> {
    use std::os::unix::fs::MetadataExt;
    let parent = dir.parent().unwrap_or(dir);
    let device = |p: &Path| {
        fs::metadata(p)
            .map(|m| m.dev())
            .map_err(|e| format!("{}: {e}", p.display()))
    };
    Ok(parent == dir || device(dir)? != device(parent)?)
}

/// AppImages are a Linux format; elsewhere the variables never describe this process.
#[cfg(not(unix))]
fn is_mount_point(_dir: &Path) -> Result<bool, String> {
    Ok(false)
}

#[cfg(test)]
#[cfg(target_os = "linux")]
mod tests {
    use super::*;

    /// A real mount point other than `/`, with a file inside standing for the executable.
    fn mounted() -> (PathBuf, PathBuf) {
        let mount = ["/proc", "/sys", "/dev"]
            .iter()
            .map(PathBuf::from)
            .find(|p| is_mount_point(p).unwrap_or(false))
            .unwrap();
        let exe = mount.join("self").join("exe");
        (mount, exe)
    }

    #[test]
    fn the_image_is_ours_when_this_executable_runs_from_its_mount() {
        let (mount, exe) = mounted();
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("App.AppImage");
        fs::write(&image, b"image").unwrap();
        let got = own_appimage(&exe, image.clone().into(), Some(mount.into())).unwrap();
        assert_eq!(got, fs::canonicalize(&image).unwrap());
    }

    #[test]
    fn variables_inherited_from_another_appimage_are_refused() {
        // A terminal that is an AppImage started this (non-AppImage) app: its APPIMAGE and
        // APPDIR name the terminal's image, which must not be overwritten and started.
        let (mount, _) = mounted();
        let dir = tempfile::tempdir().unwrap();
        let terminal = dir.path().join("Terminal.AppImage");
        fs::write(&terminal, b"someone else's image").unwrap();
        let exe = dir.path().join("our-app");
        let err = own_appimage(&exe, terminal.clone().into(), Some(mount.into())).unwrap_err();
        assert!(err.contains("not inside APPDIR"), "{err}");
        let err = own_appimage(&exe, terminal.into(), None).unwrap_err();
        assert!(err.contains("APPDIR is not set"), "{err}");
    }

    #[test]
    fn an_appdir_that_is_not_a_mount_point_is_refused() {
        // Anyone can set APPDIR to a folder holding the executable; only the runtime mounts.
        let dir = tempfile::tempdir().unwrap();
        let appdir = dir.path().join("squashfs-root");
        fs::create_dir(&appdir).unwrap();
        let exe = fs::canonicalize(&appdir).unwrap().join("AppRun");
        let image = dir.path().join("App.AppImage");
        fs::write(&image, b"image").unwrap();
        let err = own_appimage(&exe, image.into(), Some(appdir.into())).unwrap_err();
        assert!(err.contains("is not a mount point"), "{err}");
    }

    #[test]
    fn a_missing_image_is_refused() {
        let (mount, exe) = mounted();
        let err =
            own_appimage(&exe, "/nonexistent/App.AppImage".into(), Some(mount.into())).unwrap_err();
        assert!(err.contains("/nonexistent/App.AppImage"), "{err}");
    }
}
