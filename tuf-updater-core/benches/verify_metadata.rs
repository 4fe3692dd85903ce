//! How long the client spends verifying a large `targets.json`, step by step.
//!
//! `cargo bench -p tuf-updater-core --bench verify_metadata` prints a table (median of 15 runs).
//! No network or disk: this isolates parsing, canonicalisation and signature checking.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use sha2::{Digest, Sha256};
use tuf_updater_core::tuf::canonical::canonicalize_text;
use tuf_updater_core::tuf::crypto::verify_threshold;
use tuf_updater_core::tuf::error::Rule;
use tuf_updater_core::tuf::metadata::{split_targets_file, Common, Envelope, TargetFile, Targets};
use tuf_updater_core::tuf::signer::{expiry_in, sign_metadata, KeyKind, LocalKey, Signer};

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs.get(runs.len() / 2).copied().unwrap_or_default()
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(f());
                start.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let Ok(key) = LocalKey::generate(KeyKind::Ed25519) else {
        eprintln!("cannot generate a key");
        return;
    };
    println!(
        "| targets | file KiB | canonical ms | typed ms | verify ms | total (sequential) ms |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    for count in [100usize, 1_000, 10_000] {
        let mut targets = Targets::new(Common::new(1, expiry_in(Utc::now(), 30)));
        for i in 0..count {
            let content = format!("content of target {i}");
            let mut hashes = BTreeMap::new();
            hashes.insert(
                "sha256".to_string(),
                hex::encode(Sha256::digest(content.as_bytes())),
            );
            targets.targets.insert(
                format!("app/{i}/file-{i}.bin"),
                TargetFile::new(content.len() as u64, hashes),
            );
        }
        let Ok(bytes) = sign_metadata(&targets.to_value(), &[&key as &dyn Signer]) else {
            eprintln!("cannot sign");
            return;
        };
        let mut keys = BTreeMap::new();
        keys.insert(key.keyid().to_string(), key.public_key().clone());
        let keyids = vec![key.keyid().to_string()];
        let runs = 15;
        let Ok((signatures, text)) = split_targets_file(&bytes, "targets") else {
            eprintln!("cannot split");
            return;
        };
        let canonical = time(runs, || canonicalize_text(text));
        let typed = time(runs, || Targets::from_json(text, "targets"));
        let envelope = Envelope {
            signed: serde_json::Value::Null,
            canonical: canonicalize_text(text).unwrap_or_default(),
            signatures: signatures.clone(),
        };
        let verify = time(runs, || {
            verify_threshold(
                &envelope,
                &keys,
                &keyids,
                1,
                "targets",
                Rule::TargetsSignatures,
            )
        });
        let total = time(runs, || {
            let (signatures, text) = split_targets_file(&bytes, "targets").ok()?;
            let e = Envelope {
                signed: serde_json::Value::Null,
                canonical: canonicalize_text(text).ok()?,
                signatures,
            };
            verify_threshold(&e, &keys, &keyids, 1, "targets", Rule::TargetsSignatures).ok()?;
            Targets::from_json(text, "targets").ok()
        });
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "| {count} | {} | {:.2} | {:.2} | {:.2} | {:.2} |",
            bytes.len() / 1024,
            ms(canonical),
            ms(typed),
            ms(verify),
            ms(total)
        );
    }
}
