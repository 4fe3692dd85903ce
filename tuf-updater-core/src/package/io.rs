//! Reading helpers the parsers share: a file or bytes with a length and a name for errors,
//! reads at an offset that never trust a declared length, and a reader that stops at a cap.

use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::error::PackageError;
use crate::files::FileError;

/// The name errors give bytes that are not a file.
pub(super) const IN_MEMORY: &str = "(in memory)";

/// What is read: a file or bytes, its length, and the path its errors name.
pub(super) struct Source<R> {
    inner: R,
    pub path: PathBuf,
    pub len: u64,
}

impl<R: Read + Seek> Source<R> {
    pub fn new(mut inner: R, path: &Path) -> Result<Source<R>, PackageError> {
        let len = inner.seek(SeekFrom::End(0)).map_err(FileError::at(path))?;
        Ok(Source {
            inner,
            path: path.to_path_buf(),
            len,
        })
    }

    /// Fills as much of `buf` as the file has from `offset` on; returns how much.
    pub fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize, PackageError> {
        if offset >= self.len {
            return Ok(0);
        }
        self.inner
            .seek(SeekFrom::Start(offset))
            .map_err(FileError::at(&self.path))?;
        read_full(&mut self.inner, buf).map_err(|e| FileError::new(&self.path, e).into())
    }

    /// Exactly `buf.len()` bytes at `offset`, or [`PackageError::Malformed`] saying that
    /// `what` is cut short.
    pub fn exact_at(
        &mut self,
        offset: u64,
        buf: &mut [u8],
        format: &'static str,
        what: &str,
    ) -> Result<(), PackageError> {
        let n = self.read_at(offset, buf)?;
        if n < buf.len() {
            return Err(self.malformed(
                format,
                format!(
                    "{what} at offset {offset} is cut short: the file ends at {}",
                    self.len
                ),
            ));
        }
        Ok(())
    }

    /// The reader positioned at `offset`, to stream from.
    pub fn reader_at(&mut self, offset: u64) -> Result<&mut R, PackageError> {
        self.inner
            .seek(SeekFrom::Start(offset))
            .map_err(FileError::at(&self.path))?;
        Ok(&mut self.inner)
    }

    /// The file's name for errors, apart from the reader.
    pub fn named(&self) -> Named {
        Named(self.path.clone())
    }

    pub fn malformed(&self, format: &'static str, reason: impl Into<String>) -> PackageError {
        self.named().malformed(format, reason)
    }

    pub fn too_large(
        &self,
        format: &'static str,
        what: impl Into<String>,
        limit: u64,
    ) -> PackageError {
        self.named().too_large(format, what, limit)
    }
}

/// The path errors name.
#[derive(Clone, Debug)]
pub(super) struct Named(pub PathBuf);

impl Named {
    pub fn malformed(&self, format: &'static str, reason: impl Into<String>) -> PackageError {
        PackageError::Malformed {
            path: self.0.clone(),
            format,
            reason: reason.into(),
        }
    }

    pub fn too_large(
        &self,
        format: &'static str,
        what: impl Into<String>,
        limit: u64,
    ) -> PackageError {
        PackageError::TooLarge {
            path: self.0.clone(),
            format,
            what: what.into(),
            limit,
        }
    }
}

/// Reads until `buf` is full or the reader ends; returns how much was read.
pub(super) fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut done = 0;
    while let Some(rest) = buf.get_mut(done..).filter(|rest| !rest.is_empty()) {
        match r.read(rest) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// A reader that fails once more than `limit` bytes come out of it (a decompressor's
/// output), and remembers whether it failed for that or because the inner reader did.
pub(super) struct CappedReader<R> {
    inner: R,
    left: u64,
    /// More than the limit was asked for.
    pub exceeded: bool,
    /// The inner reader's error (corrupt compressed data), as text.
    pub failed: Option<String>,
}

impl<R: Read> CappedReader<R> {
    pub fn new(inner: R, limit: u64) -> CappedReader<R> {
        CappedReader {
            inner,
            left: limit,
            exceeded: false,
            failed: None,
        }
    }
}

impl<R: Read> Read for CappedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = usize::try_from(self.left.saturating_add(1))
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let Some(window) = buf.get_mut(..want) else {
            return Ok(0);
        };
        let n = match self.inner.read(window) {
            Ok(n) => n,
            Err(e) => {
                self.failed = Some(e.to_string());
                return Err(e);
            }
        };
        if n as u64 > self.left {
            self.exceeded = true;
            return Err(io::Error::other("size limit reached"));
        }
        self.left -= n as u64;
        Ok(n)
    }
}
