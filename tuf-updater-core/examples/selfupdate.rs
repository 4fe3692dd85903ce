//! `selfupdate`: a headless app that updates itself through [`AppUpdater`]. The tests drive
//! it, and it shows a newcomer the whole flow in one file.
//!
//! Built with, in the environment at compile time:
//! - `SELFUPDATE_VERSION=1.1.0`: the version it is (default `0.1.0`);
//! - `SELFUPDATE_ROOT=path/to/1.root.json`: the trusted root it embeds (without it, pass
//!   `--root FILE` at run time);
//! - `SELFUPDATE_NO_CONFIRM=1`: a broken build that never confirms itself, so that it is
//!   rolled back after its allowed launches (for the rollback test).
//!
//! ```text
//! selfupdate --version
//! selfupdate run    [--data-dir DIR] [--root FILE]
//! selfupdate update --repo URL [--mirror URL]... [--data-dir DIR] [--channel CH] [--root FILE]
//! ```
//!
//! `--bundle DIR` (either command) makes DIR, a folder holding this executable, the install
//! target, updated from `.tar.gz` releases as a macOS `.app` is: how the tests run it as a
//! bundle on Linux.
//!
//! `run` is the app's normal start: it resolves whatever an interrupted install left, and
//! the new version confirms itself. `update` does the same, then checks, downloads and
//! installs, and restarts into the new version with the same arguments; that new process
//! confirms itself, finds nothing newer and exits 0. Built with `--features
//! fault-injection`, `UPDATER_CRASH_AT=<step>` kills it at an install step.
//!
//! The app name is `selfupdate`, the platform this machine's; the administrator's policy is
//! read from `/etc/selfupdate/update-policy.json` (used only if root owns it and no one
//! else can write it) or, since this example opts in for its tests, the file
//! `SELFUPDATE_UPDATE_POLICY` names. Log detail: `SELFUPDATE_LOG=debug`.

use std::path::PathBuf;
use std::process::ExitCode;

use tuf_updater_core::policy::Disabled;
use tuf_updater_core::{AppUpdater, CheckResult, Progress, StartupOutcome};

const APP: &str = "selfupdate";
const VERSION: &str = match option_env!("SELFUPDATE_VERSION") {
    Some(v) => v,
    None => "0.1.0",
};
/// Whether this build confirms itself once it runs.
const CONFIRMS: bool = match option_env!("SELFUPDATE_NO_CONFIRM") {
    Some(v) => v.is_empty(),
    None => true,
};
/// The root named by `SELFUPDATE_ROOT` at build time (empty without it): see build.rs.
const EMBEDDED_ROOT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/selfupdate-root.json"));
/// Launches an unconfirmed new version gets before it is rolled back.
const MAX_UNCONFIRMED_LAUNCHES: u32 = 2;

const USAGE: &str = "usage:
  selfupdate --version
  selfupdate run    [--data-dir DIR] [--root FILE]
  selfupdate update --repo URL [--mirror URL]... [--data-dir DIR] [--channel CH] [--root FILE]";

#[derive(Default)]
struct Args {
    command: String,
    repo: Option<String>,
    mirrors: Vec<String>,
    data_dir: Option<PathBuf>,
    channel: Option<String>,
    root: Option<PathBuf>,
    bundle: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--version" | "-V" => args.command = "version".into(),
            "--help" | "-h" => args.command = "help".into(),
            "--repo" => args.repo = Some(value("--repo")?),
            "--mirror" => args.mirrors.push(value("--mirror")?),
            "--data-dir" => args.data_dir = Some(value("--data-dir")?.into()),
            "--channel" => args.channel = Some(value("--channel")?),
            "--root" => args.root = Some(value("--root")?.into()),
            "--bundle" => args.bundle = Some(value("--bundle")?.into()),
            "run" | "update" if args.command.is_empty() => args.command = arg,
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    if args.command.is_empty() {
        args.command = "run".into();
    }
    Ok(args)
}

/// The per-user data directory of the app when `--data-dir` is not given.
fn default_data_dir() -> PathBuf {
    let home = || std::env::var_os("HOME").map(PathBuf::from);
    let base = if cfg!(windows) {
        std::env::var_os("LOCALAPPDATA").map(PathBuf::from)
    } else if cfg!(target_os = "macos") {
        home().map(|h| h.join("Library/Application Support"))
    } else {
        std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| home().map(|h| h.join(".local/share")))
    };
    base.unwrap_or_else(std::env::temp_dir).join(APP)
}

fn updater(args: &Args, repo: &str) -> Result<AppUpdater, String> {
    let root = match &args.root {
        Some(path) => std::fs::read(path)
            .map_err(|e| format!("cannot read --root {}: {e}", path.display()))?,
        None if !EMBEDDED_ROOT.is_empty() => EMBEDDED_ROOT.to_vec(),
        None => {
            return Err(
                "no trusted root: build with SELFUPDATE_ROOT=<root.json> or pass --root FILE"
                    .into(),
            )
        }
    };
    let mut builder = AppUpdater::builder(APP, VERSION)
        .repository(repo)
        .trusted_root(root)
        .data_dir(args.data_dir.clone().unwrap_or_else(default_data_dir))
        .max_unconfirmed_launches(MAX_UNCONFIRMED_LAUNCHES)
        // The tests give each run its own policy file; a real app leaves this off.
        .policy_env_override(true);
    for mirror in &args.mirrors {
        builder = builder.mirror(mirror);
    }
    if let Some(bundle) = &args.bundle {
        builder = builder.install_target(tuf_updater_core::InstallTarget::Bundle(bundle.clone()));
    }
    builder.build().map_err(|e| e.to_string())
}

