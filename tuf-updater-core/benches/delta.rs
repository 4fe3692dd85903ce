//! Delta patches, ours (zstd with the old file as reference prefix) beside qbsdiff (bsdiff
//! with a suffix array), on the same pairs: patch size against the full file, time to make,
//! time to apply and the applying process's peak RSS (each apply runs in a child process of
//! its own, which reports its `VmHWM`).
//!
//! `cargo bench -p tuf-updater-core --bench delta -- [--pair NAME OLD NEW]... [--synthetic]`
//! prints a Markdown table; `scripts/delta-bench.sh` builds the real pairs (the selfupdate
//! example and demo-app, 1.0.0 and 1.1.0) and runs it. `--synthetic` adds a 200 MB bundle
//! (400 files, 5% of them changed) as an uncompressed tar: our per-file tar patch (`tar`,
//! applied to the old tar unpacked, as a bundle install is), and both engines on the tar.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use tuf_updater_core::delta::{apply_patch, apply_tar_patch, make_patch, make_tar_patch, Mapped};

/// Pseudo-random bytes (xorshift).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Text-like bytes: words from a small vocabulary (compressible, as code and assets are).
fn text(len: usize, seed: u64) -> Vec<u8> {
    const WORDS: [&str; 8] = [
        "fn ", "let ", "update ", "verify ", "{ ", "} ", "0x1f ", "\n",
    ];
    let picks = noise(len / 3 + 1, seed);
    let mut out = Vec::with_capacity(len + 8);
    for p in picks {
        out.extend_from_slice(WORDS[(p % 8) as usize].as_bytes());
        if out.len() >= len {
            break;
        }
    }
    out.truncate(len);
    out
}

/// Two versions of a 200 MB bundle of 400 files of 500 KB, half binary, half text; 20
/// files (5%) changed in the new one (a few edits each).
fn synthetic_bundle(dir: &Path) -> (PathBuf, PathBuf) {
    let tar_of = |changed: bool, path: &Path| {
        let mut tar = tar::Builder::new(BufWriter::new(File::create(path).unwrap()));
        for i in 0..400u64 {
            let mut data = if i % 2 == 0 {
                noise(500_000, i + 1)
            } else {
                text(500_000, i + 1)
            };
            if changed && i % 20 == 7 {
                data[1000..1200].copy_from_slice(&noise(200, i + 1000));
                data.splice(300_000..300_000, noise(3000, i + 2000));
            }
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(1_700_000_000);
            header.set_cksum();
            let name = format!("Demo.app/Contents/Resources/file{i:03}.bin");
            tar.append_data(&mut header, name, data.as_slice()).unwrap();
        }
        tar.into_inner().unwrap().flush().unwrap();
    };
    let (old, new) = (dir.join("bundle-old.tar"), dir.join("bundle-new.tar"));
    tar_of(false, &old);
    tar_of(true, &new);
    (old, new)
}

struct Row {
    pair: String,
    engine: &'static str,
    old: u64,
    full: u64,
    patch: u64,
    make: Duration,
    apply: Duration,
    /// The apply without the final fsync of the result.
    decode: Duration,
    peak_rss_kb: u64,
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Makes the patch with `engine`; returns its path and how long it took.
fn make(engine: &str, old: &Path, new: &Path, dir: &Path) -> (PathBuf, Duration) {
    let (old, new) = (fs::read(old).unwrap(), fs::read(new).unwrap());
    let out = dir.join(format!("patch.{engine}"));
    let mut patch = BufWriter::new(File::create(&out).unwrap());
    let start = Instant::now();
    match engine {
        "zstd" => {
            make_patch(&old, &new, &mut patch).unwrap();
        }
        "tar" => {
            make_tar_patch(&old, &new, &mut patch).unwrap();
        }
        _ => {
            qbsdiff::Bsdiff::new(&old, &new)
                .compare(&mut patch)
                .unwrap();
        }
    }
    patch.flush().unwrap();
    (out, start.elapsed())
}

/// Applies in a child process; returns (time, time before the fsync, peak RSS in KiB) and
/// checks the result.
fn apply_in_child(
    engine: &str,
    old: &Path,
    patch: &Path,
    new: &Path,
    dir: &Path,
) -> (Duration, Duration, u64) {
    let out = dir.join("applied");
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--child-apply", engine])
        .args([old, patch, &out, new])
        .output()
        .unwrap();
    assert!(
        child.status.success(),
        "{}",
        String::from_utf8_lossy(&child.stderr)
    );
    let report = String::from_utf8(child.stdout).unwrap();
    let mut fields = report.split_whitespace().map(|f| f.parse::<u64>().unwrap());
    let (nanos, unsynced, hwm) = (
        fields.next().unwrap(),
        fields.next().unwrap(),
        fields.next().unwrap(),
    );
    assert!(
        fs::read(&out).unwrap() == fs::read(new).unwrap(),
        "{engine}: wrong result"
    );
    fs::remove_file(&out).unwrap();
    (
        Duration::from_nanos(nanos),
        Duration::from_nanos(unsynced),
        hwm,
    )
}

/// The child: applies, prints elapsed nanoseconds and `VmHWM` (KiB).
fn child_apply(engine: &str, old: &Path, patch: &Path, out: &Path, new: &Path) {
    let limit = fs::metadata(new).unwrap().len();
    let start = Instant::now();
    let mut writer = BufWriter::new(File::create(out).unwrap());
    if engine == "tar" {
        // `old` is the installed bundle: the old tar unpacked.
        apply_tar_patch(old, File::open(patch).unwrap(), &mut writer, limit).unwrap();
        return report(start, writer);
    }
    let old = Mapped::open(old).unwrap();
    match engine {
        "zstd" => {
            apply_patch(old.bytes(), File::open(patch).unwrap(), &mut writer, limit).unwrap();
        }
        _ => {
            let patch = fs::read(patch).unwrap();
            qbsdiff::Bspatch::new(&patch)
                .unwrap()
                .apply(old.bytes(), &mut writer)
                .unwrap();
        }
    }
    report(start, writer);
}

/// Prints the child's elapsed nanoseconds and `VmHWM` (KiB).
fn report(start: Instant, writer: BufWriter<File>) {
    let file = writer.into_inner().unwrap();
    let unsynced = start.elapsed();
    file.sync_all().unwrap();
    let elapsed = start.elapsed();
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0);
    println!("{} {} {hwm}", elapsed.as_nanos(), unsynced.as_nanos());
}

