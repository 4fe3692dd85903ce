//! Archive unpacking (`install::stage_executable` and `install::stage_bundle` on a `.tar.gz`)
//! into a staging folder, on any bytes.
//!
//! The first byte chooses: bit 0, an executable update (one file out of the archive) or a
//! bundle (a directory); bit 1, the rest is a `.tar.gz` as is, or a tar that this target fixes
//! up (header checksums) and compresses, so that mutations reach the tar reader rather than
//! dying in gzip or on a checksum.
//!
//! Properties: no panic, nothing outside the staging folder changes (a canary file and a
//! directory next to it, listed with their modes and contents before and after), and what is
//! staged is a real regular file (executable) or directory (bundle), never a symlink.
#![no_main]

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tuf_updater_core::install::{stage_bundle, stage_executable};

/// The folder around the staging folder `jail/`: everything else in it must stay as it was.
struct Guard {
    dir: tempfile::TempDir,
    before: Listing,
}

/// Path -> (kind and mode, contents or link target).
type Listing = BTreeMap<PathBuf, (String, Vec<u8>)>;

const JAIL: &str = "jail";

fn guard() -> &'static Guard {
    static GUARD: OnceLock<Guard> = OnceLock::new();
    GUARD.get_or_init(|| {
        // In memory where there is a tmpfs: staging syncs files to disk, which is slow.
        let shm = Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::tempdir_in(shm)
        } else {
            tempfile::tempdir()
        };
        let dir = dir.unwrap_or_else(|e| panic!("tempdir: {e}"));
        let root = dir.path();
        let write = |rel: &str, data: &[u8]| {
            let path = root.join(rel);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{rel}: {e}"));
            }
            fs::write(&path, data).unwrap_or_else(|e| panic!("{rel}: {e}"));
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644))
                .unwrap_or_else(|e| panic!("{rel}: {e}"));
        };
        // A file and a directory holding exactly one file: what a symlink in an archive
        // (`../../canary`, `../../outside`) would reach.
        write("canary", b"canary");
        write("outside/only", b"only");
        let before = list(root);
        Guard { dir, before }
    })
}

/// Everything under `root` but the staging folder, without following symlinks.
fn list(root: &Path) -> Listing {
    let mut out = Listing::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path == root.join(JAIL) {
                continue;
            }
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            let kind = format!("{:?} {:o}", meta.file_type(), meta.permissions().mode());
            let data = if meta.file_type().is_symlink() {
                fs::read_link(&path)
                    .map(|t| t.into_os_string().into_encoded_bytes())
                    .unwrap_or_default()
            } else if meta.is_file() {
                fs::read(&path).unwrap_or_default()
            } else {
                stack.push(path.clone());
                Vec::new()
            };
            out.insert(path, (kind, data));
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, payload)) = data.split_first() else {
        return;
    };
    let guard = guard();
    let jail = guard.dir.path().join(JAIL);
    let _ = fs::remove_dir_all(&jail);
    fs::create_dir(&jail).unwrap_or_else(|e| panic!("{}: {e}", jail.display()));
    let archive = if mode & 2 == 0 {
        payload.to_vec()
    } else {
        gzip(&fix_checksums(payload))
    };
    let artifact = jail.join("artifact");
    fs::write(&artifact, &archive).unwrap_or_else(|e| panic!("artifact: {e}"));
    let dest = jail.join("staged");
    let bundle = mode & 1 == 1;
    let result = if bundle {
        stage_bundle(&artifact, "App.app.tar.gz", &dest)
    } else {
        stage_executable(&artifact, "app.tar.gz", &dest)
    };
    let after = list(guard.dir.path());
    assert_eq!(
        after, guard.before,
        "something outside the staging folder changed"
    );
    if result.is_ok() {
        let meta = fs::symlink_metadata(&dest).ok();
        let kind = meta.map(|m| m.file_type());
        if bundle {
            assert!(
                kind.is_some_and(|k| k.is_dir()),
                "staged bundle is {kind:?}"
            );
        } else {
            assert!(
                kind.is_some_and(|k| k.is_file()),
                "staged executable is {kind:?}"
            );
        }
    }
    let _ = fs::remove_dir_all(&jail);
});

/// Writes the checksum of every tar header, walking the headers by their size fields.
fn fix_checksums(tar: &[u8]) -> Vec<u8> {
    let mut tar = tar.to_vec();
    let mut at = 0usize;
    while let Some(header) = at.checked_add(512).and_then(|end| tar.get_mut(at..end)) {
        if header.iter().all(|&b| b == 0) {
            at += 512;
            continue;
        }
        let size = header.get(124..136).map_or(0, octal);
        if let Some(field) = header.get_mut(148..156) {
            field.fill(b' ');
        }
        let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
        if let Some(field) = header.get_mut(148..156) {
            field.copy_from_slice(format!("{:06o}\0 ", sum & 0o777_777).as_bytes());
        }
        at = at
            .saturating_add(512)
            .saturating_add(size.div_ceil(512).saturating_mul(512));
    }
    tar
}

/// An octal tar number field, as far as it is one.
fn octal(field: &[u8]) -> usize {
    field
        .iter()
        .skip_while(|&&b| b == b' ')
        .take_while(|&&b| (b'0'..=b'7').contains(&b))
        .fold(0usize, |n, &b| {
            n.saturating_mul(8).saturating_add(usize::from(b - b'0'))
        })
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = gz.write_all(data);
    gz.finish().unwrap_or_default()
}
