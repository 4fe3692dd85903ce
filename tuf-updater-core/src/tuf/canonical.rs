//! OLPC canonical JSON (the form TUF signs, spec 4.2): object keys sorted by their bytes,
//! no insignificant white space, strings escaping only `"` and `\`, integers only.
//!
//! Written directly over `serde_json::Value` instead of through `olpc-cjson`'s formatter:
//! the formatter buffers and re-sorts every object, and canonicalising a 10,000-target
//! `targets.json` is on the start-up path of every app. The tests check byte equality with
//! `olpc-cjson` on varied documents.

use serde_json::Value;

/// The canonical bytes of `value`, or why it has none (a float, which TUF does not allow).
pub fn to_canonical(value: &Value) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(4096);
    write(value, &mut out)?;
    Ok(out)
}

fn write(value: &Value, out: &mut Vec<u8>) -> Result<(), String> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            let mut buf = itoa::Buffer::new();
            if let Some(i) = n.as_u64() {
                out.extend_from_slice(buf.format(i).as_bytes());
            } else if let Some(i) = n.as_i64() {
                out.extend_from_slice(buf.format(i).as_bytes());
            } else {
                return Err(format!("canonical JSON has no floats, found {n}"));
            }
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            // serde_json's map iterates sorted unless some crate in the build enables
            // `preserve_order`; only then is a sorted copy of the entries needed.
            if map.keys().is_sorted_by(|a, b| a.as_bytes() <= b.as_bytes()) {
                write_entries(map.iter(), out)?;
            } else {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
                write_entries(entries.into_iter(), out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn write_entries<'a>(
    entries: impl Iterator<Item = (&'a String, &'a Value)>,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    for (i, (key, item)) in entries.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(key, out);
        out.push(b':');
        write(item, out)?;
    }
    Ok(())
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for i in memchr::memchr2_iter(b'"', b'\\', bytes) {
        out.extend_from_slice(bytes.get(start..i).unwrap_or_default());
        out.push(b'\\');
        start = i;
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
    out.push(b'"');
}

/// The canonical bytes of a JSON text, written while it is parsed: no tree is built. For a
/// large `targets.json` this saves the allocation (and first touch) of every node. Objects
/// whose keys are not already in order are re-ordered in place; a repeated key keeps its
/// last value, as a parse into a map would.
pub fn canonicalize_text(text: &str) -> Result<Vec<u8>, String> {
    use serde::de::DeserializeSeed;
    let mut out = Vec::with_capacity(text.len());
    let mut de = serde_json::Deserializer::from_str(text);
    Transcode { out: &mut out }
        .deserialize(&mut de)
        .map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    // Only now is it known whether a float was kept: one under a repeated key may be
    // replaced by the key's last value, as in a parse into a map.
    if memchr::memchr(FLOAT, &out).is_some() {
        return Err("canonical JSON has no floats".into());
    }
    Ok(out)
}

/// Written for a float: a byte no canonical text holds (it is never part of UTF-8).
const FLOAT: u8 = 0xff;

struct Transcode<'a> {
    out: &'a mut Vec<u8>,
}

