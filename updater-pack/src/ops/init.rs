//! `init`: keys for every role and the first signed metadata.
//!
//! Root lists the root, targets, snapshot and timestamp keys; top-level targets lists no
//! targets and delegates `<channel>/*/*/*/*` to one role per channel, each with its own key
//! (so CI can hold the beta key while stable needs the release manager's).
//!
//! The new roles are signed like any change, by [`Draft::sign`] (as a [`Draft::first`]), and
//! written, with the key files and settings, by one [`Transaction`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use tuf_updater_core::files::FileError;
use tuf_updater_core::release::path::channel_pattern;
use tuf_updater_core::tuf::metadata::{
    Common, DelegatedRole, Delegations, Extra, Key, RoleKeys, Root, Targets, ROOT, SNAPSHOT,
    TARGETS, TIMESTAMP,
};
use tuf_updater_core::tuf::signer::{LocalKey, Signer};

use crate::error::{PackError, Result};
use crate::keys::{short, KeyStore, Passphrase};
use crate::lifetime::ExpiryPolicy;
use crate::names::check_channels;
use crate::project::{KeyType, Layout, Project, ProjectConfig};
use crate::repo::{Draft, RoleVersion, Roles};
use crate::txn::{Lock, Phase, Transaction};

#[derive(Clone, Debug)]
pub struct InitOptions {
    pub channels: Vec<String>,
    pub key_type: KeyType,
    pub root_keys: u32,
    pub root_threshold: u32,
    /// Roles whose key files are encrypted with the passphrase (`all` for every role).
    pub encrypt: Vec<String>,
    pub expires: ExpiryPolicy,
    /// Per-app (the default) or the single-repository `channel` layout.
    pub layout: Layout,
}

impl Default for InitOptions {
    fn default() -> Self {
        InitOptions {
            channels: vec!["stable".into(), "beta".into()],
            key_type: KeyType::Ed25519,
            root_keys: 1,
            root_threshold: 1,
            encrypt: Vec::new(),
            expires: ExpiryPolicy::default(),
            layout: Layout::PerApp,
        }
    }
}

#[derive(Clone, Debug)]
pub struct KeyInfo {
    pub role: String,
    pub keyid: String,
    pub path: PathBuf,
    pub encrypted: bool,
}

#[derive(Clone, Debug)]
pub struct InitReport {
    pub dir: PathBuf,
    /// The file the app embeds as its trusted root.
    pub trusted_root: PathBuf,
    pub keys: Vec<KeyInfo>,
    pub roles: Vec<RoleVersion>,
    pub channels: Vec<String>,
}

const MAX_ROOT_KEYS: u32 = 16;

fn check_options(opts: &InitOptions) -> Result<()> {
    if opts.channels.is_empty() {
        return Err(PackError::BadArgument {
            flag: "--channels",
            value: None,
            reason: "give at least one channel".into(),
        });
    }
    check_channels(&opts.channels)?;
    if !(1..=MAX_ROOT_KEYS).contains(&opts.root_keys) {
        return Err(PackError::bad_value(
            "--root-keys",
            opts.root_keys,
            format!("must be 1 to {MAX_ROOT_KEYS}"),
        ));
    }
    if opts.root_threshold == 0 || opts.root_threshold > opts.root_keys {
        return Err(PackError::bad_value(
            "--root-threshold",
            opts.root_threshold,
            format!("must be 1 to the number of root keys ({})", opts.root_keys),
        ));
    }
    for role in &opts.encrypt {
        let known = role == "all"
            || [ROOT, TARGETS, SNAPSHOT, TIMESTAMP].contains(&role.as_str())
            || opts.channels.contains(role);
        if !known {
            return Err(PackError::UnknownRole {
                flag: "--encrypt",
                name: role.clone(),
                known: "use all, root, targets, snapshot, timestamp or a channel".into(),
            });
        }
    }
    Ok(())
}

fn refuse_existing(project: &Project) -> Result<()> {
    for path in [project.config_path(), project.repository()] {
        if path.exists() {
            return Err(PackError::AlreadyInitialized(
                project.dir().to_path_buf(),
                path,
            ));
        }
    }
    let keys = project.keys_dir();
    if std::fs::read_dir(keys).is_ok_and(|mut d| d.next().is_some()) {
        return Err(PackError::AlreadyInitialized(
            project.dir().to_path_buf(),
            keys.to_path_buf(),
        ));
    }
    Ok(())
}

