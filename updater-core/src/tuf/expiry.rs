//! `expires` as the spec writes it: `YYYY-MM-DDTHH:MM:SSZ`, always UTC.

use chrono::{DateTime, NaiveDateTime, Utc};

const EXPIRES_FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";

/// Only that exact form: chrono's parser also takes fields without their leading zeros
/// (`2030-1-1T0:0:0Z`), so what it read is written back and compared.
pub fn parse(s: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(s, EXPIRES_FORMAT)
        .ok()
        .map(|t| t.and_utc())
        .filter(|t| format(t) == s)
}

pub fn format(t: &DateTime<Utc>) -> String {
    t.format(EXPIRES_FORMAT).to_string()
}

pub fn serialize<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(t))
}
