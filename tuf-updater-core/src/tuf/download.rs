//! Downloading a target verified while it streams (spec 5.7.3), resumable.
//!
//! Bytes go to a `.part` file in the caller's partial directory (or beside the destination
//! when it has none), hashed and counted as they arrive; the
//! length cap comes from trusted metadata, so an endless stream stops at the trusted length.
//! A cut connection is resumed with an HTTP Range request from the bytes already hashed; a
//! `.part` left by an earlier process is re-hashed and continued the same way. Only a file
//! whose length and every hash match is renamed to `dest`: nothing unverified leaves `.part`.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::time::Instant;

use futures_util::StreamExt;

use crate::files::FileError;
use crate::tuf::crypto::Hashes;
use crate::tuf::error::{Result, Rule, TufError};
use crate::tuf::fetch::{FetchError, Fetcher, SpeedGuard};
use crate::tuf::metadata::TargetFile;

/// What a download reports as it goes (the shape tauri-plugin-updater users know).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// `resumed_from` bytes were already on disk from an earlier attempt.
    Started {
        /// The target's signed length, in bytes.
        content_length: u64,
        /// Bytes already on disk, not fetched again.
        resumed_from: u64,
    },
    /// A chunk arrived.
    Progress {
        /// The chunk's size, in bytes.
        chunk_length: u64,
        /// Bytes of the file on disk so far, resumed ones included.
        downloaded: u64,
    },
    /// Every byte is in; the length and hashes are being checked.
    Verifying,
    /// Verified and in place at the destination.
    Finished,
}

/// Retries and speed limits of one download.
#[derive(Debug, Clone)]
pub struct DownloadOptions {
    /// Further attempts after a transport failure (not after a verification failure).
    pub retries: u32,
    /// First back-off; doubled each retry up to `max_backoff`.
    pub backoff: Duration,
    /// The longest back-off between retries.
    pub max_backoff: Duration,
    /// The lowest average speed, in bytes per second, tolerated after `slow_grace`.
    pub min_bytes_per_sec: u64,
    /// How long a download may run before its average speed is checked.
    pub slow_grace: Duration,
    /// The longest the download may go without receiving a byte, counted across its retries
    /// and back-offs (the clock restarts with each byte that arrives): a server that sends
    /// headers and then nothing is given up on after this, not after every retry's read
    /// timeout.
    pub max_stall: Duration,
    /// A bound on the whole download, retries included, if the app wants one. None by
    /// default: a large file on a slow link may rightly take long, and `max_stall` and the
    /// minimum speed already stop a server that holds the client.
    pub total_timeout: Option<Duration>,
    /// Where partial downloads are kept (and resumed from), so that the destination
    /// directory only ever holds verified files. Best on the destination's file system (the
    /// verified file is renamed, else copied). None: beside the destination, hidden.
    pub partial_dir: Option<PathBuf>,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        DownloadOptions {
            retries: 5,
            backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            min_bytes_per_sec: 4 * 1024,
            slow_grace: Duration::from_secs(30),
            max_stall: Duration::from_secs(45),
            total_timeout: None,
            partial_dir: None,
        }
    }
}

/// The time bounds of one download, across its retries.
struct Clock {
    start: Instant,
    last_byte: Instant,
    options: DownloadOptions,
}

impl Clock {
    fn new(options: &DownloadOptions) -> Self {
        let now = Instant::now();
        Clock {
            start: now,
            last_byte: now,
            options: options.clone(),
        }
    }

    fn deadline(&self) -> Instant {
        let stall = self.last_byte + self.options.max_stall;
        match self.options.total_timeout {
            Some(total) => stall.min(self.start + total),
            None => stall,
        }
    }

    fn progress(&mut self) {
        self.last_byte = Instant::now();
    }

    /// The error once the deadline has passed.
    fn expired(&self, url: &str) -> TufError {
        let stalled = self.last_byte + self.options.max_stall;
        let (secs, why) = match self.options.total_timeout {
            Some(total) if self.start + total < stalled => (total.as_secs(), "in total"),
            _ => (self.options.max_stall.as_secs(), "without receiving a byte"),
        };
        FetchError::DownloadTimeout {
            url: url.to_string(),
            secs,
            why,
        }
        .into()
    }
}

const CHUNK: usize = 256 * 1024;

