//! Applying delta patches (`delta::apply_patch`, `delta::apply_tar_patch`) to any bytes.
//!
//! The first byte chooses the engine (bit 0: whole-file or tar patch) and the input (bit 1:
//! the rest is the patch as is, or a mask XORed over a valid patch of a fixed pair, so that
//! mutations reach past the zstd frame into the records). The tar patch applies to a bundle
//! folder made once, holding a symlink that points out of it.
//!
//! Properties: no panic; nothing is written past the limit; what the call returns is what it
//! wrote; the bundle and the canary next to it are unchanged.
#![no_main]

use std::fs;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tuf_updater_core::delta::{apply_patch, apply_tar_patch, make_patch, make_tar_patch};

const LIMIT: u64 = 1 << 20;

struct Fixture {
    _dir: tempfile::TempDir,
    bundle: PathBuf,
    canary: PathBuf,
    old: Vec<u8>,
    file_patch: Vec<u8>,
    tar_patch: Vec<u8>,
}

/// Bytes of a small app: text with some variety.
fn content(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| b"fn update() { verify(); }\n"[i % 26] ^ (seed & (i as u8 % 3)))
        .collect()
}

fn tar_of(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, format!("Demo.app/{name}"), data.as_slice())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    tar.into_inner().unwrap_or_else(|e| panic!("{e}"))
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let bundle = dir.path().join("Demo.app");
        let canary = dir.path().join("canary");
        fs::write(&canary, b"outside the bundle").unwrap_or_else(|e| panic!("{e}"));
        let old_files = [("a", content(1, 3000)), ("b", content(2, 2000))];
        for (name, data) in &old_files {
            fs::create_dir_all(&bundle).unwrap_or_else(|e| panic!("{e}"));
            fs::write(bundle.join(name), data).unwrap_or_else(|e| panic!("{e}"));
        }
        std::os::unix::fs::symlink(&canary, bundle.join("link")).unwrap_or_else(|e| panic!("{e}"));
        let mut new_a = content(1, 3000);
        new_a[100] ^= 0x55;
        let new_files = [
            ("a", new_a),
            ("b", content(2, 2000)),
            ("c", content(3, 500)),
        ];
        let mut tar_patch = Vec::new();
        make_tar_patch(&tar_of(&old_files), &tar_of(&new_files), &mut tar_patch)
            .unwrap_or_else(|e| panic!("{e}"));
        let old = content(4, 4096);
        let mut new = old.clone();
        new[2000..2010].copy_from_slice(b"0123456789");
        let mut file_patch = Vec::new();
        make_patch(&old, &new, &mut file_patch).unwrap_or_else(|e| panic!("{e}"));
        Fixture {
            _dir: dir,
            bundle,
            canary,
            old,
            file_patch,
            tar_patch,
        }
    })
}

/// Counts what is written, and fails the property if it goes past the limit.
struct Capped(u64);

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        assert!(
            self.0 <= LIMIT,
            "wrote {} bytes past the limit {LIMIT}",
            self.0
        );
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let f = fixture();
    let tar = mode & 1 == 1;
    let patch = if mode & 2 == 0 {
        rest.to_vec()
    } else {
        let mut valid = if tar {
            f.tar_patch.clone()
        } else {
            f.file_patch.clone()
        };
        for (i, m) in rest.iter().enumerate() {
            if let Some(b) = valid.get_mut(i) {
                *b ^= m;
            }
        }
        valid
    };
    let mut out = Capped(0);
    let written = if tar {
        apply_tar_patch(&f.bundle, patch.as_slice(), &mut out, LIMIT).ok()
    } else {
        apply_patch(&f.old, patch.as_slice(), &mut out, LIMIT).ok()
    };
    if let Some(n) = written {
        assert_eq!(n, out.0, "returned {n}, wrote {}", out.0);
    }
    assert_eq!(
        fs::read(&f.canary).ok().as_deref(),
        Some(&b"outside the bundle"[..])
    );
});
