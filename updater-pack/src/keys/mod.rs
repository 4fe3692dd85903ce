//! Private keys on disk: `keys/<role>/<keyid>.pem`, owner-only files in owner-only
//! directories, PKCS#8 PEM, encrypted when the publisher asks for it; or in a PKCS#11
//! token, which `keys/<role>/<keyid>.pkcs11` refers to ([`token`]).
//!
//! A key is looked up by the role and key ID that metadata lists, and must be the key the
//! metadata lists: a file holding any other key is refused (not ignored), so that a mix-up
//! is reported where it happens rather than as a threshold failure at the clients.

pub mod passphrase;
pub mod pem;
pub mod token;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tuf_updater_core::files::{self, Capped};
use tuf_updater_core::tuf::crypto::HashAlg;
use tuf_updater_core::tuf::metadata::Key;
use tuf_updater_core::tuf::signer::{KeyKind, LocalKey, Signer};
use tuf_updater_core::tuf::store::safe_file_name;
use zeroize::Zeroizing;

use crate::error::{PackError, Result};
pub use passphrase::{Passphrase, PASSPHRASE_ENV};
pub use token::{TokenKey, TokenRef, PIN_ENV};

/// Largest key file read (an RSA-4096 PEM is about 3.3 KB).
const MAX_KEY_FILE: u64 = 64 * 1024;

/// The signing algorithm a metadata key needs, if we can hold such a private key.
pub fn kind_of(key: &Key) -> Option<KeyKind> {
    match (key.keytype.as_str(), key.scheme.as_str()) {
        ("ed25519", "ed25519") => Some(KeyKind::Ed25519),
        ("ecdsa" | "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256") => Some(KeyKind::EcdsaP256),
        ("ecdsa" | "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384") => Some(KeyKind::EcdsaP384),
        ("rsa", "rsassa-pss-sha256") => Some(KeyKind::RsaPss(HashAlg::Sha256)),
        ("rsa", "rsassa-pss-sha384") => Some(KeyKind::RsaPss(HashAlg::Sha384)),
        ("rsa", "rsassa-pss-sha512") => Some(KeyKind::RsaPss(HashAlg::Sha512)),
        _ => None,
    }
}

/// Whether two metadata keys are the same key material.
pub fn same_key(a: &Key, b: &Key) -> bool {
    a.keytype == b.keytype && a.scheme == b.scheme && a.keyval.public == b.keyval.public
}

/// The first 8 characters of a key ID, for messages.
pub fn short(keyid: &str) -> &str {
    keyid.get(..8).unwrap_or(keyid)
}

#[derive(Debug)]
pub struct KeyStore {
    dir: PathBuf,
    passphrase: Passphrase,
    /// Decrypted key files, so that a key needed twice in one run (a root key signing the
    /// old and the new root) is decrypted once: scrypt is slow on purpose.
    opened: Mutex<HashMap<PathBuf, Zeroizing<String>>>,
    /// Token keys opened (logged in), by reference file or reference.
    tokens: Mutex<Vec<(TokenRef, Arc<TokenKey>)>>,
}

