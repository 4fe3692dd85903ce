//! The signing side, shared by `updater-pack` and the tests: a [`Signer`] trait (local keys now;
//! KMS or hardware keys can implement it later) and [`sign_metadata`], which wraps a signed
//! part into the envelope clients read.

use chrono::{DateTime, Utc};
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use rand_core::OsRng;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256, Sha384, Sha512};
use thiserror::Error;

use crate::tuf::canonical::to_canonical;
use crate::tuf::crypto::HashAlg;
use crate::tuf::metadata::{Extra, Key, KeyVal, Signature};

/// Why a key could not be made, read or used to sign.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SignError {
    /// The cryptographic library failed (making, encoding or using a key).
    #[error("signing failed: {0}")]
    Crypto(String),
    /// A private key file cannot be parsed as a key of a supported kind.
    #[error("cannot read private key: {0}")]
    BadPrivateKey(String),
    /// The metadata or key cannot be put in canonical JSON (it holds a float).
    #[error("metadata cannot be signed: {0}")]
    NotCanonical(String),
}

/// Anything that can sign metadata for a TUF role.
pub trait Signer: Send + Sync {
    /// The key ID under which this key appears in metadata.
    fn keyid(&self) -> &str;
    /// The public key as metadata lists it.
    fn public_key(&self) -> &Key;
    /// Signs `msg` (the canonical bytes of a `signed` part).
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, SignError>;
}

/// The kinds of key we can make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyKind {
    /// Ed25519.
    Ed25519,
    /// ECDSA on P-256.
    EcdsaP256,
    /// ECDSA on P-384.
    EcdsaP384,
    /// RSA (3072 bits) with RSASSA-PSS and this hash.
    RsaPss(HashAlg),
}

enum Secret {
    Ed25519(ed25519_dalek::SigningKey),
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    RsaPss(Box<rsa::RsaPrivateKey>, HashAlg),
}

/// A private key held in this process.
pub struct LocalKey {
    keyid: String,
    public: Key,
    secret: Secret,
}

impl std::fmt::Debug for LocalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalKey")
            .field("keyid", &self.keyid)
            .finish()
    }
}

fn pem_err(e: impl std::fmt::Display) -> SignError {
    SignError::BadPrivateKey(e.to_string())
}

impl LocalKey {
    /// A fresh random key.
    pub fn generate(kind: KeyKind) -> Result<Self, SignError> {
        let secret = match kind {
            KeyKind::Ed25519 => Secret::Ed25519(ed25519_dalek::SigningKey::generate(&mut OsRng)),
            KeyKind::EcdsaP256 => Secret::P256(p256::ecdsa::SigningKey::random(&mut OsRng)),
            KeyKind::EcdsaP384 => Secret::P384(p384::ecdsa::SigningKey::random(&mut OsRng)),
            KeyKind::RsaPss(hash) => Secret::RsaPss(
                Box::new(
                    rsa::RsaPrivateKey::new(&mut OsRng, 3072)
                        .map_err(|e| SignError::Crypto(e.to_string()))?,
                ),
                hash,
            ),
        };
        Self::from_secret(secret)
    }

    /// Reads a PKCS#8 PEM private key of the given kind.
    pub fn from_pkcs8_pem(kind: KeyKind, pem: &str) -> Result<Self, SignError> {
        let secret = match kind {
            KeyKind::Ed25519 => {
                Secret::Ed25519(ed25519_dalek::SigningKey::from_pkcs8_pem(pem).map_err(pem_err)?)
            }
            KeyKind::EcdsaP256 => {
                Secret::P256(p256::ecdsa::SigningKey::from_pkcs8_pem(pem).map_err(pem_err)?)
            }
            KeyKind::EcdsaP384 => {
                Secret::P384(p384::ecdsa::SigningKey::from_pkcs8_pem(pem).map_err(pem_err)?)
            }
            KeyKind::RsaPss(hash) => Secret::RsaPss(
                Box::new(rsa::RsaPrivateKey::from_pkcs8_pem(pem).map_err(pem_err)?),
                hash,
            ),
        };
        Self::from_secret(secret)
    }

    /// The private key as PKCS#8 PEM (unencrypted: the caller protects the file).
    pub fn to_pkcs8_pem(&self) -> Result<String, SignError> {
        use p256::pkcs8::LineEnding;
        let doc = match &self.secret {
            Secret::Ed25519(k) => k.to_pkcs8_pem(LineEnding::LF),
            Secret::P256(k) => k.to_pkcs8_pem(LineEnding::LF),
            Secret::P384(k) => k.to_pkcs8_pem(LineEnding::LF),
            Secret::RsaPss(k, _) => k.to_pkcs8_pem(LineEnding::LF),
        }
        .map_err(|e| SignError::Crypto(e.to_string()))?;
        Ok(doc.to_string())
    }

    /// The kind of this key.
    pub fn kind(&self) -> KeyKind {
        match &self.secret {
            Secret::Ed25519(_) => KeyKind::Ed25519,
            Secret::P256(_) => KeyKind::EcdsaP256,
            Secret::P384(_) => KeyKind::EcdsaP384,
            Secret::RsaPss(_, h) => KeyKind::RsaPss(*h),
        }
    }

