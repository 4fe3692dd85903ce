//! `updater-pack`: creates, signs and publishes an update repository.
//!
//! Exit status: 0 on success, 1 on any error (the message names the problem; the project
//! is left as it was), 2 on a usage error.

use std::path::PathBuf;
use std::process::ExitCode;

mod cli;

use clap::{Args, Parser, Subcommand, ValueEnum};
use updater_pack::clock;
use updater_pack::lifetime::ExpiryPolicy;
use updater_pack::ops::init::{init, InitOptions};
use updater_pack::ops::promote::{promote, PromoteOptions};
use updater_pack::ops::release::{release, ReleaseOptions};
use updater_pack::ops::release_bundles::{release_bundles, BundleOptions};
use updater_pack::ops::resign::resign;
use updater_pack::ops::rotate::{rotate, RotateOptions};
use updater_pack::ops::yank::{yank, YankOptions};
use updater_pack::ops::SignedReport;
use updater_pack::{KeyType, PackError, Project};

use cli::published::{PublishArgs, PullArgs, ServeArgs, StatusArgs, TimestampArgs, VerifyArgs};
use cli::{context, ExpiryArgs, Output, Run};

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
    Init(InitArgs),
    /// Add an artifact (or every bundle of a Tauri bundle folder, --bundle-dir) to a channel
    /// and re-sign the channel, snapshot and timestamp.
    Release(ReleaseArgs),
    /// Publish a release of one channel on another (same bytes).
    Promote(PromoteArgs),
    /// Remove a release from a channel.
    Yank(YankArgs),
    /// Re-sign snapshot and timestamp with fresh expiry dates (run it from cron; --publish
    /// uploads them).
    Timestamp(TimestampArgs),
    /// Replace, add or remove keys of a role (root, targets, snapshot, timestamp, a channel).
    Rotate(RotateArgs),
    /// Re-sign roles with a new version and fresh expiry.
    Resign(ResignArgs),
    /// Channels, releases, expiry dates and warnings.
    Status(StatusArgs),
    /// Walk the repository as a client would, from 1.root.json, and check every target file
    /// (of a project, or where it is published: a URL or a bucket).
    Verify(VerifyArgs),
    /// Upload the repository to a folder or bucket: targets, metadata, timestamp, then new
    /// roots; only what the destination lacks.
    Publish(PublishArgs),
    /// Bring a published repository's metadata into the project (a fresh CI runner's).
    Pull(PullArgs),
    /// Serve the repository over HTTP for development.
    Serve(ServeArgs),
    /// Give each app its own repository (the per-app layout), keeping every release.
    Migrate(MigrateArgs),
}

// Argument structs carry no doc comment of their own: the subcommand's comment above is its
// help, and a struct's would replace it.

#[derive(Args, Debug)]
struct InitArgs {
    /// Project directory to create (keys/, repository/, updater-pack.json).
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
    /// `per-app`: one small repository per app, so a check costs the same however many
    /// apps and releases the project has; `channel`: one repository, each channel one role
    /// listing every release (the earlier layout).
    #[arg(long, default_value = "per-app")]
    layout: updater_pack::Layout,
    #[command(flatten)]
    expiry: ExpiryArgs,
}

impl TryFrom<&InitArgs> for InitOptions {
    type Error = PackError;

    fn try_from(a: &InitArgs) -> Result<Self, PackError> {
        let channels = updater_pack::names::parse_channels(&a.channels)?;
        let expires = ExpiryPolicy::default().with_overrides(&a.expiry.expires, &channels)?;
        Ok(InitOptions {
            channels,
            key_type: a.key_type.into(),
            root_keys: a.root_keys,
            root_threshold: a.root_threshold,
            encrypt: a.encrypt.clone(),
            expires,
            layout: a.layout,
        })
    }
}

impl Run for InitArgs {
    fn run(self, keys_dir: Option<PathBuf>) -> Output {
        let opts = InitOptions::try_from(&self)?;
        let project = Project::new(&self.dir, keys_dir);
        let passphrase = updater_pack::keys::Passphrase::from_env_or_prompt();
        Ok(Some(
            init(&project, &opts, passphrase, clock::now()?)?.to_string(),
        ))
    }
}

