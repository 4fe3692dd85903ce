//! `rotate`: replaces, adds or removes keys of any role, or changes its threshold.
//!
//! - root, targets, snapshot, timestamp: a new root `N+1.root.json` lists the new keys. It
//!   is signed by a threshold of the old root keys and of the new ones, so deployed clients
//!   follow it (spec 5.3). The rotated role's metadata is re-signed by its new keys and,
//!   while the old ones are at hand, by those too: it then verifies under the old and the
//!   new root alike, whichever a client holds.
//! - a channel: top-level targets lists the new keys for the delegation; the channel's
//!   metadata is re-signed by the new keys (and co-signed by the outgoing ones).
//!
//! New key files are written like `init`'s (encrypted when the role's keys were, or when
//! asked); outgoing key files move to `keys/retired/<role>/` once the change is published.
//! With `--pkcs11-*`, one new key is a key already in a PKCS#11 token instead of a new
//! file: the project gets its reference file `keys/<role>/<keyid>.pkcs11`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tuf_updater_core::tuf::metadata::{Key, ROOT, SNAPSHOT, TARGETS, TIMESTAMP};
use tuf_updater_core::tuf::signer::{LocalKey, Signer};

use crate::error::{PackError, Result};
use crate::keys::token::{self, TokenRef};
use crate::keys::{kind_of, short};
use crate::ops::session::{Context, Outcome, Session};
use crate::project::{KeyType, Project};
use crate::repo::Draft;

#[derive(Clone, Debug, Default)]
pub struct RotateOptions {
    pub role: String,
    /// Replace every current key (by as many new keys, or `add`).
    pub replace: bool,
    /// New keys to make.
    pub add: u32,
    /// Key IDs (or unique prefixes of at least 4 characters) to remove.
    pub remove: Vec<String>,
    pub threshold: Option<u64>,
    pub key_type: Option<KeyType>,
    /// Encrypt the new key files; default: as the role's current key files are.
    pub encrypt: Option<bool>,
    /// One new key is this existing key in a PKCS#11 token (instead of a new key file).
    pub token: Option<TokenRef>,
}

#[derive(Clone, Debug)]
pub struct RotateReport {
    pub role: String,
    pub added: Vec<(String, PathBuf)>,
    pub removed: Vec<String>,
    pub retired_files: Vec<PathBuf>,
    pub threshold: u64,
    pub outcome: Outcome,
}

const MAX_KEYS: usize = 16;

/// The keys and threshold of a role, wherever it is listed.
struct RoleKeySet {
    keyids: Vec<String>,
    threshold: u64,
}

fn current(session: &Session, role: &str) -> Result<RoleKeySet> {
    let state = session.state();
    if [ROOT, TARGETS, SNAPSHOT, TIMESTAMP].contains(&role) {
        let r = state
            .root
            .value
            .role(role)
            .ok_or_else(|| PackError::inconsistent(format!("root has no {role} role")))?;
        return Ok(RoleKeySet {
            keyids: r.keyids.clone(),
            threshold: r.threshold,
        });
    }
    state
        .delegated_roles()
        .iter()
        .find(|r| r.name == role)
        .map(|r| RoleKeySet {
            keyids: r.keyids.clone(),
            threshold: r.threshold,
        })
        .ok_or_else(|| PackError::UnknownRole {
            flag: "--role",
            name: role.to_string(),
            known: format!(
                "root, targets, snapshot, timestamp, {}",
                state.channel_names().join(", ")
            ),
        })
}

fn resolve(keyids: &[String], wanted: &str, role: &str) -> Result<String> {
    if wanted.len() < 4 {
        return Err(PackError::bad_value(
            "--remove",
            wanted,
            "give at least 4 characters of the key ID",
        ));
    }
    let matches: Vec<&String> = keyids.iter().filter(|k| k.starts_with(wanted)).collect();
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(PackError::UnknownKey {
            role: role.to_string(),
            wanted: wanted.to_string(),
            known: keyids
                .iter()
                .map(|k| short(k))
                .collect::<Vec<_>>()
                .join(", "),
        }),
        _ => Err(PackError::bad_value(
            "--remove",
            wanted,
            format!("matches several keys of {role}; give more characters"),
        )),
    }
}

