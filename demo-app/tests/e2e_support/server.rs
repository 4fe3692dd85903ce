//! The repository over HTTP on 127.0.0.1, as a static web server serves it: `GET`/`HEAD` of
//! files under `metadata/` and `targets/`, `Range: bytes=N-`, 404 for anything else, with
//! `Content-Length`. For a screenshot in the middle of a download it can hold the next
//! artifact download half-way until the test releases it: no timing involved. A held
//! download goes on by itself after [`HOLD_LIMIT`], below the client's 30 s read timeout.
//! It can also answer 403 to every request that lacks a header ([`RepoServer::require_header`]),
//! as a private repository behind an API key does.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tiny_http::{Header, Method, Request, Response, Server, StatusCode};
use updater_pack::serve::{file_for, range_start};

/// The longest a download is held.
pub const HOLD_LIMIT: Duration = Duration::from_secs(20);

#[derive(Default)]
struct HoldState {
    /// The next artifact download is to be held.
    armed: bool,
    /// A download is held: its path, the bytes sent, the file's length.
    held: Option<(String, u64, u64)>,
    released: bool,
}

#[derive(Default)]
struct Hold {
    state: Mutex<HoldState>,
    changed: Condvar,
}

/// A held download, as the test sees it.
#[derive(Clone, Debug)]
pub struct Held {
    pub path: String,
    pub sent: u64,
    pub len: u64,
}

pub struct RepoServer {
    server: Arc<Server>,
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub url: String,
    hold: Arc<Hold>,
    log: Arc<Mutex<Vec<String>>>,
    required: Required,
    thread: Option<JoinHandle<()>>,
}

/// The header (name, value) every request must carry, if any.
type Required = Arc<Mutex<Option<(String, String)>>>;

impl RepoServer {
    /// Serves `repository` (the directory holding `metadata/` and `targets/`).
    pub fn start(repository: &Path) -> RepoServer {
        let server = Arc::new(Server::http("127.0.0.1:0").unwrap());
        let url = format!("http://{}", server.server_addr().to_ip().unwrap());
        let hold = Arc::new(Hold::default());
        let log = Arc::new(Mutex::new(Vec::new()));
        let required: Required = Arc::default();
        let thread = {
            let (server, hold, log) = (server.clone(), hold.clone(), log.clone());
            let required = required.clone();
            let root = repository.to_path_buf();
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    let (root, hold, log) = (root.clone(), hold.clone(), log.clone());
                    let required = required.lock().unwrap().clone();
                    std::thread::spawn(move || match refused(&request, required.as_ref()) {
                        true => deny(request, &log),
                        false => handle(&root, request, &hold, &log),
                    });
                }
            })
        };
        RepoServer {
            server,
            url,
            hold,
            log,
            required,
            thread: Some(thread),
        }
    }

    /// Holds the next artifact download once half of the file is sent.
    pub fn hold_next_download(&self) {
        let mut state = self.hold.state.lock().unwrap();
        *state = HoldState {
            armed: true,
            ..HoldState::default()
        };
    }

    /// The download being held, once there is one.
    pub fn held(&self) -> Option<Held> {
        let state = self.hold.state.lock().unwrap();
        state
            .held
            .clone()
            .filter(|_| !state.released)
            .map(|(path, sent, len)| Held { path, sent, len })
    }

    /// From now on, answers 403 to any request without header `name` set to `value`.
    pub fn require_header(&self, name: &str, value: &str) {
        *self.required.lock().unwrap() = Some((name.to_string(), value.to_string()));
    }

    /// Lets a held download (and any later one) go on.
    pub fn release(&self) {
        let mut state = self.hold.state.lock().unwrap();
        state.armed = false;
        state.released = true;
        self.hold.changed.notify_all();
    }

    /// The requests so far, one line each (shared, for [`super::Logs`]).
    /// Whether any artifact (anything under `/targets/`) was asked for.
    pub fn targets_requested(&self) -> bool {
        self.requests()
            .lock()
            .unwrap()
            .iter()
            .any(|r| r.contains("/targets/"))
    }

    pub fn requests(&self) -> Arc<Mutex<Vec<String>>> {
        self.log.clone()
    }
}

