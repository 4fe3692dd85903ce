//! The resumable verified download against a real HTTP server on 127.0.0.1 that cuts
//! connections, ignores Range, fails, or serves the wrong bytes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tuf_updater_core::tuf::download::{download_verified, part_path, DownloadOptions, Progress};
use tuf_updater_core::tuf::fetch::{FetchError, HttpConfig, HttpFetcher};
use tuf_updater_core::tuf::metadata::TargetFile;
use tuf_updater_core::tuf::TufError;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// The first response stops after `cut` bytes; later ones honour Range.
    CutOnceThenRange,
    /// Cut once, then always answer 200 with the whole file (Range ignored).
    CutOnceIgnoreRange,
    /// Always HTTP 500.
    Fail,
    /// Honour Range.
    Normal,
    /// The first response sends wrong bytes and is cut after `cut`; later ones honour Range.
    CorruptThenCut,
    /// Sends the headers (with the length) and then nothing, for minutes.
    Stall,
    /// Answers a Range with a 206 of the whole file, labelled `bytes 0-…` (not where asked).
    WrongContentRange,
}

struct Server {
    url: String,
    /// The Range header of each request ("" when none).
    ranges: Arc<Mutex<Vec<String>>>,
}

/// A reader that yields `n` bytes and then fails, which makes tiny_http drop the connection.
struct CutReader {
    data: Vec<u8>,
    pos: usize,
}

impl Read for CutReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.data.len() {
            return Err(std::io::Error::other("connection cut"));
        }
        let n = buf.len().min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn serve(data: Vec<u8>, mode: Mode, cut: usize) -> Server {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!("http://{}/file.bin", server.server_addr().to_ip().unwrap());
    let ranges = Arc::new(Mutex::new(Vec::new()));
    let log = ranges.clone();
    std::thread::spawn(move || {
        let mut served = 0;
        for request in server.incoming_requests() {
            let range = request
                .headers()
                .iter()
                .find(|h| h.field.equiv("Range"))
                .map(|h| h.value.to_string())
                .unwrap_or_default();
            log.lock().unwrap().push(range.clone());
            served += 1;
            let offset: usize = range
                .strip_prefix("bytes=")
                .and_then(|r| r.strip_suffix('-'))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let cut_now = served == 1
                && matches!(
                    mode,
                    Mode::CutOnceThenRange | Mode::CutOnceIgnoreRange | Mode::CorruptThenCut
                );
            let _ = match mode {
                Mode::Fail => request.respond(tiny_http::Response::empty(500)),
                Mode::Stall => {
                    let len = data.len();
                    std::thread::spawn(move || {
                        use std::io::Write;
                        let mut out = request.into_writer();
                        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n");
                        let _ = out.write_all(head.as_bytes()).and_then(|()| out.flush());
                        std::thread::sleep(Duration::from_secs(600));
                    });
                    Ok(())
                }
                _ if cut_now => {
                    let mut sent = data[..cut].to_vec();
                    if mode == Mode::CorruptThenCut {
                        sent.iter_mut().for_each(|b| *b ^= 0x5A);
                    }
                    let reader = CutReader { data: sent, pos: 0 };
                    request.respond(tiny_http::Response::new(
                        200.into(),
                        vec![],
                        reader,
                        Some(data.len()),
                        None,
                    ))
                }
                Mode::WrongContentRange if offset > 0 => {
                    let header = tiny_http::Header::from_bytes(
                        "Content-Range",
                        format!("bytes 0-{}/{}", data.len() - 1, data.len()),
                    )
                    .unwrap();
                    request.respond(
                        tiny_http::Response::from_data(data.clone())
                            .with_status_code(206)
                            .with_header(header),
                    )
                }
                Mode::CutOnceIgnoreRange => {
                    request.respond(tiny_http::Response::from_data(data.clone()))
                }
                _ if offset > 0 => {
                    let header = tiny_http::Header::from_bytes(
                        "Content-Range",
                        format!("bytes {offset}-{}/{}", data.len() - 1, data.len()),
                    )
                    .unwrap();
                    request.respond(
                        tiny_http::Response::from_data(data[offset..].to_vec())
                            .with_status_code(206)
                            .with_header(header),
                    )
                }
                _ => request.respond(tiny_http::Response::from_data(data.clone())),
            };
        }
    });
    Server { url, ranges }
}

fn payload() -> Vec<u8> {
    (0..3 * 1024 * 1024u32)
        .map(|i| (i * 7 % 251) as u8)
        .collect()
}

fn info_for(data: &[u8]) -> TargetFile {
    let mut hashes = BTreeMap::new();
    hashes.insert("sha256".to_string(), hex::encode(Sha256::digest(data)));
    TargetFile::new(data.len() as u64, hashes)
}

