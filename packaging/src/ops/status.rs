//! `status`: channels, releases, every role's version and expiry, and warnings for what
//! has expired or expires soon. Read-only.
//!
//! "Soon" is `--days` (default 30), but never more than half a role's configured lifetime:
//! a timestamp that lives one day is flagged in its last 12 hours, not always.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use updater_core::release::fields::format_published;
use updater_core::release::ReleaseKind;
use updater_core::tuf::metadata::{
    Common, TargetFile, Targets, ROOT, SNAPSHOT, TARGETS, TIMESTAMP,
};

use crate::clock::{format_time, relative};
use crate::error::Result;
use crate::keys::short;
use crate::ops::release::channel_release;
use crate::project::Project;
use crate::repo::{RepoState, Roles, Signed};

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

/// One version of an app on a channel, as the client reads it: the fields are those of the
/// first of its targets (by path).
#[derive(Clone, Debug, Serialize)]
pub struct ReleaseStatus {
    pub app: String,
    pub version: String,
    /// Platform segments, `<os>-<arch>[-<format>]`.
    pub platforms: Vec<String>,
    pub published: String,
    pub rollout: u8,
    pub critical: bool,
    pub min_version: Option<String>,
}

/// A target of a channel that is not one of its releases (clients skip it), and why.
#[derive(Clone, Debug, Serialize)]
pub struct MalformedRelease {
    pub path: String,
    pub reason: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ChannelStatus {
    pub name: String,
    /// Size of the channel's metadata file: what every client downloads after a release.
    pub metadata_bytes: usize,
    pub releases: Vec<ReleaseStatus>,
    /// Delta targets (patches between releases): not releases of their own.
    pub patches: usize,
    pub malformed: Vec<MalformedRelease>,
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
    let state = Roles::from(RepoState::load(&project.metadata_dir())?);
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
    let mut channel_warnings = Vec::new();
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
        channels.push(channel_status(
            &delegated.name,
            signed,
            &mut channel_warnings,
        ));
    }
    warnings.extend(channel_warnings);
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

/// A channel's releases and size; what is wrong with them goes to `warnings`.
fn channel_status(
    name: &str,
    signed: &Signed<Targets>,
    warnings: &mut Vec<String>,
) -> ChannelStatus {
    let metadata_bytes = signed.bytes.len();
    if metadata_bytes > LARGE_CHANNEL {
        warnings.push(format!(
            "channel {name} metadata is {metadata_bytes} bytes, and every client downloads all \
             of it after each release to {name}: yank old releases (--delete-files) to shrink it"
        ));
    }
    let (releases, patches, malformed) = releases(name, &signed.value.targets);
    for m in &malformed {
        warnings.push(format!(
            "channel {name} lists {}, which clients skip: {}",
            m.path, m.reason
        ));
    }
    ChannelStatus {
        name: name.to_string(),
        metadata_bytes,
        releases,
        patches,
        malformed,
    }
}

/// Releases of a channel, one per app and version, newest version first; how many patches
/// (delta targets, counted apart: a client never installs one as a release); and the
/// targets that are not valid releases, with the reason.
fn releases(
    channel: &str,
    targets: &BTreeMap<String, TargetFile>,
) -> (Vec<ReleaseStatus>, usize, Vec<MalformedRelease>) {
    let mut by_release: BTreeMap<(String, semver::Version), ReleaseStatus> = BTreeMap::new();
    let mut patches = 0;
    let mut malformed = Vec::new();
    for (path, file) in targets {
        let release = match channel_release(channel, path, file) {
            Ok(release) => release,
            Err(e) => {
                malformed.push(MalformedRelease {
                    path: path.clone(),
                    reason: e.to_string(),
                });
                continue;
            }
        };
        let (p, fields) = (&release.path, &release.fields);
        if fields.kind != ReleaseKind::Full {
            patches += 1;
            continue;
        }
        let entry = by_release
            .entry((p.app.clone(), p.version.clone()))
            .or_insert_with(|| ReleaseStatus {
                app: p.app.clone(),
                version: p.version.to_string(),
                platforms: Vec::new(),
                published: format_published(&fields.published),
                rollout: fields.rollout_percent,
                critical: fields.critical,
                min_version: fields.min_version.as_ref().map(ToString::to_string),
            });
        entry.platforms.push(p.segment.to_string());
    }
    let mut list: Vec<ReleaseStatus> = by_release.into_values().collect();
    list.reverse();
    (list, patches, malformed)
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
            let patches = match c.patches {
                0 => String::new(),
                1 => ", 1 patch".to_string(),
                n => format!(", {n} patches"),
            };
            writeln!(
                f,
                "  {} ({} release{}{patches}, metadata {} bytes)",
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
                write!(f, "  published {}  rollout {}%", r.published, r.rollout)?;
                if r.critical {
                    write!(f, "  CRITICAL")?;
                }
                if let Some(min) = &r.min_version {
                    write!(f, "  min_version {min}")?;
                }
                writeln!(f)?;
            }
            for m in &c.malformed {
                writeln!(f, "    ! {}: {}", m.path, m.reason)?;
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
