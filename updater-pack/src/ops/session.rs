//! What every command that changes a project shares: lock, settings, current state, keys,
//! the drafts of the change and the staged files; [`Session::commit`] signs and publishes.
//!
//! A session changes one repository or several in one transaction: a release in the
//! per-app layout changes the app's own repository (made from the project repository at
//! the app's first release) and, while `shared_releases` is on, the project repository too;
//! `timestamp`, `resign` and `rotate` change every repository of the project.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use tuf_updater_core::tuf::metadata::TargetFile;

use crate::error::Result;
use crate::keys::{KeyStore, Passphrase};
use crate::lifetime::{ExpiryOverride, ExpiryPolicy};
use crate::project::{Project, ProjectConfig};
use crate::repo::state::{read_metadata, Scope};
use crate::repo::{Draft, RepoState, RoleVersion, Roles};
use crate::txn::{Committed, Lock, Transaction};

/// Settings of one run.
#[derive(Debug)]
pub struct Context {
    /// The time to sign with.
    pub now: DateTime<Utc>,
    /// `--expires ROLE=DURATION` for this run.
    pub expires: Vec<ExpiryOverride>,
    /// For encrypted key files.
    pub passphrase: Passphrase,
}

impl Context {
    pub fn new(now: DateTime<Utc>) -> Self {
        Context {
            now,
            expires: Vec::new(),
            passphrase: Passphrase::from_env_or_prompt(),
        }
    }
}

#[derive(Debug)]
pub struct Session {
    pub project: Project,
    pub config: ProjectConfig,
    pub policy: ExpiryPolicy,
    pub now: DateTime<Utc>,
    pub keys: KeyStore,
    /// The repository the change is read from and made to.
    pub draft: Draft,
    /// Other repositories the same change is made to.
    pub also: Vec<Draft>,
    pub txn: Transaction,
    _lock: Lock,
}

/// What a commit published.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub roles: Vec<RoleVersion>,
    pub written: Vec<PathBuf>,
}

/// A repository on disk, as the roles a change starts from. In an app's repository the
/// heads and archives are read when a change needs them (`Roles::load_part`): a release
/// reads its segment's head, not the app's whole history.
fn load(dir: &Path, split: bool) -> Result<Roles> {
    let scope = if split {
        Scope::OnDemand
    } else {
        Scope::Everything
    };
    let mut roles = Roles::from(RepoState::load_scoped(dir, scope)?);
    roles.split = split;
    Ok(roles)
}

impl Session {
    fn start(
        project: &Project,
        ctx: Context,
        lock: Lock,
        draft: Draft,
        also: Vec<Draft>,
    ) -> Result<Self> {
        let config = project.load_config()?;
        let policy = config
            .expires
            .with_overrides(&ctx.expires, &draft.state.channel_names())?;
        let txn = Transaction::new(project.dir())?;
        Ok(Session {
            project: project.clone(),
            config,
            policy,
            now: ctx.now,
            keys: KeyStore::new(project.keys_dir(), ctx.passphrase),
            draft,
            also,
            txn,
            _lock: lock,
        })
    }

    /// Every repository of the project: the project repository first, then each app's.
    pub fn open(project: &Project, ctx: Context) -> Result<Self> {
        // Not a project: said before anything else is read.
        project.load_config()?;
        let lock = Lock::acquire(&project.lock_path())?;
        let draft = Draft::new(load(&project.metadata_dir(), false)?);
        let also = project
            .app_names()?
            .iter()
            .map(|app| Ok(Draft::new(load(&project.app_metadata_dir(app), true)?)))
            .collect::<Result<Vec<_>>>()?;
        Session::start(project, ctx, lock, draft, also)
    }

    /// The repositories a change to `app`'s releases goes to: in the per-app layout its own
    /// (made now if it is the app's first release), and the project repository while
    /// `shared_releases` is on; in the channel layout, the project repository.
    pub fn open_app(project: &Project, ctx: Context, app: &str) -> Result<Self> {
        let config = project.load_config()?;
        let lock = Lock::acquire(&project.lock_path())?;
        let shared = load(&project.metadata_dir(), false)?;
        if !config.per_app() {
            return Session::start(project, ctx, lock, Draft::new(shared), Vec::new());
        }
        let dir = project.app_metadata_dir(app);
        let draft = if dir.is_dir() {
            Draft::new(load(&dir, true)?)
        } else {
            new_app_repository(&shared, &dir)?
        };
        let also = if config.shared() {
            vec![Draft::new(shared)]
        } else {
            Vec::new()
        };
        Session::start(project, ctx, lock, draft, also)
    }

    pub fn state(&self) -> &Roles {
        &self.draft.state
    }

    /// Every draft of the session, the one read first.
    pub fn drafts_mut(&mut self) -> impl Iterator<Item = &mut Draft> {
        std::iter::once(&mut self.draft).chain(self.also.iter_mut())
    }

    /// Lists `file` as `path` on `channel` in every repository of the session.
    pub fn insert_target(&mut self, channel: &str, path: &str, file: &TargetFile) -> Result<()> {
        for draft in self.drafts_mut() {
            draft.insert_target(channel, path, file.clone())?;
        }
        Ok(())
    }

    /// Removes `path` from `channel` in every repository of the session; what the first
    /// listed.
    pub fn remove_target(&mut self, channel: &str, path: &str) -> Result<Option<TargetFile>> {
        let mut removed = Vec::new();
        for draft in self.drafts_mut() {
            removed.push(draft.remove_target(channel, path)?);
        }
        Ok(removed.into_iter().next().flatten())
    }

    /// Signs the change and moves every file into place.
    pub fn commit(self) -> Result<Outcome> {
        let Session {
            policy,
            now,
            keys,
            draft,
            also,
            mut txn,
            _lock,
            ..
        } = self;
        let mut roles = Vec::new();
        for draft in std::iter::once(draft).chain(also) {
            roles.extend(draft.sign(&keys, &policy, now, &mut txn)?);
        }
        let Committed { written, .. } = txn.commit()?;
        Ok(Outcome { roles, written })
    }
}

/// The draft of a new app repository in `dir`, started from the project repository: its
/// root history, `targets` and channel roles as they are when the channels list nothing
/// (so only the snapshot and timestamp keys sign), else channel roles of its own, empty,
/// signed by the channels' keys.
pub fn new_app_repository(shared: &Roles, dir: &Path) -> Result<Draft> {
    let mut roots = Vec::new();
    for version in 1..=shared.root.value.common.version {
        let path = shared.metadata_dir().join(format!("{version}.root.json"));
        roots.push((version, read_metadata(&path)?));
    }
    let mut draft = Draft::new(Roles::seeded_from(shared, dir));
    draft.seed(roots);
    let listing: Vec<String> = shared
        .channels
        .iter()
        .filter(|(_, c)| !c.value.targets.is_empty() || c.value.delegations.is_some())
        .map(|(name, _)| name.clone())
        .collect();
    for channel in listing {
        let role = draft.channel_mut(&channel)?;
        role.targets.clear();
        role.delegations = None;
    }
    Ok(draft)
}
