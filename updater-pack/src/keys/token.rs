//! Keys in a PKCS#11 token: an HSM, a YubiKey, a cloud HSM, SoftHSM2. The private key never
//! leaves the token; the project keeps a reference file `keys/<role>/<keyid>.pkcs11`
//! (JSON: the module, the token's label and the key's label or ID; no secret) and the
//! user PIN comes from `UPDATER_PACK_PKCS11_PIN` at signing time.
//!
//! Ed25519 keys sign with CKM_EDDSA; ECDSA P-256 keys sign a SHA-256 digest with CKM_ECDSA,
//! and the token's raw `r || s` is written as the DER signature that TUF clients (ours,
//! python-tuf) verify, with a low `s`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tuf_updater_core::tuf::metadata::{Extra, Key, KeyVal};
use tuf_updater_core::tuf::signer::{keyid_of, KeyKind, SignError, Signer};

use crate::error::{PackError, Result};

/// The environment variable holding the token's user PIN.
pub const PIN_ENV: &str = "UPDATER_PACK_PKCS11_PIN";

/// The extension of a token key's reference file.
pub const EXTENSION: &str = "pkcs11";

/// Where a key lives in a token: the content of a `.pkcs11` reference file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRef {
    /// The PKCS#11 module (shared library) of the token.
    pub module: PathBuf,
    /// The token's label.
    pub token: String,
    /// The key's label (CKA_LABEL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The key's ID (CKA_ID), in hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl TokenRef {
    /// The key, for messages: `key "ts" in token "ci" (module /usr/lib/...)`.
    pub fn describe(&self) -> String {
        let key = match (&self.label, &self.id) {
            (Some(label), _) => format!("key {label:?}"),
            (None, Some(id)) => format!("key with ID {id}"),
            (None, None) => "key".to_string(),
        };
        format!(
            "{key} in token {:?} (module {})",
            self.token,
            self.module.display()
        )
    }

    fn error(&self, reason: impl Into<String>) -> PackError {
        PackError::Token {
            what: self.describe(),
            reason: reason.into(),
        }
    }

    /// The attributes that find the key's objects of `class`.
    fn template(&self, class: ObjectClass) -> Result<Vec<Attribute>> {
        let mut template = vec![Attribute::Class(class)];
        if let Some(label) = &self.label {
            template.push(Attribute::Label(label.as_bytes().to_vec()));
        }
        if let Some(id) = &self.id {
            let id = hex::decode(id).map_err(|_| self.error("the key ID is not hex"))?;
            template.push(Attribute::Id(id));
        }
        if template.len() == 1 {
            return Err(self.error("give the key's label or ID"));
        }
        Ok(template)
    }
}

/// A private key in a PKCS#11 token, logged in and ready to sign.
pub struct TokenKey {
    keyid: String,
    public: Key,
    kind: KeyKind,
    key: ObjectHandle,
    session: Mutex<Session>,
    what: String,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKey")
            .field("keyid", &self.keyid)
            .field("key", &self.what)
            .finish()
    }
}

/// The modules loaded in this process: PKCS#11 allows one initialisation per process.
static MODULES: Mutex<BTreeMap<PathBuf, Pkcs11>> = Mutex::new(BTreeMap::new());

fn module(reference: &TokenRef) -> Result<Pkcs11> {
    let path = &reference.module;
    let mut modules = MODULES
        .lock()
        .map_err(|_| reference.error("the module lock is poisoned"))?;
    if let Some(ctx) = modules.get(path) {
        return Ok(ctx.clone());
    }
    if !path.is_file() {
        return Err(reference.error(format!(
            "no PKCS#11 module at {} (install the token's PKCS#11 library, e.g. softhsm2, or fix the path)",
            path.display()
        )));
    }
    let ctx =
        Pkcs11::new(path).map_err(|e| reference.error(format!("cannot load the module: {e}")))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(reference.error(format!("cannot initialise the module: {e}"))),
    }
    modules.insert(path.clone(), ctx.clone());
    Ok(ctx)
}

fn find_token(ctx: &Pkcs11, reference: &TokenRef) -> Result<Slot> {
    let slots = ctx
        .get_slots_with_initialized_token()
        .map_err(|e| reference.error(format!("cannot list the tokens: {e}")))?;
    let mut labels = Vec::new();
    for slot in slots {
        let Ok(info) = ctx.get_token_info(slot) else {
            continue;
        };
        let label = info.label().trim_end().to_string();
        if label == reference.token {
            return Ok(slot);
        }
        labels.push(format!("{label:?}"));
    }
    let known = if labels.is_empty() {
        "the module has no initialised token".to_string()
    } else {
        format!("its tokens: {}", labels.join(", "))
    };
    Err(reference.error(format!("no such token ({known})")))
}

