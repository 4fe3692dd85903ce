//! What the benchmark measures and the tables it prints.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::Value;
use updater_pack::serve::{Served, Stats};

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

/// A repository's snapshot as written.
pub struct SnapshotSize {
    pub bytes: u64,
    pub gzip: u64,
    /// Roles it lists (every targets role of the repository).
    pub roles: usize,
    /// The lengths of those roles, summed: the targets metadata `release` loads.
    pub roles_bytes: u64,
}

impl SnapshotSize {
    fn cell(&self) -> String {
        format!(
            "{} B ({} B), {}",
            thousands(self.bytes),
            thousands(self.gzip),
            self.roles
        )
    }
}

/// Sizes of the metadata as written, and of its parts, read from the repository.
pub struct Sizes {
    /// The snapshot of the repository the app checks.
    pub snapshot: SnapshotSize,
    /// The project repository's (the same one in the channel layout).
    pub project_snapshot: SnapshotSize,
    /// The role that lists the releases the app checks (the channel role, or the head of
    /// its segment), and its gzipped size.
    pub app_role: (u64, u64),
    /// The role that delegates to it (`targets`, or the channel role), and gzipped.
    pub delegator: (u64, u64),
    /// The archive of the app's segment, if the layout has one, and gzipped.
    pub archive: Option<(u64, u64)>,
    pub target_entry: usize,
    pub snapshot_entry: usize,
    pub delegation_entry: usize,
    pub key_entry: usize,
    pub signature: usize,
    /// One of each, as written.
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

/// The current snapshot of the repository in `metadata`, and its `meta`.
fn snapshot(metadata: &Path) -> (SnapshotSize, Value) {
    let (_, ts) = json(&metadata.join("timestamp.json"));
    let version = ts["signed"]["meta"]["snapshot.json"]["version"]
        .as_u64()
        .unwrap();
    let (bytes, snap) = json(&metadata.join(format!("{version}.snapshot.json")));
    let meta = snap["signed"]["meta"].clone();
    let size = SnapshotSize {
        bytes: bytes.len() as u64,
        gzip: gzip_len(&bytes),
        roles: meta.as_object().unwrap().len(),
        roles_bytes: meta
            .as_object()
            .unwrap()
            .values()
            .map(|m| m["length"].as_u64().unwrap_or(0))
            .sum(),
    };
    (size, meta)
}

/// The current version of `role` in `metadata`, as the snapshot `meta` lists it.
fn role(metadata: &Path, meta: &Value, role: &str) -> (Vec<u8>, Value) {
    let version = meta[format!("{role}.json")]["version"].as_u64().unwrap();
    json(&metadata.join(format!("{version}.{role}.json")))
}

fn sizes(bytes: &[u8]) -> (u64, u64) {
    (bytes.len() as u64, gzip_len(bytes))
}

impl Sizes {
    /// `metadata`: the repository the app checks; `listing`: the role that lists its
    /// releases, delegated by `delegator`; `archive`: the role a pin adds.
    pub fn read(
        metadata: &Path,
        project_metadata: &Path,
        (delegator, listing, archive): (&str, &str, Option<&str>),
    ) -> Sizes {
        let (snapshot_size, meta) = snapshot(metadata);
        let (project_snapshot, _) = snapshot(project_metadata);
        let (role_bytes, role_json) = role(metadata, &meta, listing);
        let (delegator_bytes, delegator_json) = role(metadata, &meta, delegator);
        let delegations = &delegator_json["signed"]["delegations"];
        let grant = delegations["roles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == listing)
            .unwrap();
        let snapshot_member = &meta[format!("{listing}.json")];
        Sizes {
            snapshot: snapshot_size,
            project_snapshot,
            app_role: sizes(&role_bytes),
            delegator: sizes(&delegator_bytes),
            archive: archive.map(|a| sizes(&role(metadata, &meta, a).0)),
            target_entry: first_member(&role_json["signed"]["targets"]),
            snapshot_entry: member_len(&format!("{listing}.json"), snapshot_member),
            delegation_entry: serde_json::to_vec(grant).unwrap().len() + 1,
            key_entry: first_member(&delegations["keys"]),
            signature: serde_json::to_vec(&role_json["signatures"][0])
                .unwrap()
                .len()
                + 1,
            samples: vec![
                ("target entry", first_text(&role_json["signed"]["targets"])),
                (
                    "snapshot entry",
                    format!("\"{listing}.json\":{snapshot_member}"),
                ),
                ("delegation entry", grant.to_string()),
                ("signature", role_json["signatures"][0].to_string()),
            ],
        }
    }
}

/// The figures of one layout at one repository size.
pub struct Row {
    pub layout: Layout,
    pub shape: Shape,
    pub generation: Duration,
    pub sizes: Sizes,
    pub cold: Measured,
    pub other: Measured,
    pub same: Measured,
    pub pinned: Measured,
    /// Wall times of the `release` runs, ms.
    pub times: Vec<f64>,
    /// Wall times of `Session::open_app` for the app under test (reads and verifies the
    /// repository a release of it changes), in this process, ms.
    pub open_times: Vec<f64>,
}

fn median(times: &[f64]) -> f64 {
    let mut t = times.to_vec();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

impl Row {
    fn median(&self) -> f64 {
        median(&self.times)
    }
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

fn pair((raw, gzip): (u64, u64)) -> String {
    format!("{} B ({} B)", thousands(raw), thousands(gzip))
}

/// Every layout's table (one column per layout and size), the goals, then the details.
pub fn print(rows: &[Row]) {
    let heads: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "`{}`, {}",
                r.layout.name(),
                thousands(r.shape.targets() as u64)
            )
        })
        .collect();
    println!("| measure (layout, targets) | {} |", heads.join(" | "));
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
        "pinned-version check (oldest, warm)",
        rows.iter().map(|r| r.pinned.cell()),
    );
    line(
        "`release` wall time, median (min / max)",
        rows.iter().map(|r| {
            let mut t = r.times.clone();
            t.sort_by(f64::total_cmp);
            format!("{:.0} ms ({:.0} / {:.0})", r.median(), t[0], t[t.len() - 1])
        }),
    );
    line(
        "`Session::open_app` (loads and verifies what `release` changes), median",
        rows.iter()
            .map(|r| format!("{:.0} ms", median(&r.open_times))),
    );
    line(
        "targets metadata in the snapshot the app reads (the roles' lengths summed)",
        rows.iter()
            .map(|r| format!("{} B", thousands(r.sizes.snapshot.roles_bytes))),
    );
    line(
        "role listing the app's releases (gzip)",
        rows.iter().map(|r| pair(r.sizes.app_role)),
    );
    line(
        "role delegating to it (gzip)",
        rows.iter().map(|r| pair(r.sizes.delegator)),
    );
    line(
        "archive of the app's segment (gzip)",
        rows.iter()
            .map(|r| r.sizes.archive.map_or("-".to_string(), pair)),
    );
    line(
        "snapshot the app reads (gzip), roles listed",
        rows.iter().map(|r| r.sizes.snapshot.cell()),
    );
    line(
        "project repository's snapshot (gzip), roles listed",
        rows.iter().map(|r| r.sizes.project_snapshot.cell()),
    );
    line(
        "fixture generation",
        rows.iter()
            .map(|r| format!("{:.1} s", r.generation.as_secs_f64())),
    );
    println!();
    print_goals(rows);
    for layout in Layout::ALL {
        let of: Vec<&Row> = rows.iter().filter(|r| r.layout == layout).collect();
        if !of.is_empty() {
            println!("### `{}` layout", layout.name());
            println!();
            print_entries(of[0]);
            print_logs(&of);
        }
    }
}

