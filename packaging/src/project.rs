//! A project directory:
//!
//! ```text
//! DIR/updater-pack.json   settings: key type, lifetimes (not secret, not published)
//! DIR/keys/<role>/<keyid>.pem   private keys, owner-only (never published)
//! DIR/repository/metadata/      what clients fetch: N.root.json, timestamp.json, ...
//! DIR/repository/targets/       <channel>/<app>/<version>/<platform>/<sha256>.<file>
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use updater_core::files::{self, Capped};
use updater_core::tuf::signer::KeyKind;

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

/// `updater-pack.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProjectConfig {
    /// Format of this file; 1.
    pub format: u32,
    /// The key type new keys get unless a command says otherwise.
    pub key_type: KeyType,
    pub expires: ExpiryPolicy,
}

impl ProjectConfig {
    pub fn new(key_type: KeyType, expires: ExpiryPolicy) -> Self {
        ProjectConfig {
            format: 1,
            key_type,
            expires,
        }
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
