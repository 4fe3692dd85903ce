//! `status`: channels, releases, every role's version and expiry, and warnings for what
//! has expired or expires soon. Read-only.
//!
//! "Soon" is `--days` (default 30), but never more than half a role's configured lifetime:
//! a timestamp that lives one day is flagged in its last 12 hours, not always.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use tuf_updater_core::release::fields::format_published;
use tuf_updater_core::release::ReleaseKind;
use tuf_updater_core::tuf::metadata::{Common, TargetFile, ROOT, SNAPSHOT, TARGETS, TIMESTAMP};

use crate::clock::{format_time, relative};
use crate::error::Result;
use crate::keys::short;
use crate::ops::check_cost::{check_costs as check_costs_of, CheckCost};
use crate::ops::release::channel_release;
use crate::project::Project;
use crate::repo::{RepoState, Roles};

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
    /// Per-app layout: what a check of each app costs, per channel and platform segment.
    pub check_costs: Vec<CheckCost>,
    pub warnings: Vec<String>,
}

/// Role rows and expiry warnings, as they are collected.
struct Collector {
    keys: crate::keys::KeyStore,
    policy: crate::lifetime::ExpiryPolicy,
    now: DateTime<Utc>,
    within_days: i64,
    dir: String,
    roles: Vec<RoleStatus>,
    warnings: Vec<String>,
}

impl Collector {
    /// A row for the role `label`, signed by `role`'s keys, and its expiry warning.
    fn row(&mut self, label: &str, role: &str, common: &Common, keyids: &[String], threshold: u64) {
        let key_files = keyids
            .iter()
            .filter(|id| self.keys.has_key(role, id))
            .count();
        self.roles.push(RoleStatus {
            role: label.to_string(),
            version: common.version,
            expires: format_time(&common.expires),
            expires_in: relative(&common.expires, &self.now),
            keys: keyids.iter().map(|k| short(k).to_string()).collect(),
            threshold,
            key_files,
        });
        self.expiry(label, role, common);
    }

    /// A warning if `label` (signed by `role`'s keys) has expired or expires soon.
    fn expiry(&mut self, label: &str, role: &str, common: &Common) {
        let (now, dir) = (self.now, &self.dir);
        let soon = Duration::days(self.within_days).min(self.policy.lifetime(role).duration() / 2);
        let fix = match role {
            TIMESTAMP | SNAPSHOT => format!("updater-pack timestamp {dir}"),
            _ => format!("updater-pack resign {dir} --role {role}"),
        };
        if common.expires <= now {
            self.warnings.push(format!(
                "{label} EXPIRED {} ({}): clients refuse the repository until you run `{fix}`",
                relative(&common.expires, &now),
                format_time(&common.expires)
            ));
        } else if common.expires - now <= soon {
            self.warnings.push(format!(
                "{label} expires {} ({}): run `{fix}`",
                relative(&common.expires, &now),
                format_time(&common.expires)
            ));
        }
    }

    /// Rows for the top-level roles of `state`, named `<prefix><role>`.
    fn top_level(&mut self, state: &Roles, prefix: &str, roles: &[&str]) {
        let root = &state.root.value;
        for role in roles {
            let common = match *role {
                ROOT => &root.common,
                TARGETS => &state.targets.value.common,
                SNAPSHOT => &state.snapshot.value.common,
                _ => &state.timestamp.value.common,
            };
            let (ids, threshold) = root
                .role(role)
                .map(|r| (r.keyids.clone(), r.threshold))
                .unwrap_or_default();
            self.row(&format!("{prefix}{role}"), role, common, &ids, threshold);
        }
    }
}

pub fn status(project: &Project, now: DateTime<Utc>, within_days: i64) -> Result<Status> {
    let config = project.load_config()?;
    let state = Roles::from(RepoState::load(&project.metadata_dir())?);
    let apps = project
        .app_names()?
        .into_iter()
        .map(|app| {
            Ok((
                app.clone(),
                Roles::from(RepoState::load(&project.app_metadata_dir(&app))?),
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut report = Collector {
        keys: crate::keys::KeyStore::new(project.keys_dir(), crate::keys::Passphrase::none()),
        policy: config.expires,
        now,
        within_days,
        dir: project.dir().display().to_string(),
        roles: Vec::new(),
        warnings: Vec::new(),
    };
    report.top_level(&state, "", &[ROOT, TARGETS, SNAPSHOT, TIMESTAMP]);
    let mut channels = Vec::new();
    let mut channel_warnings = Vec::new();
    for delegated in state.delegated_roles() {
        let Some(signed) = state.channels.get(&delegated.name) else {
            continue;
        };
        let name = &delegated.name;
        report.row(
            name,
            name,
            &signed.value.common,
            &delegated.keyids,
            delegated.threshold,
        );
        let targets = std::iter::once(&state)
            .chain(apps.iter().map(|(_, roles)| roles))
            .flat_map(|roles| roles.channel_targets(name))
            .map(|(path, file)| (path.clone(), file.clone()))
            .collect();
        channels.push(channel_status(
            name,
            signed.bytes.len(),
            &targets,
            &mut channel_warnings,
        ));
    }
    let mut check_costs = Vec::new();
    for (app, roles) in &apps {
        // Each app's repository has its own snapshot and timestamp, and heads and archives
        // that expire with their channel.
        report.top_level(roles, &format!("{app}:"), &[SNAPSHOT, TIMESTAMP]);
        for (name, (channel, part)) in &roles.parts {
            report.expiry(&format!("{app}:{name}"), channel, &part.value.common);
        }
        check_costs.extend(check_costs_of(app, roles));
    }
    let Collector {
        roles,
        mut warnings,
        ..
    } = report;
    warnings.extend(channel_warnings);
    Ok(Status {
        repository: project.repository(),
        now: format_time(&now),
        trusted_root: project
            .metadata_dir()
            .join(format!("{}.root.json", state.root.value.common.version)),
        roles,
        channels,
        check_costs,
        warnings,
    })
}

/// A channel's releases and size; what is wrong with them goes to `warnings`.
fn channel_status(
    name: &str,
    metadata_bytes: usize,
    targets: &BTreeMap<String, TargetFile>,
    warnings: &mut Vec<String>,
) -> ChannelStatus {
    if metadata_bytes > LARGE_CHANNEL {
        warnings.push(format!(
            "channel {name} metadata is {metadata_bytes} bytes, and every client downloads all \
             of it after each release to {name}: yank old releases (--delete-files) to shrink it"
        ));
    }
    let (releases, patches, malformed) = releases(name, targets);
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
        if !self.check_costs.is_empty() {
            writeln!(
                f,
                "What a check downloads (each app has its own repository):"
            )?;
            for cost in &self.check_costs {
                writeln!(f, "  {cost}")?;
            }
            writeln!(
                f,
                "  after a release of another app: the app's timestamp only (its repository \
                 did not change)"
            )?;
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
