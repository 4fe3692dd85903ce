//! The user's settings file (`UserSettings::from_json`, what `SettingsStore::load` reads) on
//! any bytes.
//!
//! Properties: parsing never panics, and parsed settings written as `SettingsStore::save`
//! writes them (pretty JSON) parse to the same settings, which write the same bytes again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tuf_updater_core::settings::UserSettings;

fuzz_target!(|data: &[u8]| {
    let Ok(settings) = UserSettings::from_json(data) else {
        return;
    };
    let written = serde_json::to_vec_pretty(&settings).unwrap_or_default();
    let again = UserSettings::from_json(&written);
    assert_eq!(
        again.as_ref().ok(),
        Some(&settings),
        "{} reads back as {again:?}",
        String::from_utf8_lossy(&written)
    );
    if let Ok(again) = again {
        assert_eq!(
            serde_json::to_vec_pretty(&again).unwrap_or_default(),
            written
        );
    }
});
