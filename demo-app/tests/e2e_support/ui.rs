//! A WebDriver session on the app's window: what the page shows (read in one script),
//! waits on it, clicks, and screenshots of what is rendered.

use std::path::PathBuf;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::Logs;

/// What the page shows, read in one script.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    pub state: Option<String>,
    pub version: Option<String>,
    pub channel: Option<String>,
    pub status: Option<String>,
    /// The folded-away chain of causes of the error shown, if any.
    pub error_detail: Option<String>,
    pub notes: Option<String>,
    pub progress: Option<f64>,
    pub progress_max: Option<f64>,
    pub progress_text: Option<String>,
    pub policy: Option<String>,
    pub rollback: Option<String>,
    pub beta: Option<bool>,
    pub install_shown: bool,
    pub restart_shown: bool,
    pub title: Option<String>,
}

impl Page {
    pub fn state_is(&self, state: &str) -> bool {
        self.state.as_deref() == Some(state)
    }

    pub fn text(field: &Option<String>) -> &str {
        field.as_deref().unwrap_or_default()
    }
}

const READ_PAGE: &str = r#"
const el = id => document.getElementById(id);
const text = id => el(id) ? el(id).textContent.trim() : null;
const shown = id => !!el(id) && !el(id).hidden && el(id).getClientRects().length > 0;
const p = el('progress');
return {
  state: document.body ? (document.body.dataset.state || null) : null,
  version: text('current-version'), channel: text('channel'), status: text('status'), errorDetail: text('error-detail-text'),
  notes: text('notes'), progress: p ? p.value : null, progressMax: p ? p.max : null,
  progressText: text('progress-text'), policy: text('policy-line'),
  rollback: text('rollback-line'), beta: el('beta-toggle') ? el('beta-toggle').checked : null,
  installShown: shown('install-button'), restartShown: shown('restart-button'),
  title: document.title,
};
"#;

/// The longest wait for a session: the app started (or attached to) and its page loaded.
const SESSION_TIMEOUT: Duration = Duration::from_secs(120);

/// A WebDriver session on the app's window.
pub struct Ui {
    client: Client,
    logs: Logs,
}

impl Ui {
    pub(super) async fn connect(port: u16, caps: Value, logs: &Logs) -> Ui {
        let caps: Map<String, Value> = match caps {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(caps);
        let url = format!("http://127.0.0.1:{port}");
        let connect = builder.connect(&url);
        let client = match tokio::time::timeout(SESSION_TIMEOUT, connect).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => panic!("no WebDriver session: {e}\n{}", logs.report()),
            Err(_) => panic!(
                "no WebDriver session after {SESSION_TIMEOUT:?}\n{}",
                logs.report()
            ),
        };
        Ui {
            client,
            logs: logs.clone(),
        }
    }

    pub async fn page(&self) -> Result<Page, String> {
        let value = self
            .client
            .execute(READ_PAGE, Vec::new())
            .await
            .map_err(|e| e.to_string())?;
        serde_json::from_value(value.clone()).map_err(|e| format!("{e}: {value}"))
    }

    /// Waits until the page satisfies `ok`; panics after `timeout` with the page and logs.
    pub async fn wait(&self, what: &str, timeout: Duration, ok: impl Fn(&Page) -> bool) -> Page {
        let last = std::cell::RefCell::new(String::new());
        super::wait_for(
            what,
            timeout,
            || async {
                match self.page().await {
                    Ok(page) if ok(&page) => Some(page),
                    Ok(page) => {
                        *last.borrow_mut() = format!("{page:#?}");
                        None
                    }
                    Err(e) => {
                        *last.borrow_mut() = format!("page not readable: {e}");
                        None
                    }
                }
            },
            || format!("page: {}\n{}", last.borrow(), self.logs.report()),
        )
        .await
    }

    /// Runs `script` (an async WebDriver script: it calls `arguments[0]` with its result) in
    /// the page, with the page's own access to Tauri, and returns its result.
    pub async fn eval(&self, script: &str) -> Value {
        match self.client.execute_async(script, Vec::new()).await {
            Ok(value) => value,
            Err(e) => panic!("script failed: {e}\n{script}\n{}", self.logs.report()),
        }
    }

    /// Ends the session once the app it was on is gone (exited, or replaced by `exec`);
    /// before, WebKitWebDriver would kill the app. Its answer does not matter: the
    /// session may already be over.
    pub async fn end(self) {
        let _ = self.client.close().await;
    }

    pub async fn try_click(&self, css: &str) -> Result<(), String> {
        let element = self
            .client
            .find(Locator::Css(css))
            .await
            .map_err(|e| e.to_string())?;
        element.click().await.map_err(|e| e.to_string())
    }

    pub async fn click(&self, css: &str) {
        if let Err(e) = self.try_click(css).await {
            panic!("click {css}: {e}\n{}", self.logs.report());
        }
    }

    /// Waits until the page has rendered what it holds now (two animation frames): a
    /// screenshot right after a change can otherwise show an older frame.
    pub async fn rendered(&self) {
        let script = "const done = arguments[0]; \
                      requestAnimationFrame(() => requestAnimationFrame(() => done(true)));";
        if let Err(e) = self.client.execute_async(script, Vec::new()).await {
            panic!("no animation frame: {e}\n{}", self.logs.report());
        }
    }

    /// Saves a screenshot of the window, as rendered, to `<target>/e2e-screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        self.rendered().await;
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("screenshot {name}: {e}\n{}", self.logs.report()));
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 1000,
            "screenshot {name}: not a PNG image ({} bytes)",
            png.len()
        );
        let dir = super::screenshots_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        eprintln!("screenshot: {}", path.display());
        path
    }
}
