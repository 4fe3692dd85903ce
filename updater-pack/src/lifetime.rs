//! How long each role's metadata stays valid. Defaults: root 365 days, targets and the
//! channel roles 90 days, snapshot 7 days, timestamp 1 day. A project stores its own in
//! `updater-pack.json` (set by `init --expires`); any signing command can override them for
//! one run with `--expires ROLE=DURATION`.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::Duration;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tuf_updater_core::tuf::metadata::{ROOT, SNAPSHOT, TARGETS, TIMESTAMP};

use crate::error::{PackError, Result};

/// A validity period: `90d`, `12h`, `30m`, or a plain number of days.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifetime(Duration);

impl Lifetime {
    pub fn days(n: i64) -> Self {
        Lifetime(Duration::days(n))
    }

    pub fn duration(&self) -> Duration {
        self.0
    }
}

/// The longest validity we sign: ten years. Longer is almost certainly a typo.
const MAX_SECONDS: i64 = 10 * 366 * 86_400;

impl FromStr for Lifetime {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let s = s.trim();
        let (number, unit) = match s.char_indices().last() {
            Some((i, c)) if c.is_ascii_alphabetic() => (s.get(..i).unwrap_or_default(), c),
            _ => (s, 'd'),
        };
        let n: i64 = number
            .parse()
            .map_err(|_| format!("{s:?} is not a duration like 90d, 12h or 30m"))?;
        let seconds = match unit {
            'd' => n.checked_mul(86_400),
            'h' => n.checked_mul(3_600),
            'm' => n.checked_mul(60),
            _ => return Err(format!("{s:?}: unknown unit {unit:?} (use d, h or m)")),
        }
        .filter(|secs| (60..=MAX_SECONDS).contains(secs))
        .ok_or_else(|| format!("{s:?} must be between 1 minute and 10 years"))?;
        Ok(Lifetime(Duration::seconds(seconds)))
    }
}

impl fmt::Display for Lifetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.num_seconds();
        if secs % 86_400 == 0 {
            write!(f, "{}d", secs / 86_400)
        } else if secs % 3_600 == 0 {
            write!(f, "{}h", secs / 3_600)
        } else {
            write!(f, "{}m", secs / 60)
        }
    }
}

impl Serialize for Lifetime {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Lifetime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The name under which `--expires` sets the lifetime of every channel role at once.
pub const CHANNELS: &str = "channels";

/// Lifetimes per role.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExpiryPolicy {
    pub root: Lifetime,
    pub targets: Lifetime,
    /// Every channel role, unless `per_channel` names it.
    pub channels: Lifetime,
    pub snapshot: Lifetime,
    pub timestamp: Lifetime,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub per_channel: BTreeMap<String, Lifetime>,
}

impl Default for ExpiryPolicy {
    fn default() -> Self {
        ExpiryPolicy {
            root: Lifetime::days(365),
            targets: Lifetime::days(90),
            channels: Lifetime::days(90),
            snapshot: Lifetime::days(7),
            timestamp: Lifetime::days(1),
            per_channel: BTreeMap::new(),
        }
    }
}

/// One `--expires ROLE=DURATION` argument.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpiryOverride {
    pub role: String,
    pub lifetime: Lifetime,
}

impl FromStr for ExpiryOverride {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (role, duration) = s
            .split_once('=')
            .ok_or_else(|| format!("{s:?} is not ROLE=DURATION (for example timestamp=1d)"))?;
        Ok(ExpiryOverride {
            role: role.trim().to_string(),
            lifetime: duration.parse()?,
        })
    }
}

impl ExpiryPolicy {
    /// The lifetime of `role` (a top-level role or a channel).
    pub fn lifetime(&self, role: &str) -> Lifetime {
        match role {
            ROOT => self.root,
            TARGETS => self.targets,
            SNAPSHOT => self.snapshot,
            TIMESTAMP => self.timestamp,
            channel => self
                .per_channel
                .get(channel)
                .copied()
                .unwrap_or(self.channels),
        }
    }

    /// This policy with `overrides` applied. `channels` names the channels of the
    /// repository: an override for any other name is a mistake and refused.
    pub fn with_overrides(
        &self,
        overrides: &[ExpiryOverride],
        channels: &[String],
    ) -> Result<Self> {
        let mut policy = self.clone();
        for o in overrides {
            match o.role.as_str() {
                ROOT => policy.root = o.lifetime,
                TARGETS => policy.targets = o.lifetime,
                SNAPSHOT => policy.snapshot = o.lifetime,
                TIMESTAMP => policy.timestamp = o.lifetime,
                CHANNELS => policy.channels = o.lifetime,
                name if channels.iter().any(|c| c == name) => {
                    policy.per_channel.insert(name.to_string(), o.lifetime);
                }
                name => {
                    return Err(PackError::UnknownRole {
                        flag: "--expires",
                        name: name.to_string(),
                        known: format!(
                            "use root, targets, snapshot, timestamp, channels or a channel \
                             name: {}",
                            channels.join(", ")
                        ),
                    })
                }
            }
        }
        Ok(policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lifetimes() {
        assert_eq!("90d".parse::<Lifetime>().unwrap(), Lifetime::days(90));
        assert_eq!("7".parse::<Lifetime>().unwrap(), Lifetime::days(7));
        assert_eq!("12h".parse::<Lifetime>().unwrap().to_string(), "12h");
        assert_eq!("90m".parse::<Lifetime>().unwrap().to_string(), "90m");
        assert!("0d".parse::<Lifetime>().is_err());
        assert!("-1d".parse::<Lifetime>().is_err());
        assert!("5y".parse::<Lifetime>().is_err());
        assert!("99999d".parse::<Lifetime>().is_err());
        assert!("".parse::<Lifetime>().is_err());
    }

    #[test]
    fn overrides_apply_per_role() {
        let channels = vec!["stable".to_string(), "beta".to_string()];
        let o = |s: &str| s.parse::<ExpiryOverride>().unwrap();
        let p = ExpiryPolicy::default()
            .with_overrides(
                &[o("timestamp=6h"), o("beta=30d"), o("channels=60d")],
                &channels,
            )
            .unwrap();
        assert_eq!(p.lifetime("timestamp").to_string(), "6h");
        assert_eq!(p.lifetime("beta"), Lifetime::days(30));
        assert_eq!(p.lifetime("stable"), Lifetime::days(60));
        assert!(matches!(
            ExpiryPolicy::default().with_overrides(&[o("nightly=1d")], &channels),
            Err(PackError::UnknownRole { flag: "--expires", name, .. }) if name == "nightly"
        ));
    }
}
