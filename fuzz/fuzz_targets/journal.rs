//! The install journal (`Journal`, read by `Journal::load` with `serde_json::from_slice`) on
//! any bytes.
//!
//! Properties: parsing never panics, and a parsed journal written as `Journal::save` writes
//! it (pretty JSON) parses to the same journal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tuf_updater_core::install::Journal;

fuzz_target!(|data: &[u8]| {
    let Ok(journal) = serde_json::from_slice::<Journal>(data) else {
        return;
    };
    let written = serde_json::to_vec_pretty(&journal);
    let Ok(written) = written else {
        panic!("a journal read cannot be written: {written:?}");
    };
    let again = serde_json::from_slice::<Journal>(&written);
    assert_eq!(
        again.as_ref().ok(),
        Some(&journal),
        "{} reads back as {again:?}",
        String::from_utf8_lossy(&written)
    );
});
