//! One scenario's world: a directory, a repository with its releases served on 127.0.0.1,
//! the app installed as some version, an X display and a tauri-driver of its own. Dropped
//! in the right order: the app and drivers first, then the display, then the server.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::app::App;
use super::display::Display;
use super::driver::{attach, Attached, TauriDriver};
use super::repo::Repo;
use super::server::RepoServer;
use super::ui::{Page, Ui};
use super::{procs, Logs};

/// A release to publish: (artifact, version, channel, notes).
pub type Release<'a> = (&'a Path, &'a str, &'a str, &'a str);

pub struct Scenario {
    // Field order is drop order.
    pub driver: TauriDriver,
    pub display: Display,
    pub server: RepoServer,
    pub app: App,
    pub repo: Repo,
    pub logs: Logs,
    dir: tempfile::TempDir,
}

/// Generous: two cores, and the app's first start builds WebKit's caches.
pub const UI_TIMEOUT: Duration = Duration::from_secs(90);

impl Drop for Scenario {
    /// Kills the app wherever it runs: a restart may have left it outside tauri-driver's
    /// process tree. A failed scenario's directory (logs, data, project) is kept.
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.dir.disable_cleanup(true);
            eprintln!("scenario directory kept: {}", self.dir.path().display());
        }
        for pid in procs::running(&self.app.exe) {
            for child in procs::descendants(pid) {
                procs::kill(child);
            }
            procs::kill(pid);
        }
    }
}

impl Scenario {
    /// Publishes `releases`, installs `installed`; `configure` sets the app's environment
    /// (policy file, variables) before tauri-driver starts with it.
    pub fn new(releases: &[Release], installed: &Path, configure: impl FnOnce(&mut App)) -> Self {
        Scenario::with_app(
            releases,
            |dir, url, display| App::install(dir, installed, url, display),
            configure,
        )
    }

    /// [`new`](Self::new) with the app made by `install(dir, repository URL, display)`.
    pub fn with_app(
        releases: &[Release],
        install: impl FnOnce(&Path, &str, &str) -> App,
        configure: impl FnOnce(&mut App),
    ) -> Self {
        Scenario::with_app_at(releases, None, install, configure)
    }

    /// [`with_app`](Self::with_app), the app reading its updates from `url` (where the test
    /// publishes the scenario's repository) instead of the scenario's own server.
    pub fn with_app_at(
        releases: &[Release],
        url: Option<&str>,
        install: impl FnOnce(&Path, &str, &str) -> App,
        configure: impl FnOnce(&mut App),
    ) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("demo-e2e-")
            .tempdir()
            .unwrap();
        let repo = Repo::new(&dir.path().join("project"));
        for (artifact, version, channel, notes) in releases {
            repo.release(artifact, version, channel, notes);
        }
        let server = RepoServer::start(&repo.repository());
        let mut logs = Logs::default();
        logs.set_requests(server.requests());
        let display = Display::start(&dir.path().join("xvfb.log"));
        logs.add("Xvfb", &dir.path().join("xvfb.log"));
        let mut app = install(dir.path(), url.unwrap_or(&server.url), &display.name);
        configure(&mut app);
        let driver_log = dir.path().join("tauri-driver.log");
        logs.add(
            "tauri-driver, WebKitWebDriver and the app's standard error",
            &driver_log,
        );
        logs.add("attached WebKitWebDriver", &dir.path().join("attach.log"));
        logs.add("ready file", &app.ready_file);
        let driver = TauriDriver::start(&app, &driver_log);
        Scenario {
            driver,
            display,
            server,
            app,
            repo,
            logs,
            dir,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Starts the installed app through tauri-driver, as a user would, and waits until it
    /// runs as `version`, its window loaded and the updater's state shown.
    pub async fn launch(&self, version: &str) -> Ui {
        let seen = self.app.ready_lines().len();
        let ui = self.driver.launch(&self.app.exe, &self.logs).await;
        self.wait_ready(seen, version).await;
        ui.wait(&format!("the page of {version}"), UI_TIMEOUT, |p| {
            p.version.as_deref() == Some(version) && Page::text(&p.channel) != "…"
        })
        .await;
        ui
    }

    /// Waits for `demo-app <version> ready` in the ready file, after its first `seen` lines.
    pub async fn wait_ready(&self, seen: usize, version: &str) {
        super::wait_for(
            &format!("demo-app {version} ready"),
            UI_TIMEOUT,
            || async { self.app.ready_since(seen, version).then_some(()) },
            || self.logs.report(),
        )
        .await;
    }

    /// The PID of the one process running the installed app.
    pub fn app_pid(&self) -> u32 {
        match procs::running(&self.app.exe)[..] {
            [pid] => pid,
            ref pids => panic!(
                "{} runs as {pids:?}, not as one process\n{}",
                self.app.exe.display(),
                self.logs.report()
            ),
        }
    }

    /// Clicks "Restart to update" and follows the restart until the new version, `version`,
    /// reports ready and is the one process running the installed executable (the old one
    /// replaced by `exec`, or gone); returns a session on it.
    pub async fn restart_into(&self, ui: Ui, version: &str) -> Attached {
        let before = self.app_pid();
        let seen = self.app.ready_lines().len();
        // The click may get no answer: the app goes away while it is handled. The session
        // is ended only once the old process is gone: before, WebKitWebDriver would kill it.
        let _ = ui.try_click("#restart-button").await;
        self.wait_ready(seen, version).await;
        let exe = &self.app.exe;
        let pid = super::wait_for(
            &format!("{version} as the one process running {}", exe.display()),
            UI_TIMEOUT,
            || async {
                match procs::running(exe)[..] {
                    [pid] if procs::exe(pid).as_deref() == Some(exe.as_path()) => Some(pid),
                    _ => None,
                }
            },
            || self.logs.report(),
        )
        .await;
        if pid == before {
            eprintln!("restart: process {pid} exec'd {version}");
        } else {
            eprintln!("restart: process {before} exited, {version} runs as process {pid}");
        }
        ui.end().await;
        let attached = attach(pid, &self.path("attach.log"), &self.logs).await;
        attached
            .ui
            .wait(&format!("the page of {version}"), UI_TIMEOUT, |p| {
                p.version.as_deref() == Some(version) && Page::text(&p.channel) != "…"
            })
            .await;
        attached
    }
}
