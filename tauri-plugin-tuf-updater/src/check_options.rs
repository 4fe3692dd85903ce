//! [`CheckOptions`]: what the webview's `check(options)` may change for one check and the
//! download and install of what it found, checked here (the page is untrusted input) and
//! turned into tuf-updater-core's [`RequestOverrides`].

use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;
use tauri::http::{HeaderName, HeaderValue};
use tuf_updater_core::{Platform, RequestOverrides};

use crate::error::{Error, Result};

/// More headers than this is not a credential but a mistake (or an attack on memory).
pub(crate) const MAX_HEADERS: usize = 64;
/// The longest header value accepted, in bytes (web servers refuse much less).
pub(crate) const MAX_HEADER_VALUE: usize = 8 * 1024;
/// The longest proxy URL accepted, in bytes.
const MAX_PROXY_URL: usize = 2048;
/// The longest timeout accepted: a day (longer would only hide a hung server).
const MAX_TIMEOUT_MS: u64 = 24 * 60 * 60 * 1000;

/// The options of `check` as the webview sends them (camelCase). Every field is optional.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CheckOptions {
    /// `[name, value]` pairs (the TypeScript side turns a record or `Headers` into pairs).
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// Milliseconds, as tauri-plugin-updater's.
    pub timeout: Option<u64>,
    /// An `http(s)://` or `socks5://` proxy URL.
    pub proxy: Option<String>,
    /// A platform name, e.g. `linux-x86_64`.
    pub target: Option<String>,
    /// Whether a channel that does not carry the running version may move the app down.
    pub allow_downgrades: Option<bool>,
}

impl CheckOptions {
    /// The validated overrides; [`Error::InvalidOption`] names what is wrong (never a header
    /// value, which may be a credential).
    pub(crate) fn overrides(self) -> Result<RequestOverrides> {
        if self.headers.len() > MAX_HEADERS {
            return Err(Error::InvalidOption(format!(
                "{} headers (at most {MAX_HEADERS})",
                self.headers.len()
            )));
        }
        let mut overrides = RequestOverrides::default();
        for (name, value) in self.headers {
            let (name, value) = valid_header(&name, &value)?;
            overrides.headers.push((name, value));
        }
        if let Some(ms) = self.timeout {
            overrides.timeout = Some(valid_timeout(Duration::from_millis(ms))?);
        }
        if let Some(proxy) = self.proxy {
            overrides.proxy = Some(valid_proxy(&proxy)?);
        }
        if let Some(target) = self.target {
            overrides.platform = Some(valid_platform(&target)?);
        }
        overrides.allow_downgrade = self.allow_downgrades;
        Ok(overrides)
    }
}

/// A header name and value an HTTP request may carry, the name lower-cased.
pub(crate) fn valid_header(name: &str, value: &str) -> Result<(String, String)> {
    let header = HeaderName::from_str(name).map_err(|_| {
        let shown: String = name.chars().take(64).collect();
        Error::InvalidOption(format!("{shown:?} is not a valid HTTP header name"))
    })?;
    if value.len() > MAX_HEADER_VALUE {
        return Err(Error::InvalidOption(format!(
            "the value of header {header} is longer than {MAX_HEADER_VALUE} bytes"
        )));
    }
    HeaderValue::from_str(value).map_err(|_| {
        Error::InvalidOption(format!(
            "the value of header {header} is not a valid HTTP header value (control \
             characters or non-ASCII text)"
        ))
    })?;
    Ok((header.as_str().to_string(), value.to_string()))
}

/// A timeout the HTTP client can use: not zero, at most a day.
pub(crate) fn valid_timeout(timeout: Duration) -> Result<Duration> {
    if timeout.is_zero() {
        return Err(Error::InvalidOption("a timeout of 0 ms".into()));
    }
    if timeout.as_millis() > u128::from(MAX_TIMEOUT_MS) {
        return Err(Error::InvalidOption(format!(
            "a timeout over a day ({} ms)",
            timeout.as_millis()
        )));
    }
    Ok(timeout)
}