/// The partial file of `dest`: hidden, beside it (same file system, so the final rename is
/// atomic).
pub fn part_path(dest: &Path) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(dest.file_name().unwrap_or_default());
    name.push(".part");
    dest.with_file_name(name)
}

/// The partial file of `dest` under `options`: in its `partial_dir` if set, else beside it.
pub fn partial_path(dest: &Path, options: &DownloadOptions) -> PathBuf {
    match &options.partial_dir {
        Some(dir) => {
            let mut name = dest.file_name().unwrap_or_default().to_os_string();
            name.push(".part");
            dir.join(name)
        }
        None => part_path(dest),
    }
}

/// Moves the verified `part` to `dest`: a rename, or a copy (to a hidden name beside `dest`,
/// then renamed) when they are on different file systems.
fn move_into_place(part: &Path, dest: &Path) -> Result<()> {
    if std::fs::rename(part, dest).is_ok() {
        return Ok(());
    }
    let staging = part_path(dest);
    std::fs::copy(part, &staging)
        .and_then(|_| std::fs::rename(&staging, dest))
        .map_err(|e| {
            let _ = std::fs::remove_file(&staging);
            FileError::new(dest, e)
        })?;
    let _ = std::fs::remove_file(part);
    Ok(())
}

/// Hashes a file in chunks; `Ok(true)` when it has the trusted length and hashes.
pub fn file_matches(path: &Path, info: &TargetFile) -> Result<bool> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(FileError::new(path, e).into()),
    };
    if file.metadata().map_err(FileError::at(path))?.len() != info.length {
        return Ok(false);
    }
    let mut hashes = Hashes::new(
        info.hashes.iter(),
        "cached target",
        Rule::TargetLengthAndHashes,
    )?;
    hash_reader(&mut file, &mut hashes, path)?;
    Ok(hashes
        .finish("cached target", Rule::TargetLengthAndHashes)
        .is_ok())
}

fn hash_reader(reader: &mut File, hashes: &mut Hashes, path: &Path) -> Result<u64> {
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf).map_err(FileError::at(path))?;
        let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
            return Ok(total);
        };
        hashes.update(chunk);
        total += n as u64;
    }
}

/// One download in progress: the partial file, its hash state and its length.
struct Partial {
    file: File,
    path: PathBuf,
    hashes: Hashes,
    received: u64,
    /// Holds bytes of more than one response (or of an earlier process).
    spliced: bool,
}

impl Partial {
    /// Opens `.part`, continuing what is there if it is no longer than the target.
    fn open(path: PathBuf, info: &TargetFile, what: &str) -> Result<Self> {
        // Refuse unknown hash algorithms before anything is created on disk.
        let mut hashes = Hashes::new(info.hashes.iter(), what, Rule::TargetLengthAndHashes)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(FileError::at(&path))?;
        let len = file.metadata().map_err(FileError::at(&path))?.len();
        let received = if len <= info.length {
            hash_reader(&mut file, &mut hashes, &path)?
        } else {
            0
        };
        let mut partial = Partial {
            file,
            path,
            hashes,
            received,
            spliced: received > 0,
        };
        if len > info.length {
            partial.restart(info, what)?;
        }
        Ok(partial)
    }

    fn restart(&mut self, info: &TargetFile, what: &str) -> Result<()> {
        self.file.set_len(0).map_err(FileError::at(&self.path))?;
        self.file
            .seek(SeekFrom::Start(0))
            .map_err(FileError::at(&self.path))?;
        self.hashes = Hashes::new(info.hashes.iter(), what, Rule::TargetLengthAndHashes)?;
        self.received = 0;
        self.spliced = false;
        Ok(())
    }

    /// Makes the file hold exactly the bytes hashed so far, whatever an earlier attempt left.
    fn truncate_to_received(&mut self) -> Result<()> {
        self.file
            .set_len(self.received)
            .and_then(|()| self.file.seek(SeekFrom::Start(self.received)).map(drop))
            .map_err(FileError::at(&self.path))?;
        Ok(())
    }

    /// Whether what arrived has the trusted length and hashes (spec 5.7.3).
    fn verify(&mut self, info: &TargetFile, what: &str) -> Result<()> {
        if self.received != info.length {
            return Err(TufError::LengthOrHash {
                rule: Rule::TargetLengthAndHashes,
                what: what.to_string(),
                detail: format!("length {} instead of {}", self.received, info.length),
            });
        }
        std::mem::replace(&mut self.hashes, Hashes::none())
            .finish(what, Rule::TargetLengthAndHashes)
    }
}

