//! Where a repository is published and read back from: a folder, an object store bucket
//! (`s3://`, `gs://`, `az://`) or, for reading only, the web server the apps use
//! (`http(s)://`). One interface over the `object_store` crate, with the few operations
//! `publish`, `pull`, `verify` and `status` need, each bounded in size and counted.
//!
//! Credentials and endpoints come from the environment variables each service's own tools
//! read (`AWS_*`, `GOOGLE_*`, `AZURE_*`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::http::HttpBuilder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{
    Attribute, Attributes, ClientConfigKey, ClientOptions, ObjectStore, PutMode, PutOptions,
    PutPayload, RetryConfig, UpdateVersion,
};

use crate::error::{PackError, Result};

/// How long a client or CDN may keep a file: forever for names that never change
/// (versioned metadata, hash-named targets), briefly for `timestamp.json` (its freshness is
/// the point), never without asking for the `N.root.json` that clients probe for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caching {
    Immutable,
    Short,
    Revalidate,
}

impl Caching {
    fn header(self) -> &'static str {
        match self {
            Caching::Immutable => "public, max-age=31536000, immutable",
            Caching::Short => "public, max-age=60",
            Caching::Revalidate => "no-cache",
        }
    }
}

/// How a file is written.
#[derive(Clone, Debug)]
pub enum Write {
    /// Only if no file has the name (a versioned or hash-named file never changes).
    Create,
    /// Replace the file read with this tag, or create it when `None` (`timestamp.json`).
    Replace(Option<Tag>),
}

/// What a conditional write names: the ETag (S3, Azure) and the object version (GCS's
/// generation), as the store reported them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tag {
    pub etag: Option<String>,
    pub version: Option<String>,
}

/// A file read back: its bytes and the tag a conditional write names.
#[derive(Clone, Debug)]
pub struct Fetched {
    pub bytes: Bytes,
    pub tag: Tag,
}

/// What a write found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    Done,
    /// `Create`: a file of that name was there.
    Exists,
    /// `Replace`: the file changed since it was read.
    Changed,
}

/// Requests and bytes, for the reports (what a release costs to publish).
#[derive(Debug, Default)]
pub struct Traffic {
    pub requests: AtomicU64,
    pub bytes_up: AtomicU64,
    pub bytes_down: AtomicU64,
}

impl Traffic {
    fn count(&self, up: u64, down: u64) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.bytes_up.fetch_add(up, Ordering::Relaxed);
        self.bytes_down.fetch_add(down, Ordering::Relaxed);
    }

    pub fn get(&self) -> (u64, u64, u64) {
        (
            self.requests.load(Ordering::Relaxed),
            self.bytes_up.load(Ordering::Relaxed),
            self.bytes_down.load(Ordering::Relaxed),
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Folder,
    Bucket,
    Web,
}

/// A repository's place: a folder, a bucket with a prefix, or a web server's base URL.
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    kind: Kind,
    /// The folder, for a folder store (written files are made durable).
    folder: Option<PathBuf>,
    /// As the user wrote it, for messages.
    pub location: String,
    pub traffic: Traffic,
}

/// Largest file written in one request; larger ones go in parts.
const SINGLE_PUT_MAX: u64 = 64 << 20;

