//! The launch confirmation: how a freshly installed version says "I started fine". A
//! version that never confirms is rolled back after `maxUnconfirmedLaunches` starts. The
//! mode comes from `confirmLaunch` (or the older `confirmWindow`) in `tauri.conf.json`, or
//! from `Builder::confirm_launch`.
//!
//! Free of tauri, as `config.rs` is: the `tauri_config` fuzz target compiles both files alone.

use std::sync::OnceLock;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// When a freshly installed version confirms its launch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ConfirmLaunch {
    /// When the first window, whatever its label, has finished loading its page (the
    /// default). `"firstWindow"` in `tauri.conf.json`.
    #[default]
    FirstWindow,
    /// When the window with this label has finished loading its page.
    /// `{ "window": "<label>" }` in `tauri.conf.json`, or `confirmWindow: "<label>"`.
    Window(String),
    /// When the app calls [`Updater::confirm`](crate::Updater::confirm) (Rust) or
    /// `confirm()` (JavaScript): for a tray-only app, or one that wants to confirm after
    /// its own checks. Nothing waits for a window. `"manual"` in `tauri.conf.json`.
    Manual,
}

/// What `confirmLaunch` accepts, for error messages.
const EXPECTED: &str = r#"expected "firstWindow", "manual" or { "window": "<label>" }"#;

impl ConfirmLaunch {
    /// Reads a `confirmLaunch` value; the error names what is accepted.
    pub fn from_value(value: &Value) -> Result<ConfirmLaunch, String> {
        match value {
            Value::String(mode) => match mode.as_str() {
                "firstWindow" => Ok(ConfirmLaunch::FirstWindow),
                "manual" => Ok(ConfirmLaunch::Manual),
                other => Err(format!("confirmLaunch: unknown mode {other:?}: {EXPECTED}")),
            },
            Value::Object(map) => match (map.get("window"), map.len()) {
                (Some(Value::String(label)), 1) if !label.is_empty() => {
                    Ok(ConfirmLaunch::Window(label.clone()))
                }
                _ => Err(format!("confirmLaunch: {value} is not a mode: {EXPECTED}")),
            },
            other => Err(format!("confirmLaunch: {other} is not a mode: {EXPECTED}")),
        }
    }

    /// The mode in force: the code's over the configuration's; in each, `confirmLaunch`
    /// over `confirmWindow` (which means [`ConfirmLaunch::Window`]); else the default. A
    /// side that sets both to different things is refused: one of them would be silently
    /// ignored. (The message is the same for both sides: the fuzz target checks that a
    /// configuration given in code or in `tauri.conf.json` gives the same settings.)
    pub(crate) fn merge(
        code_launch: Option<ConfirmLaunch>,
        code_window: Option<String>,
        config_launch: Option<ConfirmLaunch>,
        config_window: Option<String>,
    ) -> Result<ConfirmLaunch, String> {
        let code = Self::one_side(code_launch, code_window)?;
        let config = Self::one_side(config_launch, config_window)?;
        Ok(code.or(config).unwrap_or_default())
    }

    /// What one side (the code, or the configuration) sets.
    fn one_side(
        launch: Option<ConfirmLaunch>,
        window: Option<String>,
    ) -> Result<Option<ConfirmLaunch>, String> {
        match (launch, window) {
            (Some(launch), Some(window)) if launch != ConfirmLaunch::Window(window.clone()) => {
                Err(format!(
                    "the launch confirmation is set twice, differently: confirmLaunch ({}) and \
                     confirmWindow ({window:?}); set only confirmLaunch \
                     (Builder::confirm_launch in code)",
                    launch.describe()
                ))
            }
            (Some(launch), _) => Ok(Some(launch)),
            (None, window) => Ok(window.map(ConfirmLaunch::Window)),
        }
    }

    /// The mode in words, for logs and messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            ConfirmLaunch::FirstWindow => "the first window's page load".into(),
            ConfirmLaunch::Window(label) => format!("the page load of the window {label:?}"),
            ConfirmLaunch::Manual => "the app's call to confirm()".into(),
        }
    }
}

impl<'de> Deserialize<'de> for ConfirmLaunch {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        ConfirmLaunch::from_value(&value).map_err(serde::de::Error::custom)
    }
}

/// The mode in force, and for [`ConfirmLaunch::FirstWindow`] the window that loaded first.
pub(crate) struct ConfirmState {
    mode: ConfirmLaunch,
    first: OnceLock<String>,
}

impl ConfirmState {
    pub(crate) fn new(mode: ConfirmLaunch) -> Self {
        ConfirmState {
            mode,
            first: OnceLock::new(),
        }
    }

