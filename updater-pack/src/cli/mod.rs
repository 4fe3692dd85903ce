//! The command line's shared parts: what a command returns, how it runs, the signing
//! settings every signing command takes. Each file below holds a group of commands.

pub mod published;

use std::path::PathBuf;

use clap::Args;
use updater_pack::clock;
use updater_pack::lifetime::ExpiryOverride;
use updater_pack::ops::session::Context;
use updater_pack::PackError;

#[derive(Args, Debug, Default)]
pub struct ExpiryArgs {
    /// Validity of a role's new metadata, ROLE=DURATION: root, targets, snapshot, timestamp,
    /// channels (every channel) or a channel name; DURATION like 90d, 12h, 30m. Repeatable.
    #[arg(long = "expires", value_name = "ROLE=DURATION")]
    pub expires: Vec<ExpiryOverride>,
}

/// What a command prints on success: its report, or nothing (`serve` prints as it goes).
pub type Output = Result<Option<String>, PackError>;

/// A command: its arguments, run against the project (`--keys-dir` is global).
pub trait Run {
    fn run(self, keys_dir: Option<PathBuf>) -> Output;
}

/// The settings of a signing run: "now" and the run's `--expires`.
pub fn context(expiry: &ExpiryArgs) -> Result<Context, PackError> {
    let mut ctx = Context::new(clock::now()?);
    ctx.expires = expiry.expires.clone();
    Ok(ctx)
}
