//! What the user answered the prompt, kept across restarts in `<data dir>/prompt.json`:
//! "Later" until when, and the version "Skip this version" skipped. Written atomically (a
//! temporary file renamed over it); a file that is too large or does not parse is ignored
//! with a warning, as if the user had never answered.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The file's name in the plugin's data directory.
pub(crate) const FILE_NAME: &str = "prompt.json";
/// The largest file read: what it holds is a few dozen bytes.
const MAX_FILE: u64 = 16 * 1024;

/// The file's content.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Saved {
    /// "Later": no prompt before this time (seconds since the Unix epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    later_until: Option<u64>,
    /// "Skip this version": never prompted for again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    skipped_version: Option<String>,
}

/// Why the prompt is not shown for a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Hold {
    /// The user skipped this version.
    Skipped,
    /// The user said "Later"; the prompt waits this much longer.
    Later(Duration),
}

/// The user's answers, in memory and (when there is a data directory) on disk.
#[derive(Debug)]
pub(crate) struct Memory {
    path: Option<PathBuf>,
    saved: Saved,
}

impl Memory {
    /// The answers kept in `dir`, if any; `None` keeps them for this run only.
    pub(crate) fn load(dir: Option<&Path>) -> Memory {
        let path = dir.map(|d| d.join(FILE_NAME));
        let saved = path.as_deref().map(read).unwrap_or_default();
        Memory { path, saved }
    }

    /// Whether the prompt for `version` waits, at `now`. "Later" holds every version for
    /// at most `remind_later` from now: a time further ahead (a clock set back since, or a
    /// longer setting before) is not trusted.
    pub(crate) fn hold(
        &self,
        version: &str,
        now: SystemTime,
        remind_later: Duration,
    ) -> Option<Hold> {
        if self.saved.skipped_version.as_deref() == Some(version) {
            return Some(Hold::Skipped);
        }
        let now = unix_secs(now);
        let until = self.saved.later_until?;
        let left = Duration::from_secs(until.checked_sub(now)?);
        (!left.is_zero() && left <= remind_later).then_some(Hold::Later(left))
    }

    /// "Later", at `now`: no prompt for `remind_later`.
    pub(crate) fn later(&mut self, now: SystemTime, remind_later: Duration) {
        self.saved.later_until = Some(unix_secs(now).saturating_add(remind_later.as_secs()));
        self.save();
    }

    /// "Skip this version".
    pub(crate) fn skip(&mut self, version: &str) {
        self.saved.skipped_version = Some(version.to_string());
        self.save();
    }

    fn save(&self) {
        let Some(path) = &self.path else {
            return;
        };
        if let Err(e) = write(path, &self.saved) {
            tracing::warn!(file = %path.display(), error = %e, "cannot keep the prompt's answer; it holds until the app exits");
        }
    }
}

fn unix_secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// The answers in `path`; none when it is missing, and none (with a warning) when it is
/// too large or not what this module writes.
fn read(path: &Path) -> Saved {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Saved::default(),
        Err(e) => {
            tracing::warn!(file = %path.display(), error = %e, "cannot read the prompt's answers; ignored");
            return Saved::default();
        }
    };
    let mut bytes = Vec::new();
    if let Err(e) = file.take(MAX_FILE + 1).read_to_end(&mut bytes) {
        tracing::warn!(file = %path.display(), error = %e, "cannot read the prompt's answers; ignored");
        return Saved::default();
    }
    if bytes.len() as u64 > MAX_FILE {
        tracing::warn!(file = %path.display(), "the prompt's answers are larger than {MAX_FILE} bytes; ignored");
        return Saved::default();
    }
    serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        tracing::warn!(file = %path.display(), error = %e, "the prompt's answers are corrupted; ignored");
        Saved::default()
    })
}

/// Writes `saved` to a temporary file beside `path`, then renames it over `path`: a reader
/// (or a crash) never sees half a file.
fn write(path: &Path, saved: &Saved) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{FILE_NAME}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&serde_json::to_vec_pretty(saved)?)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(24 * 3600);

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn later_and_skip_hold_across_a_reload_until_they_end() {
        let dir = tempfile::tempdir().unwrap();
        let mut memory = Memory::load(Some(dir.path()));
        assert_eq!(memory.hold("1.1.0", at(1_000), DAY), None);
        memory.later(at(1_000), DAY);
        memory.skip("1.1.0");

        // A restart: the answers come back from the file.
        let memory = Memory::load(Some(dir.path()));
        assert_eq!(memory.hold("1.1.0", at(2_000), DAY), Some(Hold::Skipped));
        assert_eq!(
            memory.hold("1.2.0", at(2_000), DAY),
            Some(Hold::Later(DAY - Duration::from_secs(1_000)))
        );
        // After the day: a newer version is asked about, the skipped one never.
        let later = 1_000 + DAY.as_secs();
        assert_eq!(memory.hold("1.2.0", at(later), DAY), None);
        assert_eq!(
            memory.hold("1.1.0", at(later * 2), DAY),
            Some(Hold::Skipped)
        );
        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        assert!(text.contains("\"skippedVersion\": \"1.1.0\""), "{text}");
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_later_too_far_ahead_is_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let mut memory = Memory::load(Some(dir.path()));
        // Said "Later" at a time the clock has since been set back from by a week.
        memory.later(at(8 * DAY.as_secs()), DAY);
        assert_eq!(memory.hold("1.1.0", at(DAY.as_secs()), DAY), None);
    }

    #[test]
    fn a_corrupted_or_oversized_file_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        for bad in [
            b"{\"skippedVersion\": 1.1".to_vec(),
            b"\xff\xfe garbage".to_vec(),
            b"[]".to_vec(),
            format!(
                "{{\"skippedVersion\": \"1.1.0\"{}}}",
                " ".repeat(MAX_FILE as usize)
            )
            .into_bytes(),
        ] {
            std::fs::write(&path, &bad).unwrap();
            let memory = Memory::load(Some(dir.path()));
            assert_eq!(memory.hold("1.1.0", at(1), DAY), None);
        }
        // And an answer replaces it.
        let mut memory = Memory::load(Some(dir.path()));
        memory.skip("1.1.0");
        let memory = Memory::load(Some(dir.path()));
        assert_eq!(memory.hold("1.1.0", at(1), DAY), Some(Hold::Skipped));
    }

    #[test]
    fn without_a_data_directory_answers_hold_for_the_run() {
        let mut memory = Memory::load(None);
        memory.skip("1.1.0");
        assert_eq!(memory.hold("1.1.0", at(1), DAY), Some(Hold::Skipped));
    }
}
