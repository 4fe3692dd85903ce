//! The app installed in a scenario's directory: `app/demo-app` (the copy the updater
//! replaces), its data under `data/` (`XDG_DATA_HOME`), an administrator's policy file
//! `policy.json` (absent unless the scenario writes it; read instead of the system one), and
//! `ready.log`, where the app appends `demo-app <version> ready` each time its window has
//! loaded (`DEMO_APP_READY_FILE`: tauri-driver drops the app's standard output).

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::procs::spawn;

pub struct App {
    pub exe: PathBuf,
    pub data: PathBuf,
    pub policy: PathBuf,
    pub ready_file: PathBuf,
    env: Vec<(String, OsString)>,
}

impl App {
    /// Installs a copy of `bin` under `dir`; the app will use `repository` and `display`.
    pub fn install(dir: &Path, bin: &Path, repository: &str, display: &str) -> App {
        let app_dir = dir.join("app");
        fs::create_dir_all(&app_dir).unwrap();
        let exe = app_dir.join(super::APP);
        fs::copy(bin, &exe).unwrap();
        App::installed_at(dir, exe, repository, display)
    }

    /// The app installed (by someone else: a package manager) at `exe`, its data and files
    /// under `dir`.
    pub fn installed_at(dir: &Path, exe: PathBuf, repository: &str, display: &str) -> App {
        let runtime = dir.join("runtime");
        fs::create_dir_all(&runtime).unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&runtime, fs::Permissions::from_mode(0o700)).unwrap();
        }
        let (data, policy, ready_file) = (
            dir.join("data"),
            dir.join("policy.json"),
            dir.join("ready.log"),
        );
        let mut env: Vec<(String, OsString)> = Vec::new();
        for name in ["PATH", "HOME", "RUST_BACKTRACE"] {
            if let Some(value) = std::env::var_os(name) {
                env.push((name.into(), value));
            }
        }
        for (name, value) in [
            ("DISPLAY", OsString::from(display)),
            ("LANG", "C.UTF-8".into()),
            ("NO_AT_BRIDGE", "1".into()),
            ("XDG_DATA_HOME", data.clone().into()),
            ("XDG_CONFIG_HOME", dir.join("config").into()),
            ("XDG_CACHE_HOME", dir.join("cache").into()),
            ("XDG_RUNTIME_DIR", runtime.into()),
            ("DEMO_APP_REPOSITORY", repository.into()),
            ("DEMO_APP_UPDATE_POLICY", policy.clone().into()),
            ("DEMO_APP_READY_FILE", ready_file.clone().into()),
            ("DEMO_APP_LOG", "info".into()),
        ] {
            env.push((name.into(), value));
        }
        App {
            exe,
            data,
            policy,
            ready_file,
            env,
        }
    }

    /// Adds a variable to the environment the app is started with.
    pub fn set_env(&mut self, name: &str, value: &str) {
        self.env.retain(|(n, _)| n != name);
        self.env.push((name.into(), value.into()));
    }

    /// The whole environment the app (and tauri-driver, which passes it on) runs with:
    /// nothing else from the test's environment.
    pub fn env(&self) -> &[(String, OsString)] {
        &self.env
    }

    /// The lines of `ready.log` so far.
    pub fn ready_lines(&self) -> Vec<String> {
        fs::read_to_string(&self.ready_file)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Whether a line after the first `seen` says `demo-app <version> ready`.
    pub fn ready_since(&self, seen: usize, version: &str) -> bool {
        let prefix = format!("{} {version} ready", super::APP);
        self.ready_lines()
            .iter()
            .skip(seen)
            .any(|l| l.starts_with(&prefix))
    }

    /// Starts the installed app as a user would, without WebDriver, in the background. Its
    /// output goes to `<log>.stdout` and `<log>.stderr`.
    pub fn start(&self, log: &Path) -> std::process::Child {
        let (out, err) = (log.with_extension("stdout"), log.with_extension("stderr"));
        let mut cmd = Command::new(&self.exe);
        cmd.env_clear()
            .envs(self.env.iter().map(|(n, v)| (n, v)))
            .stdin(Stdio::null())
            .stdout(fs::File::create(out).unwrap())
            .stderr(fs::File::create(err).unwrap());
        spawn(&mut cmd)
    }

    /// Starts the installed app as a user would, without WebDriver, and waits (at most
    /// `timeout`) for it to exit. Its output goes to `<log>.stdout` and `<log>.stderr`.
    pub fn run_to_exit(&self, log: &Path, timeout: Duration) -> Exited {
        let (out, err) = (log.with_extension("stdout"), log.with_extension("stderr"));
        let mut cmd = Command::new(&self.exe);
        cmd.env_clear()
            .envs(self.env.iter().map(|(n, v)| (n, v)))
            .stdin(Stdio::null())
            .stdout(fs::File::create(&out).unwrap())
            .stderr(fs::File::create(&err).unwrap());
        let mut child = spawn(&mut cmd);
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if start.elapsed() > timeout {
                super::procs::kill_tree(&mut child);
                break None;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let exited = Exited {
            code: status.and_then(|s| s.code()),
            stdout: fs::read_to_string(&out).unwrap_or_default(),
            stderr: fs::read_to_string(&err).unwrap_or_default(),
        };
        assert!(
            status.is_some(),
            "{} still running after {timeout:?}: {exited:#?}",
            self.exe.display()
        );
        exited
    }
}

/// How a directly started app ended.
#[derive(Debug)]
pub struct Exited {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}