/// Downloads `url` to `dest`, verified against `info`. `progress` sees every step. Errors
/// name the target by its destination path.
pub async fn download_verified(
    fetcher: &dyn Fetcher,
    url: &str,
    info: &TargetFile,
    dest: &Path,
    options: &DownloadOptions,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<PathBuf> {
    let name = dest.display().to_string();
    download_verified_named(fetcher, url, &name, info, dest, options, progress).await
}

/// As [`download_verified`], with errors naming the target `name` (its TUF target path).
///
/// A file made of more than one response (resumed after a cut, or continued from an
/// earlier process) that fails verification is started again from byte 0, once: a mirror
/// that sent wrong bytes and then cut the connection must not poison every later attempt.
pub async fn download_verified_named(
    fetcher: &dyn Fetcher,
    url: &str,
    name: &str,
    info: &TargetFile,
    dest: &Path,
    options: &DownloadOptions,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<PathBuf> {
    let what = format!("target {name}");
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir).map_err(FileError::at(dir))?;
    }
    let part = partial_path(dest, options);
    if let Some(dir) = part.parent() {
        std::fs::create_dir_all(dir).map_err(FileError::at(dir))?;
    }
    let mut partial = Partial::open(part, info, &what)?;
    progress(Progress::Started {
        content_length: info.length,
        resumed_from: partial.received,
    });
    let mut restarted = false;
    let mut clock = Clock::new(options);
    loop {
        let outcome = match transfer(
            fetcher,
            url,
            info,
            &mut partial,
            &mut clock,
            progress,
            &what,
        )
        .await
        {
            Ok(()) => {
                progress(Progress::Verifying);
                partial.verify(info, &what)
            }
            Err(e) => Err(e),
        };
        match outcome {
            Ok(()) => break,
            Err(e) if !restarted && partial.spliced && starts_over(&e) => {
                tracing::warn!(url, error = %e, "resumed download refused; starting again from byte 0");
                restarted = true;
                partial.restart(info, &what)?;
            }
            Err(e) => {
                // A refused file is not kept; a cut transfer is, for the next try.
                if !is_transient(&e) {
                    let _ = std::fs::remove_file(&partial.path);
                }
                return Err(e);
            }
        }
    }
    // No fsync: a target lost to a power cut is downloaded again, and the installer makes
    // durable what it stages.
    let Partial { file, path, .. } = partial;
    drop(file);
    move_into_place(&path, dest)?;
    progress(Progress::Finished);
    Ok(dest.to_path_buf())
}

/// Fills `partial` up to the trusted length, resuming after transient failures while the
/// retries and `clock` allow.
async fn transfer(
    fetcher: &dyn Fetcher,
    url: &str,
    info: &TargetFile,
    partial: &mut Partial,
    clock: &mut Clock,
    progress: &mut (dyn FnMut(Progress) + Send),
    what: &str,
) -> Result<()> {
    let options = clock.options.clone();
    let mut attempt = 0u32;
    let mut backoff = options.backoff;
    loop {
        let outcome = stream_once(fetcher, url, info, partial, clock, progress, what)
            .await
            .and_then(|()| {
                if partial.received < info.length {
                    // The server closed the connection early: resumable like any cut.
                    Err(FetchError::Transport {
                        url: url.to_string(),
                        reason: format!(
                            "connection closed after {} of {} bytes",
                            partial.received, info.length
                        ),
                    }
                    .into())
                } else {
                    Ok(())
                }
            });
        match outcome {
            Err(e) if is_transient(&e) && Instant::now() + backoff >= clock.deadline() => {
                tracing::warn!(url, error = %e, attempt, "download interrupted; out of time");
                return Err(clock.expired(url));
            }
            Err(e) if is_transient(&e) && attempt < options.retries => {
                tracing::warn!(url, error = %e, attempt, "download interrupted; resuming");
                attempt += 1;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(options.max_backoff);
            }
            other => return other,
        }
    }
}

/// Worth starting again from byte 0 when the file was pieced together: the pieces did not
/// verify, or the server answered a resume with another range.
fn starts_over(e: &TufError) -> bool {
    matches!(
        e,
        TufError::LengthOrHash { .. } | TufError::Fetch(FetchError::BadRange { .. })
    )
}

