//! WebDriver. A scenario starts tauri-driver (which starts WebKitWebDriver) with the app's
//! environment, and a session with `tauri:options` makes WebKitWebDriver start the app.
//!
//! The session does not survive the restart into a new version: the process it drove is
//! replaced (`exec`) or exits, WebKitWebDriver's inspector connection to it closes, and the
//! session is gone ("session deleted because of page crash or hang"). The new version
//! inherits `WEBKIT_INSPECTOR_SERVER` and serves the inspector protocol at that address:
//! [`attach`] starts a WebKitWebDriver with `--target=<that address>` (tauri-driver cannot
//! pass it) and opens a session on the very process the restart made, without starting a
//! second instance of the app.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use super::app::App;
use super::procs::{self, kill_tree, spawn};
use super::ui::Ui;
use super::Logs;

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `name` from `$<var>`, the `PATH`, or cargo's bin directory (where `cargo install` puts
/// tauri-driver).
fn program(name: &str, var: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(var).filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|d| d.join("bin"));
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(cargo_bin)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("{name} not found (PATH, cargo's bin directory, ${var}); scripts/install-deps.sh --test installs it")
        })
}

/// `GET /status` of a WebDriver server: its body, if it answers.
fn status(port: u16) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let request = "GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.contains("\"ready\"").then_some(response)
}

/// Starts a WebDriver server (`make(port, native_port)`) on free ports, until one answers:
/// a port taken by another test in the meantime makes the server exit, and other ports are
/// tried. Ready when WebKitWebDriver's `/status` says so (with `probe_native`, the one
/// behind tauri-driver, asked directly).
fn start_server(
    what: &str,
    log: &Path,
    make: impl Fn(u16, u16) -> Command,
    probe_native: bool,
) -> (Child, u16) {
    for _ in 0..5 {
        let (port, native) = (free_port(), free_port());
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let mut child = spawn(
            make(port, native)
                .stdin(Stdio::null())
                .stdout(log_file.try_clone().unwrap())
                .stderr(log_file),
        );
        let probe = if probe_native { native } else { port };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            // tauri-driver's own port is only connected to: a request through it would
            // leave a kept-alive connection to WebKitWebDriver in its pool, which
            // WebKitWebDriver may close, failing the next request (tauri-driver does not
            // retry).
            let up = status(probe).is_some() && TcpStream::connect(("127.0.0.1", port)).is_ok();
            if up && child.try_wait().unwrap().is_none() {
                return (child, port);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        kill_tree(&mut child);
    }
    panic!("{what} did not start:\n{}", super::tail(log, 6000));
}

/// tauri-driver, with the app's environment (WebKitWebDriver, then the app, inherit it).
pub struct TauriDriver {
    child: Child,
    port: u16,
}

impl TauriDriver {
    pub fn start(app: &App, log: &Path) -> TauriDriver {
        let exe = program("tauri-driver", "TAURI_DRIVER");
        let make = |port: u16, native: u16| {
            let mut cmd = Command::new(&exe);
            cmd.env_clear()
                .envs(app.env().iter().map(|(n, v)| (n, v)))
                .arg("--port")
                .arg(port.to_string())
                .arg("--native-port")
                .arg(native.to_string());
            cmd
        };
        let (child, port) = start_server("tauri-driver", log, make, true);
        TauriDriver { child, port }
    }

    /// A session that starts the app at `exe` (WebKitWebDriver runs it), once its page has
    /// loaded.
    pub async fn launch(&self, exe: &Path, logs: &Logs) -> Ui {
        let caps = json!({ "tauri:options": { "application": exe, "args": [] } });
        let ui = Ui::connect(self.port, caps, logs).await;
        // The session must be ours: the app runs below this tauri-driver.
        assert!(
            self.app_pid(exe).is_some(),
            "no {} below tauri-driver {}\n{}",
            exe.display(),
            self.child.id(),
            logs.report()
        );
        ui
    }

    /// The PID of the app started from `exe` below this tauri-driver, if it runs.
    pub fn app_pid(&self, exe: &Path) -> Option<u32> {
        let below = procs::descendants(self.child.id());
        procs::running(exe)
            .into_iter()
            .find(|pid| below.contains(pid))
    }
}

impl Drop for TauriDriver {
    fn drop(&mut self) {
        kill_tree(&mut self.child);
    }
}

/// A WebKitWebDriver attached to a running app (`--target`); stopped when dropped.
pub struct Attached {
    child: Child,
    pub ui: Ui,
}

impl Drop for Attached {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A session on the app running as `pid`, through the inspector address it inherited.
pub async fn attach(pid: u32, log: &Path, logs: &Logs) -> Attached {
    let target = procs::environ(pid, "WEBKIT_INSPECTOR_SERVER")
        .unwrap_or_else(|| panic!("process {pid} has no WEBKIT_INSPECTOR_SERVER"));
    let exe = program("WebKitWebDriver", "WEBKIT_WEBDRIVER");
    let make = |port: u16, _| {
        let mut cmd = Command::new(&exe);
        cmd.arg(format!("--port={port}"))
            .arg("--host=127.0.0.1")
            .arg(format!("--target={target}"));
        cmd
    };
    let (mut child, port) = start_server("WebKitWebDriver --target", log, make, false);
    let ui = Ui::connect(port, json!({}), logs).await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "WebKitWebDriver --target={target} exited\n{}",
        logs.report()
    );
    Attached { child, ui }
}