impl Store {
    /// Opens `location` to read (`create_folder` false) or to publish to.
    pub fn open(location: &str, create_folder: bool) -> Result<Store> {
        let bad = |reason: String| PackError::BadLocation {
            location: location.to_string(),
            reason,
        };
        let Some((scheme, _)) = location.split_once("://") else {
            return Self::folder(location, Path::new(location), create_folder);
        };
        let url = url::Url::parse(location).map_err(|e| bad(e.to_string()))?;
        let prefix = ObjectPath::parse(url.path().trim_matches('/'))
            .map_err(|e| bad(format!("bad prefix: {e}")))?;
        let (inner, kind): (Arc<dyn ObjectStore>, Kind) = match scheme {
            "file" => {
                let path = url
                    .to_file_path()
                    .map_err(|()| bad("not an absolute file path".into()))?;
                return Self::folder(location, &path, create_folder);
            }
            "s3" | "s3a" => (
                Arc::new(
                    AmazonS3Builder::from_env()
                        .with_url(location)
                        .with_retry(retry())
                        .with_config(AmazonS3ConfigKey::Client(TIMEOUTS[0].0), TIMEOUTS[0].1)
                        .with_config(AmazonS3ConfigKey::Client(TIMEOUTS[1].0), TIMEOUTS[1].1)
                        .build()
                        .map_err(|e| bad(e.to_string()))?,
                ),
                Kind::Bucket,
            ),
            "gs" => (
                Arc::new(
                    GoogleCloudStorageBuilder::from_env()
                        .with_url(location)
                        .with_retry(retry())
                        .with_config(GoogleConfigKey::Client(TIMEOUTS[0].0), TIMEOUTS[0].1)
                        .with_config(GoogleConfigKey::Client(TIMEOUTS[1].0), TIMEOUTS[1].1)
                        .build()
                        .map_err(|e| bad(e.to_string()))?,
                ),
                Kind::Bucket,
            ),
            "az" | "azure" | "abfs" | "abfss" => (
                Arc::new(
                    MicrosoftAzureBuilder::from_env()
                        .with_url(location)
                        .with_retry(retry())
                        .with_config(AzureConfigKey::Client(TIMEOUTS[0].0), TIMEOUTS[0].1)
                        .with_config(AzureConfigKey::Client(TIMEOUTS[1].0), TIMEOUTS[1].1)
                        .build()
                        .map_err(|e| bad(e.to_string()))?,
                ),
                Kind::Bucket,
            ),
            "http" | "https" => {
                let mut base = url.clone();
                base.set_path("");
                let store = HttpBuilder::new()
                    .with_url(base.as_str())
                    .with_retry(retry())
                    // No idle connection kept: a small server (`updater-pack serve`'s
                    // tiny_http) gives each kept-alive connection a thread of a small pool,
                    // and a request on a fifth connection waited for one.
                    .with_client_options(
                        client_options()
                            .with_allow_http(true)
                            .with_pool_max_idle_per_host(0),
                    )
                    .build()
                    .map_err(|e| bad(e.to_string()))?;
                (Arc::new(store), Kind::Web)
            }
            other => {
                return Err(bad(format!(
                    "unknown scheme {other}:// (use a folder, file://, s3://, gs://, az:// or, to read, http(s)://)"
                )))
            }
        };
        Ok(Store {
            inner,
            prefix,
            kind,
            folder: None,
            location: location.to_string(),
            traffic: Traffic::default(),
        })
    }

    fn folder(location: &str, path: &Path, create: bool) -> Result<Store> {
        if create {
            std::fs::create_dir_all(path).map_err(tuf_updater_core::files::FileError::at(path))?;
        }
        let root = std::fs::canonicalize(path).map_err(|e| PackError::BadLocation {
            location: location.to_string(),
            reason: format!("not a folder here: {e}"),
        })?;
        let inner =
            LocalFileSystem::new_with_prefix(&root).map_err(|e| PackError::BadLocation {
                location: location.to_string(),
                reason: e.to_string(),
            })?;
        Ok(Store {
            inner: Arc::new(inner),
            prefix: ObjectPath::default(),
            kind: Kind::Folder,
            folder: Some(root),
            location: location.to_string(),
            traffic: Traffic::default(),
        })
    }

    /// The folder of a folder store.
    pub fn local_folder(&self) -> Option<&Path> {
        self.folder.as_deref()
    }

    /// Whether the store can list its files (a plain web server cannot).
    pub fn can_list(&self) -> bool {
        self.kind != Kind::Web
    }

    fn path(&self, rel: &str) -> ObjectPath {
        rel.split('/')
            .filter(|s| !s.is_empty())
            .fold(self.prefix.clone(), |p, part| p.child(part))
    }

    fn fail(&self, op: &'static str, rel: &str, e: object_store::Error) -> PackError {
        PackError::Store {
            location: self.location.clone(),
            op,
            path: rel.to_string(),
            hint: hint(&e, self.kind),
            source: Box::new(e),
        }
    }