fn fast_retries() -> DownloadOptions {
    DownloadOptions {
        retries: 3,
        backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(1),
        ..DownloadOptions::default()
    }
}

/// A cut leaves the socket open on tiny_http's side: the client's read timeout (short here)
/// is what notices the stall, as it would on a real network.
/// Downloads `data` (as the metadata describes it) from `server` to `dest`, quietly.
async fn download(server: &Server, data: &[u8], dest: &std::path::Path) -> Result<(), TufError> {
    download_verified(
        &fetcher(),
        &server.url,
        &info_for(data),
        dest,
        &fast_retries(),
        &mut |_| {},
    )
    .await
    .map(drop)
}

fn fetcher() -> HttpFetcher {
    HttpFetcher::new(&HttpConfig {
        read_timeout: Duration::from_millis(500),
        ..HttpConfig::default()
    })
    .unwrap()
}

#[tokio::test]
async fn resumes_with_range_after_a_cut_connection() {
    let data = payload();
    let server = serve(data.clone(), Mode::CutOnceThenRange, 1024 * 1024);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("file.bin");
    let mut events = Vec::new();
    download_verified(
        &fetcher(),
        &server.url,
        &info_for(&data),
        &dest,
        &fast_retries(),
        &mut |p| events.push(p),
    )
    .await
    .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    let ranges = server.ranges.lock().unwrap().clone();
    assert_eq!(ranges.len(), 2, "{ranges:?}");
    assert_eq!(ranges[0], "");
    // Resumed exactly after what arrived before the cut (tiny_http may have sent it all).
    let resumed_at: u64 = ranges[1]
        .strip_prefix("bytes=")
        .and_then(|r| r.strip_suffix('-'))
        .unwrap()
        .parse()
        .unwrap();
    assert!(resumed_at > 0 && resumed_at <= 1024 * 1024, "{resumed_at}");
    assert_eq!(
        events.first(),
        Some(&Progress::Started {
            content_length: data.len() as u64,
            resumed_from: 0
        })
    );
    assert_eq!(events.last(), Some(&Progress::Finished));
    assert!(events.contains(&Progress::Verifying));
    let streamed: u64 = events
        .iter()
        .map(|e| match e {
            Progress::Progress { chunk_length, .. } => *chunk_length,
            _ => 0,
        })
        .sum();
    assert_eq!(streamed, data.len() as u64);
    assert!(!part_path(&dest).exists());
}

