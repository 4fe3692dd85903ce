//! The architecture of a bundle for `release --bundle-dir` ([`bundle_dir`](crate::ops::bundle_dir)):
//! as a file name or a target triple states it, or as the main executable of a macOS
//! `.app.tar.gz` is built (its Mach-O CPU types).

use std::io::Read;
use std::path::{Component, Path};

use crate::error::{PackError, Result};

/// An architecture as Tauri, Debian, RPM or a target triple write it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Aarch64,
    I686,
    Armv7,
    /// A macOS universal binary: both x86_64 and aarch64.
    Universal,
}

impl Arch {
    pub fn from_token(token: &str) -> Option<Arch> {
        Some(match token.to_ascii_lowercase().as_str() {
            "x86_64" | "x86-64" | "amd64" | "x64" => Arch::X86_64,
            "aarch64" | "arm64" => Arch::Aarch64,
            "i686" | "i586" | "i386" | "x86" => Arch::I686,
            "armv7" | "armv7l" | "armv7hl" | "armhf" => Arch::Armv7,
            "universal" => Arch::Universal,
            _ => return None,
        })
    }

    pub fn names(self) -> &'static [&'static str] {
        match self {
            Arch::X86_64 => &["x86_64"],
            Arch::Aarch64 => &["aarch64"],
            Arch::I686 => &["i686"],
            Arch::Armv7 => &["armv7"],
            Arch::Universal => &["x86_64", "aarch64"],
        }
    }
}

/// The architecture a file name states (`Demo_1.2.0_amd64.deb`), if one; an error if it
/// states several.
pub fn name_arch(path: &Path, name: &str) -> Result<Option<Arch>> {
    let name = name.to_ascii_lowercase().replace("x86_64", "x64");
    let mut arches: Vec<Arch> = name
        .split(['_', '-', '.', ' '])
        .filter_map(Arch::from_token)
        .collect();
    arches.dedup();
    match arches.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        _ => Err(PackError::BadBundle {
            path: path.to_path_buf(),
            reason: "its name states several architectures".into(),
        }),
    }
}

/// The architecture of the nearest target triple among the folders of `path`
/// (`target/aarch64-apple-darwin/release/bundle/...`).
pub fn triple_arch(path: &Path) -> Option<Arch> {
    path.ancestors().skip(1).find_map(|dir| {
        let name = dir.file_name()?.to_str()?;
        let parts: Vec<&str> = name.split('-').collect();
        let os = ["darwin", "windows", "linux"];
        if parts.len() < 3 || !parts.iter().skip(1).any(|p| os.contains(p)) {
            return None;
        }
        Arch::from_token(parts.first()?)
    })
}

/// The most of a `.app.tar.gz` decompressed to find its executables (as
/// [`tarball::MAX_TAR`](crate::ops::tarball::MAX_TAR)).
const MAX_TAR: u64 = 8 << 30;
/// What is read of an executable: its Mach-O header, or a fat header's table.
const MAX_HEADER: u64 = 4096;

const CPU_X86_64: u32 = 0x0100_0007;
const CPU_ARM64: u32 = 0x0100_000C;

/// The architecture of the executables in `<name>.app/Contents/MacOS/` of a `.app.tar.gz`:
/// `None` if there are none, or they are not all built for the same ones.
pub fn macos_arch(path: &Path) -> Result<Option<Arch>> {
    let bad = |e: std::io::Error| PackError::BadBundle {
        path: path.to_path_buf(),
        reason: format!("cannot read it as a .tar.gz: {e}"),
    };
    let file = std::fs::File::open(path).map_err(tuf_updater_core::files::FileError::at(path))?;
    let gz = flate2::read::GzDecoder::new(std::io::BufReader::new(file)).take(MAX_TAR);
    let mut tar = tar::Archive::new(gz);
    let mut found: Option<Arch> = None;
    for entry in tar.entries().map_err(bad)? {
        let entry = entry.map_err(bad)?;
        let in_macos = entry.path().is_ok_and(|p| {
            let parts: Vec<Component> = p
                .components()
                .filter(|c| !matches!(c, Component::CurDir))
                .collect();
            matches!(parts.as_slice(), [_, Component::Normal(c), Component::Normal(m), Component::Normal(_)]
                if *c == "Contents" && *m == "MacOS")
        });
        if !in_macos || !entry.header().entry_type().is_file() {
            continue;
        }
        let mut head = Vec::new();
        entry.take(MAX_HEADER).read_to_end(&mut head).map_err(bad)?;
        let Some(arch) = mach_o_arch(&head) else {
            continue;
        };
        if found.is_some_and(|f| f != arch) {
            return Ok(None);
        }
        found = Some(arch);
    }
    Ok(found)
}

