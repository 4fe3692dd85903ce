//! What the benchmark measures and the tables it prints.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use packaging::serve::{Served, Stats};
use serde_json::Value;

use crate::layout::{Layout, Shape};

/// One update cycle as the server saw it.
pub struct Measured {
    pub requests: u64,
    pub bytes: u64,
    pub log: Vec<Served>,
    /// The target path the cycle found.
    pub found: String,
}

impl Measured {
    pub fn from_stats(stats: &Stats, found: String) -> Measured {
        Measured {
            requests: stats.requests.load(Ordering::Relaxed),
            bytes: stats.bytes.load(Ordering::Relaxed),
            log: stats.log(),
            found,
        }
    }

    fn cell(&self) -> String {
        format!("{} B, {} req", thousands(self.bytes), self.requests)
    }
}

/// Sizes of the metadata as written, and of its parts, read from the repository.
pub struct Sizes {
    pub snapshot: u64,
    pub snapshot_gzip: u64,
    pub roles_in_snapshot: usize,
    /// The role the app under test downloads to check.
    pub app_role: u64,
    pub app_role_gzip: u64,
    pub target_entry: usize,
    pub snapshot_entry: usize,
    pub delegation_entry: usize,
    pub key_entry: usize,
    pub signature: usize,
    /// One of each, as written: the model of the other layouts starts from these.
    pub samples: Vec<(&'static str, String)>,
}

fn json(path: &Path) -> (Vec<u8>, Value) {
    let bytes = std::fs::read(path).unwrap();
    let value = serde_json::from_slice(&bytes).unwrap();
    (bytes, value)
}

/// Bytes one `"key":value,` member adds to a compact JSON object (as the publisher writes).
fn member_len(key: &str, value: &Value) -> usize {
    serde_json::to_vec(key).unwrap().len() + 1 + serde_json::to_vec(value).unwrap().len() + 1
}

fn first_member(value: &Value) -> usize {
    let (k, v) = value.as_object().unwrap().iter().next().unwrap();
    member_len(k, v)
}

fn first_text(value: &Value) -> String {
    let (k, v) = value.as_object().unwrap().iter().next().unwrap();
    format!(
        "{}:{}",
        serde_json::to_string(k).unwrap(),
        serde_json::to_string(v).unwrap()
    )
}

/// Size of `bytes` gzipped (default level), as a server with compression would send them.
fn gzip_len(bytes: &[u8]) -> u64 {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap().len() as u64
}

impl Sizes {
    pub fn read(metadata: &Path, role: &str) -> Sizes {
        let (_, ts) = json(&metadata.join("timestamp.json"));
        let snap_v = ts["signed"]["meta"]["snapshot.json"]["version"]
            .as_u64()
            .unwrap();
        let (snap_bytes, snap) = json(&metadata.join(format!("{snap_v}.snapshot.json")));
        let meta = &snap["signed"]["meta"];
        let version = |r: &str| meta[format!("{r}.json")]["version"].as_u64().unwrap();
        let (role_bytes, role_json) =
            json(&metadata.join(format!("{}.{role}.json", version(role))));
        let (_, targets) = json(&metadata.join(format!("{}.targets.json", version("targets"))));
        let delegations = &targets["signed"]["delegations"];
        Sizes {
            snapshot: snap_bytes.len() as u64,
            snapshot_gzip: gzip_len(&snap_bytes),
            roles_in_snapshot: meta.as_object().unwrap().len(),
            app_role: role_bytes.len() as u64,
            app_role_gzip: gzip_len(&role_bytes),
            target_entry: first_member(&role_json["signed"]["targets"]),
            snapshot_entry: member_len(&format!("{role}.json"), &meta[format!("{role}.json")]),
            delegation_entry: serde_json::to_vec(&delegations["roles"][0]).unwrap().len() + 1,
            key_entry: first_member(&delegations["keys"]),
            signature: serde_json::to_vec(&role_json["signatures"][0])
                .unwrap()
                .len()
                + 1,
            samples: vec![
                ("target entry", first_text(&role_json["signed"]["targets"])),
                (
                    "snapshot entry",
                    format!("\"{role}.json\":{}", meta[format!("{role}.json")]),
                ),
                ("delegation entry", delegations["roles"][0].to_string()),
                ("signature", role_json["signatures"][0].to_string()),
            ],
        }
    }
}

/// The figures of one repository size.
pub struct Row {
    pub shape: Shape,
    pub generation: Duration,
    pub sizes: Sizes,
    pub cold: Measured,
    pub other: Measured,
    pub same: Measured,
    pub pinned: Measured,
    /// Wall times of the `release` runs, ms.
    pub times: Vec<f64>,
}

pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn line(label: &str, cells: impl Iterator<Item = String>) {
    let cells: Vec<String> = cells.collect();
    println!("| {label} | {} |", cells.join(" | "));
}

pub fn print(layout: Layout, rows: &[Row]) {
    println!("## `{}` layout", layout.name());
    println!();
    let heads: Vec<String> = rows
        .iter()
        .map(|r| thousands(r.shape.targets() as u64))
        .collect();
    println!("| measure (targets) | {} |", heads.join(" | "));
    println!("|---|{}", "---|".repeat(rows.len()));
    line(
        "shape (apps x platforms x channels x releases)",
        rows.iter().map(|r| {
            let s = r.shape;
            format!(
                "{} x {} x {} x {}",
                s.apps, s.platforms, s.channels, s.releases
            )
        }),
    );
    line("cold first check", rows.iter().map(|r| r.cold.cell()));
    line(
        "check after a release of another app",
        rows.iter().map(|r| r.other.cell()),
    );
    line(
        "check after a release of the same app",
        rows.iter().map(|r| r.same.cell()),
    );
    line(
        "pinned-version lookup (oldest, warm)",
        rows.iter().map(|r| r.pinned.cell()),
    );
    line(
        "`release` wall time, median (min / max)",
        rows.iter().map(|r| {
            let mut t = r.times.clone();
            t.sort_by(f64::total_cmp);
            format!(
                "{:.0} ms ({:.0} / {:.0})",
                t[t.len() / 2],
                t[0],
                t[t.len() - 1]
            )
        }),
    );
    line(
        "role the app downloads (gzip)",
        rows.iter().map(|r| {
            format!(
                "{} B ({} B)",
                thousands(r.sizes.app_role),
                thousands(r.sizes.app_role_gzip)
            )
        }),
    );
    line(
        "snapshot (gzip), roles listed",
        rows.iter().map(|r| {
            let s = &r.sizes;
            format!(
                "{} B ({} B), {}",
                thousands(s.snapshot),
                thousands(s.snapshot_gzip),
                s.roles_in_snapshot
            )
        }),
    );
    line(
        "fixture generation (one session)",
        rows.iter()
            .map(|r| format!("{:.1} s", r.generation.as_secs_f64())),
    );
    println!();
    print_entries(rows);
    print_logs(rows);
}

fn print_entries(rows: &[Row]) {
    let Some(s) = rows.first().map(|r| &r.sizes) else {
        return;
    };
    println!("Encoded sizes (compact JSON as written, with the separator):");
    println!();
    println!("| part | bytes |");
    println!("|---|---|");
    println!(
        "| one target entry (path, length, sha256, custom) | {} |",
        s.target_entry
    );
    println!(
        "| one snapshot entry (version, length, sha256) | {} |",
        s.snapshot_entry
    );
    println!(
        "| one delegation entry (name, keyids, threshold, paths, terminating) | {} |",
        s.delegation_entry
    );
    println!("| one key entry (ed25519) | {} |", s.key_entry);
    println!("| one signature (ed25519) | {} |", s.signature);
    println!();
    for (what, text) in &s.samples {
        println!("- {what}: `{text}`");
    }
    println!();
}

fn print_logs(rows: &[Row]) {
    for r in rows {
        println!(
            "Requests at {} targets:",
            thousands(r.shape.targets() as u64)
        );
        println!();
        println!("| case | request | status | bytes |");
        println!("|---|---|---|---|");
        let cases = [
            ("cold", &r.cold),
            ("other app", &r.other),
            ("same app", &r.same),
            ("pinned", &r.pinned),
        ];
        for (case, m) in cases {
            for s in &m.log {
                println!(
                    "| {case} | `{}` | {} | {} |",
                    s.path,
                    s.status,
                    thousands(s.bytes)
                );
            }
        }
        println!();
    }
}
