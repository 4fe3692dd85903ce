//! `serve`: a development HTTP server for a repository: `GET`/`HEAD` of files under
//! `metadata/` and `targets/`, `Range: bytes=N-` for resumed downloads, 404 for anything
//! else. It binds to a loopback address unless told otherwise, and counts what it sends
//! (tests and the benchmark read the counts).

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tiny_http::{Header, Method, Request, Response, Server, StatusCode};

use crate::dirfetch::resolve_in;
use crate::error::{PackError, Result};

/// One request served.
#[derive(Clone, Debug, PartialEq)]
pub struct Served {
    pub path: String,
    pub status: u16,
    pub bytes: u64,
}

/// What the server has sent.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub bytes: AtomicU64,
    log: Mutex<Vec<Served>>,
}

impl Stats {
    pub fn log(&self) -> Vec<Served> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Forgets what was served so far.
    pub fn reset(&self) {
        self.requests.store(0, Ordering::Relaxed);
        self.bytes.store(0, Ordering::Relaxed);
        if let Ok(mut l) = self.log.lock() {
            l.clear();
        }
    }

    fn record(&self, served: Served, verbose: bool) {
        if verbose {
            eprintln!("{} {} {} bytes", served.status, served.path, served.bytes);
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(served.bytes, Ordering::Relaxed);
        if let Ok(mut l) = self.log.lock() {
            l.push(served);
        }
    }
}

#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub addr: SocketAddr,
    /// Allow a non-loopback address (the server is for development only).
    pub allow_remote: bool,
    /// Log each request on stderr.
    pub verbose: bool,
}

/// A running server; stops when dropped.
pub struct DevServer {
    server: Arc<Server>,
    addr: SocketAddr,
    stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl DevServer {
    /// Serves `repository` (the directory holding `metadata/` and `targets/`).
    pub fn start(repository: &Path, opts: &ServeOptions) -> Result<Self> {
        if !opts.addr.ip().is_loopback() && !opts.allow_remote {
            return Err(PackError::Serve(format!(
                "{} is not a loopback address; this is a development server \
                 (pass --allow-remote to bind it anyway)",
                opts.addr
            )));
        }
        if !repository.join("metadata").is_dir() {
            return Err(PackError::Serve(format!(
                "{} has no metadata/ directory",
                repository.display()
            )));
        }
        let server = Server::http(opts.addr)
            .map_err(|e| PackError::Serve(format!("cannot listen on {}: {e}", opts.addr)))?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| PackError::Serve("not an IP listener".into()))?;
        let server = Arc::new(server);
        let stats = Arc::new(Stats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let root = repository.to_path_buf();
        let thread = {
            let (server, stats, stop, verbose) =
                (server.clone(), stats.clone(), stop.clone(), opts.verbose);
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let (root, stats) = (root.clone(), stats.clone());
                    // One thread per request: a slow download does not hold up metadata.
                    std::thread::spawn(move || handle(&root, request, &stats, verbose));
                }
            })
        };
        Ok(DevServer {
            server,
            addr,
            stats,
            stop,
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn stats(&self) -> Arc<Stats> {
        self.stats.clone()
    }

    /// Blocks until the server stops (never, for the CLI).
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn header(name: &str, value: &str) -> Option<Header> {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

fn respond_status(request: Request, status: u16, path: String, stats: &Stats, verbose: bool) {
    // Counted before the answer: a client that has its answer finds it counted.
    stats.record(
        Served {
            path,
            status,
            bytes: 0,
        },
        verbose,
    );
    let _ = request.respond(Response::empty(StatusCode(status)));
}

/// The file a request path names: under `metadata/`, `apps/<app>/metadata/` or `targets/`,
/// no escapes. Shared with the test servers that need to misbehave on purpose (demo-app's
/// e2e tests).
pub fn file_for(root: &Path, url: &str) -> Option<PathBuf> {
    let path = url.split(['?', '#']).next()?.strip_prefix('/')?;
    let mut segments = path.split('/');
    let first = segments.next()?;
    let app_metadata = first == "apps" && segments.nth(1) == Some("metadata");
    if first != "metadata" && first != "targets" && !app_metadata {
        return None;
    }
    resolve_in(root, path).filter(|p| p.is_file())
}

/// `Range: bytes=N-` → N. Other forms are ignored (the whole file is sent).
pub fn range_start(request: &Request) -> Option<u64> {
    let value = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Range"))?
        .value
        .as_str();
    let spec = value.strip_prefix("bytes=")?;
    let start = spec.strip_suffix('-')?;
    start.parse().ok()
}

fn handle(root: &Path, request: Request, stats: &Stats, verbose: bool) {
    let path = request.url().to_string();
    let head = match request.method() {
        Method::Get => false,
        Method::Head => true,
        _ => return respond_status(request, 405, path, stats, verbose),
    };
    let Some(file_path) = file_for(root, &path) else {
        return respond_status(request, 404, path, stats, verbose);
    };
    let Ok(mut file) = File::open(&file_path) else {
        return respond_status(request, 404, path, stats, verbose);
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let content_type = if path.ends_with(".json") {
        "application/json"
    } else {
        "application/octet-stream"
    };
    let mut headers: Vec<Header> = [
        header("Content-Type", content_type),
        header("Accept-Ranges", "bytes"),
        header("Cache-Control", "no-store"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let (status, start) = match range_start(&request) {
        Some(start) if start > 0 && start < len => {
            headers.extend(header(
                "Content-Range",
                &format!("bytes {start}-{}/{len}", len - 1),
            ));
            (206, start)
        }
        Some(start) if start >= len && len > 0 => {
            return respond_status(request, 416, path, stats, verbose)
        }
        _ => (200, 0),
    };
    if file.seek(SeekFrom::Start(start)).is_err() {
        return respond_status(request, 500, path, stats, verbose);
    }
    let body_len = len - start;
    let sent = if head { 0 } else { body_len };
    let response = Response::new(
        StatusCode(status),
        headers,
        file,
        Some(usize::try_from(body_len).unwrap_or(usize::MAX)),
        None,
    );
    // Counted before the answer, as what is sent: a client that has its answer finds it
    // counted (a client that goes away mid-body is counted whole).
    stats.record(
        Served {
            path: path.clone(),
            status,
            bytes: sent,
        },
        verbose,
    );
    // tiny_http sends the headers only for HEAD.
    if let Err(e) = request.respond(response) {
        tracing::debug!(path, error = %e, "client went away");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_repository_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("metadata")).unwrap();
        std::fs::write(dir.path().join("metadata/1.root.json"), b"{}").unwrap();
        std::fs::write(dir.path().join("secret"), b"x").unwrap();
        assert!(file_for(dir.path(), "/metadata/1.root.json").is_some());
        assert!(file_for(dir.path(), "/metadata/1.root.json?x=1").is_some());
        assert!(file_for(dir.path(), "/secret").is_none());
        assert!(file_for(dir.path(), "/metadata/../secret").is_none());
        assert!(file_for(dir.path(), "/metadata/%2E%2E/secret").is_none());
        assert!(file_for(dir.path(), "/metadata").is_none());
    }
}
