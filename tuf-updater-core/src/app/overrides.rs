//! [`RequestOverrides`]: an engine like this one with other HTTP settings, platform or
//! downgrade rule, for one check and the download and install of what it found
//! (tauri-plugin-updater's per-check options).

use std::sync::Arc;
use std::time::Duration;

use super::app_updater::AppUpdater;
use super::types::{Result, UpdateError};
use crate::release::Platform;
use crate::tuf::fetch::HttpFetcher;

/// What [`AppUpdater::with_overrides`] changes; `None` (or no headers) keeps this engine's.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RequestOverrides {
    /// Headers sent with every request, after the engine's own.
    pub headers: Vec<(String, String)>,
    /// Time to connect, and the longest wait for the next byte.
    pub timeout: Option<Duration>,
    /// An HTTP(S) proxy for every request, e.g. `http://proxy.corp:3128`.
    pub proxy: Option<String>,
    /// The platform whose releases are offered.
    pub platform: Option<Platform>,
    /// Whether a channel that does not carry the running version may move the app down.
    pub allow_downgrade: Option<bool>,
}

impl std::fmt::Debug for RequestOverrides {
    // Header values are credentials (an API key, a bearer token), and a proxy URL may carry
    // a password: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("RequestOverrides")
            .field("header_names", &names)
            .field("timeout", &self.timeout)
            .field("proxy", &self.proxy.as_ref().map(|_| "set"))
            .field("platform", &self.platform)
            .field("allow_downgrade", &self.allow_downgrade)
            .finish()
    }
}

impl RequestOverrides {
    /// Whether these change any HTTP setting (which an app's own transport cannot take).
    fn touches_http(&self) -> bool {
        !self.headers.is_empty() || self.timeout.is_some() || self.proxy.is_some()
    }
}

impl AppUpdater {
    /// An engine on the same data dir, repository, trusted root, policy and install target,
    /// with `overrides` applied: headers are added to the configured ones, the rest
    /// replaces. It shares the update lock (a file lock) with this one, so the two never
    /// download or install at the same time. [`UpdateError::Http`] for a header or proxy
    /// the HTTP client refuses; [`UpdateError::Config`] for HTTP settings on an engine
    /// built with the app's own [`fetcher`](super::AppUpdaterBuilder::fetcher).
    pub fn with_overrides(&self, overrides: &RequestOverrides) -> Result<AppUpdater> {
        let (fetcher, http) = match (&self.http, overrides.touches_http()) {
            (_, false) => (self.fetcher.clone(), self.http.clone()),
            (None, true) => {
                return Err(UpdateError::Config(
                    "HTTP headers, timeout and proxy do not apply to the app's own transport"
                        .into(),
                ))
            }
            (Some(base), true) => {
                let mut http = base.clone();
                http.headers.extend(overrides.headers.iter().cloned());
                if let Some(timeout) = overrides.timeout {
                    http.connect_timeout = timeout;
                    http.read_timeout = timeout;
                }
                if let Some(proxy) = &overrides.proxy {
                    http.proxy = Some(proxy.clone());
                }
                let fetcher: Arc<dyn crate::tuf::fetch::Fetcher> =
                    Arc::new(HttpFetcher::new(&http).map_err(UpdateError::Http)?);
                (fetcher, Some(http))
            }
        };
        Ok(AppUpdater {
            app: self.app.clone(),
            current: self.current.clone(),
            repositories: self.repositories.clone(),
            trusted_root: self.trusted_root.clone(),
            data_dir: self.data_dir.clone(),
            defaults: self.defaults.clone(),
            platform: overrides.platform.unwrap_or(self.platform),
            fetcher,
            http,
            limits: self.limits.clone(),
            download: self.download.clone(),
            installer: self.installer.clone(),
            policy: self.policy.clone(),
            allow_downgrade: overrides.allow_downgrade.unwrap_or(self.allow_downgrade),
            settings: self.settings.clone(),
            exe_at_start: self.exe_at_start.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::install::InstallTarget;

    fn engine(dir: &std::path::Path) -> AppUpdater {
        AppUpdater::builder("app", "1.0.0")
            .repository("https://u.example.com/app")
            .trusted_root(b"{}".to_vec())
            .data_dir(dir)
            .platform(Platform::LinuxX86_64)
            .header("X-Base", "1")
            .install_target(InstallTarget::Executable(dir.join("app")))
            .build()
            .unwrap()
    }

    #[test]
    fn overrides_replace_platform_timeout_and_downgrade_and_add_headers() {
        let dir = tempfile::tempdir().unwrap();
        let base = engine(dir.path());
        let derived = base
            .with_overrides(&RequestOverrides {
                headers: vec![("X-Key".into(), "secret".into())],
                timeout: Some(Duration::from_secs(7)),
                proxy: Some("http://127.0.0.1:3128".into()),
                platform: Some(Platform::WindowsX86_64),
                allow_downgrade: Some(true),
            })
            .unwrap();
        assert_eq!(derived.platform(), Platform::WindowsX86_64);
        assert!(derived.allow_downgrade);
        assert_eq!(derived.data_dir(), base.data_dir());
        let http = derived.http.as_ref().unwrap();
        assert_eq!(
            http.headers,
            vec![
                ("X-Base".to_string(), "1".to_string()),
                ("X-Key".to_string(), "secret".to_string())
            ]
        );
        assert_eq!(http.read_timeout, Duration::from_secs(7));
        assert_eq!(http.proxy.as_deref(), Some("http://127.0.0.1:3128"));
        // The base engine is untouched.
        assert_eq!(base.platform(), Platform::LinuxX86_64);
        assert_eq!(base.http.as_ref().unwrap().headers.len(), 1);
    }

    #[test]
    fn a_header_the_client_refuses_is_an_http_error_and_not_printed() {
        let dir = tempfile::tempdir().unwrap();
        let overrides = RequestOverrides {
            headers: vec![("X-Key".into(), "bad\nvalue-secret".into())],
            ..RequestOverrides::default()
        };
        let err = engine(dir.path()).with_overrides(&overrides).err().unwrap();
        assert!(matches!(err, UpdateError::Http(_)), "{err}");
        assert!(!format!("{overrides:?}").contains("secret"));
        let with_proxy = RequestOverrides {
            proxy: Some("http://user:hunter2@proxy.corp:3128".into()),
            ..RequestOverrides::default()
        };
        assert!(!format!("{with_proxy:?}").contains("hunter2"));
    }

    #[test]
    fn the_two_engines_share_the_update_lock() {
        let dir = tempfile::tempdir().unwrap();
        let base = engine(dir.path());
        let derived = base
            .with_overrides(&RequestOverrides {
                allow_downgrade: Some(true),
                ..RequestOverrides::default()
            })
            .unwrap();
        let _held = base.installer.lock().unwrap();
        assert!(derived.installer.lock().is_err());
    }
}
