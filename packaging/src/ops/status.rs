//! `status`: channels, releases, every role's version and expiry, and warnings for what
//! has expired or expires soon. Read-only.
//!
//! "Soon" is `--days` (default 30), but never more than half a role's configured lifetime:
//! a timestamp that lives one day is flagged in its last 12 hours, not always.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::Value;
use updater_core::tuf::metadata::{Common, ROOT, SNAPSHOT, TARGETS, TIMESTAMP};

use crate::clock::{format_time, relative};
use crate::error::Result;
use crate::keys::short;
use crate::names::TargetPath;
use crate::project::Project;
use crate::repo::RepoState;

#[derive(Clone, Debug, Serialize)]
pub struct RoleStatus {
    pub role: String,
    pub version: u64,
    pub expires: String,
    pub expires_in: String,
    pub keys: Vec<String>,
    pub threshold: u64,
    /// How many of the role's key files are in the keys directory.
    pub key_files: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct ReleaseStatus {
    pub app: String,
    pub version: String,
    pub platforms: Vec<String>,
    pub published: Option<String>,
    pub rollout: Option<u64>,
    pub critical: bool,
    pub min_version: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ChannelStatus {
    pub name: String,
    /// Size of the channel's metadata file: what every client downloads after a release.
    pub metadata_bytes: usize,
    pub releases: Vec<ReleaseStatus>,
}

/// Above this, `status` suggests pruning a channel: a client re-downloads the whole channel
/// role after every release to it.
pub const LARGE_CHANNEL: usize = 1024 * 1024;

#[derive(Clone, Debug, Serialize)]
pub struct Status {
    pub repository: PathBuf,
    pub now: String,
    pub trusted_root: PathBuf,
    pub roles: Vec<RoleStatus>,
    pub channels: Vec<ChannelStatus>,
    pub warnings: Vec<String>,
}

pub fn status(project: &Project, now: DateTime<Utc>, within_days: i64) -> Result<Status> {
    let config = project.load_config()?;
    let state = RepoState::load(&project.metadata_dir())?;
    let policy = config.expires;
    let keys = crate::keys::KeyStore::new(project.keys_dir(), crate::keys::Passphrase::none());
    let dir = project.dir().display().to_string();

    let mut roles = Vec::new();
    let mut warnings = Vec::new();
    let root = &state.root.value;
    let mut add = |role: &str, common: &Common, keyids: &[String], threshold: u64| {
        let key_files = keyids
            .iter()
            .filter(|id| keys.path_of(role, id).exists())
            .count();
        roles.push(RoleStatus {
            role: role.to_string(),
            version: common.version,
            expires: format_time(&common.expires),
            expires_in: relative(&common.expires, &now),
            keys: keyids.iter().map(|k| short(k).to_string()).collect(),
            threshold,
            key_files,
        });
        let soon = Duration::days(within_days).min(policy.lifetime(role).duration() / 2);
        let fix = match role {
            TIMESTAMP | SNAPSHOT => format!("updater-pack timestamp {dir}"),
            _ => format!("updater-pack resign {dir} --role {role}"),
        };
        if common.expires <= now {
            warnings.push(format!(
                "{role} EXPIRED {} ({}): clients refuse the repository until you run `{fix}`",
                relative(&common.expires, &now),
                format_time(&common.expires)
            ));
        } else if common.expires - now <= soon {
            warnings.push(format!(
                "{role} expires {} ({}): run `{fix}`",
                relative(&common.expires, &now),
                format_time(&common.expires)
            ));
        }
    };
    for role in [ROOT, TARGETS, SNAPSHOT, TIMESTAMP] {
        let common = match role {
            ROOT => &root.common,
            TARGETS => &state.targets.value.common,
            SNAPSHOT => &state.snapshot.value.common,
            _ => &state.timestamp.value.common,
        };
        let (ids, threshold) = root
            .role(role)
            .map(|r| (r.keyids.clone(), r.threshold))
            .unwrap_or_default();
        add(role, common, &ids, threshold);
    }
    let mut channels = Vec::new();
    let mut size_warnings = Vec::new();
    for delegated in state.delegated_roles() {
        let Some(signed) = state.channels.get(&delegated.name) else {
            continue;
        };
        add(
            &delegated.name,
            &signed.value.common,
            &delegated.keyids,
            delegated.threshold,
        );
        let metadata_bytes = signed.bytes.len();
        if metadata_bytes > LARGE_CHANNEL {
            size_warnings.push(format!(
                "channel {} metadata is {metadata_bytes} bytes, and every client downloads all \
                 of it after each release to {}: yank old releases (--delete-files) to shrink it",
                delegated.name, delegated.name
            ));
        }
        channels.push(ChannelStatus {
            name: delegated.name.clone(),
            metadata_bytes,
            releases: releases(&signed.value.targets),
        });
    }
    warnings.extend(size_warnings);
    Ok(Status {
        repository: project.repository(),
        now: format_time(&now),
        trusted_root: project
            .metadata_dir()
            .join(format!("{}.root.json", root.common.version)),
        roles,
        channels,
        warnings,
    })
}

/// Releases of a channel, one per app and version, newest version first.
fn releases(
    targets: &BTreeMap<String, updater_core::tuf::metadata::TargetFile>,
) -> Vec<ReleaseStatus> {
    let mut by_release: BTreeMap<(String, semver::Version, String), ReleaseStatus> =
        BTreeMap::new();
    for (path, file) in targets {
        let Some(p) = TargetPath::parse(path) else {
            continue;
        };
        let Ok(version) = semver::Version::parse(&p.version) else {
            continue;
        };
        let custom = file.custom.as_ref();
        let text = |key: &str| {
            custom
                .and_then(|c| c.get(key))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let entry = by_release
            .entry((p.app.clone(), version, p.version.clone()))
            .or_insert_with(|| ReleaseStatus {
                app: p.app.clone(),
                version: p.version.clone(),
                platforms: Vec::new(),
                published: text("published"),
                rollout: custom
                    .and_then(|c| c.get("rollout"))
                    .and_then(|r| r.get("percent"))
                    .and_then(Value::as_u64),
                critical: custom
                    .and_then(|c| c.get("critical"))
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                min_version: text("min_version"),
            });
        entry.platforms.push(p.platform.clone());
    }
    let mut list: Vec<ReleaseStatus> = by_release.into_values().collect();
    list.reverse();
    list
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "Repository {} (now {})",
            self.repository.display(),
            self.now
        )?;
        writeln!(f, "Roles:")?;
        for r in &self.roles {
            writeln!(
                f,
                "  {:<10} v{:<4} expires {} {:<16} keys {}/{} threshold {}{}",
                r.role,
                r.version,
                r.expires,
                format!("({})", r.expires_in),
                r.key_files,
                r.keys.len(),
                r.threshold,
                if r.key_files == 0 {
                    "  (no key file here)"
                } else {
                    ""
                }
            )?;
        }
        writeln!(f, "Channels:")?;
        for c in &self.channels {
            writeln!(
                f,
                "  {} ({} release{}, metadata {} bytes)",
                c.name,
                c.releases.len(),
                if c.releases.len() == 1 { "" } else { "s" },
                c.metadata_bytes
            )?;
            for r in &c.releases {
                write!(
                    f,
                    "    {} {}  [{}]",
                    r.app,
                    r.version,
                    r.platforms.join(", ")
                )?;
                if let Some(p) = &r.published {
                    write!(f, "  published {p}")?;
                }
                if let Some(pct) = r.rollout {
                    write!(f, "  rollout {pct}%")?;
                }
                if r.critical {
                    write!(f, "  CRITICAL")?;
                }
                if let Some(min) = &r.min_version {
                    write!(f, "  min_version {min}")?;
                }
                writeln!(f)?;
            }
        }
        writeln!(f, "Latest root: {}", self.trusted_root.display())?;
        if self.warnings.is_empty() {
            writeln!(f, "No warnings.")?;
        } else {
            writeln!(f, "Warnings:")?;
            for w in &self.warnings {
                writeln!(f, "  ! {w}")?;
            }
        }
        Ok(())
    }
}
