//! The commands about a published repository: `timestamp` (with `--publish`), `publish`,
//! `pull`, `verify`, `status` and `serve`. `verify` and `status` also read a repository
//! where it is published (a URL or a bucket).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use updater_pack::clock;
use updater_pack::ops::publish::{publish, repository_of};
use updater_pack::ops::pull::pull;
use updater_pack::ops::remote::{is_remote, status_of_source, verify_source};
use updater_pack::ops::status::status;
use updater_pack::ops::timestamp::timestamp;
use updater_pack::ops::verify::verify;
use updater_pack::ops::SignedReport;
use updater_pack::serve::{DevServer, ServeOptions};
use updater_pack::{PackError, Project};

use super::{context, ExpiryArgs, Output, Run};

// Argument structs carry no doc comment of their own: the subcommand's comment is its help,
// and a struct's would replace it.

#[derive(Args, Debug)]
pub struct TimestampArgs {
    /// Project directory (made by `init`).
    dir: PathBuf,
    /// Then publish to this destination (as `publish` does: only what changed).
    #[arg(long, value_name = "DEST")]
    publish: Option<String>,
    #[command(flatten)]
    expiry: ExpiryArgs,
}

impl Run for TimestampArgs {
    fn run(self, keys_dir: Option<PathBuf>) -> Output {
        let project = Project::new(&self.dir, keys_dir);
        let outcome = timestamp(&project, context(&self.expiry)?)?;
        let mut text = SignedReport("Re-signed snapshot and timestamp", &outcome).to_string();
        if let Some(dest) = &self.publish {
            text.push_str(&publish(&self.dir, dest, clock::now()?, false)?.to_string());
        }
        Ok(Some(text))
    }
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Project directory (made by `init`), or where the repository is published: a URL
    /// (the one the apps use) or a bucket (s3://, gs://, az://).
    dir: String,
    /// An app whose repository to read at a URL (a web server cannot be listed).
    #[arg(long = "app", value_name = "NAME")]
    apps: Vec<String>,
    /// Warn about what expires within this many days (at most half a role's lifetime).
    #[arg(long, default_value_t = 30)]
    days: i64,
    #[arg(long)]
    json: bool,
    /// Exit with status 1 when there are warnings (for monitoring).
    #[arg(long)]
    fail_on_warnings: bool,
}

impl Run for StatusArgs {
    fn run(self, keys_dir: Option<PathBuf>) -> Output {
        let s = if is_remote(&self.dir) {
            status_of_source(&self.dir, &self.apps, clock::now()?, self.days)?
        } else {
            status(&Project::new(&self.dir, keys_dir), clock::now()?, self.days)?
        };
        let text = if self.json {
            let json = serde_json::to_string_pretty(&s).map_err(|source| PackError::Encode {
                what: "the status as JSON",
                source,
            })?;
            json + "\n"
        } else {
            s.to_string()
        };
        if self.fail_on_warnings && !s.warnings.is_empty() {
            print!("{text}");
            return Err(PackError::Warnings(s.warnings.len()));
        }
        Ok(Some(text))
    }
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Project directory, a repository (the directory holding metadata/), or where one is
    /// published: a URL (the one the apps use) or a bucket (s3://, gs://, az://).
    dir: String,
    /// An app whose repository to read at a URL (a web server cannot be listed).
    #[arg(long = "app", value_name = "NAME")]
    apps: Vec<String>,
}

impl Run for VerifyArgs {
    fn run(self, _keys_dir: Option<PathBuf>) -> Output {
        let report = if is_remote(&self.dir) {
            verify_source(&self.dir, &self.apps, clock::now()?)?
        } else {
            verify(
                &repository_of(PathBuf::from(&self.dir).as_path()),
                clock::now()?,
            )?
        };
        Ok(Some(report.to_string()))
    }
}

#[derive(Args, Debug)]
pub struct PullArgs {
    /// Where the repository is published: a bucket (s3://, gs://, az://), a folder, or the
    /// URL the apps use.
    source: String,
    /// Project directory (its updater-pack.json; its repository/metadata/1.root.json, when
    /// present, must be the source's).
    dir: PathBuf,
    /// An app whose repository to pull from a URL (a web server cannot be listed).
    #[arg(long = "app", value_name = "NAME")]
    apps: Vec<String>,
}

impl Run for PullArgs {
    fn run(self, keys_dir: Option<PathBuf>) -> Output {
        let project = Project::new(&self.dir, keys_dir);
        let report = pull(&self.source, &project, &self.apps, clock::now()?)?;
        Ok(Some(report.to_string()))
    }
}

#[derive(Args, Debug)]
pub struct PublishArgs {
    /// Project directory (made by `init`).
    dir: PathBuf,
    /// Where to: a folder (a web root), file:///PATH, s3://BUCKET/PREFIX, gs://BUCKET/PREFIX
    /// or az://CONTAINER/PREFIX. Credentials and endpoint from the environment (AWS_*,
    /// GOOGLE_*, AZURE_*; AWS_ENDPOINT and AWS_ALLOW_HTTP=true for an S3-compatible server).
    dest: String,
    /// Show what would be copied.
    #[arg(long)]
    dry_run: bool,
}

impl Run for PublishArgs {
    fn run(self, _keys_dir: Option<PathBuf>) -> Output {
        let report = publish(&self.dir, &self.dest, clock::now()?, self.dry_run)?;
        Ok(Some(report.to_string()))
    }
}

#[derive(Args, Debug)]
pub struct ServeArgs {
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
}

impl From<&ServeArgs> for ServeOptions {
    fn from(a: &ServeArgs) -> Self {
        ServeOptions {
            addr: a.addr,
            allow_remote: a.allow_remote,
            verbose: !a.quiet,
        }
    }
}

impl Run for ServeArgs {
    fn run(self, _keys_dir: Option<PathBuf>) -> Output {
        let repository = repository_of(&self.dir);
        let server = DevServer::start(&repository, &(&self).into())?;
        let url = server.url();
        let mut stdout = std::io::stdout();
        let _ = writeln!(
            stdout,
            "Serving {} at {url}\n  metadata: {url}metadata/\n  targets:  {url}targets/\nPress Ctrl-C to stop.",
            repository.display(),
        );
        let _ = stdout.flush();
        server.wait();
        Ok(None)
    }
}
