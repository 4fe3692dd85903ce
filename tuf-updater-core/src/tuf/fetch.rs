//! Getting bytes from the repository. [`Fetcher`] is the seam (tests and apps may bring
//! their own transport); [`HttpFetcher`] is the default, on reqwest with rustls.
//!
//! Every read is capped by the caller's length limit, and time is bounded twice: a read
//! timeout (no byte for that long) and a total deadline for metadata, or a minimum average
//! speed for large files, so a server that trickles a byte a second cannot hold a client
//! (the "slow retrieval" attack of the TUF threat model).

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use thiserror::Error;

/// Why fetching a URL failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The server answered 404 or 403: the file is not there (for metadata, the end of a chain).
    #[error("{url}: not found (HTTP {status})")]
    NotFound {
        /// The URL asked for.
        url: String,
        /// The HTTP status (404 or 403).
        status: u16,
    },
    /// A status other than 200, or 206 to a ranged request (404 and 403 are `NotFound`).
    #[error("{url}: HTTP status {status}")]
    Status {
        /// The URL asked for.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The request did not get an answer: connection, TLS, bad URL or redirect, or a broken body.
    #[error("{url}: {reason}")]
    Transport {
        /// The URL asked for (empty when building the client failed).
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The body is longer than the caller's length limit.
    #[error("{url}: longer than the limit of {limit} bytes")]
    TooLarge {
        /// The URL asked for.
        url: String,
        /// The limit, in bytes.
        limit: u64,
    },
    /// The whole fetch took longer than its deadline.
    #[error("{url}: timed out after {secs} s")]
    Timeout {
        /// The URL asked for.
        url: String,
        /// The deadline, in seconds.
        secs: u64,
    },
    /// The average speed fell below the minimum after the grace period ([`SpeedGuard`]).
    #[error("{url}: slower than {min_bytes_per_sec} bytes/s, the minimum")]
    TooSlow {
        /// The URL asked for.
        url: String,
        /// The minimum average speed, in bytes per second.
        min_bytes_per_sec: u64,
    },
    /// One target download gave up on time: no byte for the longest stall it allows
    /// (counted across its retries), or past its total time bound.
    #[error("{url}: download gave up after {secs} s {why}")]
    DownloadTimeout {
        /// The target's URL.
        url: String,
        /// The bound that was reached, in seconds.
        secs: u64,
        /// Which bound: "in total" or "without receiving a byte".
        why: &'static str,
    },
    /// A 206 whose `Content-Range` does not start at the offset asked for.
    #[error("{url}: asked for bytes from {offset}, the server answered {content_range:?}")]
    BadRange {
        /// The URL asked for.
        url: String,
        /// The byte offset asked for.
        offset: u64,
        /// The `Content-Range` header the server sent (empty if none).
        content_range: String,
    },
}

impl FetchError {
    /// True for [`FetchError::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, FetchError::NotFound { .. })
    }
}

/// A response body: chunks as they arrive.
pub struct Body {
    /// The body's chunks; an error ends the stream.
    pub chunks: BoxStream<'static, Result<Bytes, FetchError>>,
    /// The server's declared length of what follows, if any.
    pub content_length: Option<u64>,
    /// True when the server honoured a non-zero `offset` (HTTP 206).
    pub resumed: bool,
}

/// A transport that GETs a URL, optionally from a byte offset (HTTP Range).
pub trait Fetcher: Send + Sync {
    /// GETs `url`, from byte `offset` when it is non-zero (a `Range` request to resume).
    fn get<'a>(&'a self, url: &'a str, offset: u64) -> BoxFuture<'a, Result<Body, FetchError>>;
}

/// Timeouts and identity of the HTTP client.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// The longest wait for a connection to be established.
    pub connect_timeout: Duration,
    /// The longest wait for the next byte.
    pub read_timeout: Duration,
    /// The `User-Agent` header sent.
    pub user_agent: String,
    /// An HTTP(S) proxy for every request, e.g. `http://proxy.corp:3128`; `None` for none.
    pub proxy: Option<String>,
    /// Extra headers (name, value), sent only to the origin of the URL asked for, not after a
    /// redirect to another.
    pub headers: Vec<(String, String)>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            user_agent: concat!("tuf-updater-core/", env!("CARGO_PKG_VERSION")).to_string(),
            proxy: None,
            headers: Vec::new(),
        }
    }
}