#[derive(Args, Debug)]
struct ReleaseArgs {
    /// Project directory (made by `init`).
    dir: PathBuf,
    /// Application name (with --bundle-dir, default: the Tauri configuration's productName,
    /// lowercased).
    #[arg(long, required_unless_present = "bundle_dir")]
    app: Option<String>,
    /// Semantic version, e.g. 1.4.0 (with --bundle-dir, default: the Tauri configuration's).
    #[arg(long, required_unless_present = "bundle_dir")]
    version: Option<String>,
    /// Platform, <os>-<arch>[-<format>]: e.g. linux-x86_64-appimage, darwin-aarch64-app,
    /// windows-x86_64-nsis (formats: exe, appimage, app, deb, rpm, nsis, msi). The artifact's
    /// content must be that format; without one, the format is inferred from the content
    /// (a file of no known format is published under <os>-<arch>).
    #[arg(
        long,
        required_unless_present = "bundle_dir",
        conflicts_with = "bundle_dir"
    )]
    platform: Option<String>,
    /// Channel, e.g. stable or beta.
    #[arg(long)]
    channel: String,
    /// Publish every bundle `tauri build` wrote to this folder (target/<profile>/bundle, or
    /// a folder holding several runners' bundle folders) as one release, each under the
    /// platform segment its content, name or package says. Repeatable.
    #[arg(long, value_name = "DIR")]
    bundle_dir: Vec<PathBuf>,
    /// The app's tauri.conf.json, read for the version and the app name (default: found
    /// above the bundle folder, in src-tauri/).
    #[arg(long, value_name = "FILE", requires = "bundle_dir")]
    config: Option<PathBuf>,
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
    #[arg(long, conflicts_with = "bundle_dir")]
    name: Option<String>,
    /// Also publish patches to this release from up to K earlier releases of the channel,
    /// app and platform (highest versions first); a patch is published only if it is at
    /// most half the artifact's size. 0: no patches.
    #[arg(long, value_name = "K", default_value_t = updater_pack::ops::patches::DEFAULT_DELTAS)]
    deltas: usize,
    /// The file to publish: AppImage, .app.tar.gz, NSIS/MSI installer, executable, archive.
    #[arg(required_unless_present = "bundle_dir", conflicts_with = "bundle_dir")]
    artifact: Option<PathBuf>,
    #[command(flatten)]
    expiry: ExpiryArgs,
}

impl From<&ReleaseArgs> for ReleaseOptions {
    fn from(a: &ReleaseArgs) -> Self {
        ReleaseOptions {
            app: a.app.clone().unwrap_or_default(),
            version: a.version.clone().unwrap_or_default(),
            platform: a.platform.clone().unwrap_or_default(),
            channel: a.channel.clone(),
            artifact: a.artifact.clone().unwrap_or_default(),
            name: a.name.clone(),
            notes: a.notes.clone(),
            rollout: a.rollout,
            critical: a.critical,
            min_version: a.min_version.clone(),
            deltas: a.deltas,
        }
    }
}

impl From<&ReleaseArgs> for BundleOptions {
    fn from(a: &ReleaseArgs) -> Self {
        BundleOptions {
            bundle_dirs: a.bundle_dir.clone(),
            config: a.config.clone(),
            app: a.app.clone(),
            version: a.version.clone(),
            channel: a.channel.clone(),
            notes: a.notes.clone(),
            rollout: a.rollout,
            critical: a.critical,
            min_version: a.min_version.clone(),
            deltas: a.deltas,
        }
    }
}

impl Run for ReleaseArgs {
    fn run(self, keys_dir: Option<PathBuf>) -> Output {
        let project = Project::new(&self.dir, keys_dir);
        let ctx = context(&self.expiry)?;
        if !self.bundle_dir.is_empty() {
            let report = release_bundles(&project, ctx, &(&self).into())?;
            return Ok(Some(report.to_string()));
        }
        let report = release(&project, ctx, &(&self).into())?;
        Ok(Some(report.to_string()))
    }
}

#[derive(Args, Debug)]
struct PromoteArgs {
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
}

impl From<&PromoteArgs> for PromoteOptions {
    fn from(a: &PromoteArgs) -> Self {
        PromoteOptions {
            app: a.app.clone(),
            version: a.version.clone(),
            from: a.from.clone(),
            to: a.to.clone(),
            platform: a.platform.clone(),
            rollout: a.rollout,
            critical: a.critical,
        }
    }
}

impl Run for PromoteArgs {
    fn run(self, keys_dir: Option<PathBuf>) -> Output {
        let project = Project::new(&self.dir, keys_dir);
        let report = promote(&project, context(&self.expiry)?, &(&self).into())?;
        Ok(Some(report.to_string()))
    }
}

#[derive(Args, Debug)]
struct YankArgs {
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
}

impl From<&YankArgs> for YankOptions {
    fn from(a: &YankArgs) -> Self {
        YankOptions {
            app: a.app.clone(),
            version: a.version.clone(),
            channel: a.channel.clone(),
            platform: a.platform.clone(),
            delete_files: a.delete_files,
        }
    }
}

impl Run for YankArgs {
    fn run(self, keys_dir: Option<PathBuf>) -> Output {
        let project = Project::new(&self.dir, keys_dir);
        let report = yank(&project, context(&self.expiry)?, &(&self).into())?;
        Ok(Some(report.to_string()))
    }
}

