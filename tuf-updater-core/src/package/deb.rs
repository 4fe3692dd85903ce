//! The `control` file of a Debian package: an `ar` archive holding `debian-binary`, then
//! `control.tar[.gz|.xz|.zst]`, then `data.tar.*`.

use std::fs;
use std::io::{Cursor, Read, Seek};
use std::path::Path;

use super::error::{PackageError, PackageFields};
use super::io::{CappedReader, Named, Source, IN_MEMORY};
use super::sniff::trim_ar_name;
use crate::files::FileError;

const FORMAT: &str = "Debian package";
/// Largest `control.tar.*` member, and largest tar it may decompress to.
const MAX_CONTROL_TAR: u64 = 16 * 1024 * 1024;
/// Largest `control` file.
const MAX_CONTROL: u64 = 1024 * 1024;
/// Memory the xz decoder may use (its dictionary is declared by the file).
const XZ_MEMLIMIT: u64 = 64 * 1024 * 1024;
/// Largest zstd window (2^27 = 128 MiB, zstd's own default limit).
const ZSTD_WINDOW_LOG_MAX: u32 = 27;
/// Members looked at before giving up on finding `control.tar.*` (it is the second).
const MAX_MEMBERS: usize = 8;
const AR_MAGIC: &[u8] = b"!<arch>\n";
const AR_HEADER: usize = 60;

/// `Package`, `Version` and `Architecture` of the Debian package at `path`.
pub fn deb_fields(path: &Path) -> Result<PackageFields, PackageError> {
    let file = fs::File::open(path).map_err(FileError::at(path))?;
    fields(Source::new(std::io::BufReader::new(file), path)?)
}

/// [`deb_fields`] of bytes in memory.
pub fn deb_fields_bytes(data: &[u8]) -> Result<PackageFields, PackageError> {
    fields(Source::new(Cursor::new(data), Path::new(IN_MEMORY))?)
}

fn fields<R: Read + Seek>(mut src: Source<R>) -> Result<PackageFields, PackageError> {
    let (name, offset, size) = control_member(&mut src)?;
    let compression = name
        .strip_prefix("control.tar")
        .unwrap_or_default()
        .to_string();
    let path = src.path.clone();
    let src_name = src.named();
    let member = src.reader_at(offset)?.take(size);
    let src = &src_name;
    let control = match compression.as_str() {
        "" => control_file(src, Box::new(member))?,
        ".gz" => control_file(src, Box::new(flate2::read::GzDecoder::new(member)))?,
        ".xz" => {
            let stream = xz2::stream::Stream::new_stream_decoder(XZ_MEMLIMIT, 0)
                .map_err(|e| src.malformed(FORMAT, format!("xz decoder: {e}")))?;
            let xz = xz2::read::XzDecoder::new_stream(member, stream);
            control_file(src, Box::new(xz))?
        }
        ".zst" => {
            let mut zst =
                zstd::stream::read::Decoder::new(member).map_err(|e| FileError::new(&path, e))?;
            zst.window_log_max(ZSTD_WINDOW_LOG_MAX)
                .map_err(|e| src.malformed(FORMAT, format!("zstd decoder: {e}")))?;
            control_file(src, Box::new(zst))?
        }
        other => {
            return Err(src.malformed(
                FORMAT,
                format!(
                    "control.tar{other}: unknown compression (expected none, .gz, .xz or .zst)"
                ),
            ))
        }
    };
    parse_control(src, &control)
}

