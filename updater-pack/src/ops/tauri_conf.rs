//! The version and name of a Tauri app, from its configuration, for `release --bundle-dir`:
//! `tauri.conf.json` given with `--config`, or found by walking up from a bundle folder
//! (Tauri writes `src-tauri/target/[<triple>/]<profile>/bundle`, so `src-tauri/` is an
//! ancestor, or its sibling when the Cargo workspace is the parent of `src-tauri/`).
//!
//! The version is the configuration's `version` (Tauri 1: `package.version`); when it is a
//! path ending in `.json`, the `version` of that package.json (relative to the
//! configuration's folder), as Tauri 2 reads it; when there is none, the `[package]`
//! version of the `Cargo.toml` beside the configuration, as Tauri does. The name is
//! `productName` (Tauri 1: `package.productName`), else `mainBinaryName`.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tuf_updater_core::files::{self, Capped};

use crate::error::{PackError, Result};

/// Largest configuration, package.json or Cargo.toml read.
pub const MAX_CONFIG: u64 = 1024 * 1024;

/// What the configuration says of the app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TauriApp {
    /// The `tauri.conf.json` read.
    pub config: PathBuf,
    /// The version, and the file it was read from (the configuration, a package.json or
    /// a Cargo.toml); `None` if none of them has one.
    pub version: Option<(String, PathBuf)>,
    /// `productName`, else `mainBinaryName`, as written.
    pub name: Option<String>,
}

/// The `tauri.conf.json` above one of `dirs`: in an ancestor, or in an ancestor's
/// `src-tauri/`; the nearest first, `dirs` in order.
pub fn find_config(dirs: &[PathBuf]) -> Option<PathBuf> {
    dirs.iter().find_map(|dir| {
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.clone());
        dir.ancestors().find_map(|up| {
            [
                up.join("tauri.conf.json"),
                up.join("src-tauri").join("tauri.conf.json"),
            ]
            .into_iter()
            .find(|p| p.is_file())
        })
    })
}

fn bad(path: &Path, reason: impl Into<String>) -> PackError {
    PackError::TauriConfig {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// The bytes of a small text file: [`MAX_CONFIG`] at most.
fn read_text(path: &Path) -> Result<String> {
    let data = match files::read_capped(path, MAX_CONFIG) {
        Ok(Capped::Data(data)) => data,
        Ok(Capped::Missing) => return Err(bad(path, "no such file")),
        Ok(Capped::TooLarge) => return Err(bad(path, format!("larger than {MAX_CONFIG} bytes"))),
        Err(e) => return Err(bad(path, format!("cannot read it: {}", e.source))),
    };
    String::from_utf8(data).map_err(|_| bad(path, "not UTF-8 text"))
}

fn read_json(path: &Path) -> Result<Value> {
    let text = read_text(path)?;
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        bad(
            path,
            format!("not valid JSON ({e}); JSON5 and TOML are not read"),
        )
    })?;
    if !value.is_object() {
        return Err(bad(path, "not a JSON object"));
    }
    Ok(value)
}

/// A string at the top level or, Tauri 1's place, under `package`.
fn string_field<'a>(config: &'a Value, key: &str) -> Option<&'a str> {
    config
        .get(key)
        .or_else(|| config.get("package").and_then(|p| p.get(key)))
        .and_then(Value::as_str)
}