impl Drop for RepoServer {
    fn drop(&mut self) {
        self.release();
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Whether `request` lacks the `required` header.
fn refused(request: &Request, required: Option<&(String, String)>) -> bool {
    required.is_some_and(|(name, value)| {
        !request
            .headers()
            .iter()
            .any(|h| h.field.to_string().eq_ignore_ascii_case(name) && h.value.as_str() == value)
    })
}

/// 403, logged as `<method> <path> 403 without the required header`.
fn deny(request: Request, log: &Mutex<Vec<String>>) {
    log.lock().unwrap().push(format!(
        "{} {} 403 without the required header",
        request.method(),
        request.url()
    ));
    let _ = request.respond(Response::empty(StatusCode(403)));
}

fn handle(root: &Path, request: Request, hold: &Arc<Hold>, log: &Mutex<Vec<String>>) {
    let path = request.url().to_string();
    let method = request.method().to_string();
    let note = |status: u16, extra: String| {
        log.lock()
            .unwrap()
            .push(format!("{method} {path} {status}{extra}"));
    };
    let head = match request.method() {
        Method::Get => false,
        Method::Head => true,
        _ => {
            note(405, String::new());
            let _ = request.respond(Response::empty(StatusCode(405)));
            return;
        }
    };
    let Some(mut file) = file_for(root, &path).and_then(|p| File::open(p).ok()) else {
        note(404, String::new());
        let _ = request.respond(Response::empty(StatusCode(404)));
        return;
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let (status, start) = match range_start(&request) {
        Some(start) if start > 0 && start < len => (206, start),
        Some(start) if start >= len && len > 0 => {
            note(416, String::new());
            let _ = request.respond(Response::empty(StatusCode(416)));
            return;
        }
        _ => (200, 0),
    };
    let mut headers = vec![Header::from_bytes("Accept-Ranges", "bytes").unwrap()];
    if status == 206 {
        let range = format!("bytes {start}-{}/{len}", len - 1);
        headers.push(Header::from_bytes("Content-Range", range).unwrap());
    }
    file.seek(SeekFrom::Start(start)).unwrap();
    // Only a whole download of an artifact is held, half-way.
    let hold_at = {
        let mut state = hold.state.lock().unwrap();
        let hold_this = !head && path.starts_with("/targets/") && state.armed && start == 0;
        if hold_this {
            state.armed = false;
        }
        hold_this.then_some(len / 2)
    };
    note(
        status,
        format!(
            " from byte {start}{}",
            if hold_at.is_some() { ", held" } else { "" }
        ),
    );
    let body = HeldRead {
        file,
        sent: start,
        len,
        hold_at,
        hold: hold.clone(),
        path: path.clone(),
    };
    let response = Response::new(
        StatusCode(status),
        headers,
        body,
        Some(usize::try_from(len - start).unwrap()),
        None,
    )
    // Content-Length, not chunks, as a static server sends a file.
    .with_chunked_threshold(usize::MAX);
    let _ = request.respond(response);
}

/// The file, stopping at `hold_at` until the test releases it (or [`HOLD_LIMIT`]).
struct HeldRead {
    file: File,
    sent: u64,
    len: u64,
    hold_at: Option<u64>,
    hold: Arc<Hold>,
    path: String,
}

impl Read for HeldRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut max = buf.len();
        if let Some(at) = self.hold_at {
            if self.sent >= at {
                self.wait();
                self.hold_at = None;
            } else {
                max = max.min(usize::try_from(at - self.sent).unwrap_or(usize::MAX));
            }
        }
        let n = self.file.read(&mut buf[..max])?;
        self.sent += n as u64;
        Ok(n)
    }
}

impl HeldRead {
    fn wait(&self) {
        let start = Instant::now();
        let mut state = self.hold.state.lock().unwrap();
        state.held = Some((self.path.clone(), self.sent, self.len));
        while !state.released && start.elapsed() < HOLD_LIMIT {
            state = self
                .hold
                .changed
                .wait_timeout(state, Duration::from_millis(200))
                .unwrap()
                .0;
        }
        state.released = true;
    }
}
