//! The trusted metadata set fed any bytes as one role of a real repository
//! (fuzz/fixtures/repository, made by fuzz/make-seeds.sh with updater-pack; we hold its keys,
//! the fuzzer does not).
//!
//! The first byte chooses the role (`% 5`: the next root, timestamp, snapshot, top-level
//! targets, the delegated channel role `stable`) and, bit 3, whether the bytes come "from the
//! cache" (no length and hash check against the referencing metadata, so that mutations
//! reach the parser and the signature check). The set is first brought to the state where
//! that role is next, with the repository's real files; then it is given the fuzzed bytes.
//!
//! Properties: no panic, and whenever the set accepts the bytes, what it now trusts is
//! exactly what the repository signed: the typed metadata equals that of the real file. A
//! changed signed part (a changed field, a duplicated key read one way for the signature
//! and another for the value) is refused, since only the real one verifies.
#![no_main]

use std::sync::OnceLock;

use chrono::{DateTime, TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use tuf_updater_core::tuf::metadata::{Root, Snapshot, Targets, Timestamp, TARGETS};
use tuf_updater_core::tuf::trusted::{Expiry, TrustedMetadataSet};

const ROOT_1: &[u8] = include_bytes!("../fixtures/repository/1.root.json");
const ROOT_2: &[u8] = include_bytes!("../fixtures/repository/2.root.json");
const TIMESTAMP: &[u8] = include_bytes!("../fixtures/repository/timestamp.json");
const SNAPSHOT: &[u8] = include_bytes!("../fixtures/repository/snapshot.json");
const TARGETS_FILE: &[u8] = include_bytes!("../fixtures/repository/targets.json");
const STABLE: &[u8] = include_bytes!("../fixtures/repository/stable.json");
const CHANNEL: &str = "stable";

/// The repository was signed at 2030-01-01T00:00:00Z (`UPDATER_PACK_NOW`); its timestamp
/// lasts a day.
fn now() -> Expiry {
    let t: DateTime<Utc> = Utc
        .with_ymd_and_hms(2030, 1, 1, 12, 0, 0)
        .single()
        .unwrap_or_default();
    Expiry::At(t)
}

/// What the set trusts after the real files.
struct Reference {
    root_1: Root,
    root: Root,
    timestamp: Timestamp,
    snapshot: Snapshot,
    targets: Targets,
    stable: Targets,
}

/// The set with the real files up to (not including) `role`.
fn set_before(role: u8) -> TrustedMetadataSet {
    let fail = |what: &str, e: &dyn std::fmt::Debug| -> ! {
        panic!("the fixture repository does not verify: {what}: {e:?}")
    };
    let mut set =
        TrustedMetadataSet::with_expiry(ROOT_1, now()).unwrap_or_else(|e| fail("1.root", &e));
    if role > 0 {
        set.update_root(ROOT_2)
            .map(drop)
            .unwrap_or_else(|e| fail("2.root", &e));
    }
    if role > 1 {
        set.update_timestamp(TIMESTAMP)
            .map(drop)
            .unwrap_or_else(|e| fail("timestamp", &e));
    }
    if role > 2 {
        set.update_snapshot(SNAPSHOT, false)
            .map(drop)
            .unwrap_or_else(|e| fail("snapshot", &e));
    }
    if role > 3 {
        set.update_targets(TARGETS_FILE, false)
            .map(drop)
            .unwrap_or_else(|e| fail("targets", &e));
    }
    set
}

fn missing<T>() -> T {
    panic!("the fixture set lacks a role")
}

fn reference() -> &'static Reference {
    static REFERENCE: OnceLock<Reference> = OnceLock::new();
    REFERENCE.get_or_init(|| {
        let mut set = set_before(4);
        let stable = set
            .update_delegated_targets(STABLE, false, CHANNEL, TARGETS)
            .cloned()
            .unwrap_or_else(|e| panic!("the fixture's {CHANNEL} role does not verify: {e:?}"));
        Reference {
            root_1: set_before(0).root().clone(),
            root: set.root().clone(),
            timestamp: set.timestamp().cloned().unwrap_or_else(missing),
            snapshot: set.snapshot().cloned().unwrap_or_else(missing),
            targets: set.targets(TARGETS).cloned().unwrap_or_else(missing),
            stable,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let reference = reference();
    let role = selector % 5;
    let from_cache = selector & 8 != 0;
    let mut set = set_before(role);
    // Checked whatever the call returns: an expired timestamp or a snapshot of the wrong
    // version stays trusted, as the rollback reference, though the call fails.
    match role {
        0 => {
            if set.update_root(bytes).is_ok() {
                assert_eq!(
                    set.root(),
                    &reference.root,
                    "trusts a root the repository did not sign"
                );
            } else {
                assert_eq!(
                    set.root(),
                    &reference.root_1,
                    "a refused root changed the trusted one"
                );
            }
        }
        1 => {
            let _ = set.update_timestamp(bytes);
            if let Some(ts) = set.timestamp() {
                assert_eq!(ts, &reference.timestamp, "trusts a forged timestamp");
            }
        }
        2 => {
            let _ = set.update_snapshot(bytes, from_cache);
            if let Some(snapshot) = set.snapshot() {
                assert_eq!(snapshot, &reference.snapshot, "trusts a forged snapshot");
            }
        }
        3 => {
            let _ = set.update_targets(bytes, from_cache);
            if let Some(targets) = set.targets(TARGETS) {
                assert_eq!(targets, &reference.targets, "trusts forged targets");
            }
        }
        _ => {
            let _ = set.update_delegated_targets(bytes, from_cache, CHANNEL, TARGETS);
            if let Some(stable) = set.targets(CHANNEL) {
                assert_eq!(stable, &reference.stable, "trusts a forged {CHANNEL} role");
            }
        }
    }
});