fn login(session: &Session, reference: &TokenRef) -> Result<()> {
    let pin = std::env::var(PIN_ENV)
        .map_err(|_| reference.error(format!("set {PIN_ENV} to the token's user PIN")))?;
    let pin = AuthPin::from(pin);
    match session.login(UserType::User, Some(&pin)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
        Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => {
            Err(reference.error(format!("wrong PIN: {PIN_ENV} does not open the token")))
        }
        Err(CkError::Pkcs11(RvError::PinLocked, _)) => Err(reference.error(
            "the token's user PIN is locked (too many wrong PINs); unlock it with the SO PIN",
        )),
        Err(e) => Err(reference.error(format!("cannot log in: {e}"))),
    }
}

fn find_one(session: &Session, reference: &TokenRef, class: ObjectClass) -> Result<ObjectHandle> {
    let which = if class == ObjectClass::PRIVATE_KEY {
        "private"
    } else {
        "public"
    };
    let found = session
        .find_objects(&reference.template(class)?)
        .map_err(|e| reference.error(format!("cannot search the token: {e}")))?;
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(reference.error(format!("the token has no such {which} key"))),
        _ => Err(reference.error(format!(
            "{} {which} keys match; give a label or ID that names one",
            found.len()
        ))),
    }
}

/// Ed25519 OID 1.3.101.112 (RFC 8410) and the PKCS#11 v3 printable-string form.
const ED25519_OID: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
const ED25519_NAME: &[u8] = b"\x13\x0cedwards25519";
/// prime256v1 / secp256r1, OID 1.2.840.10045.3.1.7.
const P256_OID: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// The point inside a DER OCTET STRING, as tokens return CKA_EC_POINT (some give it bare).
fn unwrap_octet_string(point: &[u8], len: usize) -> Option<&[u8]> {
    match point {
        [0x04, n, rest @ ..] if usize::from(*n) == len && rest.len() == len => Some(rest),
        bare if bare.len() == len => Some(bare),
        _ => None,
    }
}

/// The key's type and public key, as metadata lists it, read from its public key object.
fn public_key(
    session: &Session,
    reference: &TokenRef,
    object: ObjectHandle,
) -> Result<(KeyKind, Key)> {
    let attrs = session
        .get_attributes(
            object,
            &[
                AttributeType::KeyType,
                AttributeType::EcParams,
                AttributeType::EcPoint,
            ],
        )
        .map_err(|e| reference.error(format!("cannot read the public key: {e}")))?;
    let (mut key_type, mut params, mut point) = (None, None, None);
    for attr in attrs {
        match attr {
            Attribute::KeyType(t) => key_type = Some(t),
            Attribute::EcParams(p) => params = Some(p),
            Attribute::EcPoint(p) => point = Some(p),
            _ => {}
        }
    }
    let unsupported = |what: &str| {
        reference.error(format!(
            "the key is {what}; updater-pack signs with Ed25519 or ECDSA P-256 token keys"
        ))
    };
    let (params, point) = match (params, point) {
        (Some(params), Some(point)) => (params, point),
        _ => return Err(unsupported("not an elliptic-curve key")),
    };
    let bad_point = || reference.error("the token's public key is malformed");
    let (kind, keytype, scheme, public) = match key_type {
        Some(t) if t == KeyType::EC_EDWARDS => {
            if params != ED25519_OID && params != ED25519_NAME {
                return Err(unsupported("an Edwards key on another curve than Ed25519"));
            }
            let raw = unwrap_octet_string(&point, 32).ok_or_else(bad_point)?;
            (KeyKind::Ed25519, "ed25519", "ed25519", hex::encode(raw))
        }
        Some(t) if t == KeyType::EC => {
            if params != P256_OID {
                return Err(unsupported("an ECDSA key on another curve than P-256"));
            }
            let raw = unwrap_octet_string(&point, 65).ok_or_else(bad_point)?;
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(raw).map_err(|_| bad_point())?;
            use p256::pkcs8::{EncodePublicKey, LineEnding};
            let pem = key
                .to_public_key_pem(LineEnding::LF)
                .map_err(|e| reference.error(e.to_string()))?;
            (KeyKind::EcdsaP256, "ecdsa", "ecdsa-sha2-nistp256", pem)
        }
        _ => return Err(unsupported("neither an Ed25519 nor an ECDSA key")),
    };
    let key = Key {
        keytype: keytype.to_string(),
        scheme: scheme.to_string(),
        keyval: KeyVal {
            public,
            extra: Extra::new(),
        },
        extra: Extra::new(),
    };
    Ok((kind, key))
}