    /// Whether the page load of the window `label` confirms. In the first-window mode the
    /// first window to finish loading becomes the confirm window: a reload of it confirms
    /// (and reports) again, as in the named-window mode; other windows do not.
    pub(crate) fn on_page_loaded(&self, label: &str) -> bool {
        match &self.mode {
            ConfirmLaunch::FirstWindow => self.first.get_or_init(|| label.to_string()) == label,
            ConfirmLaunch::Window(name) => name == label,
            ConfirmLaunch::Manual => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn modes_are_read_and_unknown_ones_refused_with_what_is_accepted() {
        let read = |v: Value| ConfirmLaunch::from_value(&v);
        assert_eq!(read(json!("firstWindow")), Ok(ConfirmLaunch::FirstWindow));
        assert_eq!(read(json!("manual")), Ok(ConfirmLaunch::Manual));
        assert_eq!(
            read(json!({"window": "tray-panel"})),
            Ok(ConfirmLaunch::Window("tray-panel".into()))
        );
        let err = read(json!("automatic")).unwrap_err();
        assert!(err.contains("unknown mode \"automatic\""), "{err}");
        assert!(err.contains(r#""firstWindow", "manual""#), "{err}");
        for bad in [
            json!({"window": ""}),
            json!({"window": 3}),
            json!({"window": "a", "x": 1}),
            json!({}),
            json!(true),
            json!(null),
        ] {
            let err = read(bad.clone()).unwrap_err();
            assert!(err.contains("is not a mode"), "{bad}: {err}");
        }
    }

    #[test]
    fn tauri_conf_json_reads_the_mode_and_refuses_an_unknown_one_clearly() {
        let config = crate::Config::parse(br#"{"confirmLaunch": {"window": "panel"}}"#).unwrap();
        assert_eq!(
            config.confirm_launch,
            Some(ConfirmLaunch::Window("panel".into()))
        );
        let config = crate::Config::parse(br#"{"confirmLaunch": "manual"}"#).unwrap();
        assert_eq!(config.confirm_launch, Some(ConfirmLaunch::Manual));
        let err = crate::Config::parse(br#"{"confirmLaunch": "onTray"}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(r#"confirmLaunch: unknown mode "onTray": expected "firstWindow", "manual" or { "window": "<label>" }"#),
            "{err}"
        );
        // The older key still means a named window.
        let config = crate::Config::parse(br#"{"confirmWindow": "main"}"#).unwrap();
        let settings =
            crate::config::Settings::merge(config, crate::Config::default(), None, "a".into());
        assert_eq!(
            settings.confirm_launch,
            Ok(ConfirmLaunch::Window("main".into()))
        );
    }

    #[test]
    fn the_code_wins_then_confirm_launch_then_confirm_window_then_the_first_window() {
        use ConfirmLaunch::*;
        let w = |l: &str| Window(l.to_string());
        let s = |l: &str| Some(l.to_string());
        assert_eq!(
            ConfirmLaunch::merge(None, None, None, None),
            Ok(FirstWindow)
        );
        assert_eq!(
            ConfirmLaunch::merge(None, None, None, s("main")),
            Ok(w("main"))
        );
        assert_eq!(
            ConfirmLaunch::merge(None, None, Some(Manual), None),
            Ok(Manual)
        );
        assert_eq!(
            ConfirmLaunch::merge(None, None, Some(w("main")), s("main")),
            Ok(w("main"))
        );
        assert_eq!(
            ConfirmLaunch::merge(Some(Manual), None, Some(w("a")), None),
            Ok(Manual)
        );
        assert_eq!(
            ConfirmLaunch::merge(None, s("panel"), Some(Manual), None),
            Ok(w("panel"))
        );
        // One side naming two different modes is refused, the code as the configuration.
        let err = ConfirmLaunch::merge(Some(FirstWindow), s("panel"), None, None).unwrap_err();
        assert!(
            err.contains("set twice, differently: confirmLaunch (the first window's page load) and confirmWindow (\"panel\")"),
            "{err}"
        );
        let err = ConfirmLaunch::merge(None, None, Some(Manual), s("main")).unwrap_err();
        assert!(
            err.contains(r#"confirmLaunch (the app's call to confirm()) and confirmWindow ("main"); set only confirmLaunch"#),
            "{err}"
        );
        // The code's choice does not excuse a contradictory configuration.
        assert!(ConfirmLaunch::merge(Some(Manual), None, Some(Manual), s("main")).is_err());
    }

    #[test]
    fn the_first_window_to_load_confirms_and_only_it() {
        let state = ConfirmState::new(ConfirmLaunch::FirstWindow);
        assert!(state.on_page_loaded("panel"));
        assert!(!state.on_page_loaded("main"));
        assert!(state.on_page_loaded("panel"));

        let state = ConfirmState::new(ConfirmLaunch::Window("main".into()));
        assert!(!state.on_page_loaded("panel"));
        assert!(state.on_page_loaded("main"));

        let state = ConfirmState::new(ConfirmLaunch::Manual);
        assert!(!state.on_page_loaded("main"));
        assert!(!state.on_page_loaded("panel"));
    }
}
