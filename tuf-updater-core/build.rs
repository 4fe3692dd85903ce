//! Gives the `selfupdate` example the trusted root named by `SELFUPDATE_ROOT` at build time
//! (a copy in `OUT_DIR`, empty when the variable is unset), so that a plain build of the
//! workspace needs no root. The library does not use it.

use std::path::PathBuf;

fn main() {
    println!("cargo::rerun-if-env-changed=SELFUPDATE_ROOT");
    let Some(out) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        println!("cargo::error=OUT_DIR is not set");
        return;
    };
    let dest = out.join("selfupdate-root.json");
    let root = match std::env::var_os("SELFUPDATE_ROOT").filter(|p| !p.is_empty()) {
        Some(path) => {
            let path = PathBuf::from(path);
            println!("cargo::rerun-if-changed={}", path.display());
            match std::fs::read(&path) {
                Ok(bytes) => bytes,
                Err(e) => {
                    println!("cargo::error=SELFUPDATE_ROOT={}: {e}", path.display());
                    return;
                }
            }
        }
        None => Vec::new(),
    };
    // Written only when it changes, so an unchanged root rebuilds nothing.
    if std::fs::read(&dest).ok().as_deref() != Some(root.as_slice()) {
        if let Err(e) = std::fs::write(&dest, &root) {
            println!("cargo::error={}: {e}", dest.display());
        }
    }
}
