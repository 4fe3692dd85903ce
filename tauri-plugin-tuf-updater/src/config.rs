//! The plugin's configuration: `plugins."tuf-updater"` in `tauri.conf.json`, merged
//! with what the app sets on [`Builder`](crate::Builder) (code wins).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

/// `plugins."tuf-updater"` in `tauri.conf.json`. Every key is optional; unknown keys are
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
    /// The repository's `1.root.json` as a file shipped with the app: a path relative to
    /// the app's resource directory (list it under `bundle.resources`), or absolute.
    pub trusted_root_file: Option<PathBuf>,
    /// The app's default channel.
    pub channel: Option<String>,
    /// Check in the background once the app has started.
    pub check_on_start: Option<bool>,
    /// Check in the background every this many seconds (the policy's interval wins).
    pub check_interval_secs: Option<u64>,
    /// Show the built-in native dialog when a background check finds an update.
    pub prompt: Option<bool>,
    /// The prompt's language (`en`, `de`, `fr`; `de-DE` works too); default: the OS's,
    /// else English.
    pub prompt_language: Option<String>,
    /// After "Later", the prompt waits this many seconds (default a day).
    pub remind_later_secs: Option<u64>,
    /// The window whose first page load confirms a freshly installed version: the same
    /// as `confirmLaunch: { "window": "<label>" }`.
    pub confirm_window: Option<String>,
    /// How a freshly installed version confirms its launch: `"firstWindow"` (the default),
    /// `"manual"` or `{ "window": "<label>" }`.
    pub confirm_launch: Option<crate::confirm::ConfirmLaunch>,
    /// Launches an unconfirmed new version may take before it is rolled back.
    pub max_unconfirmed_launches: Option<u32>,
    /// The app's name in the repository and for the policy file.
    pub app_name: Option<String>,
    /// HTTP connect and read timeout, in seconds.
    pub timeout_secs: Option<u64>,
}

impl Config {
    /// Reads the text of `plugins."tuf-updater"` as the plugin does: the JSON becomes a
    /// value, the value this type (`null` is no configuration: every key absent). The
    /// plugin's setup parses the value Tauri hands it the same way, after the early
    /// startup; this is for tools and the fuzz target.
    pub fn parse(json: &[u8]) -> serde_json::Result<Config> {
        let value: Value = serde_json::from_slice(json)?;
        Ok(Option::<Config>::deserialize(value)?.unwrap_or_default())
    }

    /// The trusted root's bytes: the JSON text as given, or the object written out.
    pub fn trusted_root_bytes(&self) -> Option<Vec<u8>> {
        match self.trusted_root.as_ref()? {
            Value::String(text) => Some(text.as_bytes().to_vec()),
            other => serde_json::to_vec(other).ok(),
        }
    }
}

/// The largest trusted root file read (the TUF client's own cap for a root).
pub(crate) const MAX_ROOT_FILE: u64 = 512 * 1024;

/// Reads a trusted root file, refusing one larger than [`MAX_ROOT_FILE`] without reading
/// more than that.
pub(crate) fn read_root_file(path: &Path) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path)
        .map_err(|e| format!("trusted root file {}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_ROOT_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("trusted root file {}: {e}", path.display()))?;
    if bytes.len() as u64 > MAX_ROOT_FILE {
        return Err(format!(
            "trusted root file {} is larger than {MAX_ROOT_FILE} bytes",
            path.display()
        ));
    }
    Ok(bytes)
}

/// What the plugin runs with: the config, with the builder's settings laid over it.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub app_name: String,
    pub repository: Option<String>,
    pub mirrors: Vec<String>,
    pub trusted_root: Option<Vec<u8>>,
    /// Read when `trusted_root` is not given.
    pub trusted_root_file: Option<PathBuf>,
    pub channel: Option<String>,
    pub check_on_start: bool,
    pub check_interval: Option<Duration>,
    pub prompt: bool,
    pub prompt_language: Option<String>,
    pub remind_later: Option<Duration>,
    /// The launch confirmation's mode, or why the configuration's is refused.
    pub confirm_launch: Result<crate::confirm::ConfirmLaunch, String>,
    pub max_unconfirmed_launches: Option<u32>,
    pub timeout: Option<Duration>,
}

