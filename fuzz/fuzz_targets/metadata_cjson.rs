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
//!   targets parsed from the text equal those parsed from the tree (the text path may refuse
//!   more, only when a key is repeated), and `expires` was written exactly as the spec's
//!   format writes it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tuf_updater_core::tuf::canonical::{canonicalize_text, to_canonical};
use tuf_updater_core::tuf::metadata::{
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
            // The text is read once, without a tree: the earlier value of a repeated key is
            // typed too, and refused if malformed, where the tree just drops it. Refusing
            // more is safe; reading anything else than the tree is not.
            match (&from_tree, &from_text) {
                (Ok(tree), Ok(text)) => assert_eq!(tree, text, "targets read differently"),
                (Err(_), Ok(_)) => panic!("the text path accepts targets the tree refuses"),
                (Ok(_), Err(e)) => assert!(repeats_a_key(text), "text path refuses: {e:?}"),
                (Err(_), Err(_)) => {}
            }
            if let Ok(targets) = from_tree {
                check_expires(&signed, &targets.common);
                let again = Targets::from_value(targets.to_value(), "fuzz");
                assert_eq!(again.ok(), Some(targets), "targets do not round-trip");
            }
        }
    }
}

/// Whether some object of a JSON text has a key twice.
fn repeats_a_key(text: &str) -> bool {
    let mut repeated = false;
    let mut de = serde_json::Deserializer::from_str(text);
    let _ = serde::de::DeserializeSeed::deserialize(Walk(&mut repeated), &mut de);
    repeated
}

struct Walk<'a>(&'a mut bool);

impl<'de> serde::de::DeserializeSeed<'de> for Walk<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Walk<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Walk(&mut *self.0))?.is_some() {}
        Ok(())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut keys = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            *self.0 |= !keys.insert(key);
            map.next_value_seed(Walk(&mut *self.0))?;
        }
        Ok(())
    }
}

/// An accepted `expires` is exactly `YYYY-MM-DDTHH:MM:SSZ`: what we read is what we write.
fn check_expires(signed: &Value, common: &Common) {
    let given = signed.get("expires").and_then(Value::as_str);
    assert_eq!(given, Some(expiry::format(&common.expires).as_str()));
}