/// What a rotation changes, decided before any key is made.
struct Plan {
    /// Keys leaving the role.
    removed: Vec<String>,
    /// Keys staying.
    kept: Vec<String>,
    /// New keys to make.
    add: u32,
    threshold: u64,
}

fn plan(opts: &RotateOptions, role: &str, before: &RoleKeySet) -> Result<Plan> {
    let mut removed: Vec<String> = Vec::new();
    if opts.replace {
        removed.extend(before.keyids.iter().cloned());
    }
    for wanted in &opts.remove {
        let id = resolve(&before.keyids, wanted, role)?;
        if !removed.contains(&id) {
            removed.push(id);
        }
    }
    if opts.token.is_some() && !opts.replace && opts.add == 0 {
        return Err(PackError::BadArgument {
            flag: "--pkcs11-module",
            value: None,
            reason: "a token key joins the role as a new key: use it with --replace or --add N"
                .into(),
        });
    }
    let add = if opts.replace && opts.add == 0 {
        u32::try_from(before.keyids.len()).unwrap_or(1).max(1)
    } else {
        opts.add
    };
    let threshold = opts.threshold.unwrap_or(before.threshold);
    if removed.is_empty() && add == 0 && threshold == before.threshold {
        return Err(PackError::NothingToChange {
            command: "rotate",
            options: "--replace, --add N, --remove KEYID or --threshold N",
        });
    }
    let kept: Vec<String> = before
        .keyids
        .iter()
        .filter(|k| !removed.contains(k))
        .cloned()
        .collect();
    let total = kept.len() + add as usize;
    if total > MAX_KEYS {
        return Err(PackError::TooManyKeys {
            role: role.to_string(),
            count: total,
            max: MAX_KEYS,
        });
    }
    if threshold == 0 || threshold > total as u64 {
        return Err(PackError::BadThreshold {
            role: role.to_string(),
            threshold,
            keys: total,
        });
    }
    Ok(Plan {
        removed,
        kept,
        add,
        threshold,
    })
}

/// New keys of `role`, staged as key files and available to sign with; their IDs, files and
/// public keys.
fn make_keys(
    session: &mut Session,
    role: &str,
    opts: &RotateOptions,
    before: &RoleKeySet,
    count: u32,
) -> Result<Vec<(String, PathBuf, Key)>> {
    let key_type = opts.key_type.unwrap_or(session.config.key_type);
    let encrypt = opts.encrypt.unwrap_or_else(|| {
        before
            .keyids
            .iter()
            .any(|id| session.keys.is_encrypted(role, id))
    });
    let mut made = Vec::new();
    let mut count = count;
    if let Some(reference) = &opts.token {
        made.push(token_key(session, role, before, reference)?);
        count = count.saturating_sub(1);
    }
    for _ in 0..count {
        let key = LocalKey::generate(key_type.kind())?;
        let id = key.keyid().to_string();
        let pem = session.keys.encode_new(&key, encrypt)?;
        let path = session.keys.path_of(role, &id);
        session.txn.add_private(&path, pem.as_bytes())?;
        made.push((id, path, key.public_key().clone()));
        let key: Arc<dyn Signer> = Arc::new(key);
        for draft in session.drafts_mut() {
            draft.add_new_key(Arc::clone(&key));
        }
    }
    Ok(made)
}

/// The token key `reference` names, as a new key of `role`: opened (so a wrong module,
/// token, label or PIN stops the rotation before anything is written), its reference file
/// staged.
fn token_key(
    session: &mut Session,
    role: &str,
    before: &RoleKeySet,
    reference: &TokenRef,
) -> Result<(String, PathBuf, Key)> {
    let key = session.keys.open_token(reference)?;
    let id = key.keyid().to_string();
    if before.keyids.contains(&id) {
        return Err(PackError::Token {
            what: reference.describe(),
            reason: format!("it is already key {} of role {role}", short(&id)),
        });
    }
    if kind_of(key.public_key()).is_none() {
        return Err(PackError::Token {
            what: reference.describe(),
            reason: "updater-pack cannot sign with its type".into(),
        });
    }
    let mut text = serde_json::to_string_pretty(reference)
        .map_err(|e| PackError::inconsistent(e.to_string()))?;
    text.push('\n');
    let path = session.keys.reference_path_of(role, &id);
    session.txn.add_private(&path, text.as_bytes())?;
    let public = key.public_key().clone();
    let key: Arc<dyn Signer> = key;
    for draft in session.drafts_mut() {
        draft.add_new_key(Arc::clone(&key));
    }
    Ok((id, path, public))
}

