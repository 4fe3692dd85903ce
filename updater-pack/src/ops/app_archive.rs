//! A macOS `.app` folder packed as the `.app.tar.gz` updates install, for a bundle folder
//! where Tauri did not write one (it does only with `bundle.createUpdaterArtifacts`, which
//! also wants Tauri's own signing key: our releases are signed by the repository's
//! metadata instead).
//!
//! The archive holds `<Name>.app/...` as Tauri's does, symbolic links kept as links (a
//! framework's `Versions/Current`), executable bits kept, owners and times normalised (the
//! same folder packs to the same bytes).

use std::fs::File;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use tuf_updater_core::files::FileError;

use crate::error::{PackError, Result};

/// Packs `app` (a `*.app` folder) into `into/<Name>.app.tar.gz`; its path.
pub fn pack_app(app: &Path, into: &Path) -> Result<PathBuf> {
    let name = app
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| n.ends_with(".app"))
        .ok_or_else(|| PackError::BadBundle {
            path: app.to_path_buf(),
            reason: "not a .app folder with a UTF-8 name".into(),
        })?;
    let out = into.join(format!("{name}.tar.gz"));
    let file = File::create(&out).map_err(FileError::at(&out))?;
    let mut tar = tar::Builder::new(GzEncoder::new(file, flate2::Compression::default()));
    tar.follow_symlinks(false);
    tar.mode(tar::HeaderMode::Deterministic);
    tar.append_dir_all(name, app)
        .map_err(|e| PackError::BadBundle {
            path: app.to_path_buf(),
            reason: format!("cannot pack it: {e}"),
        })?;
    let gz = tar.into_inner().map_err(FileError::at(&out))?;
    let file = gz.finish().map_err(FileError::at(&out))?;
    file.sync_all().map_err(FileError::at(&out))?;
    Ok(out)
}
