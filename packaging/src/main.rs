//! `updater-pack`: creates, signs and publishes an update repository.
//!
//! Exit status: 0 on success, 1 on any error (the message names the problem; the project
//! is left as it was), 2 on a usage error.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use packaging::clock;
use packaging::lifetime::{ExpiryOverride, ExpiryPolicy};
use packaging::ops::init::{init, InitOptions};
use packaging::ops::promote::{promote, PromoteOptions};
use packaging::ops::publish::{publish, repository_of};
use packaging::ops::release::{release, ReleaseOptions};
use packaging::ops::resign::resign;
use packaging::ops::rotate::{rotate, RotateOptions};
use packaging::ops::session::Context;
use packaging::ops::status::status;
use packaging::ops::timestamp::timestamp;
use packaging::ops::verify::verify;
use packaging::ops::yank::{yank, YankOptions};
use packaging::ops::SignedReport;
use packaging::serve::{DevServer, ServeOptions};
use packaging::{KeyType, PackError, Project};

#[derive(Parser, Debug)]
#[command(
    name = "updater-pack",
    version,
    about = "Create, sign and publish a TUF update repository",
    after_help = "Environment:\n  UPDATER_PACK_PASSPHRASE  passphrase of encrypted key files (else asked on the terminal)\n  UPDATER_PACK_NOW         sign as if it were this RFC 3339 time (tests only)\n  UPDATER_PACK_LOG         log filter, e.g. debug"
)]
struct Cli {
    /// Directory of private keys (default: DIR/keys). Root keys can stay on offline media.
    #[arg(long, global = true, value_name = "PATH")]
    keys_dir: Option<PathBuf>,
    /// Log more (repeat for debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug, Default)]
struct ExpiryArgs {
    /// Validity of a role's new metadata, ROLE=DURATION: root, targets, snapshot, timestamp,
    /// channels (every channel) or a channel name; DURATION like 90d, 12h, 30m. Repeatable.
    #[arg(long = "expires", value_name = "ROLE=DURATION")]
    expires: Vec<ExpiryOverride>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum KeyTypeArg {
    Ed25519,
    EcdsaP256,
}

impl From<KeyTypeArg> for KeyType {
    fn from(k: KeyTypeArg) -> Self {
        match k {
            KeyTypeArg::Ed25519 => KeyType::Ed25519,
            KeyTypeArg::EcdsaP256 => KeyType::EcdsaP256,
        }
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create keys and the first signed metadata of a new repository.
    Init {
        /// Project directory to create (keys/, repository/, updater-pack.json).
        /// Project directory (made by `init`).
        dir: PathBuf,
        /// Channels, each a delegated role with its own key.
        #[arg(long, default_value = "stable,beta")]
        channels: String,
        #[arg(long, value_enum, default_value = "ed25519")]
        key_type: KeyTypeArg,
        /// Number of root keys.
        #[arg(long, default_value_t = 1)]
        root_keys: u32,
        /// Root signatures required.
        #[arg(long, default_value_t = 1)]
        root_threshold: u32,
        /// Encrypt the key files of these roles with a passphrase: all, or a list like
        /// root,targets,stable.
        #[arg(long, value_name = "ROLES", value_delimiter = ',')]
        encrypt: Vec<String>,
        #[command(flatten)]
        expiry: ExpiryArgs,
    },
    /// Add an artifact to a channel and re-sign the channel, snapshot and timestamp.
    Release {
        /// Project directory (made by `init`).
        dir: PathBuf,
        /// Application name.
        #[arg(long)]
        app: String,
        /// Semantic version, e.g. 1.4.0.
        #[arg(long)]
        version: String,
        /// Tauri platform name, e.g. linux-x86_64, darwin-aarch64, windows-x86_64.
        #[arg(long)]
        platform: String,
        /// Channel, e.g. stable or beta.
        #[arg(long)]
        channel: String,
        /// Markdown release notes.
        #[arg(long, value_name = "FILE")]
        notes: Option<PathBuf>,
        /// Percentage of installs offered the release (0-100).
        #[arg(long, value_name = "PCT")]
        rollout: Option<u8>,
        /// Ignore rollout and install as soon as possible.
        #[arg(long)]
        critical: bool,
        /// Oldest installed version that may update to this one directly.
        #[arg(long, value_name = "V")]
        min_version: Option<String>,
        /// File name of the target (default: the artifact's).
        #[arg(long)]
        name: Option<String>,
        /// The file to publish: AppImage, .app.tar.gz, NSIS/MSI installer, executable, archive.
        artifact: PathBuf,
        #[command(flatten)]
        expiry: ExpiryArgs,
    },
    /// Publish a release of one channel on another (same bytes).
    Promote {
        /// Project directory (made by `init`).
        dir: PathBuf,
        /// Application name.
        #[arg(long)]
        app: String,
        #[arg(long)]
        version: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        /// Only this platform (default: all of the release's).
        #[arg(long)]
        platform: Option<String>,
        #[arg(long, value_name = "PCT")]
        rollout: Option<u8>,
        #[arg(long, value_name = "BOOL")]
        critical: Option<bool>,
        #[command(flatten)]
        expiry: ExpiryArgs,
    },
    /// Remove a release from a channel.
    Yank {
        /// Project directory (made by `init`).
        dir: PathBuf,
        /// Application name.
        #[arg(long)]
        app: String,
        #[arg(long)]
        version: String,
        /// Channel, e.g. stable or beta.
        #[arg(long)]
        channel: String,
        #[arg(long)]
        platform: Option<String>,
        /// Also delete the stored files once the new metadata is published.
        #[arg(long)]
        delete_files: bool,
        #[command(flatten)]
        expiry: ExpiryArgs,
    },
    /// Re-sign snapshot and timestamp with fresh expiry dates (run it from cron).
    Timestamp {
        /// Project directory (made by `init`).
        dir: PathBuf,
        #[command(flatten)]
        expiry: ExpiryArgs,
    },
    /// Replace, add or remove keys of a role (root, targets, snapshot, timestamp, a channel).
    Rotate {
        /// Project directory (made by `init`).
        dir: PathBuf,
        #[arg(long)]
        role: String,
        /// Replace all of the role's keys with new ones.
        #[arg(long)]
        replace: bool,
        /// Add N new keys.
        #[arg(long, default_value_t = 0, value_name = "N")]
        add: u32,
        /// Remove a key (key ID or a prefix of at least 4 characters). Repeatable.
        #[arg(long, value_name = "KEYID")]
        remove: Vec<String>,
        /// New threshold.
        #[arg(long, value_name = "N")]
        threshold: Option<u64>,
        /// Type of the new keys (default: the project's).
        #[arg(long, value_enum)]
        key_type: Option<KeyTypeArg>,
        /// Encrypt the new key files (default: if the role's current ones are).
        #[arg(long, conflicts_with = "no_encrypt")]
        encrypt: bool,
        /// Do not encrypt the new key files.
        #[arg(long)]
        no_encrypt: bool,
        #[command(flatten)]
        expiry: ExpiryArgs,
    },
    /// Re-sign roles with a new version and fresh expiry.
    Resign {
        /// Project directory (made by `init`).
        dir: PathBuf,
        /// Role to re-sign; repeatable.
        #[arg(long, required = true)]
        role: Vec<String>,
        #[command(flatten)]
        expiry: ExpiryArgs,
    },
    /// Channels, releases, expiry dates and warnings.
    Status {
        /// Project directory (made by `init`).
        dir: PathBuf,
        /// Warn about what expires within this many days (at most half a role's lifetime).
        #[arg(long, default_value_t = 30)]
        days: i64,
        #[arg(long)]
        json: bool,
        /// Exit with status 1 when there are warnings (for monitoring).
        #[arg(long)]
        fail_on_warnings: bool,
    },
    /// Walk the repository as a client would, from 1.root.json, and check every target file.
    Verify {
        /// Project directory, or a repository (the directory holding metadata/).
        dir: PathBuf,
    },
    /// Copy the repository to DEST: targets, metadata, timestamp, then new roots.
    Publish {
        /// Project directory (made by `init`).
        dir: PathBuf,
        /// Destination directory (a web root, a mounted bucket).
        dest: PathBuf,
        /// Show what would be copied.
        #[arg(long)]
        dry_run: bool,
    },
    /// Serve the repository over HTTP for development.
    Serve {
        /// Project directory (made by `init`).
        dir: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Allow a non-loopback address.
        #[arg(long)]
        allow_remote: bool,
        /// Do not log requests.
        #[arg(long)]
        quiet: bool,
    },
}

fn context(expiry: ExpiryArgs) -> Result<Context, PackError> {
    let mut ctx = Context::new(clock::now()?);
    ctx.expires = expiry.expires;
    Ok(ctx)
}

fn run(cli: Cli) -> Result<Option<String>, PackError> {
    let project = |dir: &PathBuf| Project::new(dir, cli.keys_dir.clone());
    let out = match cli.command {
        Command::Init {
            dir,
            channels,
            key_type,
            root_keys,
            root_threshold,
            encrypt,
            expiry,
        } => {
            let channels = packaging::names::parse_channels(&channels)?;
            let expires = ExpiryPolicy::default().with_overrides(&expiry.expires, &channels)?;
            let opts = InitOptions {
                channels,
                key_type: key_type.into(),
                root_keys,
                root_threshold,
                encrypt,
                expires,
            };
            let report = init(
                &project(&dir),
                &opts,
                packaging::keys::Passphrase::from_env_or_prompt(),
                clock::now()?,
            )?;
            report.to_string()
        }
        Command::Release {
            dir,
            app,
            version,
            platform,
            channel,
            notes,
            rollout,
            critical,
            min_version,
            name,
            artifact,
            expiry,
        } => {
            let opts = ReleaseOptions {
                app,
                version,
                platform,
                channel,
                artifact,
                name,
                notes,
                rollout,
                critical,
                min_version,
            };
            release(&project(&dir), context(expiry)?, &opts)?.to_string()
        }
        Command::Promote {
            dir,
            app,
            version,
            from,
            to,
            platform,
            rollout,
            critical,
            expiry,
        } => {
            let opts = PromoteOptions {
                app,
                version,
                from,
                to,
                platform,
                rollout,
                critical,
            };
            promote(&project(&dir), context(expiry)?, &opts)?.to_string()
        }
        Command::Yank {
            dir,
            app,
            version,
            channel,
            platform,
            delete_files,
            expiry,
        } => {
            let opts = YankOptions {
                app,
                version,
                channel,
                platform,
                delete_files,
            };
            yank(&project(&dir), context(expiry)?, &opts)?.to_string()
        }
        Command::Timestamp { dir, expiry } => {
            let outcome = timestamp(&project(&dir), context(expiry)?)?;
            SignedReport("Re-signed snapshot and timestamp", &outcome).to_string()
        }
        Command::Rotate {
            dir,
            role,
            replace,
            add,
            remove,
            threshold,
            key_type,
            encrypt,
            no_encrypt,
            expiry,
        } => {
            let opts = RotateOptions {
                role,
                replace,
                add,
                remove,
                threshold,
                key_type: key_type.map(Into::into),
                encrypt: match (encrypt, no_encrypt) {
                    (true, _) => Some(true),
                    (_, true) => Some(false),
                    _ => None,
                },
            };
            rotate(&project(&dir), context(expiry)?, &opts)?.to_string()
        }
        Command::Resign { dir, role, expiry } => {
            let outcome = resign(&project(&dir), context(expiry)?, &role)?;
            SignedReport("Re-signed", &outcome).to_string()
        }
        Command::Status {
            dir,
            days,
            json,
            fail_on_warnings,
        } => {
            let s = status(&project(&dir), clock::now()?, days)?;
            let text = if json {
                serde_json::to_string_pretty(&s).map_err(|source| PackError::Encode {
                    what: "the status as JSON",
                    source,
                })? + "\n"
            } else {
                s.to_string()
            };
            if fail_on_warnings && !s.warnings.is_empty() {
                print!("{text}");
                return Err(PackError::Warnings(s.warnings.len()));
            }
            text
        }
        Command::Verify { dir } => verify(&repository_of(&dir), clock::now()?)?.to_string(),
        Command::Publish { dir, dest, dry_run } => {
            publish(&dir, &dest, clock::now()?, dry_run)?.to_string()
        }
        Command::Serve {
            dir,
            addr,
            allow_remote,
            quiet,
        } => {
            let repository = repository_of(&dir);
            let server = DevServer::start(
                &repository,
                &ServeOptions {
                    addr,
                    allow_remote,
                    verbose: !quiet,
                },
            )?;
            let mut stdout = std::io::stdout();
            let _ = writeln!(
                stdout,
                "Serving {} at {}\n  metadata: {}metadata/\n  targets:  {}targets/\nPress Ctrl-C to stop.",
                repository.display(),
                server.url(),
                server.url(),
                server.url()
            );
            let _ = stdout.flush();
            server.wait();
            return Ok(None);
        }
    };
    Ok(Some(out))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("UPDATER_PACK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .init();
    match run(cli) {
        Ok(Some(out)) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
            ExitCode::FAILURE
        }
    }
}
