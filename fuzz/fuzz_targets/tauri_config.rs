//! The Tauri plugin's configuration (`plugins."tuf-updater"` in `tauri.conf.json`) on any
//! bytes: `Config::parse`, `Settings::merge` and `Settings::required` of
//! tauri-plugin-tuf-updater/src/config.rs, then tuf-updater-core's reading of the trusted root it yields.
//!
//! Properties: no panic; `Config::parse` gives what Tauri's own path gives (a JSON value,
//! then `serde_json::from_value::<Option<Config>>`); merging over an empty configuration,
//! or an empty one over it, gives the configuration's values; a trusted root given as text
//! is passed on byte for byte, one given as an object as JSON of the same value.
#![no_main]

// tuf-updater depends on tauri, whose build under the sanitizer would add a quarter of
// an hour to every run. Its configuration code is kept free of tauri (serde, serde_json and
// the standard library only) so that this target compiles that one file on its own.
#[path = "../../tauri-plugin-tuf-updater/src/config.rs"]
#[allow(dead_code)]
mod config;
// The launch confirmation's mode, which config.rs reads (tauri-free too).
#[path = "../../tauri-plugin-tuf-updater/src/confirm.rs"]
#[allow(dead_code)]
mod confirm;

use config::{Config, RootSource, Settings};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tuf_updater_core::tuf::trusted::{Expiry, TrustedMetadataSet};

fuzz_target!(|data: &[u8]| {
    let parsed = Config::parse(data);
    // Tauri's path: the JSON value of the key (absent: null), then the type.
    let tauri = serde_json::from_slice::<Value>(data)
        .and_then(serde_json::from_value::<Option<Config>>)
        .map(Option::unwrap_or_default);
    assert_eq!(
        parsed.as_ref().ok().map(|c| format!("{c:?}")),
        tauri.as_ref().ok().map(|c| format!("{c:?}")),
        "Config::parse and Tauri read {:?} differently",
        String::from_utf8_lossy(data)
    );
    let Ok(config) = parsed else {
        return;
    };
    let from_config = Settings::merge(config.clone(), Config::default(), None, "app".into());
    let from_code = Settings::merge(Config::default(), config.clone(), None, "app".into());
    assert_eq!(format!("{from_config:?}"), format!("{from_code:?}"));
    let settings = from_config;
    assert_eq!(settings.repository, config.repository);
    assert_eq!(settings.mirrors, config.mirrors);
    assert_eq!(settings.channel, config.channel);
    assert_eq!(
        settings.app_name,
        config.app_name.clone().unwrap_or_else(|| "app".into())
    );
    match &config.trusted_root {
        Some(Value::String(text)) => {
            assert_eq!(settings.trusted_root.as_deref(), Some(text.as_bytes()));
        }
        Some(value) => {
            let bytes = settings.trusted_root.as_deref().unwrap_or_default();
            let back = serde_json::from_slice::<Value>(bytes).ok();
            assert_eq!(
                back.as_ref(),
                Some(value),
                "the root object is not passed on"
            );
        }
        None => assert_eq!(settings.trusted_root, None),
    }
    match settings.required() {
        Ok((repository, root)) => {
            assert_eq!(Some(repository), config.repository.as_deref());
            if let RootSource::Bytes(root) = root {
                // What the engine does with it first: the trusted metadata set reads it.
                let _ = TrustedMetadataSet::with_expiry(root, Expiry::Ignored);
            }
        }
        Err(_) => assert!(
            config.repository.is_none()
                || (config.trusted_root.is_none() && config.trusted_root_file.is_none())
        ),
    }
});
