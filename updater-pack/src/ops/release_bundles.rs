//! `release --bundle-dir`: every bundle `tauri build` wrote ([`bundle_dir`]), published as
//! one release in one transaction: each under its own platform segment
//! (`<os>-<arch>-<format>`), all of them or none.
//!
//! The version and the app name come from the flags, else from the app's Tauri
//! configuration ([`tauri_conf`]). Several `--bundle-dir`s (or one folder holding the bundle
//! folders of several build runners) are published together; a later run for the same
//! version adds the segments it brings, and a segment already released is refused, as by
//! `release`.
//!
//! [`bundle_dir`]: crate::ops::bundle_dir
//! [`tauri_conf`]: crate::ops::tauri_conf

use std::collections::BTreeMap;
use std::path::PathBuf;

use semver::Version;
use tuf_updater_core::release::names::{check_app, parse_version};
use tuf_updater_core::release::{InstallFormat, PlatformSegment};

use crate::error::{PackError, Result};
use tuf_updater_core::files::FileError;

use crate::ops::app_archive::pack_app;
use crate::ops::bundle_dir::{
    bundle_platforms, find_bundles, looked_for, other_name_version, Bundle, Found, Skipped,
};
use crate::ops::patches::{plan_patches, PatchReport, DEFAULT_DELTAS};
use crate::ops::release::{plan_release, ReleaseOptions, ReleaseReportPlan};
use crate::ops::session::{Context, Outcome, Session};
use crate::ops::tauri_conf::{find_config, read_config, TauriApp};
use crate::project::Project;

#[derive(Clone, Debug)]
pub struct BundleOptions {
    /// Tauri's bundle folders (`target/<profile>/bundle`), or folders holding several.
    pub bundle_dirs: Vec<PathBuf>,
    /// The app's `tauri.conf.json`; default: found above the first bundle folder.
    pub config: Option<PathBuf>,
    /// Default: the configuration's `productName` (or `mainBinaryName`), lowercased.
    pub app: Option<String>,
    /// Default: the configuration's version.
    pub version: Option<String>,
    pub channel: String,
    pub notes: Option<PathBuf>,
    pub rollout: Option<u8>,
    pub critical: bool,
    pub min_version: Option<String>,
    pub deltas: usize,
}

impl Default for BundleOptions {
    fn default() -> Self {
        BundleOptions {
            bundle_dirs: Vec::new(),
            config: None,
            app: None,
            version: None,
            channel: String::new(),
            notes: None,
            rollout: None,
            critical: false,
            min_version: None,
            deltas: DEFAULT_DELTAS,
        }
    }
}

/// One bundle published under one segment.
#[derive(Clone, Debug)]
pub struct Published {
    pub bundle: PathBuf,
    pub format: InstallFormat,
    pub plan: ReleaseReportPlan,
    pub patches: Vec<PatchReport>,
}

#[derive(Clone, Debug)]
pub struct BundleReport {
    pub app: String,
    pub version: Version,
    pub channel: String,
    /// The configuration read, if one was.
    pub config: Option<TauriApp>,
    pub published: Vec<Published>,
    pub skipped: Vec<Skipped>,
    pub outcome: Outcome,
}

/// The app name, the version and the configuration they came from (if they did).
fn identify(opts: &BundleOptions) -> Result<(String, Version, Option<TauriApp>)> {
    let needs_config = opts.config.is_some() || opts.app.is_none() || opts.version.is_none();
    let conf = if needs_config {
        let path = match &opts.config {
            Some(path) => path.clone(),
            None => find_config(&opts.bundle_dirs).ok_or_else(|| PackError::BadArgument {
                flag: "--config",
                value: None,
                reason: "no tauri.conf.json above the bundle folder (in a parent folder or its \
                         src-tauri/): give --config PATH, or both --version and --app"
                    .into(),
            })?,
        };
        Some(read_config(&path)?)
    } else {
        None
    };
    let bad = |conf: &TauriApp, reason: String| PackError::TauriConfig {
        path: conf.config.clone(),
        reason,
    };
    let version = match (&opts.version, &conf) {
        (Some(v), _) => v.clone(),
        (None, Some(conf)) => match &conf.version {
            Some((v, _)) => v.clone(),
            None => {
                let reason = "states no version, nor does a Cargo.toml beside it: pass --version";
                return Err(bad(conf, reason.into()));
            }
        },
        (None, None) => {
            return Err(PackError::BadArgument {
                flag: "--version",
                value: None,
                reason: "missing".into(),
            })
        }
    };
    let version = parse_version(&version)?;
    let app = match (&opts.app, &conf) {
        (Some(app), _) => app.clone(),
        (None, Some(conf)) => {
            let name = conf.name.as_deref().ok_or_else(|| {
                bad(
                    conf,
                    "has no productName or mainBinaryName: pass --app NAME".into(),
                )
            })?;
            let app = tuf_updater_core::release::names::default_app_name(name);
            check_app(&app).map_err(|e| {
                bad(
                    conf,
                    format!(
                        "its product name {name:?} is not an app name ({e}): pass --app NAME, \
                         e.g. --app {}",
                        suggest_app(name)
                    ),
                )
            })?;
            app
        }
        (None, None) => {
            return Err(PackError::BadArgument {
                flag: "--app",
                value: None,
                reason: "missing".into(),
            })
        }
    };
    check_app(&app)?;
    Ok((app, version, conf))
}

/// An app name made of a product name: lowercase, spaces as `-`, nothing else that names
/// may not have.
fn suggest_app(product: &str) -> String {
    let name: String = product
        .to_lowercase()
        .chars()
        .map(|c| if c == ' ' { '-' } else { c })
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .collect();
    let name = name.trim_start_matches(['.', '_', '-']);
    if name.is_empty() {
        "NAME".to_string()
    } else {
        name.chars().take(64).collect()
    }
}