fn word(data: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let bytes: [u8; 4] = data.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(bytes)
    } else {
        u32::from_le_bytes(bytes)
    })
}

/// The architecture of a Mach-O file from its first bytes: thin (64-bit, little-endian) or
/// fat (every slice x86_64 or arm64; both is universal).
pub fn mach_o_arch(head: &[u8]) -> Option<Arch> {
    let cpu = |c: u32| match c {
        CPU_X86_64 => Some(Arch::X86_64),
        CPU_ARM64 => Some(Arch::Aarch64),
        _ => None,
    };
    match word(head, 0, true)? {
        0xCFFA_EDFE => cpu(word(head, 4, false)?),
        magic @ (0xCAFE_BABE | 0xCAFE_BABF) => {
            let size = if magic == 0xCAFE_BABE { 20 } else { 32 };
            let count = usize::try_from(word(head, 4, true)?).ok()?;
            let mut arches = Vec::new();
            for i in 0..count.min(16) {
                arches.push(cpu(word(head, 8 + i * size, true)?)?);
            }
            arches.sort_by_key(|a| *a as u8);
            arches.dedup();
            match arches.as_slice() {
                [one] => Some(*one),
                [Arch::X86_64, Arch::Aarch64] => Some(Arch::Universal),
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architectures_from_names_and_triples() {
        let p = Path::new("x");
        for (name, arch) in [
            ("Demo_1.2.0_amd64.AppImage", Some(Arch::X86_64)),
            ("demo-1.2.0-1.x86_64.rpm", Some(Arch::X86_64)),
            ("Demo_1.2.0_x64_en-US.msi", Some(Arch::X86_64)),
            ("Demo_1.2.0_arm64-setup.exe", Some(Arch::Aarch64)),
            ("Demo_aarch64.app.tar.gz", Some(Arch::Aarch64)),
            ("Demo_universal.app.tar.gz", Some(Arch::Universal)),
            ("demo_1.2.0_armhf.deb", Some(Arch::Armv7)),
            ("Demo_1.2.0_x86-setup.exe", Some(Arch::I686)),
            ("Demo.app.tar.gz", None),
        ] {
            assert_eq!(name_arch(p, name).unwrap(), arch, "{name}");
        }
        assert!(name_arch(p, "Demo_x64_arm64.msi").is_err());
        let path = Path::new("/w/target/aarch64-apple-darwin/release/bundle/macos/Demo.app.tar.gz");
        assert_eq!(triple_arch(path), Some(Arch::Aarch64));
        let path = Path::new("/w/target/release/bundle/macos/Demo.app.tar.gz");
        assert_eq!(triple_arch(path), None);
        let path = Path::new("/w/universal-apple-darwin/release/bundle/macos/Demo.app.tar.gz");
        assert_eq!(triple_arch(path), Some(Arch::Universal));
    }

    #[test]
    fn mach_o_headers() {
        let mut thin = vec![0xCF, 0xFA, 0xED, 0xFE];
        thin.extend_from_slice(&CPU_ARM64.to_le_bytes());
        assert_eq!(mach_o_arch(&thin), Some(Arch::Aarch64));
        let mut fat = 0xCAFE_BABEu32.to_be_bytes().to_vec();
        fat.extend_from_slice(&2u32.to_be_bytes());
        for cpu in [CPU_X86_64, CPU_ARM64] {
            fat.extend_from_slice(&cpu.to_be_bytes());
            fat.extend_from_slice(&[0; 16]);
        }
        assert_eq!(mach_o_arch(&fat), Some(Arch::Universal));
        assert_eq!(mach_o_arch(b"\x7fELF"), None);
        assert_eq!(mach_o_arch(&fat[..12]), None);
    }
}