    fn from_secret(secret: Secret) -> Result<Self, SignError> {
        use p256::pkcs8::LineEnding;
        let pem_err = |e: p256::pkcs8::spki::Error| SignError::Crypto(e.to_string());
        let (keytype, scheme, public) = match &secret {
            Secret::Ed25519(k) => (
                "ed25519",
                "ed25519".to_string(),
                hex::encode(k.verifying_key().as_bytes()),
            ),
            Secret::P256(k) => (
                "ecdsa",
                "ecdsa-sha2-nistp256".to_string(),
                k.verifying_key()
                    .to_public_key_pem(LineEnding::LF)
                    .map_err(pem_err)?,
            ),
            Secret::P384(k) => (
                "ecdsa",
                "ecdsa-sha2-nistp384".to_string(),
                k.verifying_key()
                    .to_public_key_pem(LineEnding::LF)
                    .map_err(pem_err)?,
            ),
            Secret::RsaPss(k, hash) => (
                "rsa",
                format!("rsassa-pss-{}", hash_name(*hash)),
                k.to_public_key()
                    .to_public_key_pem(LineEnding::LF)
                    .map_err(pem_err)?,
            ),
        };
        let public = Key {
            keytype: keytype.to_string(),
            scheme,
            keyval: KeyVal {
                public,
                extra: Extra::new(),
            },
            extra: Extra::new(),
        };
        Ok(LocalKey {
            keyid: keyid_of(&public)?,
            public,
            secret,
        })
    }
}

fn hash_name(hash: HashAlg) -> &'static str {
    match hash {
        HashAlg::Sha256 => "sha256",
        HashAlg::Sha384 => "sha384",
        HashAlg::Sha512 => "sha512",
    }
}

/// The conventional key ID: SHA-256 of the canonical JSON of the public key (spec 4.2).
/// Clients never recompute it (TAP 12); it is just a good label.
pub fn keyid_of(key: &Key) -> Result<String, SignError> {
    let value = serde_json::to_value(key).map_err(|e| SignError::NotCanonical(e.to_string()))?;
    let canonical = to_canonical(&value).map_err(SignError::NotCanonical)?;
    Ok(hex::encode(Sha256::digest(canonical)))
}

impl Signer for LocalKey {
    fn keyid(&self) -> &str {
        &self.keyid
    }

    fn public_key(&self) -> &Key {
        &self.public
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, SignError> {
        let crypto = |e: String| SignError::Crypto(e);
        match &self.secret {
            Secret::Ed25519(k) => {
                use ed25519_dalek::Signer as _;
                Ok(k.sign(msg).to_bytes().to_vec())
            }
            Secret::P256(k) => {
                use p256::ecdsa::signature::Signer as _;
                let sig: p256::ecdsa::Signature =
                    k.try_sign(msg).map_err(|e| crypto(e.to_string()))?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            Secret::P384(k) => {
                use p384::ecdsa::signature::Signer as _;
                let sig: p384::ecdsa::Signature =
                    k.try_sign(msg).map_err(|e| crypto(e.to_string()))?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            Secret::RsaPss(k, hash) => {
                let (scheme, digest) = match hash {
                    HashAlg::Sha256 => (rsa::Pss::new::<Sha256>(), Sha256::digest(msg).to_vec()),
                    HashAlg::Sha384 => (rsa::Pss::new::<Sha384>(), Sha384::digest(msg).to_vec()),
                    HashAlg::Sha512 => (rsa::Pss::new::<Sha512>(), Sha512::digest(msg).to_vec()),
                };
                k.sign_with_rng(&mut OsRng, scheme, &digest)
                    .map_err(|e| crypto(e.to_string()))
            }
        }
    }
}

/// Signs `signed` with every signer and returns the metadata file's bytes
/// (`{"signatures": [...], "signed": {...}}`, compact).
pub fn sign_metadata(signed: &Value, signers: &[&dyn Signer]) -> Result<Vec<u8>, SignError> {
    let canonical = to_canonical(signed).map_err(SignError::NotCanonical)?;
    let mut signatures = Vec::with_capacity(signers.len());
    for signer in signers {
        signatures.push(Signature {
            keyid: signer.keyid().to_string(),
            sig: hex::encode(signer.sign(&canonical)?),
            extra: Extra::new(),
        });
    }
    envelope_bytes(signed, &signatures)
}

/// Serialises an envelope with the given signatures, valid or not (tests forge some).
pub fn envelope_bytes(signed: &Value, signatures: &[Signature]) -> Result<Vec<u8>, SignError> {
    let mut map = Map::new();
    map.insert(
        "signatures".into(),
        serde_json::to_value(signatures).map_err(|e| SignError::NotCanonical(e.to_string()))?,
    );
    map.insert("signed".into(), signed.clone());
    serde_json::to_vec(&Value::Object(map)).map_err(|e| SignError::NotCanonical(e.to_string()))
}

/// An expiry `days` from `now`, truncated to whole seconds as metadata requires.
pub fn expiry_in(now: DateTime<Utc>, days: i64) -> DateTime<Utc> {
    let t = now + chrono::Duration::days(days);
    crate::tuf::metadata::expiry::parse(&crate::tuf::metadata::expiry::format(&t)).unwrap_or(t)
}
