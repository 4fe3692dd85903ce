//! The administrator's policy file (`policy::parse`) on any bytes.
//!
//! Properties: parsing never panics, and a parsed policy written back as a policy file (the
//! type has no writer: written here, field by field, as an administrator would) parses to
//! the same policy.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{json, Map, Value};
use tuf_updater_core::policy::{self, Policy};

fuzz_target!(|data: &[u8]| {
    let Ok(policy) = policy::parse(data) else {
        return;
    };
    let written = write(&policy);
    let again = policy::parse(&written);
    assert_eq!(
        again.as_ref().ok(),
        Some(&policy),
        "{} reads back as {again:?}",
        String::from_utf8_lossy(&written)
    );
});

fn write(policy: &Policy) -> Vec<u8> {
    let mut map = Map::new();
    if let Some(enabled) = policy.enabled {
        map.insert("enabled".into(), json!(enabled));
    }
    if let Some(channel) = &policy.channel {
        map.insert("channel".into(), json!(channel));
    }
    if let Some(allowed) = &policy.allowed_channels {
        map.insert("allowed_channels".into(), json!(allowed));
    }
    if let Some(pin) = &policy.pinned_version {
        map.insert("pinned_version".into(), json!(pin.to_string()));
    }
    map.insert("allow_rollback".into(), json!(policy.allow_rollback));
    if let Some(interval) = policy.check_interval {
        map.insert(
            "check_interval".into(),
            json!(format!("{}s", interval.as_secs())),
        );
    }
    if let Some(mirror) = &policy.repository_mirror {
        map.insert("repository_mirror".into(), json!(mirror.as_str()));
    }
    serde_json::to_vec(&Value::Object(map)).unwrap_or_default()
}
