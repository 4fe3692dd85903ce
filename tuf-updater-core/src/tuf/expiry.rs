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

/// Writes `t` as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format(t: &DateTime<Utc>) -> String {
    t.format(EXPIRES_FORMAT).to_string()
}

/// How long before `now` `t` was, in words: `40 minutes`, `5 hours`, `3 days`.
pub fn elapsed(t: &DateTime<Utc>, now: &DateTime<Utc>) -> String {
    let minutes = (*now - *t).num_minutes().max(0);
    let (n, unit) = match minutes {
        m if m < 120 => (m, "minute"),
        m if m < 48 * 60 => (m / 60, "hour"),
        m => (m / (24 * 60), "day"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// Serde serializer writing a time in that form (`#[serde(serialize_with = ...)]`).
pub fn serialize<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn elapsed_time_reads_in_the_unit_a_person_would_use() {
        let now = Utc::now();
        let ago = |d: Duration| elapsed(&(now - d), &now);
        assert_eq!(ago(Duration::minutes(1)), "1 minute");
        assert_eq!(ago(Duration::minutes(90)), "90 minutes");
        assert_eq!(ago(Duration::hours(5)), "5 hours");
        assert_eq!(ago(Duration::hours(47)), "47 hours");
        assert_eq!(ago(Duration::days(3)), "3 days");
        // A clock behind the expiry says 0, never a negative time.
        assert_eq!(elapsed(&(now + Duration::hours(1)), &now), "0 minutes");
    }
}
