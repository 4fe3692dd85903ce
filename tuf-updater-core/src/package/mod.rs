//! What a release file is, from its content rather than its name: [`sniff_file`] tells the
//! [`InstallFormat`](crate::release::InstallFormat) of an artifact (an ELF, Mach-O or PE
//! executable, an AppImage, an NSIS setup, an MSI, a `.deb`, an `.rpm`, a macOS `.app` in a
//! `.tar.gz`), and [`deb_fields`] and [`rpm_fields`] read a package's own name, version and
//! architecture. The publisher checks a release against them before it signs anything.
//!
//! Every input is untrusted: nothing here panics on a file's bytes, every read and every
//! decompression is capped, and no allocation is sized by a length the file declares. Each
//! parser also takes bytes in memory (`*_bytes`), which the fuzz target drives.

mod deb;
mod error;
mod io;
mod rpm;
mod sniff;

pub use deb::{deb_fields, deb_fields_bytes};
pub use error::{PackageError, PackageFields};
pub use rpm::{rpm_fields, rpm_fields_bytes};
pub use sniff::{bytes_kind, file_kind, sniff_bytes, sniff_file, FileKind, NSIS_SCAN_LIMIT};

#[cfg(test)]
#[path = "package_tests.rs"]
mod tests;
