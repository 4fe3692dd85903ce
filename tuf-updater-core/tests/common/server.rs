//! A real HTTP server on 127.0.0.1 (tiny_http, port 0) serving whatever the test put at a
//! URL path, with a log of every request and hostile reply modes: trickling bytes, a body
//! that never ends, an arbitrary status.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// What the server answers at one path.
#[derive(Clone, Debug)]
pub enum Reply {
    /// The bytes, with a `Content-Length`.
    Bytes(Vec<u8>),
    /// The bytes with an honest `Content-Length`, sent `chunk` bytes at a time with `pause`
    /// before each chunk (the slow-retrieval attack).
    Trickle {
        bytes: Vec<u8>,
        chunk: usize,
        pause: Duration,
    },
    /// A 200 without a length whose body never ends (until the client hangs up).
    Endless,
    /// An empty response with this status.
    Status(u16),
    /// A 302 to this `Location` (absolute, or relative to the request).
    Redirect(String),
}

/// One request as the server saw it: the raw request path and the status answered.
pub type LogEntry = (String, u16);

/// The headers of one request: its path, then (lower-case name, value) pairs.
pub type HeaderEntry = (String, Vec<(String, String)>);

pub struct Server {
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub base: String,
    files: Arc<Mutex<HashMap<String, Reply>>>,
    log: Arc<Mutex<Vec<LogEntry>>>,
    headers: Arc<Mutex<Vec<HeaderEntry>>>,
    /// Body bytes written by `Trickle` and `Endless` replies so far.
    streamed: Arc<AtomicU64>,
    inner: Arc<tiny_http::Server>,
}

impl Drop for Server {
    fn drop(&mut self) {
        // The serving thread holds one reference, each handle (see `share`) another: the
        // last handle stops the server.
        if Arc::strong_count(&self.inner) <= 2 {
            self.inner.unblock();
        }
    }
}

impl Server {
    pub fn start() -> Self {
        let inner = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind 127.0.0.1:0"));
        let addr = inner.server_addr().to_ip().expect("an IP listener");
        let files: Arc<Mutex<HashMap<String, Reply>>> = Arc::default();
        let log: Arc<Mutex<Vec<LogEntry>>> = Arc::default();
        let headers: Arc<Mutex<Vec<HeaderEntry>>> = Arc::default();
        let streamed: Arc<AtomicU64> = Arc::default();
        let server = Server {
            base: format!("http://{addr}"),
            files: files.clone(),
            log: log.clone(),
            headers: headers.clone(),
            streamed: streamed.clone(),
            inner: inner.clone(),
        };
        thread::spawn(move || {
            for request in inner.incoming_requests() {
                let path = request.url().to_string();
                let reply = files.lock().unwrap().get(&path).cloned();
                let status = match &reply {
                    None => 404,
                    Some(Reply::Status(s)) => *s,
                    Some(Reply::Redirect(_)) => 302,
                    Some(_) => 200,
                };
                let seen = request
                    .headers()
                    .iter()
                    .map(|h| {
                        (
                            h.field.as_str().as_str().to_ascii_lowercase(),
                            h.value.to_string(),
                        )
                    })
                    .collect();
                headers.lock().unwrap().push((path.clone(), seen));
                log.lock().unwrap().push((path, status));
                let streamed = streamed.clone();
                // One thread per request, so a reply that never ends blocks nobody else.
                thread::spawn(move || respond(request, reply, &streamed));
            }
        });
        server
    }

    /// Another handle on the same server (files, log and all), for a second repository
    /// served beside the first.
    pub fn share(&self) -> Server {
        Server {
            base: self.base.clone(),
            files: self.files.clone(),
            log: self.log.clone(),
            headers: self.headers.clone(),
            streamed: self.streamed.clone(),
            inner: self.inner.clone(),
        }
    }

    pub fn put(&self, path: &str, reply: Reply) {
        assert!(path.starts_with('/'), "{path}");
        self.files.lock().unwrap().insert(path.to_string(), reply);
    }

    pub fn put_bytes(&self, path: &str, bytes: Vec<u8>) {
        self.put(path, Reply::Bytes(bytes));
    }

    /// Stops serving `path` (it answers 404 from now on).
    pub fn drop_path(&self, path: &str) {
        self.files.lock().unwrap().remove(path);
    }

    /// The bytes currently served at `path`, if plain bytes.
    pub fn get(&self, path: &str) -> Option<Vec<u8>> {
        match self.files.lock().unwrap().get(path) {
            Some(Reply::Bytes(b)) => Some(b.clone()),
            _ => None,
        }
    }

    pub fn log(&self) -> Vec<LogEntry> {
        self.log.lock().unwrap().clone()
    }

    /// The paths requested so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.log().into_iter().map(|(p, _)| p).collect()
    }

    pub fn clear_log(&self) {
        self.log.lock().unwrap().clear();
        self.headers.lock().unwrap().clear();
    }

    /// The value of header `name` (any case) in each request for `path`, in order (`None`
    /// where a request did not carry it).
    pub fn header_values(&self, path: &str, name: &str) -> Vec<Option<String>> {
        let name = name.to_ascii_lowercase();
        self.headers
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, hs)| hs.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()))
            .collect()
    }

    pub fn requested(&self, path: &str) -> bool {
        self.log().iter().any(|(p, _)| p == path)
    }

    /// How many times `path` was requested.
    pub fn count(&self, path: &str) -> usize {
        self.log().iter().filter(|(p, _)| p == path).count()
    }

    pub fn streamed_bytes(&self) -> u64 {
        self.streamed.load(Ordering::SeqCst)
    }
}

fn respond(request: tiny_http::Request, reply: Option<Reply>, streamed: &AtomicU64) {
    match reply {
        None => {
            let _ = request.respond(tiny_http::Response::empty(404));
        }
        Some(Reply::Status(status)) => {
            let _ = request.respond(tiny_http::Response::empty(status));
        }
        Some(Reply::Redirect(location)) => {
            let header = tiny_http::Header::from_bytes("Location", location.as_bytes())
                .expect("a valid Location");
            let _ = request.respond(tiny_http::Response::empty(302).with_header(header));
        }
        Some(Reply::Bytes(bytes)) => {
            // Always a Content-Length: tiny_http would switch large bodies to chunked.
            let response = tiny_http::Response::from_data(bytes).with_chunked_threshold(usize::MAX);
            let _ = request.respond(response);
        }
        Some(Reply::Trickle {
            bytes,
            chunk,
            pause,
        }) => {
            let mut out = request.into_writer();
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                bytes.len()
            );
            if out
                .write_all(head.as_bytes())
                .and_then(|()| out.flush())
                .is_err()
            {
                return;
            }
            for piece in bytes.chunks(chunk.max(1)) {
                thread::sleep(pause);
                if out.write_all(piece).and_then(|()| out.flush()).is_err() {
                    return;
                }
                streamed.fetch_add(piece.len() as u64, Ordering::SeqCst);
            }
        }
        Some(Reply::Endless) => {
            let mut out = request.into_writer();
            // No length and no chunking: the body ends when the connection does, i.e. never.
            let head =
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n";
            if out
                .write_all(head.as_bytes())
                .and_then(|()| out.flush())
                .is_err()
            {
                return;
            }
            let block = vec![b' '; 16 * 1024];
            loop {
                if out.write_all(&block).and_then(|()| out.flush()).is_err() {
                    return;
                }
                streamed.fetch_add(block.len() as u64, Ordering::SeqCst);
            }
        }
    }
}