/// Removes the project directory again if `init` created it and fails.
struct CreatedDir(Option<PathBuf>);

impl Drop for CreatedDir {
    fn drop(&mut self) {
        if let Some(dir) = self.0.take() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

struct NewKey {
    role: String,
    key: LocalKey,
}

/// A key for every role: the root keys, targets, snapshot, timestamp, then the channels.
fn generate_keys(opts: &InitOptions) -> Result<Vec<NewKey>> {
    let roles = std::iter::repeat_n(ROOT, opts.root_keys as usize)
        .chain([TARGETS, SNAPSHOT, TIMESTAMP])
        .chain(opts.channels.iter().map(String::as_str));
    roles
        .map(|role| {
            Ok(NewKey {
                role: role.to_string(),
                key: LocalKey::generate(opts.key_type.kind())?,
            })
        })
        .collect()
}

fn ids_of(keys: &[NewKey], role: &str) -> Vec<String> {
    keys.iter()
        .filter(|k| k.role == role)
        .map(|k| k.key.keyid().to_string())
        .collect()
}

fn public_keys<'a>(keys: impl Iterator<Item = &'a NewKey>) -> BTreeMap<String, Key> {
    keys.map(|k| (k.key.keyid().to_string(), k.key.public_key().clone()))
        .collect()
}

/// The unsigned roles of the new repository: root lists the top-level keys, targets
/// delegates each channel's paths to the channel's key, the channel roles list nothing.
/// Versions and expiry dates are set when they are signed.
fn first_roles(
    project: &Project,
    opts: &InitOptions,
    keys: &[NewKey],
    now: DateTime<Utc>,
) -> Roles {
    let top_level = [ROOT, TARGETS, SNAPSHOT, TIMESTAMP];
    let root = Root {
        common: Common::new(0, now),
        consistent_snapshot: true,
        keys: public_keys(keys.iter().filter(|k| top_level.contains(&k.role.as_str()))),
        roles: top_level
            .iter()
            .map(|role| {
                let threshold = if *role == ROOT {
                    opts.root_threshold
                } else {
                    1
                };
                (
                    role.to_string(),
                    RoleKeys::new(ids_of(keys, role), u64::from(threshold)),
                )
            })
            .collect(),
        extra: Extra::new(),
    };
    let delegated = opts
        .channels
        .iter()
        .map(|channel| DelegatedRole {
            name: channel.clone(),
            keyids: ids_of(keys, channel),
            threshold: 1,
            terminating: true,
            paths: Some(vec![channel_pattern(channel)]),
            path_hash_prefixes: None,
            extra: Extra::new(),
        })
        .collect();
    let mut targets = Targets::new(Common::new(0, now));
    targets.delegations = Some(Delegations {
        keys: public_keys(keys.iter().filter(|k| opts.channels.contains(&k.role))),
        roles: Some(delegated),
        succinct_roles: None,
        extra: Extra::new(),
    });
    let channels = opts
        .channels
        .iter()
        .map(|c| (c.clone(), Targets::new(Common::new(0, now))))
        .collect();
    Roles::new_repository(&project.metadata_dir(), root, targets, channels, now)
}

/// Stages the key files, encrypted for the roles `opts` names.
fn stage_key_files(
    store: &KeyStore,
    txn: &mut Transaction,
    opts: &InitOptions,
    keys: &[NewKey],
) -> Result<Vec<KeyInfo>> {
    let encrypt_all = opts.encrypt.iter().any(|r| r == "all");
    keys.iter()
        .map(|NewKey { role, key }| {
            let encrypted = encrypt_all || opts.encrypt.contains(role);
            let pem = store.encode_new(key, encrypted)?;
            let path = store.path_of(role, key.keyid());
            txn.add_private(&path, pem.as_bytes())?;
            Ok(KeyInfo {
                role: role.clone(),
                keyid: key.keyid().to_string(),
                path,
                encrypted,
            })
        })
        .collect()
}

pub fn init(
    project: &Project,
    opts: &InitOptions,
    passphrase: Passphrase,
    now: DateTime<Utc>,
) -> Result<InitReport> {
    check_options(opts)?;
    refuse_existing(project)?;
    let mut created = CreatedDir(None);
    if !project.dir().exists() {
        std::fs::create_dir_all(project.dir()).map_err(FileError::at(project.dir()))?;
        created.0 = Some(project.dir().to_path_buf());
    }
    let lock = Lock::acquire(&project.lock_path())?;
    let store = KeyStore::new(project.keys_dir(), passphrase);
    let mut txn = Transaction::new(project.dir())?;

    let new_keys = generate_keys(opts)?;
    let keys = stage_key_files(&store, &mut txn, opts, &new_keys)?;
    let mut draft = Draft::first(first_roles(project, opts, &new_keys, now));
    for NewKey { key, .. } in new_keys {
        draft.add_new_key(std::sync::Arc::new(key));
    }
    let mut roles = draft.sign(&store, &opts.expires, now, &mut txn)?;
    // Channels in the order given, then the top-level roles.
    roles.sort_by_key(|r| {
        opts.channels
            .iter()
            .position(|c| *c == r.role)
            .unwrap_or(usize::MAX)
    });

    let config = ProjectConfig {
        layout: opts.layout,
        ..ProjectConfig::new(opts.key_type, opts.expires.clone())
    };
    txn.add_bytes(
        Phase::Settings,
        &project.config_path(),
        &config.to_bytes()?,
        false,
    )?;
    txn.commit()?;
    drop(lock);
    created.0 = None;
    tracing::debug!(keys = keys.len(), "initialised");
    Ok(InitReport {
        dir: project.dir().to_path_buf(),
        trusted_root: project.first_root(),
        keys,
        roles,
        channels: opts.channels.clone(),
    })
}

impl std::fmt::Display for InitReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "Created an update repository in {}", self.dir.display())?;
        writeln!(f, "  channels: {}", self.channels.join(", "))?;
        writeln!(f, "  keys (private, owner-only; never publish them):")?;
        for k in &self.keys {
            writeln!(
                f,
                "    {:<10} {}  {}{}",
                k.role,
                short(&k.keyid),
                display_rel(&k.path, &self.dir),
                if k.encrypted { "  (encrypted)" } else { "" }
            )?;
        }
        writeln!(f, "  metadata:")?;
        for r in &self.roles {
            writeln!(
                f,
                "    {:<10} v{:<3} expires {}",
                r.role,
                r.version,
                crate::clock::format_time(&r.expires)
            )?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "Embed this file in your app as its trusted root:\n  {}",
            self.trusted_root.display()
        )?;
        writeln!(
            f,
            "Publish {} (metadata/, apps/ and targets/) on any static web server; \
             keep {} offline if you can.",
            self.dir.join("repository").display(),
            self.dir.join("keys/root").display()
        )
    }
}