fn measure(pair: &str, old: &Path, new: &Path, dir: &Path, rows: &mut Vec<Row>) {
    measure_with(&["zstd", "qbsdiff"], pair, old, new, None, dir, rows);
}

/// As [`measure`] with `engines`; `bundle` is the old tar unpacked, which `tar` applies to.
fn measure_with(
    engines: &[&'static str],
    pair: &str,
    old: &Path,
    new: &Path,
    bundle: Option<&Path>,
    dir: &Path,
    rows: &mut Vec<Row>,
) {
    // DELTA_BENCH_ENGINES=tar,zstd measures only those (the slow ones left out).
    let only = std::env::var("DELTA_BENCH_ENGINES").unwrap_or_default();
    for &engine in engines {
        if !only.is_empty() && !only.split(',').any(|e| e == engine) {
            continue;
        }
        let (patch, make_time) = make(engine, old, new, dir);
        let base = if engine == "tar" {
            bundle.unwrap()
        } else {
            old
        };
        let (apply, decode, peak) = apply_in_child(engine, base, &patch, new, dir);
        rows.push(Row {
            pair: pair.to_string(),
            engine,
            old: fs::metadata(old).unwrap().len(),
            full: fs::metadata(new).unwrap().len(),
            patch: fs::metadata(&patch).unwrap().len(),
            make: make_time,
            apply,
            decode,
            peak_rss_kb: peak,
        });
        eprintln!("{pair} {engine}: done");
    }
}

fn print(rows: &[Row]) {
    println!("| pair | engine | full | patch | patch/full | make | apply (with fsync) | output speed before fsync | with fsync | peak RSS (apply) | goal: old + 64 MiB |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let rss = r.peak_rss_kb * 1024;
        println!(
            "| {} | {} | {:.1} MiB | {:.2} MiB | {:.2}% | {:.2} s | {:.3} s | {:.0} MB/s | {:.0} MB/s | {:.1} MiB | {} |",
            r.pair,
            r.engine,
            mib(r.full),
            mib(r.patch),
            100.0 * r.patch as f64 / r.full as f64,
            r.make.as_secs_f64(),
            r.apply.as_secs_f64(),
            r.full as f64 / 1e6 / r.decode.as_secs_f64(),
            r.full as f64 / 1e6 / r.apply.as_secs_f64(),
            mib(rss),
            if rss <= r.old + (64 << 20) { "met" } else { "missed" },
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child-apply") {
        let p = |i: usize| PathBuf::from(&args[i]);
        return child_apply(&args[1], &p(2), &p(3), &p(4), &p(5));
    }
    let dir = tempfile::tempdir().unwrap();
    let mut rows = Vec::new();
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--pair" => {
                let (name, old, new) = (&args[i + 1], &args[i + 2], &args[i + 3]);
                measure(name, Path::new(old), Path::new(new), dir.path(), &mut rows);
                i += 4;
            }
            "--synthetic" => {
                let (old, new) = synthetic_bundle(dir.path());
                let bundle = dir.path().join("installed");
                unpack(&old, &bundle);
                let engines = ["tar", "zstd", "qbsdiff"];
                let name = "synthetic 200 MB bundle, 5% of files changed";
                measure_with(
                    &engines,
                    name,
                    &old,
                    &new,
                    Some(&bundle),
                    dir.path(),
                    &mut rows,
                );
                i += 1;
            }
            _ => i += 1, // cargo bench passes `--bench`
        }
    }
    print(&rows);
}

/// Unpacks `tar` into `dest` without its top-level `Demo.app/`, as the install does.
fn unpack(tar: &Path, dest: &Path) {
    let mut archive = tar::Archive::new(File::open(tar).unwrap());
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().into_owned();
        let rel = path.strip_prefix("Demo.app").unwrap().to_path_buf();
        let target = dest.join(rel);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        entry.unpack(&target).unwrap();
    }
}
