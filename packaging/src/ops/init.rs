//! `init`: keys for every role and the first signed metadata.
//!
//! Root lists the root, targets, snapshot and timestamp keys; top-level targets lists no
//! targets and delegates `<channel>/*/*/*/*` to one role per channel, each with its own key
//! (so CI can hold the beta key while stable needs the release manager's).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use updater_core::files::FileError;
use updater_core::tuf::metadata::{
    Common, DelegatedRole, Delegations, Extra, Key, RoleKeys, Root, Snapshot, Targets, Timestamp,
    ROOT, SNAPSHOT, TARGETS, TIMESTAMP,
};
use updater_core::tuf::signer::{expiry_in, LocalKey, Signer};

use crate::error::{PackError, Result};
use crate::keys::{short, KeyStore, Passphrase};
use crate::lifetime::ExpiryPolicy;
use crate::names::{channel_pattern, check_channel};
use crate::project::{KeyType, Project, ProjectConfig};
use crate::repo::{meta_file, sign_value, RoleVersion};
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
    for (i, c) in opts.channels.iter().enumerate() {
        check_channel(c)?;
        if opts.channels.iter().take(i).any(|d| d == c) {
            return Err(PackError::BadChannelName {
                name: c.clone(),
                reason: "listed twice".into(),
            });
        }
    }
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

    let kind = opts.key_type.kind();
    let mut new_keys: Vec<NewKey> = Vec::new();
    let mut generate = |role: &str| -> Result<String> {
        let key = LocalKey::generate(kind)?;
        let id = key.keyid().to_string();
        new_keys.push(NewKey {
            role: role.to_string(),
            key,
        });
        Ok(id)
    };
    let root_ids = (0..opts.root_keys)
        .map(|_| generate(ROOT))
        .collect::<Result<Vec<_>>>()?;
    let targets_id = generate(TARGETS)?;
    let snapshot_id = generate(SNAPSHOT)?;
    let timestamp_id = generate(TIMESTAMP)?;
    let channel_ids = opts
        .channels
        .iter()
        .map(|c| generate(c).map(|id| (c.clone(), id)))
        .collect::<Result<Vec<_>>>()?;

    let public = |id: &str| -> Result<Key> {
        new_keys
            .iter()
            .find(|k| k.key.keyid() == id)
            .map(|k| k.key.public_key().clone())
            .ok_or_else(|| PackError::inconsistent("a new key vanished"))
    };
    let expires = |role: &str| expiry_in(now, 0) + opts.expires.lifetime(role).duration();
    let dir = project.metadata_dir();
    let mut roles = Vec::new();

    // Root.
    let mut root_keys = BTreeMap::new();
    for id in root_ids
        .iter()
        .chain([&targets_id, &snapshot_id, &timestamp_id])
    {
        root_keys.insert(id.clone(), public(id)?);
    }
    let root = Root {
        common: Common::new(1, expires(ROOT)),
        consistent_snapshot: true,
        keys: root_keys,
        roles: BTreeMap::from([
            (
                ROOT.to_string(),
                RoleKeys::new(root_ids.clone(), u64::from(opts.root_threshold)),
            ),
            (
                TARGETS.to_string(),
                RoleKeys::new(vec![targets_id.clone()], 1),
            ),
            (
                SNAPSHOT.to_string(),
                RoleKeys::new(vec![snapshot_id.clone()], 1),
            ),
            (
                TIMESTAMP.to_string(),
                RoleKeys::new(vec![timestamp_id.clone()], 1),
            ),
        ]),
        extra: Extra::new(),
    };
    let signers_of = |ids: &[String]| -> Vec<&LocalKey> {
        new_keys
            .iter()
            .filter(|k| ids.iter().any(|id| id == k.key.keyid()))
            .map(|k| &k.key)
            .collect()
    };

    // Channels, then targets delegating to them.
    let mut snapshot_meta = BTreeMap::new();
    let mut delegated = Vec::new();
    let mut delegation_keys = BTreeMap::new();
    for (channel, id) in &channel_ids {
        let targets = Targets::new(Common::new(1, expires(channel)));
        let bytes = sign_value(&targets.to_value(), &signers_of(std::slice::from_ref(id)))?;
        let file = format!("1.{channel}.json");
        txn.add_bytes(Phase::Delegated, &dir.join(&file), &bytes, false)?;
        snapshot_meta.insert(format!("{channel}.json"), meta_file(1, &bytes));
        roles.push(role_version(channel, &targets.common, file));
        delegation_keys.insert(id.clone(), public(id)?);
        delegated.push(DelegatedRole {
            name: channel.clone(),
            keyids: vec![id.clone()],
            threshold: 1,
            terminating: true,
            paths: Some(vec![channel_pattern(channel)]),
            path_hash_prefixes: None,
            extra: Extra::new(),
        });
    }
    let mut targets = Targets::new(Common::new(1, expires(TARGETS)));
    targets.delegations = Some(Delegations {
        keys: delegation_keys,
        roles: Some(delegated),
        succinct_roles: None,
        extra: Extra::new(),
    });
    let bytes = sign_value(
        &targets.to_value(),
        &signers_of(std::slice::from_ref(&targets_id)),
    )?;
    txn.add_bytes(
        Phase::TopTargets,
        &dir.join("1.targets.json"),
        &bytes,
        false,
    )?;
    snapshot_meta.insert("targets.json".into(), meta_file(1, &bytes));
    roles.push(role_version(
        TARGETS,
        &targets.common,
        "1.targets.json".into(),
    ));

    let snapshot = Snapshot {
        common: Common::new(1, expires(SNAPSHOT)),
        meta: snapshot_meta,
        extra: Extra::new(),
    };
    let bytes = sign_value(
        &snapshot.to_value(),
        &signers_of(std::slice::from_ref(&snapshot_id)),
    )?;
    txn.add_bytes(Phase::Snapshot, &dir.join("1.snapshot.json"), &bytes, false)?;
    roles.push(role_version(
        SNAPSHOT,
        &snapshot.common,
        "1.snapshot.json".into(),
    ));

    let timestamp = Timestamp {
        common: Common::new(1, expires(TIMESTAMP)),
        snapshot_meta: meta_file(1, &bytes),
        extra: Extra::new(),
    };
    let bytes = sign_value(
        &timestamp.to_value(),
        &signers_of(std::slice::from_ref(&timestamp_id)),
    )?;
    txn.add_bytes(Phase::Timestamp, &dir.join("timestamp.json"), &bytes, false)?;
    roles.push(role_version(
        TIMESTAMP,
        &timestamp.common,
        "timestamp.json".into(),
    ));

    let bytes = sign_value(&root.to_value(), &signers_of(&root_ids))?;
    txn.add_bytes(Phase::Root, &project.first_root(), &bytes, false)?;
    roles.push(role_version(ROOT, &root.common, "1.root.json".into()));

    // Key files.
    let encrypt_all = opts.encrypt.iter().any(|r| r == "all");
    let mut keys = Vec::new();
    for NewKey { role, key } in &new_keys {
        let encrypted = encrypt_all || opts.encrypt.contains(role);
        let pem = store.encode_new(key, encrypted)?;
        let path = store.path_of(role, key.keyid());
        txn.add_private(&path, pem.as_bytes())?;
        keys.push(KeyInfo {
            role: role.clone(),
            keyid: key.keyid().to_string(),
            path,
            encrypted,
        });
    }

    let config = ProjectConfig::new(opts.key_type, opts.expires.clone());
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

fn role_version(role: &str, common: &Common, file: String) -> RoleVersion {
    RoleVersion {
        role: role.to_string(),
        version: common.version,
        expires: common.expires,
        file,
    }
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
            "Publish {} (metadata/ and targets/) on any static web server; \
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
        assert!(matches!(err, PackError::BadChannelName { name, .. } if name == "beta"));
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