#[tokio::test]
async fn starts_over_when_the_server_ignores_range() {
    let data = payload();
    let server = serve(data.clone(), Mode::CutOnceIgnoreRange, 512 * 1024);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("file.bin");
    download(&server, &data, &dest).await.unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    assert_eq!(server.ranges.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn continues_a_partial_file_left_by_an_earlier_process() {
    let data = payload();
    let server = serve(data.clone(), Mode::Normal, 0);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("file.bin");
    std::fs::write(part_path(&dest), &data[..1000]).unwrap();
    let mut first = None;
    download_verified(
        &fetcher(),
        &server.url,
        &info_for(&data),
        &dest,
        &fast_retries(),
        &mut |p| {
            first.get_or_insert(p);
        },
    )
    .await
    .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    assert_eq!(
        *server.ranges.lock().unwrap(),
        vec!["bytes=1000-".to_string()]
    );
    assert_eq!(
        first,
        Some(Progress::Started {
            content_length: data.len() as u64,
            resumed_from: 1000
        })
    );
}

#[tokio::test]
async fn a_corrupt_partial_file_is_discarded_and_the_download_starts_again_from_zero() {
    let data = payload();
    let server = serve(data.clone(), Mode::Normal, 0);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("file.bin");
    std::fs::write(part_path(&dest), vec![0xAA; 1000]).unwrap();
    download(&server, &data, &dest).await.unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    // Resumed, refused at verification, then once from byte 0.
    assert_eq!(
        *server.ranges.lock().unwrap(),
        vec!["bytes=1000-".to_string(), String::new()]
    );
    assert!(!part_path(&dest).exists());
}

#[tokio::test]
async fn wrong_bytes_then_a_cut_do_not_poison_the_next_download() {
    let data = payload();
    let cut = 1024 * 1024;
    // The hostile mirror sends a corrupted prefix and cuts; no retry against it.
    let hostile = serve(data.clone(), Mode::CorruptThenCut, cut);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("file.bin");
    let once = DownloadOptions {
        retries: 0,
        ..fast_retries()
    };
    let err = download_verified(
        &fetcher(),
        &hostile.url,
        &info_for(&data),
        &dest,
        &once,
        &mut |_| {},
    )
    .await
    .unwrap_err();
    assert!(matches!(err, TufError::Fetch(_)), "{err}");
    let left = std::fs::read(part_path(&dest)).unwrap();
    assert!(!left.is_empty() && left[..] != data[..left.len()]);
    // A good mirror: the resume fails verification, the retry from byte 0 succeeds.
    let good = serve(data.clone(), Mode::Normal, 0);
    download(&good, &data, &dest).await.unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    let ranges = good.ranges.lock().unwrap().clone();
    assert_eq!(
        ranges,
        vec![format!("bytes={}-", left.len()), String::new()]
    );
}

#[tokio::test]
async fn a_206_that_starts_elsewhere_is_not_appended() {
    let data = payload();
    let server = serve(data.clone(), Mode::WrongContentRange, 0);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("file.bin");
    // A genuine prefix from an earlier process.
    std::fs::write(part_path(&dest), &data[..1000]).unwrap();
    download(&server, &data, &dest).await.unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    // The 206 labelled "bytes 0-" was refused, the file fetched again from byte 0.
    assert_eq!(
        *server.ranges.lock().unwrap(),
        vec!["bytes=1000-".to_string(), String::new()]
    );
}

#[tokio::test]
async fn wrong_bytes_never_reach_the_destination() {
    let data = payload();
    let mut tampered = data.clone();
    tampered[123_456] ^= 1;
    let server = serve(tampered, Mode::Normal, 0);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("file.bin");
    let err = download(&server, &data, &dest).await.unwrap_err();
    assert!(err.to_string().contains("sha256 mismatch"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn gives_up_after_the_retries() {
    let data = payload();
    let server = serve(data.clone(), Mode::Fail, 0);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("file.bin");
    let err = download(&server, &data, &dest).await.unwrap_err();
    assert!(err.to_string().contains("HTTP status 500"), "{err}");
    // One try and three retries.
    assert_eq!(server.ranges.lock().unwrap().len(), 4);
    assert!(!dest.exists());
}

#[tokio::test]
async fn a_server_that_stalls_after_the_headers_is_given_up_on_within_the_bound() {
    let data = payload();
    let server = serve(data.clone(), Mode::Stall, 0);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("file.bin");
    // The default read timeout (30 s) would hold each of the 5 retries; the app's bound
    // on time without a byte, across retries, ends it.
    let patient = HttpFetcher::new(&HttpConfig::default()).unwrap();
    let info = info_for(&data);
    let timed_out = |options: DownloadOptions| {
        let (patient, url, dest, info) = (&patient, &server.url, &dest, &info);
        async move {
            match download_verified(patient, url, info, dest, &options, &mut |_| {}).await {
                Err(TufError::Fetch(FetchError::DownloadTimeout { why, .. })) => why,
                other => panic!("expected a download timeout, got {other:?}"),
            }
        }
    };
    let stall_bound = DownloadOptions {
        retries: 5,
        max_stall: Duration::from_millis(300),
        ..fast_retries()
    };
    assert_eq!(timed_out(stall_bound).await, "without receiving a byte");
    assert!(!dest.exists());

    // The same with a total bound shorter than the stall the app allows.
    let total_bound = DownloadOptions {
        max_stall: Duration::from_secs(600),
        total_timeout: Some(Duration::from_millis(300)),
        ..fast_retries()
    };
    assert_eq!(timed_out(total_bound).await, "in total");
    assert!(!dest.exists());
}

#[tokio::test]
async fn a_failed_download_leaves_the_destination_empty_and_resumes_from_the_partial_dir() {
    let data = payload();
    let server = serve(data.clone(), Mode::CutOnceThenRange, 1024 * 1024);
    let dir = tempfile::tempdir().unwrap();
    let dest_dir = dir.path().join("downloads");
    let partial_dir = dir.path().join("partial");
    let dest = dest_dir.join("file.bin");
    let options = DownloadOptions {
        partial_dir: Some(partial_dir.clone()),
        ..fast_retries()
    };
    let once = DownloadOptions {
        retries: 0,
        ..options.clone()
    };
    download_verified(
        &fetcher(),
        &server.url,
        &info_for(&data),
        &dest,
        &once,
        &mut |_| {},
    )
    .await
    .unwrap_err();
    // Nothing unverified in the destination; the part waits where only the downloader looks.
    assert_eq!(std::fs::read_dir(&dest_dir).unwrap().count(), 0);
    let part = std::fs::read(partial_dir.join("file.bin.part")).unwrap();
    assert!(!part.is_empty() && part[..] == data[..part.len()]);

    download_verified(
        &fetcher(),
        &server.url,
        &info_for(&data),
        &dest,
        &options,
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(
        *server.ranges.lock().unwrap(),
        vec![String::new(), format!("bytes={}-", part.len())]
    );
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    assert_eq!(std::fs::read_dir(&dest_dir).unwrap().count(), 1);
    assert_eq!(std::fs::read_dir(&partial_dir).unwrap().count(), 0);
}