/// A proxy URL: absolute, `http`, `https`, `socks5` or `socks5h`, with a host. The URL is
/// not repeated in the error: it may carry a password.
pub(crate) fn valid_proxy(proxy: &str) -> Result<String> {
    if proxy.len() > MAX_PROXY_URL {
        return Err(Error::InvalidOption(format!(
            "a proxy URL longer than {MAX_PROXY_URL} bytes"
        )));
    }
    let url = tauri::Url::parse(proxy)
        .map_err(|e| Error::InvalidOption(format!("the proxy is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https" | "socks5" | "socks5h") || !url.has_host() {
        return Err(Error::InvalidOption(format!(
            "the proxy is not an http, https or socks5 URL with a host (scheme {:?})",
            url.scheme()
        )));
    }
    Ok(proxy.to_string())
}

/// A platform name tuf-updater-core knows, e.g. `linux-x86_64`.
pub(crate) fn valid_platform(target: &str) -> Result<Platform> {
    Platform::from_str(target).map_err(|_| {
        let shown: String = target.chars().take(64).collect();
        Error::InvalidOption(format!(
            "{shown:?} is not a platform (one of: {})",
            Platform::ALL
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn options(json: serde_json::Value) -> Result<RequestOverrides> {
        serde_json::from_value::<CheckOptions>(json)
            .unwrap()
            .overrides()
    }

    fn refusal(json: serde_json::Value) -> String {
        options(json).err().unwrap().to_string()
    }

    #[test]
    fn every_option_is_carried_over() {
        let o = options(serde_json::json!({
            "headers": [["X-Api-Key", "k1"]],
            "timeout": 1500,
            "proxy": "http://127.0.0.1:3128",
            "target": "linux-aarch64",
            "allowDowngrades": true
        }))
        .unwrap();
        assert_eq!(o.headers, vec![("x-api-key".to_string(), "k1".to_string())]);
        assert_eq!(o.timeout, Some(Duration::from_millis(1500)));
        assert_eq!(o.proxy.as_deref(), Some("http://127.0.0.1:3128"));
        assert_eq!(o.platform, Some(Platform::LinuxAarch64));
        assert_eq!(o.allow_downgrade, Some(true));
        assert_eq!(
            options(serde_json::json!({})).unwrap(),
            RequestOverrides::default()
        );
    }

    #[test]
    fn bad_options_are_refused_with_what_is_wrong() {
        let e = refusal(serde_json::json!({"headers": [["bad name", "v"]]}));
        assert!(
            e.contains("\"bad name\" is not a valid HTTP header name"),
            "{e}"
        );
        let e = refusal(serde_json::json!({"headers": [["x-key", "top\nsecret"]]}));
        assert!(e.contains("value of header x-key"), "{e}");
        assert!(!e.contains("secret"), "a header value is never shown: {e}");
        let e = refusal(serde_json::json!({"proxy": "not a url"}));
        assert!(e.contains("the proxy is not a URL"), "{e}");
        let e = refusal(serde_json::json!({"proxy": "ftp://user:hunter2@proxy.corp"}));
        assert!(e.contains("scheme \"ftp\""), "{e}");
        assert!(
            !e.contains("hunter2"),
            "a proxy's password is never shown: {e}"
        );
        let e = refusal(serde_json::json!({"proxy": "file:///etc/passwd"}));
        assert!(e.contains("not an http, https or socks5 URL"), "{e}");
        let e = refusal(serde_json::json!({"target": "amiga-68k"}));
        assert!(e.contains("\"amiga-68k\" is not a platform"), "{e}");
        assert!(e.contains("linux-x86_64"), "{e}");
        let e = refusal(serde_json::json!({"timeout": 0}));
        assert!(e.contains("timeout of 0 ms"), "{e}");
        let many: Vec<(String, String)> = (0..=MAX_HEADERS)
            .map(|i| (format!("x-{i}"), "v".to_string()))
            .collect();
        let e = refusal(serde_json::json!({ "headers": many }));
        assert!(e.contains("at most 64"), "{e}");
        let long = "a".repeat(MAX_HEADER_VALUE + 1);
        let e = refusal(serde_json::json!({"headers": [["x-key", long]]}));
        assert!(e.contains("longer than"), "{e}");
    }

    #[test]
    fn unknown_fields_are_refused() {
        let parsed = serde_json::from_value::<CheckOptions>(serde_json::json!({"header": []}));
        assert!(parsed.is_err());
    }
}
