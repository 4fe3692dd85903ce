//! The clock. Every command takes "now" once, at its start, so that all expiry dates of one
//! run agree; tests move it with the `UPDATER_PACK_NOW` environment variable (RFC 3339, for
//! example `2030-01-01T00:00:00Z`). The variable is meant for tests and rehearsals only: a
//! repository signed with a clock in the past expires early.

use chrono::{DateTime, SubsecRound, Utc};

use crate::error::{PackError, Result};

/// The environment variable that overrides the clock (tests only).
pub const NOW_ENV: &str = "UPDATER_PACK_NOW";

/// The time to sign with: `UPDATER_PACK_NOW` if set, else the system clock; whole seconds,
/// as metadata dates are.
pub fn now() -> Result<DateTime<Utc>> {
    match std::env::var(NOW_ENV) {
        Ok(value) => parse_time(&value).map_err(|reason| PackError::BadEnvironment {
            var: NOW_ENV,
            value,
            expected: "an RFC 3339 time",
            reason,
        }),
        Err(_) => Ok(Utc::now().trunc_subsecs(0)),
    }
}

/// Parses an RFC 3339 time into UTC, whole seconds.
pub fn parse_time(value: &str) -> std::result::Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(value.trim())
        .map(|t| t.with_timezone(&Utc).trunc_subsecs(0))
        .map_err(|e| e.to_string())
}

/// `t` as metadata and custom fields write it: `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_time(t: &DateTime<Utc>) -> String {
    tuf_updater_core::tuf::metadata::expiry::format(t)
}

/// "in 3 days", "in 5 hours", "2 days ago": how far `t` is from `now`, for people.
pub fn relative(t: &DateTime<Utc>, now: &DateTime<Utc>) -> String {
    let secs = (*t - *now).num_seconds();
    let (abs, future) = (secs.unsigned_abs(), secs >= 0);
    let text = if abs >= 2 * 86_400 {
        format!("{} days", abs / 86_400)
    } else if abs >= 2 * 3_600 {
        format!("{} hours", abs / 3_600)
    } else if abs >= 120 {
        format!("{} minutes", abs / 60)
    } else {
        format!("{abs} seconds")
    };
    if future {
        format!("in {text}")
    } else {
        format!("{text} ago")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        let t = parse_time("2030-01-02T03:04:05.678+01:00").unwrap();
        assert_eq!(format_time(&t), "2030-01-02T02:04:05Z");
        assert!(parse_time("yesterday").is_err());
        let later = t + chrono::Duration::days(3);
        assert_eq!(relative(&later, &t), "in 3 days");
        assert_eq!(relative(&t, &later), "3 days ago");
    }
}