/// Redirects followed for one request.
const MAX_REDIRECTS: usize = 5;

/// The default fetcher: reqwest with rustls and the webpki roots (no system store scan at
/// start-up, which costs tens of milliseconds on every launch).
///
/// Redirects are followed here, not by reqwest, so that the app's own headers (an API key,
/// say) go only to the origin (scheme, host and port) of the URL asked for: a mirror that
/// redirects to another host, or from https to http, does not get them.
#[derive(Clone)]
pub struct HttpFetcher {
    client: reqwest::Client,
    headers: reqwest::header::HeaderMap,
}

impl HttpFetcher {
    /// Builds the client; fails on an unusable proxy or an invalid header.
    pub fn new(config: &HttpConfig) -> Result<Self, FetchError> {
        let err = |e: reqwest::Error| FetchError::Transport {
            url: String::new(),
            reason: format!("cannot build HTTP client: {e}"),
        };
        let mut headers = reqwest::header::HeaderMap::new();
        for (name, value) in &config.headers {
            let parsed_name = reqwest::header::HeaderName::from_bytes(name.as_bytes());
            let parsed_value = reqwest::header::HeaderValue::from_str(value);
            match (parsed_name, parsed_value) {
                (Ok(n), Ok(mut v)) => {
                    // Credentials, as a rule: kept out of reqwest's and hyper's debug output.
                    v.set_sensitive(true);
                    headers.insert(n, v);
                }
                _ => {
                    return Err(FetchError::Transport {
                        url: String::new(),
                        reason: format!("invalid HTTP header {name:?}"),
                    })
                }
            }
        }
        let mut builder = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .user_agent(config.user_agent.clone())
            .no_gzip()
            .redirect(reqwest::redirect::Policy::none());
        if let Some(proxy) = &config.proxy {
            builder = builder.proxy(reqwest::Proxy::all(proxy).map_err(err)?);
        }
        Ok(HttpFetcher {
            client: builder.build().map_err(err)?,
            headers,
        })
    }

    /// GETs `url`, following up to [`MAX_REDIRECTS`] redirects; the app's headers go only
    /// to the origin of `url`.
    async fn send(&self, url: &str, offset: u64) -> Result<reqwest::Response, FetchError> {
        let bad_url = |reason: String| FetchError::Transport {
            url: url.to_string(),
            reason,
        };
        let origin = reqwest::Url::parse(url).map_err(|e| bad_url(format!("bad URL: {e}")))?;
        let mut current = origin.clone();
        for _ in 0..=MAX_REDIRECTS {
            let mut request = self.client.get(current.clone());
            if same_origin(&origin, &current) {
                request = request.headers(self.headers.clone());
            }
            if offset > 0 {
                request = request.header(reqwest::header::RANGE, format!("bytes={offset}-"));
            }
            let response = request.send().await.map_err(|e| transport(url, e))?;
            if !matches!(response.status().as_u16(), 301 | 302 | 303 | 307 | 308) {
                return Ok(response);
            }
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| bad_url("redirect without a usable Location".into()))?;
            current = current
                .join(location)
                .map_err(|e| bad_url(format!("bad redirect {location:?}: {e}")))?;
            if !matches!(current.scheme(), "http" | "https") {
                return Err(bad_url(format!("redirect to {current}: not HTTP")));
            }
        }
        Err(bad_url(format!("more than {MAX_REDIRECTS} redirects")))
    }
}

