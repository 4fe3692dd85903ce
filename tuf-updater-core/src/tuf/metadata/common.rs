//! What every role's metadata shares: the common fields, keys, a role's key IDs and
//! threshold, and the field-by-field parser the role types use.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::tuf::error::{Result, TufError};
use crate::tuf::expiry;

/// Fields a parser did not recognise, kept verbatim.
pub type Extra = Map<String, Value>;

/// The spec version we write; we read any 1.x.
pub const SPEC_VERSION: &str = "1.0.34";

/// Takes typed fields out of a JSON object; whatever is left is the `extra` of the type.
pub(super) struct Fields<'a> {
    map: Map<String, Value>,
    pub(super) role: &'a str,
}

impl<'a> Fields<'a> {
    pub(super) fn new(value: Value, role: &'a str, what: &str) -> Result<Self> {
        match value {
            Value::Object(map) => Ok(Fields { map, role }),
            _ => Err(TufError::malformed(
                role,
                format!("{what} is not an object"),
            )),
        }
    }

    pub(super) fn req<T: DeserializeOwned>(&mut self, key: &str) -> Result<T> {
        let value = self
            .map
            .remove(key)
            .ok_or_else(|| TufError::malformed(self.role, format!("missing field {key:?}")))?;
        serde_json::from_value(value)
            .map_err(|e| TufError::malformed(self.role, format!("field {key:?}: {e}")))
    }

    pub(super) fn opt<T: DeserializeOwned>(&mut self, key: &str) -> Result<Option<T>> {
        match self.map.remove(key) {
            None => Ok(None),
            Some(value) => serde_json::from_value(value)
                .map(Some)
                .map_err(|e| TufError::malformed(self.role, format!("field {key:?}: {e}"))),
        }
    }

    pub(super) fn take(&mut self, key: &str) -> Option<Value> {
        self.map.remove(key)
    }

    pub(super) fn rest(self) -> Extra {
        self.map
    }
}

/// The fields every role shares (spec 4.2 / 4.3).
#[derive(Clone, Debug, PartialEq)]
pub struct Common {
    /// The spec version the metadata follows; any 1.x is read.
    pub spec_version: String,
    /// The metadata's version, at least 1.
    pub version: u64,
    /// When the metadata stops being trusted.
    pub expires: DateTime<Utc>,
}

impl Common {
    /// Common fields for [`SPEC_VERSION`] with this version and expiry.
    pub fn new(version: u64, expires: DateTime<Utc>) -> Self {
        Common {
            spec_version: SPEC_VERSION.to_string(),
            version,
            expires,
        }
    }

    pub(super) fn parse(fields: &mut Fields<'_>, expected_type: &str) -> Result<Self> {
        let found: String = fields.req("_type")?;
        if found != expected_type {
            return Err(TufError::WrongType {
                role: crate::tuf::error::Role::named(fields.role),
                expected: expected_type.to_string(),
                found,
            });
        }
        let spec_version: String = fields.req("spec_version")?;
        // We implement 1.0.x; any 1.y is compatible by semver, 0.x or 2.x is not.
        let major = spec_version.split('.').next().unwrap_or_default();
        if major != "1" || spec_version.split('.').count() < 2 {
            return Err(TufError::malformed(
                fields.role,
                format!("unsupported spec_version {spec_version:?}"),
            ));
        }
        let version: u64 = fields.req("version")?;
        if version == 0 {
            return Err(TufError::malformed(
                fields.role,
                "version must be at least 1",
            ));
        }
        let expires: String = fields.req("expires")?;
        let expires = expiry::parse(&expires).ok_or_else(|| {
            TufError::malformed(
                fields.role,
                format!("expires {expires:?} is not YYYY-MM-DDTHH:MM:SSZ"),
            )
        })?;
        Ok(Common {
            spec_version,
            version,
            expires,
        })
    }

    pub(super) fn write(&self, map: &mut Map<String, Value>, type_name: &str) {
        map.insert("_type".into(), Value::from(type_name));
        map.insert(
            "spec_version".into(),
            Value::from(self.spec_version.clone()),
        );
        map.insert("version".into(), Value::from(self.version));
        map.insert("expires".into(), Value::from(expiry::format(&self.expires)));
    }

    /// Whether the metadata has expired at `now` (expiry is at `expires` itself).
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires
    }
}

/// A public key as metadata lists it (spec 4.2). Key IDs are labels chosen by the delegator
/// (TAP 12): we never recompute them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Key {
    /// The key type, e.g. `ed25519`, `ecdsa`, `rsa`.
    pub keytype: String,
    /// The signature scheme, e.g. `ed25519`, `ecdsa-sha2-nistp256`, `rsassa-pss-sha256`.
    pub scheme: String,
    /// The public key itself.
    pub keyval: KeyVal,
    /// Fields this client does not know, kept verbatim: the signatures cover them too.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A key's value (spec 4.2 `keyval`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyVal {
    /// The public key: hex for ed25519, PEM for ECDSA and RSA.
    pub public: String,
    /// Fields this client does not know, kept verbatim: the signatures cover them too.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The key IDs and threshold of one role.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoleKeys {
    /// IDs of the keys that may sign the role.
    pub keyids: Vec<String>,
    /// How many of those keys must sign it.
    pub threshold: u64,
    /// Fields this client does not know, kept verbatim: the signatures cover them too.
    #[serde(flatten)]
    pub extra: Extra,
}

impl RoleKeys {
    /// A role signed by `threshold` of `keyids`.
    pub fn new(keyids: Vec<String>, threshold: u64) -> Self {
        RoleKeys {
            keyids,
            threshold,
            extra: Extra::new(),
        }
    }

    pub(super) fn validate(&self, role: &str) -> Result<()> {
        validate_keyids_threshold(&self.keyids, self.threshold, role)
    }
}

pub(super) fn validate_keyids_threshold(
    keyids: &[String],
    threshold: u64,
    role: &str,
) -> Result<()> {
    if threshold == 0 {
        return Err(TufError::malformed(role, "threshold must be at least 1"));
    }
    let unique: HashSet<&String> = keyids.iter().collect();
    if unique.len() != keyids.len() {
        return Err(TufError::malformed(role, "duplicate key IDs in role"));
    }
    Ok(())
}

pub(super) fn to_json<T: Serialize>(value: &T) -> Value {
    // Serializing our own plain types (maps of strings and numbers) cannot fail.
    serde_json::to_value(value).unwrap_or(Value::Null)
}