/// A bundle and a segment it is published under.
type Segmented = (Bundle, PlatformSegment);

/// The bundles under `opts.bundle_dirs`: an error if a folder is missing or holds none.
fn find(opts: &BundleOptions) -> Result<Found> {
    if opts.bundle_dirs.is_empty() {
        return Err(PackError::BadArgument {
            flag: "--bundle-dir",
            value: None,
            reason: "give at least one bundle folder".into(),
        });
    }
    let found = find_bundles(&opts.bundle_dirs)?;
    if found.bundles.is_empty() && found.unpacked_apps.is_empty() {
        let dirs: Vec<String> = opts
            .bundle_dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect();
        let skipped = match found.skipped.len() {
            0 => String::new(),
            n => format!(
                "; skipped {n}: {}",
                found
                    .skipped
                    .iter()
                    .take(5)
                    .map(|s| format!("{} ({})", s.path.display(), s.reason))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        return Err(PackError::bad_value(
            "--bundle-dir",
            dirs.join(" "),
            format!("no bundles found (looked for {}){skipped}", looked_for()),
        ));
    }
    Ok(found)
}

/// Each bundle with the segments it is published under: an error if its name states
/// another version, its content is not its folder's format, its platform cannot be told,
/// or two bundles would be published under one segment.
fn segments(bundles: Vec<Bundle>, version: &Version) -> Result<Vec<Segmented>> {
    let mut taken: BTreeMap<PlatformSegment, PathBuf> = BTreeMap::new();
    let mut out = Vec::new();
    for bundle in bundles {
        let name = bundle
            .path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        if let Some(other) = other_name_version(&name, version) {
            return Err(PackError::BadBundle {
                path: bundle.path.clone(),
                reason: format!(
                    "its name states version {other}, not the release's {version}: a bundle \
                     of another build"
                ),
            });
        }
        for platform in bundle_platforms(&bundle)? {
            let segment = PlatformSegment::new(platform, Some(bundle.format));
            if let Some(first) = taken.insert(segment, bundle.path.clone()) {
                return Err(PackError::BadBundle {
                    path: bundle.path.clone(),
                    reason: format!(
                        "{} is also a {segment} bundle: one release has one file per platform \
                         segment",
                        first.display()
                    ),
                });
            }
            out.push((bundle.clone(), segment));
        }
    }
    Ok(out)
}

/// Publishes every bundle of `opts.bundle_dirs`; see the module documentation.
pub fn release_bundles(
    project: &Project,
    ctx: Context,
    opts: &BundleOptions,
) -> Result<BundleReport> {
    let Found {
        mut bundles,
        skipped,
        unpacked_apps,
    } = find(opts)?;
    let (app, version, config) = identify(opts)?;
    // Packed archives live until the release is committed; each reported as its folder.
    let scratch = tempfile::tempdir().map_err(FileError::at(&std::env::temp_dir()))?;
    let mut packed_from = BTreeMap::new();
    for (i, folder) in unpacked_apps.iter().enumerate() {
        let into = scratch.path().join(i.to_string());
        std::fs::create_dir_all(&into).map_err(FileError::at(&into))?;
        let archive = pack_app(folder, &into)?;
        packed_from.insert(archive.clone(), folder.clone());
        bundles.push(Bundle {
            path: archive,
            format: InstallFormat::App,
        });
    }
    let bundles = segments(bundles, &version)?;
    let mut session = Session::open_app(project, ctx, &app)?;
    let mut planned = Vec::new();
    for (bundle, segment) in bundles {
        let release = ReleaseOptions {
            app: app.clone(),
            version: version.to_string(),
            platform: segment.to_string(),
            channel: opts.channel.clone(),
            artifact: bundle.path.clone(),
            name: None,
            notes: opts.notes.clone(),
            rollout: opts.rollout,
            critical: opts.critical,
            min_version: opts.min_version.clone(),
            deltas: opts.deltas,
        };
        let plan = plan_release(&mut session, &release)?;
        planned.push((bundle, plan));
    }
    let mut published = Vec::new();
    for (bundle, plan) in planned {
        let patches = plan_patches(&mut session, &plan.path, &plan.stored, opts.deltas)?;
        published.push(Published {
            bundle: packed_from.remove(&bundle.path).unwrap_or(bundle.path),
            format: bundle.format,
            plan,
            patches,
        });
    }
    let outcome = session.commit()?;
    Ok(BundleReport {
        app,
        version,
        channel: opts.channel.clone(),
        config,
        published,
        skipped,
        outcome,
    })
}

impl std::fmt::Display for BundleReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "Released {} {} on {}: {} bundle(s)",
            self.app,
            self.version,
            self.channel,
            self.published.len()
        )?;
        if let Some(conf) = &self.config {
            writeln!(f, "  Tauri configuration {}", conf.config.display())?;
            if let Some((_, from)) = conf
                .version
                .as_ref()
                .filter(|(v, _)| *v == self.version.to_string())
            {
                writeln!(f, "  version {} from {}", self.version, from.display())?;
            }
        }
        for p in &self.published {
            writeln!(
                f,
                "  {:<26} {:<9} {:>12} bytes  {}",
                p.plan.path.segment.to_string(),
                p.format.as_str(),
                p.plan.length,
                p.bundle.display()
            )?;
            writeln!(f, "      target {}", p.plan.target)?;
            for patch in &p.patches {
                writeln!(f, "      {patch}")?;
            }
        }
        for s in &self.skipped {
            writeln!(f, "  skipped {}: {}", s.path.display(), s.reason)?;
        }
        crate::ops::write_roles(f, &self.outcome.roles)
    }
}