impl TokenKey {
    /// Opens the key `reference` names: loads the module, finds the token, logs in with the
    /// PIN in [`PIN_ENV`] and reads the public key. Any failure says which of these failed.
    pub fn open(reference: &TokenRef) -> Result<TokenKey> {
        let ctx = module(reference)?;
        let slot = find_token(&ctx, reference)?;
        let session = ctx
            .open_ro_session(slot)
            .map_err(|e| reference.error(format!("cannot open a session: {e}")))?;
        login(&session, reference)?;
        let key = find_one(&session, reference, ObjectClass::PRIVATE_KEY)?;
        let public_object = find_one(&session, reference, ObjectClass::PUBLIC_KEY)?;
        let (kind, public) = public_key(&session, reference, public_object)?;
        Ok(TokenKey {
            keyid: keyid_of(&public)?,
            public,
            kind,
            key,
            session: Mutex::new(session),
            what: reference.describe(),
        })
    }

    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The key, for messages.
    pub fn describe(&self) -> &str {
        &self.what
    }
}

impl Signer for TokenKey {
    fn keyid(&self) -> &str {
        &self.keyid
    }

    fn public_key(&self) -> &Key {
        &self.public
    }

    fn sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, SignError> {
        let failed = |e: String| SignError::Crypto(format!("{}: {e}", self.what));
        let session = self
            .session
            .lock()
            .map_err(|_| failed("the session lock is poisoned".into()))?;
        match self.kind {
            KeyKind::Ed25519 => {
                let mechanism = Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure));
                session
                    .sign(&mechanism, self.key, msg)
                    .map_err(|e| failed(e.to_string()))
            }
            _ => {
                let digest = Sha256::digest(msg);
                let raw = session
                    .sign(&Mechanism::Ecdsa, self.key, &digest)
                    .map_err(|e| failed(e.to_string()))?;
                ecdsa_der(&raw).ok_or_else(|| failed("the token's signature is malformed".into()))
            }
        }
    }
}

/// A P-256 `r || s` signature as DER, with a low `s`.
fn ecdsa_der(raw: &[u8]) -> Option<Vec<u8>> {
    let sig = p256::ecdsa::Signature::from_slice(raw).ok()?;
    let sig = sig.normalize_s().unwrap_or(sig);
    Some(sig.to_der().as_bytes().to_vec())
}

/// Reads a reference file's JSON.
pub fn parse_reference(path: &Path, text: &str) -> Result<TokenRef> {
    let reference: TokenRef = serde_json::from_str(text).map_err(|e| PackError::BadKeyFile {
        path: path.to_path_buf(),
        reason: format!("not a PKCS#11 key reference ({e})"),
    })?;
    reference.template(ObjectClass::PRIVATE_KEY)?;
    Ok(reference)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_points_are_read_wrapped_or_bare() {
        let raw = [7u8; 32];
        let mut wrapped = vec![0x04, 32];
        wrapped.extend_from_slice(&raw);
        assert_eq!(unwrap_octet_string(&wrapped, 32), Some(&raw[..]));
        assert_eq!(unwrap_octet_string(&raw, 32), Some(&raw[..]));
        assert_eq!(unwrap_octet_string(&raw[..31], 32), None);
    }

    #[test]
    fn raw_ecdsa_signatures_become_der() {
        let key = p256::ecdsa::SigningKey::from_slice(&[1u8; 32]).unwrap();
        use p256::ecdsa::signature::{Signer as _, Verifier as _};
        let sig: p256::ecdsa::Signature = key.sign(b"msg");
        let der = ecdsa_der(&sig.to_bytes()).unwrap();
        let back = p256::ecdsa::Signature::from_der(&der).unwrap();
        key.verifying_key().verify(b"msg", &back).unwrap();
        assert!(ecdsa_der(&[0u8; 10]).is_none());
    }

    #[test]
    fn references_name_a_key() {
        let path = Path::new("k.pkcs11");
        let ok = r#"{"module":"/m.so","token":"ci","label":"ts"}"#;
        assert_eq!(
            parse_reference(path, ok).unwrap().label.as_deref(),
            Some("ts")
        );
        let none = r#"{"module":"/m.so","token":"ci"}"#;
        assert!(matches!(
            parse_reference(path, none),
            Err(PackError::Token { reason, .. }) if reason.contains("label or ID")
        ));
        let secret = r#"{"module":"/m.so","token":"ci","label":"ts","pin":"1234"}"#;
        assert!(matches!(
            parse_reference(path, secret),
            Err(PackError::BadKeyFile { .. })
        ));
    }
}
