//! Where the passphrase of encrypted key files comes from: given by the caller, the
//! `UPDATER_PACK_PASSPHRASE` environment variable, or a prompt on the terminal. One
//! passphrase per run, asked at most once and kept (zeroed on drop) until the run ends.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Mutex;

use zeroize::Zeroizing;

use crate::error::{PackError, Result};

/// The environment variable holding the passphrase of encrypted key files.
pub const PASSPHRASE_ENV: &str = "UPDATER_PACK_PASSPHRASE";

/// Shortest passphrase accepted for new keys.
pub const MIN_LEN: usize = 8;

#[derive(Debug)]
pub struct Passphrase {
    cached: Mutex<Option<Zeroizing<String>>>,
    prompt: bool,
}

impl Passphrase {
    /// From `UPDATER_PACK_PASSPHRASE`, else a prompt when a terminal is attached.
    pub fn from_env_or_prompt() -> Self {
        let cached = std::env::var(PASSPHRASE_ENV).ok().map(Zeroizing::new);
        Passphrase {
            cached: Mutex::new(cached),
            prompt: true,
        }
    }

    /// A fixed passphrase (tools, tests).
    pub fn fixed(passphrase: &str) -> Self {
        Passphrase {
            cached: Mutex::new(Some(Zeroizing::new(passphrase.to_string()))),
            prompt: false,
        }
    }

    /// No passphrase at all: encrypted keys cannot be opened.
    pub fn none() -> Self {
        Passphrase {
            cached: Mutex::new(None),
            prompt: false,
        }
    }

    fn cached(&self) -> Option<Zeroizing<String>> {
        self.cached.lock().ok().and_then(|c| c.clone())
    }

    fn store(&self, value: &Zeroizing<String>) {
        if let Ok(mut c) = self.cached.lock() {
            *c = Some(value.clone());
        }
    }

    fn can_prompt(&self) -> bool {
        self.prompt && std::io::stdin().is_terminal()
    }

    /// The passphrase to open `path`.
    pub fn for_opening(&self, path: &Path) -> Result<Zeroizing<String>> {
        if let Some(p) = self.cached() {
            return Ok(p);
        }
        if !self.can_prompt() {
            return Err(PackError::NoPassphrase {
                path: path.to_path_buf(),
                env: PASSPHRASE_ENV,
            });
        }
        let answer = rpassword::prompt_password(format!("Passphrase for {}: ", path.display()))
            .map(Zeroizing::new)
            .map_err(|e| PackError::BadPassphrase(format!("cannot read it: {e}")))?;
        self.store(&answer);
        Ok(answer)
    }

    /// The passphrase to encrypt new keys with (asked twice at a prompt).
    pub fn for_new_keys(&self) -> Result<Zeroizing<String>> {
        let passphrase = match self.cached() {
            Some(p) => p,
            None if self.can_prompt() => {
                let first = rpassword::prompt_password("New passphrase for the key files: ")
                    .map(Zeroizing::new)
                    .map_err(|e| PackError::BadPassphrase(format!("cannot read it: {e}")))?;
                let second = rpassword::prompt_password("Same passphrase again: ")
                    .map(Zeroizing::new)
                    .map_err(|e| PackError::BadPassphrase(format!("cannot read it: {e}")))?;
                if first != second {
                    return Err(PackError::BadPassphrase("the two entries differ".into()));
                }
                first
            }
            None => {
                return Err(PackError::BadPassphrase(format!(
                    "encrypting keys needs a passphrase: set {PASSPHRASE_ENV} or run in a terminal"
                )))
            }
        };
        if passphrase.chars().count() < MIN_LEN {
            return Err(PackError::BadPassphrase(format!(
                "use at least {MIN_LEN} characters"
            )));
        }
        self.store(&passphrase);
        Ok(passphrase)
    }
}