/// Reads the configuration at `path`; see the module documentation.
pub fn read_config(path: &Path) -> Result<TauriApp> {
    let config = read_json(path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let version = match string_field(&config, "version") {
        Some(v) if v.ends_with(".json") => {
            let package = dir.join(v);
            let json = read_json(&package)?;
            let version = json
                .get("version")
                .and_then(Value::as_str)
                .ok_or_else(|| bad(&package, "has no \"version\" string"))?;
            Some((version.to_string(), package))
        }
        Some(v) => Some((v.to_string(), path.to_path_buf())),
        None => cargo_version(&dir.join("Cargo.toml"))?,
    };
    let name = string_field(&config, "productName")
        .or_else(|| string_field(&config, "mainBinaryName"))
        .map(str::to_string);
    Ok(TauriApp {
        config: path.to_path_buf(),
        version,
        name,
    })
}

/// The `version = "..."` of the `[package]` table of a Cargo.toml, if it has one written
/// there (not `version.workspace = true`); `None` without a Cargo.toml.
fn cargo_version(path: &Path) -> Result<Option<(String, PathBuf)>> {
    if !path.is_file() {
        return Ok(None);
    }
    let text = read_text(path)?;
    let mut in_package = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        let Some(rest) = line.strip_prefix("version").map(str::trim_start) else {
            continue;
        };
        let Some(value) = rest.strip_prefix('=').map(str::trim) else {
            continue;
        };
        if in_package {
            let version = value.trim_matches('"');
            return Ok((!version.is_empty() && value.starts_with('"'))
                .then(|| (version.to_string(), path.to_path_buf())));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_and_name_from_each_place() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("tauri.conf.json");
        std::fs::write(&conf, r#"{"version":"1.2.0","productName":"Demo"}"#).unwrap();
        let app = read_config(&conf).unwrap();
        assert_eq!(app.version, Some(("1.2.0".into(), conf.clone())));
        assert_eq!(app.name.as_deref(), Some("Demo"));

        std::fs::write(
            &conf,
            r#"{"package":{"version":"1.0.0","productName":"Old"}}"#,
        )
        .unwrap();
        let app = read_config(&conf).unwrap();
        assert_eq!(app.version.unwrap().0, "1.0.0");
        assert_eq!(app.name.as_deref(), Some("Old"));

        std::fs::write(&conf, r#"{"version":"missing.json"}"#).unwrap();
        let err = read_config(&conf).unwrap_err().to_string();
        assert!(err.contains("missing.json: no such file"), "{err}");
        let sub = dir.path().join("src-tauri");
        std::fs::create_dir(&sub).unwrap();
        let conf = sub.join("tauri.conf.json");
        std::fs::write(
            &conf,
            r#"{"version":"../package.json","mainBinaryName":"demo"}"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("package.json"), r#"{"version":"2.0.0"}"#).unwrap();
        let app = read_config(&conf).unwrap();
        assert_eq!(app.version.unwrap().0, "2.0.0");
        assert_eq!(app.name.as_deref(), Some("demo"));

        std::fs::write(&conf, r#"{"identifier":"x"}"#).unwrap();
        assert_eq!(read_config(&conf).unwrap().version, None);
        std::fs::write(
            sub.join("Cargo.toml"),
            "[dependencies]\nversion = \"9\"\n[package]\nname = \"demo\"\nversion = \"3.1.0\"\n",
        )
        .unwrap();
        assert_eq!(read_config(&conf).unwrap().version.unwrap().0, "3.1.0");
        std::fs::write(
            sub.join("Cargo.toml"),
            "[package]\nversion.workspace = true\n",
        )
        .unwrap();
        assert_eq!(read_config(&conf).unwrap().version, None);
    }

    #[test]
    fn the_configuration_is_found_above_the_bundle_folder() {
        let dir = tempfile::tempdir().unwrap();
        let bundle = dir.path().join("app/src-tauri/target/release/bundle");
        std::fs::create_dir_all(&bundle).unwrap();
        assert_eq!(find_config(std::slice::from_ref(&bundle)), None);
        let conf = dir.path().join("app/src-tauri/tauri.conf.json");
        std::fs::write(&conf, "{}").unwrap();
        let found = find_config(&[bundle]).unwrap();
        assert_eq!(found, std::path::absolute(&conf).unwrap());
        // A workspace's target folder, beside src-tauri.
        let bundle = dir
            .path()
            .join("app/target/x86_64-pc-windows-msvc/release/bundle");
        std::fs::create_dir_all(&bundle).unwrap();
        assert_eq!(find_config(&[bundle]).unwrap(), found);
    }

    #[test]
    fn unreadable_configurations_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("tauri.conf.json");
        std::fs::write(&conf, "{ version: 1 }").unwrap();
        let err = read_config(&conf).unwrap_err().to_string();
        assert!(err.contains("not valid JSON"), "{err}");
        assert!(err.contains("tauri.conf.json"), "{err}");
        std::fs::write(&conf, vec![b' '; MAX_CONFIG as usize + 1]).unwrap();
        let err = read_config(&conf).unwrap_err().to_string();
        assert!(err.contains("larger than"), "{err}");
    }
}
