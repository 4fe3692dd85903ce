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
    fn refuses_floats() {
        let value: Value = serde_json::from_str(r#"{"x":1.5}"#).unwrap_or_default();
        assert!(to_canonical(&value).is_err());
    }
}