/// What every start does first. Returns normally when the app may go on.
fn start(updater: &AppUpdater) -> Result<(), String> {
    match updater.startup().map_err(|e| e.to_string())? {
        StartupOutcome::Idle => {}
        StartupOutcome::Busy => println!("another process is updating {APP}"),
        StartupOutcome::Staged { version } => {
            println!("an update to {version} is staged; `{APP} update` installs it")
        }
        StartupOutcome::PendingConfirmation { version, launch } => {
            if version != VERSION {
                println!("{APP} {VERSION}: the install of {version} waits for its confirmation");
            } else if CONFIRMS {
                // The health check of this app: it started and read its state.
                updater.confirm().map_err(|e| e.to_string())?;
                println!("{APP} {VERSION}: update confirmed");
            } else {
                println!(
                    "{APP} {VERSION}: not confirming (launch {launch}; this build never confirms)"
                );
            }
        }
        StartupOutcome::RolledBack {
            failed_version,
            restored_version,
            reason,
        } => {
            println!("rolled back from {failed_version} to {restored_version}: {reason}");
            println!("restarting {restored_version}");
            let e = updater.restart().map_err(|e| e.to_string());
            return e.map(|_| ());
        }
        StartupOutcome::RollbackFinished {
            failed_version,
            restored_version,
            reason,
        } => println!("rolled back from {failed_version} to {restored_version}: {reason}"),
    }
    Ok(())
}

async fn update(updater: &AppUpdater, channel: Option<&str>) -> Result<ExitCode, String> {
    if let Some(channel) = channel {
        let effective = updater.set_channel(channel).map_err(|e| e.to_string())?;
        if let Some(note) = effective.channel_note {
            println!("{note}");
        }
    }
    let update = match updater.check().await.map_err(|e| e.to_string())? {
        CheckResult::Available(update) => update,
        CheckResult::UpToDate { channel } => {
            println!("{APP} {VERSION} is up to date (channel {channel})");
            return Ok(ExitCode::SUCCESS);
        }
        CheckResult::HeldBack { channel, held } => {
            println!("no update: {APP} {VERSION} stays (channel {channel}); held back:");
            for h in held {
                println!("  {h}");
            }
            return Ok(ExitCode::SUCCESS);
        }
        CheckResult::Disabled { reason } => {
            println!("no update: {reason}");
            // A broken policy is an error; updates turned off on purpose are not.
            return Ok(match reason {
                Disabled::PolicyError(_) => ExitCode::FAILURE,
                _ => ExitCode::SUCCESS,
            });
        }
    };
    println!(
        "update available: {APP} {} (channel {}, {} bytes, download {} bytes, published {}{})",
        update.version,
        update.channel,
        update.size,
        update.download_size,
        update.date.to_rfc3339(),
        if update.critical { ", critical" } else { "" }
    );
    let mut started = (0, 0);
    let (mut starts, mut transferred) = (0, 0);
    updater
        .download(&update, |p| match p {
            Progress::Started {
                content_length,
                resumed_from,
            } => {
                started = (resumed_from, content_length);
                starts += 1;
            }
            Progress::Progress { chunk_length, .. } => transferred += chunk_length,
            _ => {}
        })
        .await
        .map_err(|e| e.to_string())?;
    // One download of the patch's length: the patch was used (a failed one is followed by
    // the full download).
    if starts == 1 && started.1 == update.download_size && update.download_size < update.size {
        println!(
            "patched {VERSION} to {} with a {}-byte patch ({} bytes transferred)",
            update.version, update.download_size, transferred
        );
    }
    match started {
        (0, _) => println!(
            "downloaded and verified {} bytes ({transferred} bytes transferred)",
            update.size
        ),
        (from, length) if from == length => {
            println!("reusing the verified download of {length} bytes")
        }
        (from, _) => println!(
            "download resumed at byte {from}; verified {} bytes",
            update.size
        ),
    }
    updater.install(&update).map_err(|e| e.to_string())?;
    println!(
        "installed {APP} {} (was {VERSION}); restarting",
        update.version
    );
    let e = updater.restart().map_err(|e| e.to_string());
    e.map(|_| ExitCode::SUCCESS)
}

async fn main_inner() -> Result<ExitCode, String> {
    let args = parse_args().map_err(|e| format!("{e}\n{USAGE}"))?;
    match args.command.as_str() {
        "version" => {
            println!("{APP} {VERSION}");
            return Ok(ExitCode::SUCCESS);
        }
        "help" => {
            println!("{USAGE}");
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let repo = match (args.command.as_str(), &args.repo) {
        ("update", None) => return Err(format!("update needs --repo URL\n{USAGE}")),
        (_, Some(repo)) => repo.clone(),
        // `run` does not go to the network; the builder still wants a URL.
        (_, None) => "http://127.0.0.1/".to_string(),
    };
    let updater = updater(&args, &repo)?;
    start(&updater)?;
    match args.command.as_str() {
        "update" => update(&updater, args.channel.as_deref()).await,
        _ => {
            println!("{APP} {VERSION} running");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SELFUPDATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(main_inner()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
