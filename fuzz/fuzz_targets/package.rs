//! What a release file is (`package::sniff_bytes`, `package::bytes_kind`) and the fields of a
//! Debian or RPM package (`package::deb_fields_bytes`, `package::rpm_fields_bytes`), on any
//! bytes.
//!
//! Properties: no panic, no allocation or decompression beyond the parsers' caps (libFuzzer's
//! `-rss_limit_mb` and `-timeout` catch both), the two sniffers agree, and what a parser
//! returns is what the format says: a deb's or rpm's name and version are never empty, a
//! package whose fields parse is sniffed as that package.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tuf_updater_core::package::{bytes_kind, deb_fields_bytes, rpm_fields_bytes, sniff_bytes};
use tuf_updater_core::InstallFormat;

fuzz_target!(|data: &[u8]| {
    let format = sniff_bytes(data).ok().flatten();
    let kind = bytes_kind(data).ok().flatten();
    assert_eq!(format, kind.map(|k| k.format()), "the sniffers disagree");
    if let Ok(fields) = deb_fields_bytes(data) {
        assert!(!fields.name.is_empty() && !fields.version.is_empty());
        // A deb's first member is debian-binary; fields may come from an ar archive that
        // starts otherwise, which is then no deb to the sniffer: both are fine, no panic.
        assert_eq!(fields.release, None);
    }
    if let Ok(fields) = rpm_fields_bytes(data) {
        assert!(!fields.name.is_empty(), "an empty NAME parsed");
        assert_eq!(format, Some(InstallFormat::Rpm), "rpm fields of a non-rpm");
    }
});
