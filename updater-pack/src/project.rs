//! A project directory:
//!
//! ```text
//! DIR/updater-pack.json   settings: key type, lifetimes (not secret, not published)
//! DIR/keys/<role>/<keyid>.pem   private keys, owner-only (never published)
//! DIR/keys/<role>/<keyid>.pkcs11   or a key in a PKCS#11 token, by reference
//! DIR/repository/metadata/      the project repository: N.root.json, timestamp.json, ...
//! DIR/repository/apps/<app>/metadata/   per-app layout: one TUF repository per app
//! DIR/repository/targets/       <channel>/<app>/<version>/<platform>/<sha256>.<file>
//! ```
//!
//! In the `channel` layout (projects made before the per-app layout) every release is in the
//! project repository's channel roles. In the `per-app` layout ([`Layout`]) each app has its
//! own repository, with the project's root history and keys, and the project repository
//! holds no releases: it is where the root history, `targets` and the channel roles a new
//! app's repository starts from live. A migrated project keeps writing its releases there
//! too while `shared_releases` is on, for installs that still read it (docs/decisions.md).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tuf_updater_core::files::{self, Capped};
use tuf_updater_core::tuf::signer::KeyKind;

use crate::error::{PackError, Result};
use crate::lifetime::ExpiryPolicy;

/// Where a project's parts live.
#[derive(Clone, Debug)]
pub struct Project {
    dir: PathBuf,
    keys_dir: PathBuf,
}

pub const CONFIG_FILE: &str = "updater-pack.json";
const LOCK_FILE: &str = ".updater-pack.lock";
/// Largest settings file read.
const MAX_CONFIG: u64 = 1024 * 1024;

impl Project {
    /// `keys_dir` defaults to `DIR/keys`; root keys kept offline can live elsewhere.
    pub fn new(dir: impl Into<PathBuf>, keys_dir: Option<PathBuf>) -> Self {
        let dir = dir.into();
        let keys_dir = keys_dir.unwrap_or_else(|| dir.join("keys"));
        Project { dir, keys_dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn keys_dir(&self) -> &Path {
        &self.keys_dir
    }

    pub fn repository(&self) -> PathBuf {
        self.dir.join("repository")
    }

    pub fn metadata_dir(&self) -> PathBuf {
        self.repository().join("metadata")
    }

    /// Where the per-app repositories live.
    pub fn apps_dir(&self) -> PathBuf {
        self.repository().join("apps")
    }

    /// The metadata of `app`'s own repository (per-app layout).
    pub fn app_metadata_dir(&self, app: &str) -> PathBuf {
        self.apps_dir().join(app).join("metadata")
    }

    /// The apps that have their own repository, by name.
    pub fn app_names(&self) -> Result<Vec<String>> {
        let mut names = repository_apps(&self.repository())?;
        names.retain(|name| tuf_updater_core::release::names::check_app(name).is_ok());
        Ok(names)
    }

    pub fn targets_dir(&self) -> PathBuf {
        self.repository().join("targets")
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join(CONFIG_FILE)
    }

    pub fn lock_path(&self) -> PathBuf {
        self.dir.join(LOCK_FILE)
    }

    /// The file an app embeds as its first trusted root.
    pub fn first_root(&self) -> PathBuf {
        self.metadata_dir().join("1.root.json")
    }

    /// Reads `updater-pack.json`.
    pub fn load_config(&self) -> Result<ProjectConfig> {
        let path = self.config_path();
        let not_a_project = |detail: String| PackError::NotAProject {
            dir: self.dir.clone(),
            detail,
        };
        let data = match files::read_capped(&path, MAX_CONFIG)? {
            Capped::Data(data) => data,
            Capped::Missing => return Err(not_a_project(format!("{} is missing", path.display()))),
            Capped::TooLarge => {
                return Err(not_a_project(format!(
                    "{} is larger than {MAX_CONFIG} bytes",
                    path.display()
                )))
            }
        };
        serde_json::from_slice(&data)
            .map_err(|e| not_a_project(format!("{} is not valid: {e}", path.display())))
    }
}

/// The names under `repository/apps/` that hold a `metadata/` directory (the per-app
/// layout's repositories), sorted; none when there is no `apps/`.
pub fn repository_apps(repository: &Path) -> Result<Vec<String>> {
    let dir = repository.join("apps");
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(PackError::io(&dir, e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| PackError::io(&dir, e))?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if entry.path().join("metadata").is_dir() {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// The key algorithms `init` and `rotate` create.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyType {
    #[serde(rename = "ed25519")]
    Ed25519,
    #[serde(rename = "ecdsa-p256")]
    EcdsaP256,
}

impl KeyType {
    pub fn kind(self) -> KeyKind {
        match self {
            KeyType::Ed25519 => KeyKind::Ed25519,
            KeyType::EcdsaP256 => KeyKind::EcdsaP256,
        }
    }
}

/// How a project's releases are laid out in metadata (docs/metadata-scale.md).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Layout {
    /// One repository; each channel is one role listing every release of every app.
    #[default]
    #[serde(rename = "channel")]
    Channel,
    /// One repository per app; in it, per channel and platform segment, a head role with
    /// the newest releases and an archive role with the older ones.
    #[serde(rename = "per-app")]
    PerApp,
}

impl std::str::FromStr for Layout {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "channel" => Ok(Layout::Channel),
            "per-app" => Ok(Layout::PerApp),
            other => Err(format!("unknown layout {other:?}: per-app or channel")),
        }
    }
}

/// `updater-pack.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProjectConfig {
    /// Format of this file; 1.
    pub format: u32,
    /// The key type new keys get unless a command says otherwise.
    pub key_type: KeyType,
    pub expires: ExpiryPolicy,
    /// Absent in projects made before the per-app layout: `channel`.
    #[serde(default)]
    pub layout: Layout,
    /// Per-app layout: releases are also written to the project repository, for installs
    /// that still read it (a migrated project).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shared_releases: bool,
}

impl ProjectConfig {
    pub fn new(key_type: KeyType, expires: ExpiryPolicy) -> Self {
        ProjectConfig {
            format: 1,
            key_type,
            expires,
            layout: Layout::PerApp,
            shared_releases: false,
        }
    }

    /// Whether `app`'s releases go to its own repository.
    pub fn per_app(&self) -> bool {
        self.layout == Layout::PerApp
    }

    /// Whether releases are written to the project repository.
    pub fn shared(&self) -> bool {
        self.layout == Layout::Channel || self.shared_releases
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut data = serde_json::to_vec_pretty(self).map_err(|source| PackError::Encode {
            what: "settings",
            source,
        })?;
        data.push(b'\n');
        Ok(data)
    }
}
