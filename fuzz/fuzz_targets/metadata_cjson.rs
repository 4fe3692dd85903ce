//! Metadata parsing and canonical JSON, on any bytes.
//!
//! Properties:
//! - canonical JSON: the canonical bytes of a parsed document read back (as canonical JSON)
//!   to the same value, canonicalising is idempotent, and the streaming canonicaliser
//!   (`canonicalize_text`, used for targets files) agrees with the tree one (`to_canonical`)
//!   on every text, errors included;
//! - the envelope: `Envelope::parse` and `split_targets_file` (the two ways a metadata file is
//!   read) agree on the signatures and on the bytes they cover;
//! - typed metadata: a parsed role written back (`to_value`) parses to the same value, the
//!   targets parsed from the tree and from the text are the same, and `expires` was written
//!   exactly as the spec's format writes it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use updater_core::tuf::canonical::{canonicalize_text, to_canonical};
use updater_core::tuf::metadata::{
    expiry, split_targets_file, Common, Envelope, Root, Snapshot, Targets, Timestamp,
};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let tree = serde_json::from_str::<Value>(text);
    let streamed = canonicalize_text(text);
    if let Ok(value) = &tree {
        let canonical = to_canonical(value);
        assert_eq!(
            canonical.is_ok(),
            streamed.is_ok(),
            "tree {:?} stream {:?}",
            text_of(&canonical),
            text_of(&streamed)
        );
        if let (Ok(canonical), Ok(streamed)) = (&canonical, &streamed) {
            assert_eq!(canonical, streamed, "the stream canonicalises differently");
            check_canonical(value, canonical);
        }
    } else {
        // What serde_json refuses as a tree, the transcoder refuses too.
        assert!(
            streamed.is_err(),
            "stream accepted what the tree refused: {text:?}"
        );
    }
    check_envelope(data);
});

fn text_of(r: &Result<Vec<u8>, String>) -> Result<String, &String> {
    r.as_ref().map(|b| String::from_utf8_lossy(b).into_owned())
}

/// `canonical` (of `value`) reads back to `value`, and canonicalises to itself.
fn check_canonical(value: &Value, canonical: &[u8]) {
    let back = read_canonical(canonical);
    assert_eq!(
        back.as_ref(),
        Some(value),
        "canonical form reads back differently"
    );
    if let Some(back) = back {
        assert_eq!(
            to_canonical(&back).ok().as_deref(),
            Some(canonical),
            "not idempotent"
        );
    }
}

/// Reads canonical JSON. It is JSON except that strings hold control characters raw (only
/// `"` and `\` are escaped), which a JSON parser refuses: escape those, then parse.
fn read_canonical(bytes: &[u8]) -> Option<Value> {
    let mut json = Vec::with_capacity(bytes.len());
    let (mut in_string, mut escaped) = (false, false);
    for &b in bytes {
        if in_string && !escaped && b < 0x20 {
            json.extend_from_slice(format!("\\u{b:04x}").as_bytes());
            continue;
        }
        json.push(b);
        if escaped {
            escaped = false;
        } else if in_string && b == b'\\' {
            escaped = true;
        } else if b == b'"' {
            in_string = !in_string;
        }
    }
    serde_json::from_slice(&json).ok()
}

fn check_envelope(data: &[u8]) {
    let Ok(envelope) = Envelope::parse(data, "fuzz") else {
        return;
    };
    assert_eq!(
        to_canonical(&envelope.signed).ok(),
        Some(envelope.canonical.clone())
    );
    // The targets path reads the same file without a tree: same signatures, same bytes.
    let split = split_targets_file(data, "fuzz");
    let Ok((signatures, text)) = split else {
        panic!("Envelope::parse accepted what split_targets_file refused: {split:?}");
    };
    assert_eq!(signatures, envelope.signatures);
    assert_eq!(
        canonicalize_text(text).ok(),
        Some(envelope.canonical.clone())
    );
    let signed = envelope.signed;
    match signed.get("_type").and_then(Value::as_str) {
        Some("root") => {
            if let Ok(root) = Root::from_value(signed.clone()) {
                check_expires(&signed, &root.common);
                let again = Root::from_value(root.to_value());
                assert_eq!(again.ok(), Some(root), "root does not round-trip");
            }
        }
        Some("timestamp") => {
            if let Ok(ts) = Timestamp::from_value(signed.clone()) {
                check_expires(&signed, &ts.common);
                let again = Timestamp::from_value(ts.to_value());
                assert_eq!(again.ok(), Some(ts), "timestamp does not round-trip");
            }
        }
        Some("snapshot") => {
            if let Ok(snap) = Snapshot::from_value(signed.clone()) {
                check_expires(&signed, &snap.common);
                let again = Snapshot::from_value(snap.to_value());
                assert_eq!(again.ok(), Some(snap), "snapshot does not round-trip");
            }
        }
        _ => {
            let from_tree = Targets::from_value(signed.clone(), "fuzz");
            let from_text = Targets::from_json(text, "fuzz");
            assert_eq!(
                from_tree.as_ref().ok(),
                from_text.as_ref().ok(),
                "targets parse differently from the tree and from the text"
            );
            if let Ok(targets) = from_tree {
                check_expires(&signed, &targets.common);
                let again = Targets::from_value(targets.to_value(), "fuzz");
                assert_eq!(again.ok(), Some(targets), "targets do not round-trip");
            }
        }
    }
}

/// An accepted `expires` is exactly `YYYY-MM-DDTHH:MM:SSZ`: what we read is what we write.
fn check_expires(signed: &Value, common: &Common) {
    let given = signed.get("expires").and_then(Value::as_str);
    assert_eq!(given, Some(expiry::format(&common.expires).as_str()));
}