/// `path` relative to `base` when it is inside it.
pub fn display_rel(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tuf_updater_core::release::NameError;

    fn options(f: impl FnOnce(&mut InitOptions)) -> InitOptions {
        let mut opts = InitOptions::default();
        f(&mut opts);
        opts
    }

    #[test]
    fn bad_options_name_their_flag() {
        let err = check_options(&options(|o| o.channels.clear())).unwrap_err();
        assert!(matches!(
            err,
            PackError::BadArgument {
                flag: "--channels",
                value: None,
                ..
            }
        ));
        let err = check_options(&options(|o| o.root_keys = 0)).unwrap_err();
        assert!(
            matches!(err, PackError::BadArgument { flag: "--root-keys", value: Some(v), .. } if v == "0")
        );
        let err = check_options(&options(|o| {
            o.root_keys = 2;
            o.root_threshold = 3;
        }))
        .unwrap_err();
        assert!(matches!(
            err,
            PackError::BadArgument {
                flag: "--root-threshold",
                ..
            }
        ));
        let err = check_options(&options(|o| o.encrypt = vec!["nightly".into()])).unwrap_err();
        assert!(
            matches!(err, PackError::UnknownRole { flag: "--encrypt", name, .. } if name == "nightly")
        );
        let err = check_options(&options(|o| {
            o.channels = vec!["beta".into(), "beta".into()]
        }))
        .unwrap_err();
        assert!(matches!(err, PackError::Name(NameError::Channel { name, .. }) if name == "beta"));
        assert!(check_options(&options(|o| o.encrypt = vec!["all".into(), "beta".into()])).is_ok());
    }

    #[test]
    fn refuses_an_existing_project() {
        let dir = tempfile::tempdir().unwrap();
        let project = Project::new(dir.path(), None);
        assert!(refuse_existing(&project).is_ok());
        std::fs::write(project.config_path(), b"{}").unwrap();
        assert!(matches!(
            refuse_existing(&project),
            Err(PackError::AlreadyInitialized(_, path)) if path == project.config_path()
        ));
    }
}
