//! The name, version, release and architecture of an RPM package: a 96-byte lead, the
//! signature header (padded to 8 bytes), then the main header, whose index locates each tag's
//! value in its data store.

use std::fs;
use std::io::{Cursor, Read, Seek};
use std::path::Path;

use super::error::{PackageError, PackageFields};
use super::io::{Source, IN_MEMORY};
use crate::files::FileError;

const FORMAT: &str = "RPM package";
const LEAD: &[u8] = b"\xED\xAB\xEE\xDB";
const LEAD_LEN: u64 = 96;
const HEADER_MAGIC: &[u8] = b"\x8E\xAD\xE8\x01";
/// rpm's own limits (`hdrchkTags`, `hdrchkData`): at most this many index entries...
const MAX_INDEX: u32 = 0xFFFF;
/// ...and this large a data store.
const MAX_STORE: u32 = 256 * 1024 * 1024;
/// Longest string value read.
const MAX_STRING: u64 = 4096;

const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_ARCH: u32 = 1022;
const TYPE_STRING: u32 = 6;

/// `NAME`, `VERSION`, `RELEASE` and `ARCH` of the RPM package at `path`.
pub fn rpm_fields(path: &Path) -> Result<PackageFields, PackageError> {
    let file = fs::File::open(path).map_err(FileError::at(path))?;
    fields(Source::new(std::io::BufReader::new(file), path)?)
}

/// [`rpm_fields`] of bytes in memory.
pub fn rpm_fields_bytes(data: &[u8]) -> Result<PackageFields, PackageError> {
    fields(Source::new(Cursor::new(data), Path::new(IN_MEMORY))?)
}

/// A header's place in the file: its index entries and where its data store starts.
struct Header {
    /// (tag, type, offset, count) of each entry.
    index: Vec<[u32; 4]>,
    store: u64,
    store_len: u64,
    /// Where the next structure starts.
    end: u64,
}

fn fields<R: Read + Seek>(mut src: Source<R>) -> Result<PackageFields, PackageError> {
    let mut lead = [0u8; LEAD_LEN as usize];
    src.exact_at(0, &mut lead, FORMAT, "the lead")?;
    if !lead.starts_with(LEAD) {
        return Err(src.malformed(FORMAT, "no RPM lead (ED AB EE DB)"));
    }
    let signature = header(&mut src, LEAD_LEN, "the signature header")?;
    let main_at = signature.end.next_multiple_of(8);
    let main = header(&mut src, main_at, "the main header")?;
    let mut string = |tag: u32, what: &str| string_tag(&mut src, &main, tag, what);
    let name = string(TAG_NAME, "NAME")?;
    let version = string(TAG_VERSION, "VERSION")?;
    let release = string(TAG_RELEASE, "RELEASE")?;
    let arch = string(TAG_ARCH, "ARCH")?;
    let missing = |what: &str| src.malformed(FORMAT, format!("the main header has no {what}"));
    Ok(PackageFields {
        name: name
            .filter(|v| !v.is_empty())
            .ok_or_else(|| missing("NAME"))?,
        version: version
            .filter(|v| !v.is_empty())
            .ok_or_else(|| missing("VERSION"))?,
        release,
        arch,
    })
}

fn be32(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..at + 4)
        .and_then(|w| <[u8; 4]>::try_from(w).ok())
        .map_or(0, u32::from_be_bytes)
}

/// The header at `at`: magic, 4 reserved bytes, entry count, store size, the entries.
fn header<R: Read + Seek>(
    src: &mut Source<R>,
    at: u64,
    what: &str,
) -> Result<Header, PackageError> {
    let mut intro = [0u8; 16];
    src.exact_at(at, &mut intro, FORMAT, what)?;
    if !intro.starts_with(HEADER_MAGIC) {
        return Err(src.malformed(FORMAT, format!("{what} at offset {at} has no header magic")));
    }
    let count = be32(&intro, 8);
    let store_len = be32(&intro, 12);
    if count > MAX_INDEX {
        return Err(src.too_large(
            FORMAT,
            format!("the index of {what} ({count} entries)"),
            u64::from(MAX_INDEX),
        ));
    }
    if store_len > MAX_STORE {
        return Err(src.too_large(
            FORMAT,
            format!("the data of {what} ({store_len} bytes)"),
            u64::from(MAX_STORE),
        ));
    }
    let index_at = at + 16;
    let store = index_at + u64::from(count) * 16;
    let end = store + u64::from(store_len);
    if end > src.len {
        return Err(src.malformed(
            FORMAT,
            format!(
                "{what} declares {count} entries and {store_len} bytes of data, past the end of the file ({})",
                src.len
            ),
        ));
    }
    // Fits in the file, and at most 1 MiB.
    let mut raw = vec![0u8; count as usize * 16];
    src.exact_at(index_at, &mut raw, FORMAT, what)?;
    let index = raw
        .chunks_exact(16)
        .map(|e| [be32(e, 0), be32(e, 4), be32(e, 8), be32(e, 12)])
        .collect();
    Ok(Header {
        index,
        store,
        store_len: u64::from(store_len),
        end,
    })
}

/// The string value of `tag` in `header`, if it has one.
fn string_tag<R: Read + Seek>(
    src: &mut Source<R>,
    header: &Header,
    tag: u32,
    what: &str,
) -> Result<Option<String>, PackageError> {
    let Some(&[_, kind, offset, _]) = header.index.iter().find(|e| e[0] == tag) else {
        return Ok(None);
    };
    if kind != TYPE_STRING {
        return Err(src.malformed(FORMAT, format!("tag {what} has type {kind}, not a string")));
    }
    let offset = u64::from(offset);
    if offset >= header.store_len {
        return Err(src.malformed(
            FORMAT,
            format!(
                "tag {what} points at {offset}, past its header's data ({} bytes)",
                header.store_len
            ),
        ));
    }
    let room = (header.store_len - offset).min(MAX_STRING);
    let mut buf = vec![0u8; room as usize];
    src.exact_at(header.store + offset, &mut buf, FORMAT, what)?;
    let Some(nul) = buf.iter().position(|&b| b == 0) else {
        return Err(src.malformed(
            FORMAT,
            format!("tag {what} is not a terminated string within {room} bytes"),
        ));
    };
    let value = buf.get(..nul).unwrap_or_default();
    let value = std::str::from_utf8(value)
        .map_err(|_| src.malformed(FORMAT, format!("tag {what} is not UTF-8")))?;
    Ok(Some(value.to_string()))
}
