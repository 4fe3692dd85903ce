//! Helpers shared by the release module's unit tests: signed-looking targets with custom data.

use std::collections::BTreeMap;

use semver::Version;
use serde_json::{json, Value};

use crate::tuf::metadata::TargetFile;

pub const APP: &str = "selfupdate";

/// A target of 1234 bytes with `custom` as its custom data.
pub fn target(custom: Value) -> TargetFile {
    let mut t = TargetFile::new(1234, BTreeMap::from([("sha256".into(), "ab".repeat(32))]));
    t.custom = Some(custom);
    t
}

/// The required custom fields of a full release of `version`.
pub fn custom(version: &str) -> Value {
    json!({ "version": version, "published": "2026-11-24T10:00:00Z", "kind": "full" })
}

/// [`custom`] with the fields of `extra` added or replaced.
pub fn with(version: &str, extra: Value) -> Value {
    let mut c = custom(version);
    if let (Some(obj), Some(more)) = (c.as_object_mut(), extra.as_object()) {
        obj.extend(more.clone());
    }
    c
}

/// The target path of [`APP`] `version` for linux-x86_64 on `channel`.
pub fn path(channel: &str, version: &str) -> String {
    format!("{channel}/{APP}/{version}/linux-x86_64/{APP}.tar.gz")
}

pub fn v(s: &str) -> Version {
    Version::parse(s).unwrap()
}
