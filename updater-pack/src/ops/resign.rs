//! `resign`: gives roles a new version and a fresh expiry date without other changes
//! (`status` says when: targets and channels every few months, root once a year).
//! Re-signing root needs a threshold of the root keys.

use tuf_updater_core::tuf::metadata::{ROOT, SNAPSHOT, TARGETS, TIMESTAMP};

use crate::error::{PackError, Result};
use crate::ops::session::{Context, Outcome, Session};
use crate::project::Project;

pub fn resign(project: &Project, ctx: Context, roles: &[String]) -> Result<Outcome> {
    if roles.is_empty() {
        return Err(PackError::BadArgument {
            flag: "--role",
            value: None,
            reason: "name at least one role to re-sign".into(),
        });
    }
    let mut session = Session::open(project, ctx)?;
    let channels = session.state().channel_names();
    for role in roles {
        let known = [ROOT, TARGETS, SNAPSHOT, TIMESTAMP].contains(&role.as_str())
            || channels.contains(role);
        if !known {
            return Err(PackError::UnknownRole {
                flag: "--role",
                name: role.clone(),
                known: format!(
                    "root, targets, snapshot, timestamp, {}",
                    channels.join(", ")
                ),
            });
        }
        for draft in session.drafts_mut() {
            draft.touch(role)?;
        }
    }
    session.commit()
}