/// Worth another try: a cut or stalled connection, or a server error. A client error such as
/// 416 (the file on the server is shorter than what we already have) will not get better.
fn is_transient(e: &TufError) -> bool {
    match e {
        TufError::Fetch(
            FetchError::Transport { .. }
            | FetchError::Timeout { .. }
            | FetchError::DownloadTimeout { .. },
        ) => true,
        TufError::Fetch(FetchError::Status { status, .. }) => {
            *status >= 500 || *status == 408 || *status == 429
        }
        _ => false,
    }
}

/// The hashes of what a writer thread wrote, and how its writing ended.
type Written = (Hashes, std::io::Result<()>);

/// Starts the thread that hashes and writes what arrives for `partial`, so that the network,
/// the hash and the disk overlap: on a fast link the hash alone takes as long as the
/// transfer. It lends `partial`'s hash state, given back when the thread is joined.
fn spawn_writer(
    partial: &mut Partial,
) -> Result<(
    tokio::sync::mpsc::Sender<bytes::Bytes>,
    std::thread::JoinHandle<Written>,
)> {
    let file = partial
        .file
        .try_clone()
        .map_err(FileError::at(&partial.path))?;
    let mut hashes = std::mem::replace(&mut partial.hashes, Hashes::none());
    let (tx, mut rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(16);
    let worker = std::thread::spawn(move || {
        let mut writer = std::io::BufWriter::with_capacity(CHUNK, file);
        let mut written = Ok(());
        while let Some(chunk) = rx.blocking_recv() {
            if written.is_ok() {
                hashes.update(&chunk);
                written = writer.write_all(&chunk);
            }
        }
        (hashes, written.and_then(|()| writer.flush()))
    });
    Ok((tx, worker))
}

/// One request: from `partial.received` to the end, or until the connection fails. The
/// partial file keeps what arrived, hashed and written, so a retry resumes after it.
async fn stream_once(
    fetcher: &dyn Fetcher,
    url: &str,
    info: &TargetFile,
    partial: &mut Partial,
    clock: &mut Clock,
    progress: &mut (dyn FnMut(Progress) + Send),
    what: &str,
) -> Result<()> {
    if partial.received == info.length {
        return Ok(());
    }
    partial.truncate_to_received()?;
    let body = tokio::time::timeout_at(clock.deadline(), fetcher.get(url, partial.received))
        .await
        .map_err(|_| clock.expired(url))??;
    if partial.received > 0 && !body.resumed {
        // The server ignored the Range header: start over.
        partial.restart(info, what)?;
    }
    if partial.received > 0 {
        partial.spliced = true;
    }
    let remaining = info.length - partial.received;
    if body.content_length.is_some_and(|n| n > remaining) {
        return Err(FetchError::TooLarge {
            url: url.to_string(),
            limit: info.length,
        }
        .into());
    }
    let (tx, worker) = spawn_writer(partial)?;
    let mut received = partial.received;
    let mut result = Ok(());
    let mut guard = SpeedGuard::new(clock.options.slow_grace, clock.options.min_bytes_per_sec);
    let mut chunks = body.chunks;
    loop {
        let Ok(next) = tokio::time::timeout_at(clock.deadline(), chunks.next()).await else {
            result = Err(clock.expired(url));
            break;
        };
        let Some(chunk) = next else {
            break;
        };
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                result = Err(e.into());
                break;
            }
        };
        let len = chunk.len() as u64;
        if received + len > info.length {
            result = Err(FetchError::TooLarge {
                url: url.to_string(),
                limit: info.length,
            }
            .into());
            break;
        }
        if let Err(e) = guard.add(chunk.len(), url) {
            result = Err(e.into());
            break;
        }
        if tx.send(chunk).await.is_err() {
            break; // the worker stopped: its result says why
        }
        received += len;
        if len > 0 {
            clock.progress();
        }
        progress(Progress::Progress {
            chunk_length: len,
            downloaded: received,
        });
    }
    drop(tx);
    match worker.join() {
        Ok((hashes, written)) => {
            partial.hashes = hashes;
            partial.received = received;
            written.map_err(FileError::at(&partial.path))?;
            result
        }
        Err(_) => {
            // Cannot happen short of a bug; re-reading the file recovers a consistent state.
            *partial = Partial::open(partial.path.clone(), info, what)?;
            Err(TufError::Internal("download worker panicked"))
        }
    }
}