    /// Every file under `rel` (relative names, sizes); `None` when the store cannot list.
    pub async fn list(&self, rel: &str) -> Result<Option<BTreeMap<String, u64>>> {
        if !self.can_list() {
            return Ok(None);
        }
        let base = self.path(rel);
        let skip = self.prefix.parts().count();
        let mut files = BTreeMap::new();
        let mut stream = self.inner.list(Some(&base));
        loop {
            match stream.try_next().await {
                Ok(Some(meta)) => {
                    let name: Vec<String> = meta
                        .location
                        .parts()
                        .skip(skip)
                        .map(|p| p.as_ref().to_string())
                        .collect();
                    files.insert(name.join("/"), meta.size);
                }
                Ok(None) => break,
                // A folder not made yet lists as empty.
                Err(object_store::Error::NotFound { .. }) if self.kind == Kind::Folder => break,
                Err(e) => return Err(self.fail("list", rel, e)),
            }
        }
        self.traffic.count(0, 0);
        Ok(Some(files))
    }

    /// The file `rel`, `None` if there is none; a file over `cap` bytes is an error.
    pub async fn get(&self, rel: &str, cap: u64) -> Result<Option<Fetched>> {
        let result = match self.inner.get(&self.path(rel)).await {
            Ok(r) => r,
            Err(object_store::Error::NotFound { .. }) => {
                self.traffic.count(0, 0);
                return Ok(None);
            }
            Err(e) => return Err(self.fail("read", rel, e)),
        };
        if result.meta.size > cap {
            return Err(PackError::TooLarge {
                what: format!("{}/{rel}", self.location),
                limit: cap,
            });
        }
        let tag = Tag {
            etag: result.meta.e_tag.clone(),
            version: result.meta.version.clone(),
        };
        let mut bytes = Vec::new();
        let mut stream = result.into_stream();
        while let Some(chunk) = stream
            .try_next()
            .await
            .map_err(|e| self.fail("read", rel, e))?
        {
            if bytes.len() as u64 + chunk.len() as u64 > cap {
                return Err(PackError::TooLarge {
                    what: format!("{}/{rel}", self.location),
                    limit: cap,
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        self.traffic.count(0, bytes.len() as u64);
        Ok(Some(Fetched {
            bytes: bytes.into(),
            tag,
        }))
    }

    /// The size of `rel`, `None` if there is none.
    pub async fn size(&self, rel: &str) -> Result<Option<u64>> {
        let result = self.inner.head(&self.path(rel)).await;
        self.traffic.count(0, 0);
        match result {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.fail("read", rel, e)),
        }
    }

    /// Writes the local file `src` as `rel`.
    pub async fn put(
        &self,
        rel: &str,
        src: &Path,
        how: Write,
        caching: Caching,
    ) -> Result<Written> {
        let len = std::fs::metadata(src)
            .map_err(tuf_updater_core::files::FileError::at(src))?
            .len();
        if len > SINGLE_PUT_MAX {
            return self.put_parts(rel, src, len).await;
        }
        let bytes = std::fs::read(src).map_err(tuf_updater_core::files::FileError::at(src))?;
        let mode = match (&how, self.kind) {
            (Write::Create, _) => PutMode::Create,
            (Write::Replace(None), Kind::Folder) | (Write::Replace(Some(_)), Kind::Folder) => {
                // A folder has no conditional replace; `publish` checked the file just before.
                PutMode::Overwrite
            }
            (Write::Replace(None), _) => PutMode::Create,
            (Write::Replace(Some(tag)), _) => PutMode::Update(UpdateVersion {
                e_tag: tag.etag.clone(),
                version: tag.version.clone(),
            }),
        };
        let mut options = PutOptions::from(mode);
        if self.kind != Kind::Folder {
            options.attributes = attributes(rel, caching);
        }
        let result = self
            .inner
            .put_opts(&self.path(rel), PutPayload::from(bytes), options)
            .await;
        self.traffic.count(len, 0);
        match result {
            Ok(_) => {
                self.make_durable(rel)?;
                Ok(Written::Done)
            }
            Err(object_store::Error::AlreadyExists { .. }) => match how {
                Write::Create => Ok(Written::Exists),
                Write::Replace(_) => Ok(Written::Changed),
            },
            Err(object_store::Error::Precondition { .. }) => Ok(Written::Changed),
            Err(e) => Err(self.fail("write", rel, e)),
        }
    }

    /// A large target, in parts (its name carries its hash: `publish` wrote it only because
    /// the listing did not have it).
    async fn put_parts(&self, rel: &str, src: &Path, len: u64) -> Result<Written> {
        use tokio::io::AsyncReadExt;
        let path = self.path(rel);
        let upload = self
            .inner
            .put_multipart(&path)
            .await
            .map_err(|e| self.fail("write", rel, e))?;
        let mut writer = object_store::WriteMultipart::new(upload);
        let mut file = tokio::fs::File::open(src)
            .await
            .map_err(tuf_updater_core::files::FileError::at(src))?;
        let mut buf = vec![0u8; 8 << 20];
        loop {
            let n = file
                .read(&mut buf)
                .await
                .map_err(tuf_updater_core::files::FileError::at(src))?;
            let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
                break;
            };
            writer
                .wait_for_capacity(4)
                .await
                .map_err(|e| self.fail("write", rel, e))?;
            writer.write(chunk);
        }
        writer
            .finish()
            .await
            .map_err(|e| self.fail("write", rel, e))?;
        self.traffic.count(len, 0);
        self.make_durable(rel)?;
        Ok(Written::Done)
    }

    /// A folder store's file reaches the disk before the next (later files point at it).
    fn make_durable(&self, rel: &str) -> Result<()> {
        let Some(folder) = &self.folder else {
            return Ok(());
        };
        let path = folder.join(rel);
        std::fs::File::open(&path)
            .and_then(|f| f.sync_all())
            .map_err(tuf_updater_core::files::FileError::at(&path))?;
        if let Some(dir) = path.parent() {
            tuf_updater_core::files::sync_dir(dir)?;
        }
        Ok(())
    }
}

fn attributes(rel: &str, caching: Caching) -> Attributes {
    let mut attributes = Attributes::new();
    attributes.insert(Attribute::CacheControl, caching.header().into());
    let content_type = if rel.ends_with(".json") {
        "application/json"
    } else {
        "application/octet-stream"
    };
    attributes.insert(Attribute::ContentType, content_type.into());
    attributes
}

/// A few quick retries: a server that is down is reported in seconds, not minutes.
fn retry() -> RetryConfig {
    RetryConfig {
        max_retries: 3,
        retry_timeout: Duration::from_secs(20),
        ..RetryConfig::default()
    }
}

/// The timeouts of [`client_options`], as settings of the buckets' builders: their
/// `with_client_options` would replace the client settings they read from the environment
/// (`AWS_ALLOW_HTTP`, a proxy).
const TIMEOUTS: [(ClientConfigKey, &str); 2] = [
    (ClientConfigKey::ConnectTimeout, "10s"),
    (ClientConfigKey::Timeout, "300s"),
];

fn client_options() -> ClientOptions {
    ClientOptions::new()
        .with_connect_timeout(Duration::from_secs(10))
        .with_timeout(Duration::from_secs(300))
}

/// What to look at, by the kind of failure.
fn hint(e: &object_store::Error, kind: Kind) -> &'static str {
    let text = format!("{e:?}");
    match e {
        object_store::Error::Unauthenticated { .. } => {
            "the credentials were refused: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or GOOGLE_SERVICE_ACCOUNT, AZURE_STORAGE_ACCOUNT_KEY)"
        }
        object_store::Error::PermissionDenied { .. } => {
            "these credentials may not do this: check the key's permissions on the bucket"
        }
        _ if text.contains("NoSuchBucket") || text.contains("ContainerNotFound") => {
            "the bucket does not exist: create it, or check its name"
        }
        _ if text.contains("InvalidAccessKeyId")
            || text.contains("SignatureDoesNotMatch")
            || text.contains("AccessDenied") =>
        {
            "the credentials were refused: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        }
        _ if text.contains("onnect") || text.contains("dns") || text.contains("timed out") => {
            if kind == Kind::Web {
                "the server could not be reached: check the URL and that it is up"
            } else {
                "the server could not be reached: check the endpoint (AWS_ENDPOINT) and that it is up"
            }
        }
        _ => "",
    }
}