const KIB: u64 = 1024;

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "MISSED"
    }
}

/// The goals of issue 12, met or not (never asserted: printed).
fn print_goals(rows: &[Row]) {
    println!("Goals: after a release <= 16 KiB and <= 5 requests; cold <= 64 KiB; `release` <= 100 ms (median) and the same at every size.");
    println!();
    println!("| layout, targets | after another app's release | after the same app's | cold | `release` median |");
    println!("|---|---|---|---|---|");
    let after = |m: &Measured| verdict(m.bytes <= 16 * KIB && m.requests <= 5);
    for r in rows {
        println!(
            "| `{}`, {} | {} | {} | {} | {} ({:.0} ms) |",
            r.layout.name(),
            thousands(r.shape.targets() as u64),
            after(&r.other),
            after(&r.same),
            verdict(r.cold.bytes <= 64 * KIB),
            verdict(r.median() <= 100.0),
            r.median()
        );
    }
    for layout in Layout::ALL {
        let medians: Vec<f64> = rows
            .iter()
            .filter(|r| r.layout == layout)
            .map(Row::median)
            .collect();
        if medians.len() > 1 {
            let low = medians.iter().copied().fold(f64::INFINITY, f64::min);
            let high = medians.iter().copied().fold(0.0, f64::max);
            println!();
            println!(
                "`{}`: `release` median, largest / smallest size: {:.2}x",
                layout.name(),
                high / low
            );
        }
    }
    println!();
}

fn print_entries(row: &Row) {
    let s = &row.sizes;
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

fn print_logs(rows: &[&Row]) {
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
