//! Embeds the trusted root named by `DEMO_APP_ROOT` (empty without it), then runs
//! tauri-build.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=DEMO_APP_ROOT");
    println!("cargo:rerun-if-env-changed=DEMO_APP_VERSION");
    println!("cargo:rerun-if-env-changed=DEMO_APP_BROKEN");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    let root = match std::env::var_os("DEMO_APP_ROOT") {
        Some(path) => {
            println!("cargo:rerun-if-changed={}", PathBuf::from(&path).display());
            std::fs::read(&path)
                .unwrap_or_else(|e| panic!("DEMO_APP_ROOT={}: {e}", PathBuf::from(&path).display()))
        }
        None => Vec::new(),
    };
    if let Err(e) = std::fs::write(out.join("demo-root.json"), root) {
        panic!("cannot write the embedded root: {e}");
    }
    tauri_build::build();
}