impl KeyStore {
    pub fn new(dir: impl Into<PathBuf>, passphrase: Passphrase) -> Self {
        KeyStore {
            dir: dir.into(),
            passphrase,
            opened: Mutex::new(HashMap::new()),
            tokens: Mutex::new(Vec::new()),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn role_dir(&self, role: &str) -> PathBuf {
        self.dir.join(safe_file_name(role))
    }

    pub fn path_of(&self, role: &str, keyid: &str) -> PathBuf {
        self.role_dir(role)
            .join(format!("{}.pem", safe_file_name(keyid)))
    }

    /// Whether the project has `role`'s key `keyid`: a key file or a token key's reference.
    pub fn has_key(&self, role: &str, keyid: &str) -> bool {
        self.path_of(role, keyid).exists() || self.reference_path_of(role, keyid).exists()
    }

    /// The reference file of `role`'s token key `keyid`.
    pub fn reference_path_of(&self, role: &str, keyid: &str) -> PathBuf {
        self.role_dir(role)
            .join(format!("{}.{}", safe_file_name(keyid), token::EXTENSION))
    }

    /// The key in a token that `reference` names, logged in; opened once per run.
    pub fn open_token(&self, reference: &TokenRef) -> Result<Arc<TokenKey>> {
        let known = |tokens: &Vec<(TokenRef, Arc<TokenKey>)>| {
            tokens
                .iter()
                .find(|(r, _)| r == reference)
                .map(|(_, k)| Arc::clone(k))
        };
        if let Some(key) = self.tokens.lock().ok().and_then(|t| known(&t)) {
            return Ok(key);
        }
        let key = Arc::new(TokenKey::open(reference)?);
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.push((reference.clone(), Arc::clone(&key)));
        }
        Ok(key)
    }

    /// The token key of `role` with ID `keyid`, which metadata lists as `public`; `None`
    /// when there is no reference file for it.
    fn load_token(&self, role: &str, keyid: &str, public: &Key) -> Result<Option<Arc<TokenKey>>> {
        let path = self.reference_path_of(role, keyid);
        let Some(text) = read_key_file(&path)? else {
            return Ok(None);
        };
        let reference = token::parse_reference(&path, &text)?;
        let key = self.open_token(&reference)?;
        if !same_key(key.public_key(), public) {
            return Err(PackError::WrongKey {
                path,
                role: role.to_string(),
                found: format!("{} ({})", short(key.keyid()), key.describe()),
                expected: short(keyid).to_string(),
            });
        }
        Ok(Some(key))
    }

    /// The key of `role` with ID `keyid` (a key file or a token key), which metadata lists
    /// as `public`; `None` when the project has neither.
    pub fn load_any(
        &self,
        role: &str,
        keyid: &str,
        public: &Key,
    ) -> Result<Option<Arc<dyn Signer>>> {
        if let Some(key) = self.load(role, keyid, public)? {
            return Ok(Some(Arc::new(key)));
        }
        Ok(self
            .load_token(role, keyid, public)?
            .map(|k| k as Arc<dyn Signer>))
    }

    /// Whether the file of `role`'s key `keyid` exists and is encrypted.
    pub fn is_encrypted(&self, role: &str, keyid: &str) -> bool {
        read_key_file(&self.path_of(role, keyid))
            .ok()
            .flatten()
            .is_some_and(|text| pem::is_encrypted(&text))
    }

    /// The private key of `role` with ID `keyid`, which metadata lists as `public`;
    /// `None` when there is no file for it.
    pub fn load(&self, role: &str, keyid: &str, public: &Key) -> Result<Option<LocalKey>> {
        let path = self.path_of(role, keyid);
        let Some(text) = read_key_file(&path)? else {
            return Ok(None);
        };
        warn_if_readable_by_others(&path);
        let text = if pem::is_encrypted(&text) {
            self.decrypt(&path, &text)?
        } else {
            text
        };
        let kind = kind_of(public).ok_or_else(|| PackError::BadKeyFile {
            path: path.clone(),
            reason: format!(
                "metadata lists key {} as {}/{}, which updater-pack cannot sign with",
                short(keyid),
                public.keytype,
                public.scheme
            ),
        })?;
        let key = LocalKey::from_pkcs8_pem(kind, &text).map_err(|e| PackError::WrongKey {
            path: path.clone(),
            role: role.to_string(),
            found: format!("of another type ({e})"),
            expected: format!("{} key {}", public.scheme, short(keyid)),
        })?;
        if !same_key(key.public_key(), public) {
            return Err(PackError::WrongKey {
                path,
                role: role.to_string(),
                found: short(key.keyid()).to_string(),
                expected: short(keyid).to_string(),
            });
        }
        Ok(Some(key))
    }

    fn decrypt(&self, path: &Path, text: &str) -> Result<Zeroizing<String>> {
        if let Some(plain) = self.opened.lock().ok().and_then(|m| m.get(path).cloned()) {
            return Ok(plain);
        }
        let passphrase = self.passphrase.for_opening(path)?;
        let plain = pem::decrypt(text, &passphrase).map_err(|e| match e {
            pem::DecryptError::Passphrase => PackError::WrongPassphrase {
                path: path.to_path_buf(),
            },
            pem::DecryptError::Format(reason) => PackError::BadKeyFile {
                path: path.to_path_buf(),
                reason,
            },
        })?;
        if let Ok(mut m) = self.opened.lock() {
            m.insert(path.to_path_buf(), plain.clone());
        }
        Ok(plain)
    }

    /// The keys of `role` found among `keyids`, without a threshold check (co-signers).
    pub fn available(
        &self,
        role: &str,
        keyids: &[String],
        keys: &BTreeMap<String, Key>,
    ) -> Result<Vec<Arc<dyn Signer>>> {
        let mut found = Vec::new();
        for keyid in keyids {
            let Some(public) = keys.get(keyid) else {
                continue;
            };
            if let Some(key) = self.load_any(role, keyid, public)? {
                found.push(key);
            }
        }
        Ok(found)
    }

    /// The keys of `role` found among `keyids`: at least `threshold` of them.
    pub fn signers(
        &self,
        role: &str,
        keyids: &[String],
        keys: &BTreeMap<String, Key>,
        threshold: u64,
    ) -> Result<Vec<Arc<dyn Signer>>> {
        let found = self.available(role, keyids, keys)?;
        if (found.len() as u64) < threshold {
            return Err(self.missing(role, keyids, threshold, found.len() as u64));
        }
        Ok(found)
    }

    pub fn missing(&self, role: &str, keyids: &[String], threshold: u64, found: u64) -> PackError {
        PackError::MissingKeys {
            role: role.to_string(),
            threshold,
            found,
            dir: self.role_dir(role),
            expected: keyids
                .iter()
                .map(|k| format!("{}.pem", safe_file_name(k)))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// The file content for a new key: plain PEM, or encrypted with the passphrase.
    pub fn encode_new(&self, key: &LocalKey, encrypt: bool) -> Result<Zeroizing<String>> {
        let plain = Zeroizing::new(key.to_pkcs8_pem()?);
        if !encrypt {
            return Ok(plain);
        }
        let passphrase = self.passphrase.for_new_keys()?;
        pem::encrypt(&plain, &passphrase).map_err(PackError::KeyEncryption)
    }
}

fn read_key_file(path: &Path) -> Result<Option<Zeroizing<String>>> {
    let bad = |reason: String| PackError::BadKeyFile {
        path: path.to_path_buf(),
        reason,
    };
    let data =
        match files::read_capped(path, MAX_KEY_FILE).map_err(|e| bad(e.source.to_string()))? {
            Capped::Missing => return Ok(None),
            Capped::TooLarge => return Err(bad(format!("larger than {MAX_KEY_FILE} bytes"))),
            Capped::Data(data) => Zeroizing::new(data),
        };
    let text = std::str::from_utf8(&data).map_err(|_| bad("not a PEM text file".into()))?;
    Ok(Some(Zeroizing::new(text.to_string())))
}

fn warn_if_readable_by_others(path: &Path) {
    let fix = if cfg!(unix) {
        "run chmod 600 on it"
    } else {
        "remove the others from its permissions"
    };
    match file_trust::check_owner_only(path) {
        Ok(()) => {}
        Err(e @ file_trust::Exposure::Shared { .. }) => tracing::warn!("key file {e}; {fix}"),
        Err(e) => tracing::warn!("{e}"),
    }
}
