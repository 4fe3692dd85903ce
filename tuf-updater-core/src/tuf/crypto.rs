//! Signature verification and hashing (spec 4.2, 4.4).
//!
//! Key types: `ed25519` (hex public key), `ecdsa`/`ecdsa-sha2-nistp256`/`-nistp384` (PEM
//! SubjectPublicKeyInfo, DER signatures), `rsa` with `rsassa-pss-sha256/384/512` or
//! `rsa-pkcs1v15-sha256/384/512` (PEM SubjectPublicKeyInfo). Anything else is "unsupported":
//! such a key never counts toward a threshold.

use std::collections::{BTreeMap, HashSet};

use p256::pkcs8::DecodePublicKey;
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::tuf::error::{Result, Role, Rule, TufError};
use crate::tuf::metadata::{Envelope, Key};

/// A public key we can verify with.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum PublicKey {
    /// An Ed25519 key (scheme `ed25519`).
    Ed25519(ed25519_dalek::VerifyingKey),
    /// An ECDSA key on P-256 (`ecdsa-sha2-nistp256`).
    EcdsaP256(p256::ecdsa::VerifyingKey),
    /// An ECDSA key on P-384 (`ecdsa-sha2-nistp384`).
    EcdsaP384(p384::ecdsa::VerifyingKey),
    /// An RSA key for RSASSA-PSS with this hash (`rsassa-pss-sha*`).
    RsaPss(rsa::RsaPublicKey, HashAlg),
    /// An RSA key for PKCS#1 v1.5 signatures with this hash (`rsa-pkcs1v15-sha*`).
    RsaPkcs1(rsa::RsaPublicKey, HashAlg),
}

/// Hash algorithms of signature schemes and of file hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HashAlg {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl PublicKey {
    /// Interprets a metadata key. `keyid` only names it in the error.
    pub fn from_key(keyid: &str, key: &Key) -> Result<Self> {
        let bad = |reason: String| TufError::BadKey {
            keyid: keyid.to_string(),
            reason,
        };
        let public = key.keyval.public.as_str();
        match (key.keytype.as_str(), key.scheme.as_str()) {
            ("ed25519", "ed25519") => {
                let bytes = hex::decode(public).map_err(|e| bad(format!("public key: {e}")))?;
                let bytes: [u8; 32] = bytes
                    .try_into()
                    .map_err(|_| bad("ed25519 public key is not 32 bytes".into()))?;
                ed25519_dalek::VerifyingKey::from_bytes(&bytes)
                    .map(PublicKey::Ed25519)
                    .map_err(|e| bad(e.to_string()))
            }
            ("ecdsa" | "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256") => {
                p256::ecdsa::VerifyingKey::from_public_key_pem(public)
                    .map(PublicKey::EcdsaP256)
                    .map_err(|e| bad(format!("P-256 public key: {e}")))
            }
            ("ecdsa" | "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384") => {
                p384::ecdsa::VerifyingKey::from_public_key_pem(public)
                    .map(PublicKey::EcdsaP384)
                    .map_err(|e| bad(format!("P-384 public key: {e}")))
            }
            ("rsa", scheme) => {
                let (padding, hash) = match scheme {
                    "rsassa-pss-sha256" => (true, HashAlg::Sha256),
                    "rsassa-pss-sha384" => (true, HashAlg::Sha384),
                    "rsassa-pss-sha512" => (true, HashAlg::Sha512),
                    "rsa-pkcs1v15-sha256" => (false, HashAlg::Sha256),
                    "rsa-pkcs1v15-sha384" => (false, HashAlg::Sha384),
                    "rsa-pkcs1v15-sha512" => (false, HashAlg::Sha512),
                    other => return Err(bad(format!("unsupported RSA scheme {other:?}"))),
                };
                let key = rsa::RsaPublicKey::from_public_key_pem(public)
                    .map_err(|e| bad(format!("RSA public key: {e}")))?;
                Ok(if padding {
                    PublicKey::RsaPss(key, hash)
                } else {
                    PublicKey::RsaPkcs1(key, hash)
                })
            }
            (keytype, scheme) => Err(bad(format!(
                "unsupported key type {keytype:?} with scheme {scheme:?}"
            ))),
        }
    }

    /// The key material, independent of how metadata spells it (hex case, PEM layout, key
    /// type label): two key IDs with the same identity are one key for a threshold.
    pub fn identity(&self) -> Vec<u8> {
        use rsa::traits::PublicKeyParts;
        let mut id = Vec::new();
        match self {
            PublicKey::Ed25519(k) => {
                id.push(1);
                id.extend_from_slice(k.as_bytes());
            }
            PublicKey::EcdsaP256(k) => {
                id.push(2);
                id.extend_from_slice(k.to_encoded_point(true).as_bytes());
            }
            PublicKey::EcdsaP384(k) => {
                id.push(3);
                id.extend_from_slice(k.to_encoded_point(true).as_bytes());
            }
            PublicKey::RsaPss(k, _) | PublicKey::RsaPkcs1(k, _) => {
                id.push(4);
                id.extend_from_slice(&k.n().to_bytes_be());
                id.push(0);
                id.extend_from_slice(&k.e().to_bytes_be());
            }
        }
        id
    }

    /// Whether `sig` is a valid signature of `msg` by this key.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        match self {
            PublicKey::Ed25519(key) => ed25519_dalek::Signature::from_slice(sig)
                .map(|s| key.verify_strict(msg, &s).is_ok())
                .unwrap_or(false),
            PublicKey::EcdsaP256(key) => {
                use p256::ecdsa::signature::Verifier;
                let sig = p256::ecdsa::Signature::from_der(sig)
                    .or_else(|_| p256::ecdsa::Signature::from_slice(sig));
                sig.map(|s| key.verify(msg, &s).is_ok()).unwrap_or(false)
            }
            PublicKey::EcdsaP384(key) => {
                use p384::ecdsa::signature::Verifier;
                let sig = p384::ecdsa::Signature::from_der(sig)
                    .or_else(|_| p384::ecdsa::Signature::from_slice(sig));
                sig.map(|s| key.verify(msg, &s).is_ok()).unwrap_or(false)
            }
            PublicKey::RsaPss(key, hash) => verify_rsa_pss(key, *hash, msg, sig),
            PublicKey::RsaPkcs1(key, hash) => {
                let (scheme, digest) = match hash {
                    HashAlg::Sha256 => (rsa::Pkcs1v15Sign::new::<Sha256>(), digest(*hash, msg)),
                    HashAlg::Sha384 => (rsa::Pkcs1v15Sign::new::<Sha384>(), digest(*hash, msg)),
                    HashAlg::Sha512 => (rsa::Pkcs1v15Sign::new::<Sha512>(), digest(*hash, msg)),
                };
                key.verify(scheme, &digest, sig).is_ok()
            }
        }
    }
}