/// Lists `keyids` and `threshold` for a top-level role in a new root.
fn set_top_level_keys(
    draft: &mut Draft,
    role: &str,
    new: &[(String, PathBuf, Key)],
    keyids: Vec<String>,
    threshold: u64,
) {
    let root = draft.root_mut();
    for (id, _, key) in new {
        root.keys.insert(id.clone(), key.clone());
    }
    if let Some(r) = root.roles.get_mut(role) {
        r.keyids = keyids;
        r.threshold = threshold;
    }
    let used: Vec<String> = root
        .roles
        .values()
        .flat_map(|r| r.keyids.iter().cloned())
        .collect();
    root.keys.retain(|id, _| used.contains(id));
    match role {
        TARGETS => {
            draft.targets_mut();
        }
        SNAPSHOT => draft.touch_snapshot(),
        _ => {}
    }
}

/// Lists `keyids` and `threshold` for a channel in the top-level targets' delegation.
fn set_channel_keys(
    draft: &mut Draft,
    role: &str,
    new: &[(String, PathBuf, Key)],
    keyids: Vec<String>,
    threshold: u64,
) -> Result<()> {
    let targets = draft.targets_mut();
    if let Some(d) = targets.delegations.as_mut() {
        for (id, _, key) in new {
            d.keys.insert(id.clone(), key.clone());
        }
        if let Some(r) = d
            .roles
            .as_mut()
            .and_then(|roles| roles.iter_mut().find(|r| r.name == role))
        {
            r.keyids = keyids;
            r.threshold = threshold;
        }
        let used: Vec<String> = d
            .roles
            .iter()
            .flatten()
            .flat_map(|r| r.keyids.iter().cloned())
            .collect();
        d.keys.retain(|id, _| used.contains(id));
    }
    draft.channel_mut(role)?;
    // Its heads and archives (per-app layout) are the channel's too.
    draft.regrant_parts(role)
}

/// Moves the key files of `removed` keys from `role_dir` to `keys/retired/<role>/`; the
/// files moved.
fn retire(keys_dir: &Path, role_dir: &Path, role: &str, removed: &[String]) -> Vec<PathBuf> {
    let mut retired = Vec::new();
    let to_dir = keys_dir.join(crate::names::RETIRED).join(role);
    for id in removed {
        for ext in ["pem", token::EXTENSION] {
            let from = role_dir.join(format!("{id}.{ext}"));
            if !from.exists() {
                continue;
            }
            let to = to_dir.join(format!("{id}.{ext}"));
            match private_dir(&to_dir).and_then(|_| std::fs::rename(&from, &to)) {
                Ok(()) => retired.push(to),
                Err(e) => {
                    tracing::warn!(file = %from.display(), error = %e, "key file not retired")
                }
            }
        }
    }
    retired
}

pub fn rotate(project: &Project, ctx: Context, opts: &RotateOptions) -> Result<RotateReport> {
    let mut session = Session::open(project, ctx)?;
    let role = opts.role.as_str();
    let before = current(&session, role)?;
    let Plan {
        removed,
        kept,
        add,
        threshold,
    } = plan(opts, role, &before)?;

    // Outgoing keys co-sign the role's next metadata when they are at hand.
    let old_keys: BTreeMap<String, Key> = role_keys(&session, role);
    if role != ROOT {
        for key in outgoing_keys(&session, role, &removed, &old_keys)? {
            for draft in session.drafts_mut() {
                draft.add_co_signer(role, Arc::clone(&key));
            }
        }
    }
    let new = make_keys(&mut session, role, opts, &before, add)?;
    let mut keyids = kept;
    keyids.extend(new.iter().map(|(id, _, _)| id.clone()));
    for draft in session.drafts_mut() {
        if [ROOT, TARGETS, SNAPSHOT, TIMESTAMP].contains(&role) {
            set_top_level_keys(draft, role, &new, keyids.clone(), threshold);
        } else {
            set_channel_keys(draft, role, &new, keyids.clone(), threshold)?;
        }
    }

    let keys_dir = session.keys.dir().to_path_buf();
    let role_dir = session.keys.role_dir(role);
    let outcome = session.commit()?;
    // Published: retire the outgoing key files.
    let retired_files = retire(&keys_dir, &role_dir, role, &removed);
    Ok(RotateReport {
        role: role.to_string(),
        added: new.into_iter().map(|(id, path, _)| (id, path)).collect(),
        removed,
        retired_files,
        threshold,
        outcome,
    })
}