/// A 206 must say it starts where we asked: `Content-Range: bytes <offset>-<end>/<len>`.
/// Appending bytes from elsewhere would corrupt the partial file.
fn check_content_range(
    url: &str,
    offset: u64,
    headers: &reqwest::header::HeaderMap,
) -> Result<(), FetchError> {
    let value = headers
        .get(reqwest::header::CONTENT_RANGE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let start = value
        .trim()
        .strip_prefix("bytes ")
        .and_then(|r| r.split_once('-'))
        .and_then(|(start, _)| start.trim().parse::<u64>().ok());
    if start == Some(offset) {
        Ok(())
    } else {
        Err(FetchError::BadRange {
            url: url.to_string(),
            offset,
            content_range: value,
        })
    }
}

/// Same scheme, host and port (the default port of the scheme when none is given).
fn same_origin(a: &reqwest::Url, b: &reqwest::Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

fn transport(url: &str, e: reqwest::Error) -> FetchError {
    if e.is_timeout() {
        return FetchError::Timeout {
            url: url.to_string(),
            secs: 0,
        };
    }
    FetchError::Transport {
        url: url.to_string(),
        reason: e.to_string(),
    }
}

impl Fetcher for HttpFetcher {
    fn get<'a>(&'a self, url: &'a str, offset: u64) -> BoxFuture<'a, Result<Body, FetchError>> {
        Box::pin(async move {
            let response = self.send(url, offset).await?;
            let status = response.status().as_u16();
            if status == 404 || status == 403 {
                return Err(FetchError::NotFound {
                    url: url.to_string(),
                    status,
                });
            }
            if !(status == 200 || (status == 206 && offset > 0)) {
                return Err(FetchError::Status {
                    url: url.to_string(),
                    status,
                });
            }
            if status == 206 {
                check_content_range(url, offset, response.headers())?;
            }
            let content_length = response.content_length();
            let owned_url = url.to_string();
            let chunks = response
                .bytes_stream()
                .map(move |r| r.map_err(|e| transport(&owned_url, e)))
                .boxed();
            Ok(Body {
                chunks,
                content_length,
                resumed: status == 206,
            })
        })
    }
}

/// Reads a whole (small) file: at most `max_len` bytes, within `deadline`.
pub async fn fetch_capped(
    fetcher: &dyn Fetcher,
    url: &str,
    max_len: u64,
    deadline: Duration,
) -> Result<Vec<u8>, FetchError> {
    let work = async {
        let mut body = fetcher.get(url, 0).await?;
        let too_large = || FetchError::TooLarge {
            url: url.to_string(),
            limit: max_len,
        };
        if body.content_length.is_some_and(|n| n > max_len) {
            return Err(too_large());
        }
        let capacity = body.content_length.unwrap_or(0).min(max_len);
        let mut data = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
        while let Some(chunk) = body.chunks.next().await {
            let chunk = chunk?;
            if data.len() as u64 + chunk.len() as u64 > max_len {
                return Err(too_large());
            }
            data.extend_from_slice(&chunk);
        }
        Ok(data)
    };
    tokio::time::timeout(deadline, work)
        .await
        .map_err(|_| FetchError::Timeout {
            url: url.to_string(),
            secs: deadline.as_secs(),
        })?
}

/// Guards a long download against trickling: after `grace`, the average speed must stay at
/// or above `min_bytes_per_sec`.
pub struct SpeedGuard {
    start: Instant,
    grace: Duration,
    min_bytes_per_sec: u64,
    received: u64,
}

impl SpeedGuard {
    /// Starts the clock now: `grace` before the speed is checked, then at least
    /// `min_bytes_per_sec` on average.
    pub fn new(grace: Duration, min_bytes_per_sec: u64) -> Self {
        SpeedGuard {
            start: Instant::now(),
            grace,
            min_bytes_per_sec,
            received: 0,
        }
    }

    /// Counts `n` more bytes received from `url`; [`FetchError::TooSlow`] once past the grace
    /// period below the minimum average.
    pub fn add(&mut self, n: usize, url: &str) -> Result<(), FetchError> {
        self.received += n as u64;
        let elapsed = self.start.elapsed();
        if elapsed > self.grace {
            let rate = self.received as f64 / elapsed.as_secs_f64();
            if rate < self.min_bytes_per_sec as f64 {
                return Err(FetchError::TooSlow {
                    url: url.to_string(),
                    min_bytes_per_sec: self.min_bytes_per_sec,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod header_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn header_values_are_marked_sensitive_and_never_printed() {
        let config = HttpConfig {
            headers: vec![("Authorization".into(), "Bearer hunter2".into())],
            ..HttpConfig::default()
        };
        let fetcher = HttpFetcher::new(&config).unwrap();
        let value = fetcher.headers.get("authorization").unwrap();
        assert!(value.is_sensitive());
        assert!(!format!("{:?}", fetcher.headers).contains("hunter2"));
    }
}
