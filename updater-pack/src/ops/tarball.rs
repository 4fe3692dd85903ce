//! The uncompressed tar of a `.tar.gz` release: its signed digest (the `tar` field) and the
//! bytes tar patches are made between.
//!
//! A bundle patch rebuilds the uncompressed tar, not the gzip bytes (those depend on the
//! compressor and its settings), so the client checks what it rebuilt against this digest,
//! signed with the full release, instead of the artifact's own hashes.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use sha2::{Digest, Sha256};
use tuf_updater_core::release::TarDigest;

use crate::error::{PackError, Result};

/// The most a `.tar.gz` may decompress to (8 GiB): a bundle is far smaller, and a
/// decompression bomb stops here.
pub const MAX_TAR: u64 = 8 << 30;

fn bad(path: &Path, reason: String) -> PackError {
    PackError::BadArtifact {
        path: path.to_path_buf(),
        reason,
    }
}

/// The gzip stream `gz`, decompressed, at most `max` bytes (plus one, to tell).
fn capped(gz: impl Read, max: u64) -> impl Read {
    flate2::read::GzDecoder::new(gz).take(max.saturating_add(1))
}

fn too_large(path: &Path, max: u64) -> PackError {
    bad(
        path,
        format!("decompresses to more than {max} bytes; a .tar.gz release must be at most that uncompressed"),
    )
}

fn not_gzip(path: &Path, e: io::Error) -> PackError {
    bad(path, format!("is not a readable .tar.gz: {e}"))
}

/// The length and SHA-256 of the decompressed stream of the `.tar.gz` at `path` (the
/// artifact `shown` in messages); `None`, with a warning, if it is not gzip: such a release
/// is published as before, without a digest (clients get no tar patch for it).
pub fn tar_digest(path: &Path, shown: &Path) -> Result<Option<TarDigest>> {
    tar_digest_capped(path, shown, MAX_TAR)
}

fn tar_digest_capped(path: &Path, shown: &Path, max: u64) -> Result<Option<TarDigest>> {
    let file = File::open(path).map_err(|e| bad(shown, format!("cannot open: {e}")))?;
    let mut input = capped(BufReader::new(file), max);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut length = 0u64;
    loop {
        let n = match input.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                tracing::warn!(artifact = %shown.display(), error = %e,
                    "not a readable .tar.gz; released without a tar digest, so without tar patches");
                return Ok(None);
            }
        };
        let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
            break;
        };
        hasher.update(chunk);
        length += n as u64;
    }
    if length > max {
        return Err(too_large(shown, max));
    }
    Ok(Some(TarDigest {
        length,
        sha256: hex::encode(hasher.finalize()),
    }))
}

/// The decompressed bytes of the `.tar.gz` bytes `gz` (read from `path`), at most
/// [`MAX_TAR`].
pub fn tar_bytes(gz: &[u8], path: &Path) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    capped(gz, MAX_TAR)
        .read_to_end(&mut out)
        .map_err(|e| not_gzip(path, e))?;
    if out.len() as u64 > MAX_TAR {
        return Err(too_large(path, MAX_TAR));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(dir: &Path, data: &[u8]) -> std::path::PathBuf {
        let path = dir.join("a.tar.gz");
        let mut enc = flate2::write::GzEncoder::new(
            File::create(&path).unwrap(),
            flate2::Compression::fast(),
        );
        enc.write_all(data).unwrap();
        enc.finish().unwrap();
        path
    }

    #[test]
    fn the_digest_is_of_the_decompressed_bytes_and_capped() {
        let dir = tempfile::tempdir().unwrap();
        let data = vec![7u8; 100_000];
        let path = gz(dir.path(), &data);
        let d = tar_digest(&path, &path).unwrap().unwrap();
        assert_eq!(d.length, 100_000);
        assert_eq!(d.sha256, hex::encode(Sha256::digest(&data)));
        let gz_bytes = std::fs::read(&path).unwrap();
        assert_eq!(tar_bytes(&gz_bytes, &path).unwrap(), data);
        assert!(tar_digest_capped(&path, &path, 100_000).unwrap().is_some());
        let err = tar_digest_capped(&path, &path, 99_999)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("decompresses to more than 99999 bytes"),
            "{err}"
        );
        assert!(tar_bytes(&gz_bytes[..20], &path).is_err());
        std::fs::write(&path, b"not gzip").unwrap();
        assert_eq!(tar_digest(&path, &path).unwrap(), None);
    }
}
