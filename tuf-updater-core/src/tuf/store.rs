//! Local storage of trusted metadata and downloaded targets.
//!
//! Metadata is kept as the exact bytes that were verified, under non-versioned names
//! (`root.json`, `timestamp.json`, `<role>.json`), each written to a temporary file in the
//! same directory and renamed over the old one ([`crate::files::write_atomic`]), so a reader sees the old or the new file,
//! never a mix. `root.json` is also fsynced: losing it would leave the app unable to
//! verify anything, while a lost timestamp, snapshot or targets file is simply fetched again.

use std::path::{Path, PathBuf};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::files::{read_capped, remove_any, write_atomic, Capped, Durability};
use crate::tuf::error::Result;

/// Characters left as they are when a role name or target path becomes one file name or one
/// URL segment: RFC 3986 "unreserved", as Python's `urllib.parse.quote(s, safe="")`.
const QUOTE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `s` as a single path segment: `/` and everything outside the unreserved set escaped.
pub fn quote(s: &str) -> String {
    utf8_percent_encode(s, QUOTE).to_string()
}

/// A file name for `name` that stays inside its directory: one segment, never `.` or `..`.
pub fn safe_file_name(name: &str) -> String {
    match quote(name).as_str() {
        "" => "%00empty".to_string(),
        "." => "%2E".to_string(),
        ".." => "%2E%2E".to_string(),
        other => other.to_string(),
    }
}

/// The metadata directory of one repository.
#[derive(Debug, Clone)]
pub struct MetadataStore {
    dir: PathBuf,
}

impl MetadataStore {
    /// The store in directory `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        MetadataStore { dir: dir.into() }
    }

    /// The metadata directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the metadata of `role` is kept: `<dir>/<role>.json`, the name made safe for a file.
    pub fn path_of(&self, role: &str) -> PathBuf {
        self.dir.join(format!("{}.json", safe_file_name(role)))
    }

    /// The stored bytes of `role`, if any; `None` also when the file is over `max_len`
    /// (it cannot be trusted metadata of ours, so it is treated as absent).
    pub fn read(&self, role: &str, max_len: u64) -> Result<Option<Vec<u8>>> {
        let path = self.path_of(role);
        match read_capped(&path, max_len)? {
            Capped::Data(data) => Ok(Some(data)),
            Capped::Missing => Ok(None),
            Capped::TooLarge => {
                tracing::warn!(path = %path.display(), max_len, "ignoring oversized local file");
                Ok(None)
            }
        }
    }

    /// Forgets the stored copy of `role`, if any.
    pub fn remove(&self, role: &str) -> Result<()> {
        Ok(remove_any(&self.path_of(role))?)
    }

    /// Stores `data` for `role` atomically; [`Durability::Durable`] also fsyncs file and
    /// directory.
    pub fn write(&self, role: &str, data: &[u8], durability: Durability) -> Result<()> {
        Ok(write_atomic(&self.path_of(role), data, durability)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_keeps_names_inside_the_directory() {
        assert_eq!(safe_file_name("../delegatedrole"), "..%2Fdelegatedrole");
        assert_eq!(safe_file_name("/abs"), "%2Fabs");
        assert_eq!(safe_file_name(".."), "%2E%2E");
        assert_eq!(safe_file_name("."), "%2E");
        assert_eq!(safe_file_name("?#"), "%3F%23");
        assert_eq!(safe_file_name("a b/c"), "a%20b%2Fc");
        assert_eq!(safe_file_name("bins-0a"), "bins-0a");
    }

    #[test]
    fn read_capped_treats_oversized_as_absent() {
        let dir = tempfile::tempdir().unwrap();
        let store = MetadataStore::new(dir.path());
        store
            .write("targets", b"0123456789", Durability::Atomic)
            .unwrap();
        assert_eq!(
            store.read("targets", 10).unwrap(),
            Some(b"0123456789".to_vec())
        );
        assert_eq!(store.read("targets", 9).unwrap(), None);
        assert_eq!(store.read("missing", 9).unwrap(), None);
        // no temporary files left behind
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("targets.json")]);
    }
}
