//! Downloads one target with the verified, resumable download the updater uses
//! ([`download_verified`]): streamed to `DEST.part`, hashed while it streams, renamed to
//! `DEST` only when length and SHA-256 match. For `bench/download_vs_curl.sh`.
//!
//! ```text
//! fetch_target URL LENGTH SHA256 DEST
//! ```
//!
//! Prints `bytes seconds MiB/s` on success; exits 1 with the reason otherwise.
//! `FETCH_TARGET_MULTI_THREAD=1` uses tokio's multi-thread runtime instead of one thread.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use tuf_updater_core::tuf::download::{download_verified, DownloadOptions};
use tuf_updater_core::tuf::fetch::{HttpConfig, HttpFetcher};
use tuf_updater_core::tuf::metadata::TargetFile;

async fn run(args: &[String]) -> Result<(), String> {
    let [url, length, sha256, dest] = args else {
        return Err("usage: fetch_target URL LENGTH SHA256 DEST".into());
    };
    let length: u64 = length
        .parse()
        .map_err(|e| format!("LENGTH {length:?}: {e}"))?;
    let info = TargetFile::new(length, BTreeMap::from([("sha256".into(), sha256.clone())]));
    let fetcher = HttpFetcher::new(&HttpConfig::default()).map_err(|e| e.to_string())?;
    let start = Instant::now();
    download_verified(
        &fetcher,
        url,
        &info,
        &PathBuf::from(dest),
        &DownloadOptions::default(),
        &mut |_| {},
    )
    .await
    .map_err(|e| e.to_string())?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{length} {secs:.3} {:.1}",
        length as f64 / (1024.0 * 1024.0) / secs
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // One thread by default: the network, hashing and writing in turn, with no hand-off
    // between threads. FETCH_TARGET_MULTI_THREAD=1 runs on tokio's multi-thread runtime
    // (what a Tauri app has) to compare.
    let multi = std::env::var_os("FETCH_TARGET_MULTI_THREAD").is_some_and(|v| v == "1");
    let mut builder = if multi {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
