//! Making and applying a patch: one zstd frame with the old bytes as reference prefix.

use std::io::{self, Read, Write};

use thiserror::Error;

/// The largest window a patch may use (2 GiB, zstd's limit on 64-bit systems): the
/// decoder refuses a frame asking for more.
pub const MAX_WINDOW_LOG: u32 = 31;

/// The compression level of patches: zstd's highest regular level. Patches are made once,
/// by the publisher, and downloaded by every install.
const LEVEL: i32 = 19;

/// Why applying a patch failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// The decoder refused the patch (not zstd, truncated, made from other bytes, a window
    /// over [`MAX_WINDOW_LOG`]).
    #[error("the patch is not valid for these bytes: {0}")]
    Corrupt(#[source] io::Error),
    /// The patch produces more than the full target's signed length.
    #[error("the patch produces more than the {limit} bytes the full release is signed for")]
    TooLong {
        /// The full target's signed length, in bytes.
        limit: u64,
    },
    /// Writing the patched file failed.
    #[error("cannot write the patched file: {0}")]
    Write(#[source] io::Error),
}

/// The window that lets every byte of `new` refer back to any byte of `old`.
fn window_log(old: usize, new: usize) -> u32 {
    let span = (old as u64).saturating_add(new as u64).max(1);
    let log = 64 - (span - 1).leading_zeros();
    log.clamp(10, MAX_WINDOW_LOG - 1)
}

/// Writes the patch that turns `old` into `new` to `out`; returns its length.
pub fn make_patch(old: &[u8], new: &[u8], out: impl Write) -> io::Result<u64> {
    let mut counted = Counting {
        inner: out,
        count: 0,
    };
    let mut encoder = zstd::stream::write::Encoder::with_ref_prefix(&mut counted, LEVEL, old)?;
    encoder.long_distance_matching(true)?;
    encoder.window_log(window_log(old.len(), new.len()))?;
    encoder.include_checksum(true)?;
    encoder.set_pledged_src_size(Some(new.len() as u64))?;
    encoder.write_all(new)?;
    encoder.finish()?;
    Ok(counted.count)
}

/// Applies `patch` to `old`, streaming the result to `out`, and stops with
/// [`ApplyError::TooLong`] before writing past `limit` bytes. Returns the bytes written.
/// Memory: the decoder's window, at most the result's size (and 2^[`MAX_WINDOW_LOG`]).
pub fn apply_patch(
    old: &[u8],
    patch: impl Read,
    mut out: impl Write,
    limit: u64,
) -> Result<u64, ApplyError> {
    let mut decoder = zstd::stream::read::Decoder::with_ref_prefix(io::BufReader::new(patch), old)
        .map_err(ApplyError::Corrupt)?;
    decoder
        .window_log_max(MAX_WINDOW_LOG)
        .map_err(ApplyError::Corrupt)?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut written = 0u64;
    loop {
        let n = match decoder.read(&mut buf) {
            Ok(0) => return Ok(written),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ApplyError::Corrupt(e)),
        };
        if written.saturating_add(n as u64) > limit {
            return Err(ApplyError::TooLong { limit });
        }
        let chunk = buf.get(..n).ok_or(ApplyError::TooLong { limit })?;
        out.write_all(chunk).map_err(ApplyError::Write)?;
        written += n as u64;
    }
}

/// A writer that counts what goes through it.
pub(crate) struct Counting<W> {
    pub inner: W,
    pub count: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delta::test_support::noise;

    fn old_and_new() -> (Vec<u8>, Vec<u8>) {
        let old = noise(3 << 20, 1);
        let mut new = old.clone();
        // A few edits: bytes changed, a block inserted, a block removed.
        new[1000..1100].copy_from_slice(&noise(100, 2));
        new.splice(2 << 20..2 << 20, noise(5000, 3));
        new.drain(500_000..510_000);
        (old, new)
    }

    fn patch(old: &[u8], new: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let len = make_patch(old, new, &mut out).unwrap();
        assert_eq!(len, out.len() as u64);
        out
    }

    #[test]
    fn a_patch_rebuilds_the_new_bytes_and_is_small() {
        let (old, new) = old_and_new();
        let p = patch(&old, &new);
        assert!(p.len() < new.len() / 100, "patch of {} bytes", p.len());
        let mut out = Vec::new();
        let n = apply_patch(&old, p.as_slice(), &mut out, new.len() as u64).unwrap();
        assert_eq!(n, new.len() as u64);
        assert!(out == new, "the patched bytes differ");
    }

    #[test]
    fn a_patch_applied_to_other_bytes_is_refused() {
        let (old, new) = old_and_new();
        let p = patch(&old, &new);
        let mut other = old.clone();
        other[2_500_000] ^= 0xff;
        let err = apply_patch(&other, p.as_slice(), io::sink(), u64::MAX).unwrap_err();
        // The frame's checksum catches it (and were it not there, the full target's
        // hashes would).
        assert!(matches!(err, ApplyError::Corrupt(_)), "{err}");
    }

    #[test]
    fn the_output_stops_at_the_limit() {
        let (old, new) = old_and_new();
        let p = patch(&old, &new);
        let mut out = Vec::new();
        let limit = new.len() as u64 - 1;
        let err = apply_patch(&old, p.as_slice(), &mut out, limit).unwrap_err();
        assert!(
            matches!(err, ApplyError::TooLong { limit: l } if l == limit),
            "{err}"
        );
        assert!(out.len() as u64 <= limit);
    }

    #[test]
    fn truncated_tampered_or_foreign_patches_are_refused() {
        let (old, new) = old_and_new();
        let p = patch(&old, &new);
        let truncated = &p[..p.len() / 2];
        let mut tampered = p.clone();
        let mid = tampered.len() / 2;
        tampered[mid] ^= 0x55;
        for (what, bad) in [
            ("truncated", truncated.to_vec()),
            ("tampered", tampered),
            ("not zstd", b"#!/bin/sh\nrm -rf /\n".to_vec()),
            ("empty", Vec::new()),
        ] {
            let mut out = Vec::new();
            match apply_patch(&old, bad.as_slice(), &mut out, u64::MAX) {
                Err(ApplyError::Corrupt(_)) => {}
                Ok(_) if what == "empty" => assert!(out.is_empty()),
                other => panic!("{what}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_window_covers_old_and_new() {
        assert_eq!(window_log(0, 0), 10);
        assert_eq!(window_log(1 << 20, 1 << 20), 21);
        assert_eq!(window_log((1 << 20) + 1, 1 << 20), 22);
        assert_eq!(window_log(usize::MAX, usize::MAX), MAX_WINDOW_LOG - 1);
    }
}
