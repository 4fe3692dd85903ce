//! The plugin's configuration: `plugins."updater-tauri"` in `tauri.conf.json`, merged
//! with what the app sets on [`Builder`](crate::Builder) (code wins).

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

/// `plugins."updater-tauri"` in `tauri.conf.json`. Every key is optional; unknown keys are
/// an error, so that a misspelt key does not silently leave updates misconfigured.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// Base URL of the repository (`<base>/metadata/`, `<base>/targets/`).
    pub repository: Option<String>,
    /// Further base URLs, tried in order when the repository fails.
    #[serde(default)]
    pub mirrors: Vec<String>,
    /// The repository's `1.root.json`: the object, or its text as a string.
    pub trusted_root: Option<Value>,
    /// The app's default channel.
    pub channel: Option<String>,
    /// Check in the background once the app has started.
    pub check_on_start: Option<bool>,
    /// Check in the background every this many seconds (the policy's interval wins).
    pub check_interval_secs: Option<u64>,
    /// Show the built-in native dialog when a background check finds an update.
    pub prompt: Option<bool>,
    /// The window whose first page load confirms a freshly installed version.
    pub confirm_window: Option<String>,
    /// Launches an unconfirmed new version may take before it is rolled back.
    pub max_unconfirmed_launches: Option<u32>,
    /// The app's name in the repository and for the policy file.
    pub app_name: Option<String>,
    /// HTTP connect and read timeout, in seconds.
    pub timeout_secs: Option<u64>,
}

impl Config {
    /// The trusted root's bytes: the JSON text as given, or the object written out.
    pub fn trusted_root_bytes(&self) -> Option<Vec<u8>> {
        match self.trusted_root.as_ref()? {
            Value::String(text) => Some(text.as_bytes().to_vec()),
            other => serde_json::to_vec(other).ok(),
        }
    }
}

/// What the plugin runs with: the config, with the builder's settings laid over it.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub app_name: String,
    pub repository: Option<String>,
    pub mirrors: Vec<String>,
    pub trusted_root: Option<Vec<u8>>,
    pub channel: Option<String>,
    pub check_on_start: bool,
    pub check_interval: Option<Duration>,
    pub prompt: bool,
    pub confirm_window: String,
    pub max_unconfirmed_launches: Option<u32>,
    pub timeout: Option<Duration>,
}

impl Settings {
    pub(crate) const DEFAULT_CONFIRM_WINDOW: &'static str = "main";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_reads_camel_case_and_refuses_unknown_keys() {
        let config: Config = serde_json::from_value(serde_json::json!({
            "repository": "https://updates.example.com/app",
            "mirrors": ["https://mirror.example.net/app"],
            "trustedRoot": {"signed": {"_type": "root"}, "signatures": []},
            "checkOnStart": true,
            "checkIntervalSecs": 60,
            "prompt": true,
            "confirmWindow": "main",
            "maxUnconfirmedLaunches": 2,
            "appName": "my-app",
            "timeoutSecs": 5
        }))
        .unwrap();
        assert_eq!(config.mirrors.len(), 1);
        assert_eq!(config.check_interval_secs, Some(60));
        let root = config.trusted_root_bytes().unwrap();
        let parsed: Value = serde_json::from_slice(&root).unwrap();
        assert_eq!(parsed["signed"]["_type"], "root");

        let err = serde_json::from_value::<Config>(serde_json::json!({"repo": "x"})).unwrap_err();
        assert!(err.to_string().contains("unknown field `repo`"), "{err}");
    }

    #[test]
    fn trusted_root_as_text_is_kept_byte_for_byte() {
        let text = "{\"signed\": {}, \"signatures\": []}";
        let config: Config =
            serde_json::from_value(serde_json::json!({ "trustedRoot": text })).unwrap();
        assert_eq!(config.trusted_root_bytes().unwrap(), text.as_bytes());
    }
}