/// RSASSA-PSS with MGF1 of the same hash. Signers differ in salt length: the digest length
/// (the common choice and our signer's) or the maximum; both are valid PSS.
fn verify_rsa_pss(key: &rsa::RsaPublicKey, hash: HashAlg, msg: &[u8], sig: &[u8]) -> bool {
    use rsa::traits::PublicKeyParts;
    let digest = digest(hash, msg);
    let h_len = digest.len();
    let em_len = (key.n().bits() + 6) / 8;
    let salt_lens = [h_len, em_len.saturating_sub(h_len + 2)];
    salt_lens.iter().any(|&salt_len| {
        let scheme = match hash {
            HashAlg::Sha256 => rsa::Pss::new_with_salt::<Sha256>(salt_len),
            HashAlg::Sha384 => rsa::Pss::new_with_salt::<Sha384>(salt_len),
            HashAlg::Sha512 => rsa::Pss::new_with_salt::<Sha512>(salt_len),
        };
        key.verify(scheme, &digest, sig).is_ok()
    })
}

/// The digest of `data` under `hash`.
pub fn digest(hash: HashAlg, data: &[u8]) -> Vec<u8> {
    match hash {
        HashAlg::Sha256 => Sha256::digest(data).to_vec(),
        HashAlg::Sha384 => Sha384::digest(data).to_vec(),
        HashAlg::Sha512 => Sha512::digest(data).to_vec(),
    }
}

