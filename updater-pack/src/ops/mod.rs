//! The commands. Each checks its arguments first, then works on a [`session::Session`]
//! (read-only commands read the repository directly) and returns a report that prints
//! what was done.

pub mod app_archive;
pub mod arch;
pub mod bundle_dir;
pub mod check_cost;
pub mod content;
pub mod init;
pub mod listing;
pub mod migrate;
pub mod patches;
pub mod promote;
pub mod publish;
pub mod publish_plan;
pub mod pull;
pub mod release;
pub mod release_bundles;
pub mod remote;
pub mod resign;
pub mod rotate;
pub mod session;
pub mod status;
pub mod tarball;
pub mod tauri_conf;
pub mod timestamp;
pub mod verify;
pub mod yank;

use crate::repo::RoleVersion;

/// The "signed:" lines of a report.
pub fn write_roles(f: &mut std::fmt::Formatter<'_>, roles: &[RoleVersion]) -> std::fmt::Result {
    writeln!(f, "  signed:")?;
    for r in roles {
        writeln!(
            f,
            "    {:<10} v{:<4} expires {}  ({})",
            r.role,
            r.version,
            crate::clock::format_time(&r.expires),
            r.file
        )?;
    }
    Ok(())
}

/// The report of a command whose whole result is the roles it signed (`timestamp`, `resign`).
pub struct SignedReport<'a>(pub &'a str, pub &'a session::Outcome);

impl std::fmt::Display for SignedReport<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}", self.0)?;
        write_roles(f, &self.1.roles)
    }
}