impl<'de> serde::de::DeserializeSeed<'de> for Transcode<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// A key as parsed: borrowed from the text unless it had escapes.
struct Key<'de>(std::borrow::Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> serde::de::Visitor<'de> for Transcode<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON without floats")
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.out
            .extend_from_slice(if v { b"true" as &[u8] } else { b"false" });
        Ok(())
    }
    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.out
            .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
        Ok(())
    }
    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.out
            .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        self.out.push(FLOAT);
        Ok(())
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        write_string(v, self.out);
        Ok(())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.out.push(b'[');
        let mut first = true;
        loop {
            let mark = self.out.len();
            if !first {
                self.out.push(b',');
            }
            if seq
                .next_element_seed(Transcode { out: self.out })?
                .is_none()
            {
                self.out.truncate(mark);
                break;
            }
            first = false;
        }
        self.out.push(b']');
        Ok(())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.out.push(b'{');
        let start = self.out.len();
        // Each entry is written as it comes, `,"key":value`; (key, where it starts).
        let mut entries: Vec<(Key<'de>, usize)> = Vec::new();
        let mut in_order = true;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            if let Some((last, _)) = entries.last() {
                in_order &= last.0.as_bytes() < key.0.as_bytes();
            }
            let at = self.out.len();
            self.out.push(b',');
            write_string(&key.0, self.out);
            self.out.push(b':');
            map.next_value_seed(Transcode { out: self.out })?;
            entries.push((key, at));
        }
        if in_order {
            if self.out.len() > start {
                self.out.remove(start); // the first entry's comma
            }
        } else {
            let written = self.out.split_off(start);
            let end = written.len();
            let mut spans: Vec<(&[u8], &[u8])> = Vec::with_capacity(entries.len());
            for (i, (key, at)) in entries.iter().enumerate() {
                let until = entries.get(i + 1).map_or(end + start, |next| next.1);
                let bytes = written
                    .get(at - start + 1..until - start)
                    .unwrap_or_default();
                spans.push((key.0.as_bytes(), bytes));
            }
            // Stable sort, then keep the last of equal keys.
            spans.sort_by(|a, b| a.0.cmp(b.0));
            let mut kept: Vec<&[u8]> = Vec::with_capacity(spans.len());
            for (i, span) in spans.iter().enumerate() {
                let next_same = spans.get(i + 1).is_some_and(|n| n.0 == span.0);
                if !next_same {
                    kept.push(span.1);
                }
            }
            for (i, bytes) in kept.into_iter().enumerate() {
                if i > 0 {
                    self.out.push(b',');
                }
                self.out.extend_from_slice(bytes);
            }
        }
        self.out.push(b'}');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    fn reference(value: &Value) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut ser =
            serde_json::Serializer::with_formatter(&mut buf, olpc_cjson::CanonicalFormatter::new());
        value.serialize(&mut ser).map(|_| buf).unwrap_or_default()
    }

    #[test]
    fn matches_olpc_cjson_on_varied_documents() {
        let docs = [
            r#"{"b":1,"a":[true,false,null],"c":{"z":"x\"y\\z","é":"ü\n\t\u0001"},"":-5}"#,
            r#"{"signed":{"_type":"targets","targets":{"a/b c":{"length":0,"hashes":{}}}}}"#,
            r#"[1,[2,[3,{"k":"v"}]],"",{}]"#,
            r#"{"emoji":"😀","B":1,"a":2,"aa":3,"a-":4}"#,
            r#"18446744073709551615"#,
        ];
        for doc in docs {
            let value: Value = serde_json::from_str(doc).unwrap_or(Value::Null);
            assert_ne!(value, Value::Null, "{doc}");
            let ours = to_canonical(&value).unwrap_or_default();
            assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&reference(&value)),
                "{doc}"
            );
        }
    }

    #[test]
    fn escapes_only_quote_and_backslash_and_sorts_by_bytes() {
        let value: Value =
            serde_json::from_str(r#"{"b":"a\"\\\n","B":0,"a":-1}"#).unwrap_or_default();
        assert_eq!(
            to_canonical(&value).unwrap_or_default(),
            b"{\"B\":0,\"a\":-1,\"b\":\"a\\\"\\\\\n\"}".to_vec()
        );
    }

    /// Keys sort as strings, as the reference implementation (python-tuf, through
    /// securesystemslib) sorts them. `olpc-cjson` sorts the *quoted* keys, which puts
    /// `"a\u0000"` before `"a"`; python-tuf signs them the other way round.
    #[test]
    fn sorts_keys_as_python_does_where_olpc_cjson_differs() {
        let value: Value = serde_json::from_str(r#"{"a\u0000":1,"a":2}"#).unwrap_or_default();
        assert_eq!(
            to_canonical(&value).unwrap_or_default(),
            b"{\"a\":2,\"a\x00\":1}".to_vec()
        );
    }

    #[test]
    fn streaming_matches_the_tree_writer() {
        let docs = [
            r#"{"b":1,"a":[true,false,null],"c":{"z":"x\"y\\z","é":"ü\n\t\u0001"},"":-5}"#,
            r#"{"targets":{"z/b":{"length":3,"hashes":{"sha512":"aa","sha256":"bb"}},"a":{"length":0,"hashes":{}}}}"#,
            r#"[1,[2,[3,{"k":"v","a":{}}]],"",{},[]]"#,
            r#"{"dup":1,"a":2,"dup":3}"#,
            r#"{"a\u0000":1,"a":2,"a-":3}"#,
            r#" { "spaced" : [ 1 , 2 ] } "#,
        ];
        for doc in docs {
            let value: Value = serde_json::from_str(doc).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&canonicalize_text(doc).unwrap()),
                String::from_utf8_lossy(&to_canonical(&value).unwrap()),
                "{doc}"
            );
        }
        assert!(canonicalize_text(r#"{"x":1.5}"#).is_err());
        assert!(canonicalize_text(r#"{"x":1} trailing"#).is_err());
    }

    /// Found by fuzzing (fuzz/, metadata_cjson): a float under a repeated key whose last
    /// value is kept failed the streaming form, not the tree one.
    #[test]
    fn a_float_in_a_value_a_repeated_key_replaces_is_no_error() {
        for doc in [
            r#"{"k":1.5,"k":1}"#,
            r#"{"k":{"a":[2.5]},"b":0,"k":3}"#,
            r#"[{"z":1e300,"z":"x","a":null}]"#,
        ] {
            let value: Value = serde_json::from_str(doc).unwrap();
            assert_eq!(
                canonicalize_text(doc).map(String::from_utf8),
                Ok(Ok(String::from_utf8(to_canonical(&value).unwrap()).unwrap())),
                "{doc}"
            );
        }
        for doc in [r#"{"k":1,"k":1.5}"#, r#"{"b":1,"a":[{"x":0.5}]}"#, "1.0"] {
            assert!(canonicalize_text(doc).is_err(), "{doc}");
        }
    }

    #[test]
    fn refuses_floats() {
        let value: Value = serde_json::from_str(r#"{"x":1.5}"#).unwrap_or_default();
        assert!(to_canonical(&value).is_err());
    }
}