/// The outgoing keys at hand, to co-sign. A token key that cannot be used (its token gone,
/// as when rotating away from a lost token) is left out with a warning: the rotation does
/// not need it.
fn outgoing_keys(
    session: &Session,
    role: &str,
    removed: &[String],
    keys: &BTreeMap<String, Key>,
) -> Result<Vec<Arc<dyn Signer>>> {
    let mut found = Vec::new();
    for id in removed {
        let Some(public) = keys.get(id) else {
            continue;
        };
        match session.keys.load_any(role, id, public) {
            Ok(Some(key)) => found.push(key),
            Ok(None) => {}
            Err(e @ PackError::Token { .. }) => {
                tracing::warn!("outgoing key {} does not co-sign: {e}", short(id));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(found)
}

/// Creates `dir` (and parents) owner-only, as the keys directory is.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)?;
    file_trust::restrict_to_owner(dir)
}

fn role_keys(session: &Session, role: &str) -> BTreeMap<String, Key> {
    let state = session.state();
    if [ROOT, TARGETS, SNAPSHOT, TIMESTAMP].contains(&role) {
        return state.root.value.keys.clone();
    }
    state
        .targets
        .value
        .delegations
        .as_ref()
        .map(|d| d.keys.clone())
        .unwrap_or_default()
}

impl std::fmt::Display for RotateReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "Rotated the keys of {} (threshold {})",
            self.role, self.threshold
        )?;
        for (id, path) in &self.added {
            writeln!(f, "  new key     {}  {}", short(id), path.display())?;
        }
        for id in &self.removed {
            writeln!(f, "  removed key {}", short(id))?;
        }
        for p in &self.retired_files {
            writeln!(f, "  retired     {}", p.display())?;
        }
        crate::ops::write_roles(f, &self.outcome.roles)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_prefixes_resolve_to_one_key() {
        let ids = vec!["abcd1111".to_string(), "abcd2222".to_string()];
        assert_eq!(resolve(&ids, "abcd1", "beta").unwrap(), "abcd1111");
        assert!(matches!(
            resolve(&ids, "abc", "beta"),
            Err(PackError::BadArgument {
                flag: "--remove",
                ..
            })
        ));
        assert!(matches!(
            resolve(&ids, "abcd", "beta"),
            Err(PackError::BadArgument { flag: "--remove", reason, .. }) if reason.contains("several")
        ));
        assert!(matches!(
            resolve(&ids, "ffff", "beta"),
            Err(PackError::UnknownKey { role, wanted, .. }) if role == "beta" && wanted == "ffff"
        ));
    }

    #[test]
    fn plans_refuse_no_change_too_many_keys_and_bad_thresholds() {
        let before = RoleKeySet {
            keyids: vec!["abcd1111".into()],
            threshold: 1,
        };
        let opts = |f: fn(&mut RotateOptions)| {
            let mut o = RotateOptions::default();
            f(&mut o);
            o
        };
        assert!(matches!(
            plan(&opts(|_| {}), "beta", &before),
            Err(PackError::NothingToChange {
                command: "rotate",
                ..
            })
        ));
        assert!(matches!(
            plan(&opts(|o| o.add = 16), "beta", &before),
            Err(PackError::TooManyKeys {
                count: 17,
                max: 16,
                ..
            })
        ));
        assert!(matches!(
            plan(&opts(|o| o.threshold = Some(2)), "beta", &before),
            Err(PackError::BadThreshold {
                threshold: 2,
                keys: 1,
                ..
            })
        ));
        let replace = plan(&opts(|o| o.replace = true), "beta", &before).unwrap();
        assert_eq!((replace.add, replace.removed.len()), (1, 1));
        assert!(replace.kept.is_empty());
    }
}
