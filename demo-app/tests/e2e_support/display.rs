//! An X display of its own for each scenario: `Xvfb -displayfd 1` picks a free display
//! number and writes it on its standard output. Local connections only, no TCP. Killing it
//! also ends any X client left on it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use super::procs::{kill_tree, spawn};

pub struct Display {
    child: Child,
    /// `:N`, for `DISPLAY`.
    pub name: String,
}

impl Display {
    /// Starts Xvfb; its messages go to `log`.
    pub fn start(log: &Path) -> Display {
        let log_file = std::fs::File::create(log).unwrap();
        let mut child = spawn(
            Command::new("Xvfb")
                .args(["-displayfd", "1", "-screen", "0", "1280x800x24"])
                .args(["-nolisten", "tcp", "-noreset"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(log_file),
        );
        let mut line = String::new();
        let read = BufReader::new(child.stdout.take().unwrap()).read_line(&mut line);
        let number = line.trim();
        if read.is_err() || number.is_empty() || !number.chars().all(|c| c.is_ascii_digit()) {
            kill_tree(&mut child);
            panic!(
                "Xvfb did not give a display number ({read:?}, {line:?}):\n{}",
                super::tail(log, 4000)
            );
        }
        Display {
            name: format!(":{number}"),
            child,
        }
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        kill_tree(&mut self.child);
    }
}
