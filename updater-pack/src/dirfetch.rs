//! A [`Fetcher`] over a local repository directory, so that `verify` (and tests) can run our
//! client exactly as it runs over HTTP. URLs are `repo:<path>` with the path
//! percent-encoded as the client encodes it; nothing outside the directory can be read.

use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::stream::{self, StreamExt};
use percent_encoding::percent_decode_str;
use tuf_updater_core::tuf::fetch::{Body, FetchError, Fetcher};

/// The URL scheme [`DirFetcher`] answers.
pub const SCHEME: &str = "repo:";

/// Reads files of one directory.
#[derive(Clone, Debug)]
pub struct DirFetcher {
    root: PathBuf,
    bytes: Arc<AtomicU64>,
    requests: Arc<AtomicU64>,
}

impl DirFetcher {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DirFetcher {
            root: root.into(),
            bytes: Arc::default(),
            requests: Arc::default(),
        }
    }

    /// Bytes returned so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Requests answered so far (found or not).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The file a `repo:` URL names, if it is a safe relative path.
    pub fn resolve(&self, url: &str) -> Option<PathBuf> {
        resolve_in(&self.root, url.strip_prefix(SCHEME)?)
    }
}

/// `root` joined with the percent-encoded relative `path`, refusing any segment that is not
/// a plain file name on every OS: empty, `.`, `..`, a root or a drive prefix (`C:`,
/// `\\server\share`), anything with a `:` (drive letters, NTFS streams), a backslash, a
/// slash or NUL, and the Windows device names (`CON`, `NUL`, `COM1`, ...).
pub fn resolve_in(root: &Path, path: &str) -> Option<PathBuf> {
    let mut out = root.to_path_buf();
    for segment in path.split('/') {
        let decoded = percent_decode_str(segment).decode_utf8().ok()?;
        if !plain_name(&decoded) {
            return None;
        }
        out.push(decoded.as_ref());
    }
    Some(out)
}

/// One path component, the same on every OS, naming an ordinary file.
fn plain_name(segment: &str) -> bool {
    if segment.is_empty() || segment.contains(['/', '\\', '\0', ':']) {
        return false;
    }
    let mut components = Path::new(segment).components();
    let normal = matches!(
        (components.next(), components.next()),
        (Some(Component::Normal(_)), None)
    );
    let stem = segment.split('.').next().unwrap_or_default().trim_end();
    let device = ["CON", "PRN", "AUX", "NUL"]
        .iter()
        .any(|d| stem.eq_ignore_ascii_case(d))
        || ["COM", "LPT"].iter().any(|d| {
            stem.len() == 4
                && stem.get(..3).is_some_and(|p| p.eq_ignore_ascii_case(d))
                && stem
                    .get(3..)
                    .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
        });
    normal && !device
}

impl Fetcher for DirFetcher {
    fn get<'a>(&'a self, url: &'a str, offset: u64) -> BoxFuture<'a, Result<Body, FetchError>> {
        Box::pin(async move {
            self.requests.fetch_add(1, Ordering::Relaxed);
            let not_found = || FetchError::NotFound {
                url: url.to_string(),
                status: 404,
            };
            let path = self.resolve(url).ok_or_else(not_found)?;
            let data = match tokio::fs::read(&path).await {
                Ok(d) => d,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_found()),
                Err(e) => {
                    return Err(FetchError::Transport {
                        url: url.to_string(),
                        reason: e.to_string(),
                    })
                }
            };
            let start = usize::try_from(offset).unwrap_or(usize::MAX);
            let data = data.get(start..).map(<[u8]>::to_vec).unwrap_or_default();
            self.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
            let len = data.len() as u64;
            let chunks = stream::iter([Ok(Bytes::from(data))]).boxed();
            Ok(Body {
                chunks,
                content_length: Some(len),
                resumed: offset > 0,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_escapes() {
        let f = DirFetcher::new("/srv/repo");
        assert_eq!(
            f.resolve("repo:metadata/1.root.json"),
            Some(PathBuf::from("/srv/repo/metadata/1.root.json"))
        );
        assert_eq!(
            f.resolve("repo:targets/a%20b/c"),
            Some(PathBuf::from("/srv/repo/targets/a b/c"))
        );
        assert!(f.resolve("repo:../etc/passwd").is_none());
        assert!(f.resolve("repo:metadata/%2E%2E/x").is_none());
        assert!(f.resolve("repo:metadata/a%2Fb").is_none());
        assert!(f.resolve("repo:/abs").is_none());
        assert!(f.resolve("http://x/y").is_none());
    }

    /// Paths that name another file on Windows are refused on every OS.
    #[test]
    fn refuses_drive_prefixes_roots_and_devices() {
        let f = DirFetcher::new("/srv/repo");
        for url in [
            "repo:metadata/C:/Windows/win.ini",
            "repo:metadata/C%3A/Windows/win.ini",
            "repo:metadata/C:%5CWindows%5Cwin.ini",
            "repo:metadata/c:win.ini",
            "repo:metadata/%5C%5Cserver%5Cshare%5Cx",
            "repo:metadata/%5CWindows",
            "repo:metadata/root.json:stream",
            "repo:metadata/.",
            "repo:metadata//x",
            "repo:metadata/x%00y",
            "repo:metadata/CON",
            "repo:metadata/nul.json",
            "repo:metadata/COM1.txt",
            "repo:metadata/lpt9",
        ] {
            assert!(f.resolve(url).is_none(), "{url} was accepted");
        }
        assert_eq!(
            f.resolve("repo:targets/console.bin"),
            Some(PathBuf::from("/srv/repo/targets/console.bin"))
        );
        assert_eq!(
            f.resolve("repo:targets/com10"),
            Some(PathBuf::from("/srv/repo/targets/com10"))
        );
    }
}
