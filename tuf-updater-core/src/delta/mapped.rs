//! A file mapped read-only into memory: the old version a patch refers to, read in place
//! rather than copied into RAM (its pages are the page cache's, dropped under pressure).
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::path::Path;

/// The bytes of a file, mapped.
pub struct Mapped {
    // `None` for an empty file, which cannot be mapped.
    map: Option<memmap2::Mmap>,
}

impl Mapped {
    /// Maps the file at `path`, following symlinks.
    pub fn open(path: &Path) -> io::Result<Mapped> {
        Mapped::from_file(&File::open(path)?)
    }

    /// Maps an open file (one opened without following symlinks, say).
    pub fn from_file(file: &File) -> io::Result<Mapped> {
        if file.metadata()?.len() == 0 {
            return Ok(Mapped { map: None });
        }
        // SAFETY: the mapping is read-only and private to this process. Another process
        // writing the file while it is mapped changes the bytes under us (never memory
        // safety of this process's own data structures, only the bytes read): the patched
        // result is then refused by the full target's signed hashes. A truncation would
        // raise SIGBUS; the files mapped are the installed app, which only the updater
        // replaces, by rename (a new inode), under the install lock.
        let map = unsafe { memmap2::Mmap::map(file)? };
        Ok(Mapped { map: Some(map) })
    }

    /// The file's bytes (empty for an empty file).
    pub fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
    }
}
