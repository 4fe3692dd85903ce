//! Where the policy file of an app is, and whether it is the administrator's.
//!
//! The system path comes from the OS, never from the environment (on Windows the
//! ProgramData folder from `SHGetKnownFolderPath`, not `%ProgramData%`). A policy file there
//! is believed only when the administrator controls it: it and every folder above it owned
//! by root (Administrators, SYSTEM or TrustedInstaller on Windows) and writable by no one
//! else. Otherwise any user who can create the folder (on Windows, ordinary users can create
//! folders in ProgramData) could pin every user of the machine to an old, vulnerable
//! version, or turn their updates off. Such a file is refused with
//! [`PolicyError::Untrusted`], and the app decides whether updates go on without it.
//!
//! The environment variable `<APP>_UPDATE_POLICY` names another file, but only for an app
//! that opts in ([`load_with_env_override`]): whoever sets the app's environment, the user
//! the policy restricts included, chooses the policy with it. It exists for tests and demos.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::file::{load_from, Policy, PolicyError, POLICY_FILE};

/// The environment variable naming a policy file for `app`: `SELFUPDATE_UPDATE_POLICY`
/// for `selfupdate`, `MY_APP_UPDATE_POLICY` for `my-app`.
pub fn env_var_name(app: &str) -> String {
    let mut name: String = app
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    name.push_str("_UPDATE_POLICY");
    name
}

/// Whether `app` is usable as one directory name: not empty, not `.` or `..`, at most 128
/// bytes, no path separator, `:` or control character.
fn valid_app_dir(app: &str) -> bool {
    !app.is_empty()
        && app.len() <= 128
        && app != "."
        && app != ".."
        && !app
            .chars()
            .any(|c| c.is_control() || matches!(c, '/' | '\\' | ':'))
}

/// The system-wide policy path on `os` (a `std::env::consts::OS` value); `program_data` is
/// Windows' ProgramData folder.
fn system_path_for(os: &str, app: &str, program_data: &Path) -> PathBuf {
    match os {
        "macos" => Path::new("/Library/Application Support")
            .join(app)
            .join(POLICY_FILE),
        "windows" => program_data.join(app).join(POLICY_FILE),
        _ => Path::new("/etc").join(app).join(POLICY_FILE),
    }
}

/// Windows' ProgramData folder, from the OS.
#[cfg(windows)]
fn program_data() -> Result<PathBuf, PolicyError> {
    file_trust::program_data_dir().map_err(|e| PolicyError::Io {
        path: PathBuf::from("ProgramData"),
        reason: e.to_string(),
    })
}

#[cfg(not(windows))]
fn program_data() -> Result<PathBuf, PolicyError> {
    Ok(PathBuf::new())
}

/// The system-wide policy path of `app` on this OS.
pub fn system_policy_path(app: &str) -> Result<PathBuf, PolicyError> {
    if !valid_app_dir(app) {
        return Err(PolicyError::BadAppName(app.to_string()));
    }
    Ok(system_path_for(std::env::consts::OS, app, &program_data()?))
}

/// Loads the administrator's policy of `app` from [`system_policy_path`], refusing a file
/// the administrator does not control. `Ok(None)`: there is no policy file.
pub fn load(app: &str) -> Result<Option<Policy>, PolicyError> {
    load_admin_file(&system_policy_path(app)?)
}

/// Loads the policy file at `path` if the administrator controls it (see the module
/// documentation): else [`PolicyError::Untrusted`], with the reason.
pub fn load_admin_file(path: &Path) -> Result<Option<Policy>, PolicyError> {
    if std::fs::symlink_metadata(path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound) {
        return Ok(None);
    }
    file_trust::check_admin_controlled(path).map_err(|e| PolicyError::Untrusted {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    load_from(path)
}

/// [`load`], unless `<APP>_UPDATE_POLICY` is set and not empty: then the file it names,
/// whoever owns it. Only for apps that opt in (tests, demos); see the module documentation.
pub fn load_with_env_override(app: &str) -> Result<Option<Policy>, PolicyError> {
    load_with_env(app, |name| std::env::var_os(name))
}

fn load_with_env(
    app: &str,
    env: impl Fn(&str) -> Option<OsString>,
) -> Result<Option<Policy>, PolicyError> {
    match env(&env_var_name(app)).filter(|v| !v.is_empty()) {
        Some(path) => load_from(Path::new(&path)),
        None => load(app),
    }
}

#[cfg(test)]
#[path = "location_tests.rs"]
mod tests;