/// The name, data offset and size of the `control.tar.*` member.
fn control_member<R: Read + Seek>(src: &mut Source<R>) -> Result<(String, u64, u64), PackageError> {
    let mut magic = [0u8; 8];
    src.exact_at(0, &mut magic, FORMAT, "the ar header")?;
    if magic != AR_MAGIC {
        return Err(src.malformed(FORMAT, "not an ar archive (no `!<arch>` header)"));
    }
    let mut at = AR_MAGIC.len() as u64;
    for _ in 0..MAX_MEMBERS {
        if at >= src.len {
            break;
        }
        let mut header = [0u8; AR_HEADER];
        src.exact_at(at, &mut header, FORMAT, "an ar member header")?;
        if header.get(58..60) != Some(b"`\n".as_slice()) {
            return Err(src.malformed(FORMAT, format!("bad ar member header at offset {at}")));
        }
        let name = String::from_utf8_lossy(trim_ar_name(header.get(..16).unwrap_or_default()))
            .into_owned();
        let size = std::str::from_utf8(header.get(48..58).unwrap_or_default())
            .ok()
            .and_then(|s| s.trim_end().parse::<u64>().ok())
            .ok_or_else(|| src.malformed(FORMAT, format!("ar member {name:?}: bad size field")))?;
        let data = at + AR_HEADER as u64;
        if size > src.len.saturating_sub(data) {
            return Err(src.malformed(
                FORMAT,
                format!(
                    "ar member {name:?} declares {size} bytes at offset {data}, past the end of the file ({})",
                    src.len
                ),
            ));
        }
        if name.starts_with("control.tar") {
            if size > MAX_CONTROL_TAR {
                return Err(src.too_large(FORMAT, format!("member {name}"), MAX_CONTROL_TAR));
            }
            return Ok((name, data, size));
        }
        if name.starts_with("data.tar") {
            break;
        }
        // Members are padded to an even offset.
        at = data + size + size % 2;
    }
    Err(src.malformed(FORMAT, "no control.tar member"))
}

/// The `control` file of the control tar read from `tar`.
fn control_file(src: &Named, tar: Box<dyn Read + '_>) -> Result<Vec<u8>, PackageError> {
    let mut archive = tar::Archive::new(CappedReader::new(tar, MAX_CONTROL_TAR));
    let found = find_control(&mut archive);
    let capped = archive.into_inner();
    if capped.exceeded {
        return Err(src.too_large(FORMAT, "the decompressed control.tar", MAX_CONTROL_TAR));
    }
    if let Some(reason) = capped.failed {
        return Err(src.malformed(FORMAT, format!("control.tar: {reason}")));
    }
    match found {
        Ok(Some(Ok(data))) => Ok(data),
        Ok(Some(Err(size))) => Err(src.too_large(
            FORMAT,
            format!("the control file ({size} bytes)"),
            MAX_CONTROL,
        )),
        Ok(None) => Err(src.malformed(FORMAT, "control.tar has no control file")),
        Err(e) => Err(src.malformed(FORMAT, format!("control.tar: {e}"))),
    }
}

/// The `control` entry's bytes, `Err(size)` if it is too large, or `None` if absent.
type Found = Option<Result<Vec<u8>, u64>>;

fn find_control<R: Read>(archive: &mut tar::Archive<R>) -> std::io::Result<Found> {
    for entry in archive.entries()? {
        let entry = entry?;
        let is_control = {
            let path = entry.path()?;
            let path = path.strip_prefix("./").unwrap_or(&path);
            path == Path::new("control")
        };
        if !is_control {
            continue;
        }
        let size = entry.header().size()?;
        if size > MAX_CONTROL {
            return Ok(Some(Err(size)));
        }
        let mut data = Vec::new();
        entry.take(MAX_CONTROL).read_to_end(&mut data)?;
        return Ok(Some(Ok(data)));
    }
    Ok(None)
}

/// The fields of the first paragraph of a control file (`Field: value` lines; lines
/// starting with a space or tab continue the previous field).
fn parse_control(src: &Named, data: &[u8]) -> Result<PackageFields, PackageError> {
    let text = std::str::from_utf8(data)
        .map_err(|_| src.malformed(FORMAT, "the control file is not UTF-8"))?;
    let mut name = None;
    let mut version = None;
    let mut arch = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) || line.starts_with('#') {
            continue;
        }
        let Some((field, value)) = line.split_once(':') else {
            return Err(src.malformed(FORMAT, format!("control file line {line:?} has no `:`")));
        };
        let value = Some(value.trim().to_string());
        match field.trim().to_ascii_lowercase().as_str() {
            "package" => name = value,
            "version" => version = value,
            "architecture" => arch = value,
            _ => {}
        }
    }
    let missing =
        |field: &str| src.malformed(FORMAT, format!("the control file has no {field} field"));
    let name = name
        .filter(|v| !v.is_empty())
        .ok_or_else(|| missing("Package"))?;
    let version = version
        .filter(|v| !v.is_empty())
        .ok_or_else(|| missing("Version"))?;
    Ok(PackageFields {
        name,
        version,
        release: None,
        arch: arch.filter(|v| !v.is_empty()),
    })
}
