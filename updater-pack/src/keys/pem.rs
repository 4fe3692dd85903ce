//! Private key files: PKCS#8 PEM, optionally encrypted with a passphrase (PKCS#5 PBES2:
//! scrypt key derivation and AES-256-CBC, the `pkcs8` crate's defaults, readable by
//! `openssl pkcs8`).

use pkcs8::der::pem::LineEnding;
use pkcs8::der::SecretDocument;
use pkcs8::{EncryptedPrivateKeyInfo, PrivateKeyInfo};
use rand_core::OsRng;
use zeroize::Zeroizing;

pub const PLAIN_LABEL: &str = "PRIVATE KEY";
pub const ENCRYPTED_LABEL: &str = "ENCRYPTED PRIVATE KEY";

/// Whether a PEM file holds an encrypted private key.
pub fn is_encrypted(pem: &str) -> bool {
    pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
}

/// Encrypts a plain PKCS#8 PEM private key.
pub fn encrypt(plain_pem: &str, passphrase: &str) -> Result<Zeroizing<String>, String> {
    let (label, doc) = SecretDocument::from_pem(plain_pem).map_err(|e| e.to_string())?;
    if label != PLAIN_LABEL {
        return Err(format!("expected a {PLAIN_LABEL:?} PEM, found {label:?}"));
    }
    let info = PrivateKeyInfo::try_from(doc.as_bytes()).map_err(|e| e.to_string())?;
    let encrypted = info
        .encrypt(OsRng, passphrase.as_bytes())
        .map_err(|e| e.to_string())?;
    encrypted
        .to_pem(ENCRYPTED_LABEL, LineEnding::LF)
        .map_err(|e| e.to_string())
}

/// Why an encrypted key could not be opened.
#[derive(Debug)]
pub enum DecryptError {
    /// Not an encrypted PKCS#8 PEM at all.
    Format(String),
    /// The passphrase does not open it (or the ciphertext is damaged).
    Passphrase,
}

/// Decrypts an encrypted PKCS#8 PEM private key into a plain one.
pub fn decrypt(encrypted_pem: &str, passphrase: &str) -> Result<Zeroizing<String>, DecryptError> {
    let (label, doc) =
        SecretDocument::from_pem(encrypted_pem).map_err(|e| DecryptError::Format(e.to_string()))?;
    if label != ENCRYPTED_LABEL {
        return Err(DecryptError::Format(format!(
            "expected a {ENCRYPTED_LABEL:?} PEM, found {label:?}"
        )));
    }
    let info = EncryptedPrivateKeyInfo::try_from(doc.as_bytes())
        .map_err(|e| DecryptError::Format(e.to_string()))?;
    let plain = info
        .decrypt(passphrase.as_bytes())
        .map_err(|_| DecryptError::Passphrase)?;
    plain
        .to_pem(PLAIN_LABEL, LineEnding::LF)
        .map_err(|e| DecryptError::Format(e.to_string()))
}
