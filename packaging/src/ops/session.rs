//! What every command that changes a project shares: lock, settings, current state, keys,
//! the draft of the change and the staged files; [`Session::commit`] signs and publishes.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::keys::{KeyStore, Passphrase};
use crate::lifetime::{ExpiryOverride, ExpiryPolicy};
use crate::project::{Project, ProjectConfig};
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
    pub draft: Draft,
    pub txn: Transaction,
    _lock: Lock,
}

/// What a commit published.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub roles: Vec<RoleVersion>,
    pub written: Vec<PathBuf>,
}

impl Session {
    pub fn open(project: &Project, ctx: Context) -> Result<Self> {
        let config = project.load_config()?;
        let lock = Lock::acquire(&project.lock_path())?;
        let state = Roles::from(RepoState::load(&project.metadata_dir())?);
        let policy = config
            .expires
            .with_overrides(&ctx.expires, &state.channel_names())?;
        let txn = Transaction::new(project.dir())?;
        Ok(Session {
            project: project.clone(),
            config,
            policy,
            now: ctx.now,
            keys: KeyStore::new(project.keys_dir(), ctx.passphrase),
            draft: Draft::new(state),
            txn,
            _lock: lock,
        })
    }

    pub fn state(&self) -> &Roles {
        &self.draft.state
    }

    /// Signs the change and moves every file into place.
    pub fn commit(self) -> Result<Outcome> {
        let Session {
            policy,
            now,
            keys,
            draft,
            mut txn,
            _lock,
            ..
        } = self;
        let roles = draft.sign(&keys, &policy, now, &mut txn)?;
        let Committed { written, .. } = txn.commit()?;
        Ok(Outcome { roles, written })
    }
}
