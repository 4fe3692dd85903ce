//! Child processes: spawning (retried while an executable is busy), the process tree read
//! from `/proc` (the app is started by WebKitWebDriver, not by the test), and killing by
//! PID. Everything here is Linux: WebKitWebDriver and Xvfb are.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use rustix::process::{kill_process, Pid, Signal};

/// Retries `f` while the executable is busy: a file this multi-threaded test process just
/// wrote can still be open in a child another thread forked and that has not reached its
/// `exec` yet (ETXTBSY).
pub fn retry_busy<T>(mut f: impl FnMut() -> std::io::Result<T>) -> std::io::Result<T> {
    let mut tries = 0;
    loop {
        match f() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 100 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

pub fn spawn(cmd: &mut Command) -> Child {
    retry_busy(|| cmd.spawn()).unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"))
}

/// `(pid, parent pid, state)` from `/proc/<pid>/stat`.
fn stat(pid: u32) -> Option<(u32, u32, char)> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces; what follows does not.
    let rest = text.rsplit_once(')')?.1;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((pid, ppid, state))
}

/// Every process below `root` (children first, then theirs), as `/proc` shows it now.
pub fn descendants(root: u32) -> Vec<u32> {
    let all: Vec<(u32, u32, char)> = fs::read_dir("/proc")
        .map(|dir| {
            dir.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .filter_map(stat)
                .collect()
        })
        .unwrap_or_default();
    let mut found = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for (pid, ppid, _) in &all {
            if *ppid == parent && !found.contains(pid) {
                found.push(*pid);
                frontier.push(*pid);
            }
        }
    }
    found
}

/// Whether `pid` runs (exists and is not a zombie).
pub fn alive(pid: u32) -> bool {
    stat(pid).is_some_and(|(_, _, state)| state != 'Z' && state != 'X')
}

/// The executable `pid` runs (`… (deleted)` once the file was replaced).
pub fn exe(pid: u32) -> Option<PathBuf> {
    fs::read_link(format!("/proc/{pid}/exe")).ok()
}

/// The value of an environment variable of `pid` (as it was at its last `exec`).
pub fn environ(pid: u32, name: &str) -> Option<String> {
    let bytes = fs::read(format!("/proc/{pid}/environ")).ok()?;
    bytes.split(|b| *b == 0).find_map(|entry| {
        let entry = String::from_utf8_lossy(entry);
        let (key, value) = entry.split_once('=')?;
        (key == name).then(|| value.to_string())
    })
}

/// The processes running the executable at `path` (also once it was replaced on disk).
pub fn running(path: &Path) -> Vec<u32> {
    let deleted = format!("{} (deleted)", path.display());
    let mut pids: Vec<u32> = fs::read_dir("/proc")
        .map(|dir| {
            dir.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    pids.retain(|pid| {
        alive(*pid) && exe(*pid).is_some_and(|e| e == path || e.to_string_lossy() == deleted)
    });
    pids
}

/// SIGKILL to one process by PID (gone already is fine).
pub fn kill(pid: u32) {
    if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        let _ = kill_process(pid, Signal::KILL);
    }
}

/// Kills `child` and everything below it, collected before the first kill (a process whose
/// parent dies is re-parented, and would no longer be found below it), then reaps `child`.
pub fn kill_tree(child: &mut Child) {
    for pid in descendants(child.id()) {
        kill(pid);
    }
    let _ = child.kill();
    let _ = child.wait();
}