/// Where the trusted root comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RootSource<'a> {
    /// Embedded by the app or given in the configuration.
    Bytes(&'a [u8]),
    /// A file to read: relative to the app's resource directory, or absolute.
    File(&'a Path),
}

impl Settings {
    /// `code` (what the app set on the `Builder`, and the root it embeds) over `config`
    /// (`tauri.conf.json`); `default_name` when neither names the app.
    pub(crate) fn merge(
        config: Config,
        code: Config,
        code_root: Option<Vec<u8>>,
        default_name: String,
    ) -> Settings {
        let trusted_root = code_root
            .or_else(|| code.trusted_root_bytes())
            .or_else(|| config.trusted_root_bytes());
        let mut mirrors = code.mirrors;
        if mirrors.is_empty() {
            mirrors = config.mirrors;
        }
        Settings {
            app_name: code.app_name.or(config.app_name).unwrap_or(default_name),
            repository: code.repository.or(config.repository),
            mirrors,
            trusted_root,
            trusted_root_file: code.trusted_root_file.or(config.trusted_root_file),
            channel: code.channel.or(config.channel),
            check_on_start: code
                .check_on_start
                .or(config.check_on_start)
                .unwrap_or(false),
            check_interval: code
                .check_interval_secs
                .or(config.check_interval_secs)
                .map(Duration::from_secs),
            prompt: code.prompt.or(config.prompt).unwrap_or(false),
            prompt_language: code.prompt_language.or(config.prompt_language),
            remind_later: code
                .remind_later_secs
                .or(config.remind_later_secs)
                .map(Duration::from_secs),
            confirm_launch: crate::confirm::ConfirmLaunch::merge(
                code.confirm_launch,
                code.confirm_window,
                config.confirm_launch,
                config.confirm_window,
            ),
            max_unconfirmed_launches: code
                .max_unconfirmed_launches
                .or(config.max_unconfirmed_launches),
            timeout: code
                .timeout_secs
                .or(config.timeout_secs)
                .map(Duration::from_secs),
        }
    }

    /// The repository URL and where the trusted root comes from, or what is missing. (The
    /// URL, the root and the channel are checked by tuf-updater-core when the engine is built.)
    pub(crate) fn required(&self) -> Result<(&str, RootSource<'_>), String> {
        let repository = self.repository.as_deref().ok_or(
            "no repository URL: set plugins.\"tuf-updater\".repository in tauri.conf.json \
             or call Builder::repository",
        )?;
        let root = match (&self.trusted_root, &self.trusted_root_file) {
            (Some(root), _) => RootSource::Bytes(root),
            (None, Some(file)) => RootSource::File(file),
            (None, None) => {
                return Err("no trusted root: embed the repository's 1.root.json with \
                            Builder::trusted_root, or set plugins.\"tuf-updater\".trustedRoot \
                            or trustedRootFile"
                    .into())
            }
        };
        Ok((repository, root))
    }
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
            "promptLanguage": "de",
            "remindLaterSecs": 3600,
            "confirmWindow": "main",
            "maxUnconfirmedLaunches": 2,
            "appName": "my-app",
            "timeoutSecs": 5
        }))
        .unwrap();
        assert_eq!(config.mirrors.len(), 1);
        assert_eq!(config.check_interval_secs, Some(60));
        assert_eq!(config.prompt_language.as_deref(), Some("de"));
        assert_eq!(config.remind_later_secs, Some(3600));
        let root = config.trusted_root_bytes().unwrap();
        let parsed: Value = serde_json::from_slice(&root).unwrap();
        assert_eq!(parsed["signed"]["_type"], "root");

        let err = serde_json::from_value::<Config>(serde_json::json!({"repo": "x"})).unwrap_err();
        assert!(err.to_string().contains("unknown field `repo`"), "{err}");
    }

    #[test]
    fn a_root_file_is_read_whole_and_an_oversized_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1.root.json");
        std::fs::write(&path, b"{\"signed\": {}}").unwrap();
        assert_eq!(read_root_file(&path).unwrap(), b"{\"signed\": {}}");
        std::fs::write(&path, vec![b' '; MAX_ROOT_FILE as usize + 1]).unwrap();
        let err = read_root_file(&path).unwrap_err();
        assert!(err.contains("larger than 524288 bytes"), "{err}");
        let err = read_root_file(&dir.path().join("missing.json")).unwrap_err();
        assert!(err.contains("missing.json"), "{err}");
    }

    #[test]
    fn code_wins_over_config_and_what_is_missing_is_named() {
        let config = Config::parse(
            br#"{"repository": "https://a.example", "channel": "beta",
                 "trustedRootFile": "root.json", "timeoutSecs": 5}"#,
        )
        .unwrap();
        let code = Config {
            repository: Some("https://b.example".into()),
            prompt_language: Some("fr".into()),
            ..Config::default()
        };
        let s = Settings::merge(config, code, None, "app".into());
        assert_eq!(s.channel.as_deref(), Some("beta"));
        assert_eq!(s.prompt_language.as_deref(), Some("fr"));
        assert_eq!(s.remind_later, None);
        assert_eq!(s.timeout, Some(Duration::from_secs(5)));
        assert_eq!(s.app_name, "app");
        assert_eq!(
            s.required().unwrap(),
            (
                "https://b.example",
                RootSource::File(Path::new("root.json"))
            )
        );
        let root = Some(b"{}".to_vec());
        let s = Settings::merge(Config::default(), Config::default(), root, "app".into());
        assert!(s.required().unwrap_err().contains("no repository URL"));
        let s = Settings::merge(
            config_with_repository(),
            Config::default(),
            None,
            "a".into(),
        );
        assert!(s.required().unwrap_err().contains("no trusted root"));
        assert_eq!(Config::parse(b"null").unwrap().repository, None);
        assert!(Config::parse(br#"{"repo": "x"}"#).is_err());
    }

    fn config_with_repository() -> Config {
        Config {
            repository: Some("https://a.example".into()),
            ..Config::default()
        }
    }

    #[test]
    fn trusted_root_as_text_is_kept_byte_for_byte() {
        let text = "{\"signed\": {}, \"signatures\": []}";
        let config: Config =
            serde_json::from_value(serde_json::json!({ "trustedRoot": text })).unwrap();
        assert_eq!(config.trusted_root_bytes().unwrap(), text.as_bytes());
    }
}
