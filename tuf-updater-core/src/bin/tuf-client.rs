//! `tuf-client`: our TUF client behind the command-line protocol of the TUF conformance suite
//! (tuf-conformance's CLIENT-CLI.md):
//!
//! ```text
//! tuf-client --metadata-dir DIR init TRUSTED_ROOT
//! tuf-client --metadata-dir DIR --metadata-url URL refresh
//! tuf-client --metadata-dir DIR --metadata-url URL --target-name PATH [--target-name PATH ...]
//!            --target-base-url URL --target-dir DIR download
//! ```
//!
//! The exit code is 0 on success and 1 on any failure, including a bad argument or a panic.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use tuf_updater_core::files::{write_atomic, Durability, FileError};
use tuf_updater_core::tuf::fetch::{HttpConfig, HttpFetcher};
use tuf_updater_core::tuf::{ClientConfig, TufClient, TufError};

#[derive(Parser, Debug)]
#[command(
    name = "tuf-client",
    version,
    about = "TUF 1.0.34 client (conformance CLI)"
)]
struct Cli {
    /// Directory of trusted metadata.
    #[arg(long)]
    metadata_dir: PathBuf,
    /// Base URL of the repository's metadata.
    #[arg(long)]
    metadata_url: Option<String>,
    /// Target path to download; repeat for several, processed in order.
    #[arg(long = "target-name")]
    target_names: Vec<String>,
    /// Base URL of the repository's targets.
    #[arg(long)]
    target_base_url: Option<String>,
    /// Directory for downloaded targets.
    #[arg(long)]
    target_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Trust the given root.json (no network).
    Init { trusted_root: PathBuf },
    /// Update top-level metadata from the repository.
    Refresh,
    /// Refresh, then download each --target-name into --target-dir.
    Download,
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Tuf(#[from] TufError),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::FAILURE,
            };
        }
    };
    if std::env::var_os("TUF_CLIENT_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(tracing_subscriber::EnvFilter::from_env("TUF_CLIENT_LOG"))
            .init();
    }
    // A panic is a bug, but the protocol still wants exit code 1, not 101.
    match std::panic::catch_unwind(|| run(cli)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("tuf-client: error: {e}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("tuf-client: internal error (panic)");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), CliError> {
    if let Command::Init { trusted_root } = &cli.command {
        let data = std::fs::read(trusted_root)
            .map_err(FileError::at(trusted_root))
            .map_err(TufError::from)?;
        // Not fsynced: the file given to `init` is still there if a crash loses this copy.
        write_atomic(
            &cli.metadata_dir.join("root.json"),
            &data,
            Durability::Atomic,
        )
        .map_err(TufError::from)?;
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Usage(format!("cannot start runtime: {e}")))?;
    let result = runtime.block_on(update(cli));
    // A failed download leaves nothing behind: the next run starts again.
    let _ = std::fs::remove_dir_all(partial_dir());
    result
}

/// This process's partial downloads, in the system's temporary directory.
fn partial_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("tuf-client-{}.partial", std::process::id()))
}

fn required<T>(value: Option<T>, flag: &str) -> Result<T, CliError> {
    value.ok_or_else(|| CliError::Usage(format!("{flag} is required for this command")))
}

async fn update(cli: Cli) -> Result<(), CliError> {
    let metadata_url = required(cli.metadata_url, "--metadata-url")?;
    let mut config = ClientConfig::new(metadata_url, &cli.metadata_dir);
    config.targets_url = cli.target_base_url.clone();
    // Partial downloads outside the target dir, which ends with verified files only.
    config.download.partial_dir = Some(partial_dir());
    let fetcher = HttpFetcher::new(&HttpConfig::default()).map_err(TufError::from)?;
    let mut updater = TufClient::new(config, Arc::new(fetcher), None)?;
    updater.refresh().await?;
    if let Command::Download = cli.command {
        let target_dir = required(cli.target_dir, "--target-dir")?;
        required(cli.target_base_url, "--target-base-url")?;
        if cli.target_names.is_empty() {
            return Err(CliError::Usage(
                "--target-name is required for download".into(),
            ));
        }
        for name in &cli.target_names {
            let info = updater
                .get_target_info(name)
                .await?
                .ok_or_else(|| TufError::TargetNotFound(name.clone()))?;
            let local = TufClient::local_target_path(&target_dir, name);
            if updater.find_cached_target(&info, &local)?.is_some() {
                eprintln!("tuf-client: {name} is up to date at {}", local.display());
                continue;
            }
            updater.download_target(name, &info, &local).await?;
            eprintln!("tuf-client: downloaded {name} to {}", local.display());
        }
    }
    // The process ends here: freeing a large parsed targets.json would only cost time.
    std::mem::forget(updater);
    Ok(())
}
