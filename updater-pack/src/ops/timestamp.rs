//! `timestamp`: re-signs snapshot and timestamp with fresh expiry dates. This is the command
//! a cron job runs, more often than the timestamp lifetime (1 day by default), with only
//! the online keys (snapshot, timestamp) at hand.

use crate::error::Result;
use crate::ops::session::{Context, Outcome, Session};
use crate::project::Project;

pub fn timestamp(project: &Project, ctx: Context) -> Result<Outcome> {
    let mut session = Session::open(project, ctx)?;
    for draft in session.drafts_mut() {
        draft.touch_snapshot();
    }
    session.commit()
}