/// Checks that `envelope` carries valid signatures from at least `threshold` distinct keys
/// among `keyids` (spec 5.3.4, 5.4.2, 5.5.3, 5.6.3). Key IDs are labels: two IDs naming the
/// same key material count once, and a key listed under an unsupported type counts zero.
pub fn verify_threshold(
    envelope: &Envelope,
    keys: &BTreeMap<String, Key>,
    keyids: &[String],
    threshold: u64,
    role: &str,
    rule: Rule,
) -> Result<()> {
    let mut signers: HashSet<Vec<u8>> = HashSet::new();
    for keyid in keyids {
        let Some(key) = keys.get(keyid) else { continue };
        let Some(sig) = envelope.signatures.iter().find(|s| &s.keyid == keyid) else {
            continue;
        };
        let Ok(public) = PublicKey::from_key(keyid, key) else {
            tracing::debug!(keyid, role, "ignoring signature by unsupported key");
            continue;
        };
        let Ok(sig_bytes) = hex::decode(&sig.sig) else {
            continue;
        };
        if public.verify(&envelope.canonical, &sig_bytes) {
            signers.insert(public.identity());
        }
    }
    let valid = signers.len() as u64;
    if valid >= threshold {
        Ok(())
    } else {
        Err(TufError::Threshold {
            rule,
            role: Role::named(role),
            valid,
            threshold,
        })
    }
}

/// Verifies a top-level role's signatures against `root`'s keys and threshold for that role.
pub fn verify_role(
    envelope: &Envelope,
    root: &crate::tuf::metadata::Root,
    role: &str,
    rule: Rule,
) -> Result<()> {
    let keys = root.role(role).ok_or_else(|| {
        TufError::malformed(crate::tuf::metadata::ROOT, format!("no {role} role"))
    })?;
    verify_threshold(
        envelope,
        &root.keys,
        &keys.keyids,
        keys.threshold,
        role,
        rule,
    )
}

/// Streaming hasher for every algorithm listed in trusted `hashes` (spec 5.6 and 5.7:
/// length and all listed hashes must match). Unknown algorithms are refused up front.
pub struct Hashes {
    expected: Vec<(String, Vec<u8>, Hasher)>,
}

enum Hasher {
    Sha256(Sha256),
    Sha512(Sha512),
}

impl Hashes {
    /// `what` names the file in errors; `rule` is the spec section the check serves.
    pub fn new<'a>(
        hashes: impl IntoIterator<Item = (&'a String, &'a String)>,
        what: &str,
        rule: Rule,
    ) -> Result<Self> {
        let mut expected = Vec::new();
        for (alg, hex_digest) in hashes {
            let hasher = match alg.as_str() {
                "sha256" => Hasher::Sha256(Sha256::new()),
                "sha512" => Hasher::Sha512(Sha512::new()),
                other => {
                    return Err(TufError::LengthOrHash {
                        rule,
                        what: what.to_string(),
                        detail: format!("unsupported hash algorithm {other:?}"),
                    })
                }
            };
            let digest = hex::decode(hex_digest).map_err(|_| TufError::LengthOrHash {
                rule,
                what: what.to_string(),
                detail: format!("{alg} digest is not hex"),
            })?;
            expected.push((alg.clone(), digest, hasher));
        }
        Ok(Hashes { expected })
    }

    /// A hasher that checks nothing, to stand in while the real one is lent to a thread.
    pub(crate) fn none() -> Self {
        Hashes {
            expected: Vec::new(),
        }
    }

    /// Feeds the next chunk of the file to every hasher.
    pub fn update(&mut self, chunk: &[u8]) {
        for (_, _, hasher) in &mut self.expected {
            match hasher {
                Hasher::Sha256(h) => h.update(chunk),
                Hasher::Sha512(h) => h.update(chunk),
            }
        }
    }

    /// Ok when every digest matches; otherwise names the first that does not.
    pub fn finish(self, what: &str, rule: Rule) -> Result<()> {
        for (alg, expected, hasher) in self.expected {
            let actual = match hasher {
                Hasher::Sha256(h) => h.finalize().to_vec(),
                Hasher::Sha512(h) => h.finalize().to_vec(),
            };
            if actual != expected {
                return Err(TufError::LengthOrHash {
                    rule,
                    what: what.to_string(),
                    detail: format!("{alg} mismatch"),
                });
            }
        }
        Ok(())
    }
}

/// Checks bytes already in memory against a trusted length and hashes.
pub fn check_length_and_hashes(
    data: &[u8],
    length: Option<u64>,
    hashes: Option<&BTreeMap<String, String>>,
    what: &str,
    rule: Rule,
) -> Result<()> {
    if let Some(length) = length {
        if data.len() as u64 != length {
            return Err(TufError::LengthOrHash {
                rule,
                what: what.to_string(),
                detail: format!("length {} instead of {length}", data.len()),
            });
        }
    }
    if let Some(hashes) = hashes {
        let mut h = Hashes::new(hashes, what, rule)?;
        h.update(data);
        h.finish(what, rule)?;
    }
    Ok(())
}