#[derive(Args, Debug)]
struct MigrateArgs {
    /// Project directory (made by `init`, channel layout).
    dir: PathBuf,
    /// Stop writing releases to the shared repository (repository/metadata/): installs
    /// that read it no longer see new releases. By default they are written there too.
    #[arg(long)]
    no_shared_releases: bool,
}

impl Run for MigrateArgs {
    fn run(self, keys_dir: Option<PathBuf>) -> Output {
        let project = Project::new(&self.dir, keys_dir);
        let opts = updater_pack::ops::migrate::MigrateOptions {
            shared_releases: !self.no_shared_releases,
        };
        let passphrase = updater_pack::keys::Passphrase::from_env_or_prompt();
        let report =
            updater_pack::ops::migrate::migrate(&project, &opts, passphrase, clock::now()?)?;
        Ok(Some(report.to_string()))
    }
}

#[derive(Args, Debug)]
struct RotateArgs {
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
    /// The new key is an existing key in a PKCS#11 token (HSM, YubiKey, SoftHSM2): the
    /// module (shared library) of the token. The PIN comes from UPDATER_PACK_PKCS11_PIN.
    #[arg(long, value_name = "PATH", requires = "pkcs11_token")]
    pkcs11_module: Option<PathBuf>,
    /// The token's label.
    #[arg(long, value_name = "NAME", requires = "pkcs11_module")]
    pkcs11_token: Option<String>,
    /// The key's label in the token.
    #[arg(long, value_name = "LABEL", requires = "pkcs11_module")]
    pkcs11_label: Option<String>,
    /// The key's ID in the token (hex), instead of or with its label.
    #[arg(long, value_name = "HEX", requires = "pkcs11_module")]
    pkcs11_id: Option<String>,
    #[command(flatten)]
    expiry: ExpiryArgs,
}

impl RotateArgs {
    fn token(&self) -> Option<updater_pack::keys::TokenRef> {
        Some(updater_pack::keys::TokenRef {
            module: self.pkcs11_module.clone()?,
            token: self.pkcs11_token.clone()?,
            label: self.pkcs11_label.clone(),
            id: self.pkcs11_id.clone(),
        })
    }
}

impl From<&RotateArgs> for RotateOptions {
    fn from(a: &RotateArgs) -> Self {
        RotateOptions {
            role: a.role.clone(),
            replace: a.replace,
            add: a.add,
            remove: a.remove.clone(),
            threshold: a.threshold,
            key_type: a.key_type.map(Into::into),
            encrypt: match (a.encrypt, a.no_encrypt) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            },
            token: a.token(),
        }
    }
}

impl Run for RotateArgs {
    fn run(self, keys_dir: Option<PathBuf>) -> Output {
        let project = Project::new(&self.dir, keys_dir);
        let report = rotate(&project, context(&self.expiry)?, &(&self).into())?;
        Ok(Some(report.to_string()))
    }
}

#[derive(Args, Debug)]
struct ResignArgs {
    /// Project directory (made by `init`).
    dir: PathBuf,
    /// Role to re-sign; repeatable.
    #[arg(long, required = true)]
    role: Vec<String>,
    #[command(flatten)]
    expiry: ExpiryArgs,
}

impl Run for ResignArgs {
    fn run(self, keys_dir: Option<PathBuf>) -> Output {
        let project = Project::new(&self.dir, keys_dir);
        let outcome = resign(&project, context(&self.expiry)?, &self.role)?;
        Ok(Some(SignedReport("Re-signed", &outcome).to_string()))
    }
}

fn run(cli: Cli) -> Output {
    let keys_dir = cli.keys_dir;
    match cli.command {
        Command::Init(args) => args.run(keys_dir),
        Command::Release(args) => args.run(keys_dir),
        Command::Promote(args) => args.run(keys_dir),
        Command::Yank(args) => args.run(keys_dir),
        Command::Timestamp(args) => args.run(keys_dir),
        Command::Rotate(args) => args.run(keys_dir),
        Command::Resign(args) => args.run(keys_dir),
        Command::Status(args) => args.run(keys_dir),
        Command::Verify(args) => args.run(keys_dir),
        Command::Publish(args) => args.run(keys_dir),
        Command::Pull(args) => args.run(keys_dir),
        Command::Serve(args) => args.run(keys_dir),
        Command::Migrate(args) => args.run(keys_dir),
    }
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
            // A cause whose text the one before already quotes is not repeated.
            let mut shown = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                let text = s.to_string();
                if !shown.contains(&text) {
                    eprintln!("  caused by: {text}");
                    shown = text;
                }
                source = s.source();
            }
            ExitCode::FAILURE
        }
    }
}
