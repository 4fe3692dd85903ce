//! The user's update settings, persisted in the app's data dir as `update-settings.json`:
//! the chosen channel, whether updates are on, and the install id (random, generated once,
//! the seed of the rollout bucket).
//!
//! ```json
//! { "install_id": "5f0c3e2a9b8d4c7e1f6a2b3c4d5e6f70", "channel": "beta", "enabled": true,
//!   "rolled_back_versions": ["1.3.0"],
//!   "rollback_notice": { "failed_version": "1.3.0", "restored_version": "1.2.0",
//!                        "reason": "version 1.3.0 did not confirm within 3 launches" } }
//! ```
//!
//! `rolled_back_versions` (the newest 16) are never offered again to this install; the
//! `rollback_notice` waits for the app to tell the user. Both are read leniently: an entry
//! that is not a version is dropped, a notice missing a field reads it as empty.
//!
//! Written atomically (temp file, fsync, rename, fsync dir), read up to 64 KiB. Fields a newer
//! version of the app wrote are kept through a load and save.
//!
//! A corrupted file (not JSON, wrong types, a bad install id or channel name, too large) is
//! not an error: it is moved aside to `update-settings.json.corrupt` and replaced by fresh
//! settings, with a warning in the log and in [`LoadOutcome::Reset`]. These are preferences,
//! not security decisions, and an error here would stop updates until someone edits the
//! file by hand. A file that cannot be read at all (permissions, I/O) is an error, so that
//! it is never overwritten blind.

use std::fmt;
use std::path::{Path, PathBuf};

use rand_core::{OsRng, RngCore};
use semver::Version;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use thiserror::Error;

use crate::files::{read_capped, write_atomic, Capped, Durability};
use crate::release::{valid_channel_name, Bucket};

/// The settings file's name in the data dir.
pub const SETTINGS_FILE: &str = "update-settings.json";
/// The largest settings file read.
pub const MAX_SETTINGS_LEN: u64 = 64 * 1024;
/// How many rolled-back versions are remembered.
pub const MAX_ROLLED_BACK: usize = 16;

/// Why the settings could not be read or written.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SettingsError {
    /// The settings file exists but cannot be read.
    #[error("cannot read update settings {path}: {reason}")]
    Read {
        /// The settings file.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// The settings file cannot be written.
    #[error("cannot write update settings {path}: {reason}")]
    Write {
        /// The settings file.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// The operating system gave no randomness for a new install id.
    #[error("no randomness for an install id: {0}")]
    Random(String),
    /// The channel the user chose (held here) is not a valid channel name.
    #[error("{0:?} is not a channel name (1 to 32 lower-case letters, digits and '-')")]
    InvalidChannel(String),
}

/// A random install id: 128 bits as 32 lowercase hex digits.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InstallId(String);

impl InstallId {
    /// A fresh id from the operating system's random source.
    pub fn generate() -> Result<InstallId, SettingsError> {
        let mut bytes = [0u8; 16];
        OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|e| SettingsError::Random(e.to_string()))?;
        Ok(InstallId(hex::encode(bytes)))
    }

    /// `None` unless `text` is 32 lowercase hex digits.
    pub fn parse(text: &str) -> Option<InstallId> {
        (text.len() == 32 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| InstallId(text.to_string()))
    }

    /// The id as 32 lowercase hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// This install's rollout bucket while it runs `current` ([`Bucket::for_install`]).
    pub fn bucket(&self, current: &Version) -> Bucket {
        Bucket::for_install(&self.0, current)
    }
}

impl TryFrom<String> for InstallId {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        InstallId::parse(&text).ok_or_else(|| format!("install_id {text:?} is not 32 hex digits"))
    }
}

impl From<InstallId> for String {
    fn from(id: InstallId) -> String {
        id.0
    }
}

impl fmt::Debug for InstallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InstallId({})", self.0)
    }
}

impl fmt::Display for InstallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The user's update settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserSettings {
    /// This install's random id, which places it in staged rollouts.
    pub install_id: InstallId,
    /// The channel the user chose; `None`: the app's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Whether the user turned updates on or off; `None`: the app's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Versions this install rolled back, oldest first: never offered again.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lenient_versions"
    )]
    pub rolled_back_versions: Vec<Version>,
    /// A rollback the app has not reported to the user yet.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_notice"
    )]
    pub rollback_notice: Option<RollbackNotice>,
    /// Fields this version does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl UserSettings {
    /// No choices yet, with `install_id`.
    pub fn new(install_id: InstallId) -> UserSettings {
        UserSettings {
            install_id,
            channel: None,
            enabled: None,
            rolled_back_versions: Vec::new(),
            rollback_notice: None,
            extra: Map::new(),
        }
    }

    /// Notes a rollback: its failed version is never offered again, and the notice waits
    /// for the app (replacing one not yet taken only if `replace`).
    pub fn record_rollback(&mut self, notice: RollbackNotice, replace: bool) {
        if let Ok(version) = Version::parse(&notice.failed_version) {
            if !self.rolled_back_versions.contains(&version) {
                self.rolled_back_versions.push(version);
            }
            let excess = self
                .rolled_back_versions
                .len()
                .saturating_sub(MAX_ROLLED_BACK);
            self.rolled_back_versions.drain(..excess);
        }
        if replace || self.rollback_notice.is_none() {
            self.rollback_notice = Some(notice);
        }
    }

    /// Sets the chosen channel (`None`: back to the app's default).
    pub fn set_channel(&mut self, channel: Option<&str>) -> Result<(), SettingsError> {
        if let Some(name) = channel {
            if !valid_channel_name(name) {
                return Err(SettingsError::InvalidChannel(name.to_string()));
            }
        }
        self.channel = channel.map(str::to_string);
        Ok(())
    }

    /// Parses a settings document; the error is the reason it is corrupted. Public for the
    /// fuzz targets (`fuzz/`), not part of the API: use [`SettingsStore::load`].
    #[doc(hidden)]
    pub fn from_json(data: &[u8]) -> Result<UserSettings, String> {
        let settings: UserSettings = serde_json::from_slice(data).map_err(|e| e.to_string())?;
        if let Some(name) = &settings.channel {
            if !valid_channel_name(name) {
                return Err(format!("channel {name:?} is not a channel name"));
            }
        }
        Ok(settings)
    }
}

/// A rollback that happened at a start of the app and that the app has not shown yet: the
/// process that rolled back restarts into the previous version, which reads this with
/// [`AppUpdater::take_rollback_notice`](crate::AppUpdater::take_rollback_notice).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RollbackNotice {
    /// The version that was rolled back.
    pub failed_version: String,
    /// The version put back in its place.
    pub restored_version: String,
    /// Why, e.g. "version 1.3.0 did not confirm within 3 launches".
    pub reason: String,
}

/// The versions of a list, without the entries that are not versions.
fn lenient_versions<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Version>, D::Error> {
    let items: Vec<Value> = Option::<Vec<Value>>::deserialize(d)?.unwrap_or_default();
    Ok(items
        .iter()
        .filter_map(|v| v.as_str().and_then(|s| Version::parse(s).ok()))
        .collect())
}

/// The notice, or none when it is not an object.
fn lenient_notice<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<RollbackNotice>, D::Error> {
    let value = Value::deserialize(d)?;
    Ok(serde_json::from_value(value).ok())
}

/// How [`SettingsStore::load`] got the settings.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoadOutcome {
    /// Read from the file.
    Loaded,
    /// There was no file; fresh settings were written.
    Created,
    /// The file was corrupted; it was moved to `backup` (if that worked) and fresh settings
    /// were written.
    Reset {
        /// Why the file was refused: unparsable, or over [`MAX_SETTINGS_LEN`].
        reason: String,
        /// Where the corrupted file was moved; `None` if moving it failed.
        backup: Option<PathBuf>,
    },
}

/// The settings file of one app.
#[derive(Clone, Debug)]
pub struct SettingsStore {
    path: PathBuf,
}

impl SettingsStore {
    /// The store at `<data_dir>/update-settings.json`.
    pub fn new(data_dir: &Path) -> SettingsStore {
        SettingsStore {
            path: data_dir.join(SETTINGS_FILE),
        }
    }

    /// The settings file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The settings; on first use, or over a corrupted file, fresh ones with a new install
    /// id, written before they are returned so the id stays stable.
    pub fn load(&self) -> Result<(UserSettings, LoadOutcome), SettingsError> {
        let read_error = |e: crate::files::FileError| SettingsError::Read {
            path: self.path.clone(),
            reason: e.source.to_string(),
        };
        let corrupted = match read_capped(&self.path, MAX_SETTINGS_LEN).map_err(read_error)? {
            Capped::Data(data) => match UserSettings::from_json(&data) {
                Ok(settings) => return Ok((settings, LoadOutcome::Loaded)),
                Err(reason) => reason,
            },
            Capped::TooLarge => format!("larger than {MAX_SETTINGS_LEN} bytes"),
            Capped::Missing => {
                let settings = UserSettings::new(InstallId::generate()?);
                self.save(&settings)?;
                return Ok((settings, LoadOutcome::Created));
            }
        };
        let backup = self.path.with_file_name(format!("{SETTINGS_FILE}.corrupt"));
        let backup = match std::fs::rename(&self.path, &backup) {
            Ok(()) => Some(backup),
            Err(e) => {
                tracing::warn!(path = %backup.display(), error = %e, "cannot keep the corrupted update settings");
                None
            }
        };
        tracing::warn!(
            path = %self.path.display(),
            reason = %corrupted,
            "update settings corrupted; reset to defaults with a new install id"
        );
        let settings = UserSettings::new(InstallId::generate()?);
        self.save(&settings)?;
        Ok((
            settings,
            LoadOutcome::Reset {
                reason: corrupted,
                backup,
            },
        ))
    }

    /// Writes `settings` atomically and durably.
    pub fn save(&self, settings: &UserSettings) -> Result<(), SettingsError> {
        let write_error = |reason: String| SettingsError::Write {
            path: self.path.clone(),
            reason,
        };
        let mut data =
            serde_json::to_vec_pretty(settings).map_err(|e| write_error(e.to_string()))?;
        data.push(b'\n');
        write_atomic(&self.path, &data, Durability::Durable)
            .map_err(|e| write_error(e.source.to_string()))
    }

    /// Loads, sets the chosen channel, saves; returns the saved settings.
    pub fn set_channel(&self, channel: Option<&str>) -> Result<UserSettings, SettingsError> {
        if let Some(name) = channel.filter(|c| !valid_channel_name(c)) {
            return Err(SettingsError::InvalidChannel(name.to_string()));
        }
        let (mut settings, _) = self.load()?;
        settings.set_channel(channel)?;
        self.save(&settings)?;
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn store() -> (tempfile::TempDir, SettingsStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SettingsStore::new(dir.path());
        (dir, store)
    }

    const ID: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn install_ids() {
        let a = InstallId::generate().unwrap();
        let b = InstallId::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(InstallId::parse(a.as_str()), Some(a.clone()));
        assert_eq!(a.to_string().len(), 32);
        assert!(InstallId::parse(ID).is_some());
        for bad in [
            "",
            "0123",
            &ID.to_uppercase(),
            &format!("{ID}0"),
            &ID.replace('0', "g"),
        ] {
            assert_eq!(InstallId::parse(bad), None, "{bad}");
        }
        let v = Version::new(1, 2, 3);
        assert_eq!(a.bucket(&v), Bucket::for_install(a.as_str(), &v));
    }

    #[test]
    fn first_load_creates_a_stable_install_id() {
        let (_dir, store) = store();
        let (first, outcome) = store.load().unwrap();
        assert_eq!(outcome, LoadOutcome::Created);
        assert!(store.path().is_file());
        assert_eq!((first.channel.as_ref(), first.enabled), (None, None));
        let (again, outcome) = store.load().unwrap();
        assert_eq!(outcome, LoadOutcome::Loaded);
        assert_eq!(again, first);
    }

    #[test]
    fn channel_choice_persists() {
        let (dir, store) = store();
        let (created, _) = store.load().unwrap();
        let saved = store.set_channel(Some("beta")).unwrap();
        assert_eq!(saved.channel.as_deref(), Some("beta"));
        let (loaded, _) = SettingsStore::new(dir.path()).load().unwrap();
        assert_eq!(loaded.channel.as_deref(), Some("beta"));
        assert_eq!(loaded.install_id, created.install_id);
        let saved = store.set_channel(None).unwrap();
        assert_eq!(saved.channel, None);
        assert_eq!(store.load().unwrap().0.channel, None);
        // no temp files left behind
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [SETTINGS_FILE]);
    }

    #[test]
    fn invalid_channel_changes_nothing() {
        let (_dir, store) = store();
        let (before, _) = store.load().unwrap();
        let bytes = fs::read(store.path()).unwrap();
        for bad in ["", "../beta", "be ta", ".x"] {
            assert_eq!(
                store.set_channel(Some(bad)),
                Err(SettingsError::InvalidChannel(bad.into()))
            );
            let mut s = before.clone();
            assert!(s.set_channel(Some(bad)).is_err());
            assert_eq!(s, before);
        }
        assert_eq!(fs::read(store.path()).unwrap(), bytes);
    }

    #[test]
    fn reads_a_hand_written_file_and_keeps_unknown_fields() {
        let (_dir, store) = store();
        fs::write(
            store.path(),
            format!(r#"{{"install_id": "{ID}", "channel": "beta", "enabled": false, "later": {{"x": 1}}}}"#),
        )
        .unwrap();
        let (s, outcome) = store.load().unwrap();
        assert_eq!(outcome, LoadOutcome::Loaded);
        assert_eq!(s.install_id.as_str(), ID);
        assert_eq!(
            (s.channel.as_deref(), s.enabled),
            (Some("beta"), Some(false))
        );
        assert_eq!(s.extra.get("later"), Some(&serde_json::json!({"x": 1})));
        store.set_channel(Some("stable")).unwrap();
        let text = fs::read_to_string(store.path()).unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["later"], serde_json::json!({"x": 1}));
        assert_eq!(value["channel"], "stable");
        assert_eq!(value["install_id"], ID);
    }

    /// Found by fuzzing (fuzz/, settings): a number an unknown field held changed in its last
    /// digit through a load and save, serde_json's float parsing being approximate without
    /// its `float_roundtrip` feature.
    #[test]
    fn unknown_numbers_survive_load_and_save_exactly() {
        let (_dir, store) = store();
        let text = format!(
            r#"{{"install_id": "{ID}", "big": 444444444444444444444444, "f": 4.4444444444444444e+23, "g": 0.1}}"#
        );
        fs::write(store.path(), &text).unwrap();
        let (first, _) = store.load().unwrap();
        store.save(&first).unwrap();
        let (again, outcome) = store.load().unwrap();
        assert_eq!(outcome, LoadOutcome::Loaded);
        assert_eq!(again, first);
        let original: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(again.extra.get("f"), original.get("f"));
        assert_eq!(again.extra.get("big"), original.get("big"));
    }

    /// Writes `text` as the settings file and checks that load resets it.
    fn assert_reset(text: &[u8], reason_has: &str) {
        let (dir, store) = store();
        fs::write(store.path(), text).unwrap();
        let (s, outcome) = store.load().unwrap();
        let LoadOutcome::Reset { reason, backup } = outcome else {
            panic!(
                "{:?}: expected a reset, got {outcome:?}",
                String::from_utf8_lossy(text)
            )
        };
        assert!(reason.contains(reason_has), "{reason}");
        let backup = backup.unwrap();
        assert_eq!(backup, dir.path().join("update-settings.json.corrupt"));
        assert_eq!(fs::read(&backup).unwrap(), text);
        assert_eq!((s.channel, s.enabled), (None, None));
        // the fresh settings were written and are stable
        let (again, outcome) = store.load().unwrap();
        assert_eq!(outcome, LoadOutcome::Loaded);
        assert_eq!(again.install_id, s.install_id);
    }

    #[test]
    fn corrupted_files_are_reset_with_a_reason() {
        assert_reset(b"", "EOF");
        assert_reset(b"{\"install_id\": ", "EOF");
        assert_reset(b"not json", "expected");
        assert_reset(b"[]", "invalid type");
        assert_reset(b"{\"channel\": \"beta\"}", "install_id");
        assert_reset(
            format!(r#"{{"install_id": "{ID}", "channel": 7}}"#).as_bytes(),
            "invalid type",
        );
        assert_reset(
            format!(r#"{{"install_id": "{ID}", "enabled": "no"}}"#).as_bytes(),
            "invalid type",
        );
        assert_reset(br#"{"install_id": "not-hex"}"#, "not 32 hex digits");
        assert_reset(br#"{"install_id": 5}"#, "invalid type");
        assert_reset(
            format!(r#"{{"install_id": "{ID}", "channel": "../etc"}}"#).as_bytes(),
            "not a channel name",
        );
        assert_reset(b"{\"install_id\": \"\xff\"}", "");
    }

    #[test]
    fn oversized_file_is_reset() {
        let mut text = format!(r#"{{"install_id": "{ID}"}}"#).into_bytes();
        text.resize(MAX_SETTINGS_LEN as usize, b' ');
        let (_dir, store) = store();
        fs::write(store.path(), &text).unwrap();
        assert_eq!(store.load().unwrap().1, LoadOutcome::Loaded);
        text.push(b' ');
        assert_reset(&text, "larger than");
    }

    #[test]
    fn unreadable_file_is_an_error_and_left_alone() {
        let (_dir, store) = store();
        fs::create_dir(store.path()).unwrap();
        assert!(matches!(store.load(), Err(SettingsError::Read { .. })));
        assert!(store.path().is_dir());
    }

    #[test]
    fn unwritable_location_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        // the data dir is a file
        let file = dir.path().join("file");
        fs::write(&file, b"x").unwrap();
        let store = SettingsStore::new(&file.join("data"));
        assert!(matches!(
            store.load(),
            Err(SettingsError::Write { .. }) | Err(SettingsError::Read { .. })
        ));
    }

    #[test]
    fn rollback_history_of_earlier_versions_is_read_leniently() {
        let (_dir, store) = store();
        // As the facade wrote it before the fields were typed, with junk added.
        fs::write(
            store.path(),
            format!(
                r#"{{"install_id":"{ID}","rolled_back_versions":["1.1.0","not a version",3],
                "rollback_notice":{{"failed_version":"1.1.0","restored_version":"1.0.0"}}}}"#
            ),
        )
        .unwrap();
        let (settings, outcome) = store.load().unwrap();
        assert_eq!(outcome, LoadOutcome::Loaded);
        assert_eq!(settings.rolled_back_versions, [Version::new(1, 1, 0)]);
        let notice = settings.rollback_notice.clone().unwrap();
        assert_eq!(notice.failed_version, "1.1.0");
        assert_eq!(notice.reason, "");
        // A notice that is not an object is dropped, not a reason to reset the settings.
        fs::write(
            store.path(),
            format!(r#"{{"install_id":"{ID}","rollback_notice":"1.1.0"}}"#),
        )
        .unwrap();
        let (settings, outcome) = store.load().unwrap();
        assert_eq!(outcome, LoadOutcome::Loaded);
        assert_eq!(settings.rollback_notice, None);
    }

    #[test]
    fn recorded_rollbacks_are_kept_newest_last_and_bounded() {
        let mut s = UserSettings::new(InstallId::parse(ID).unwrap());
        let notice = |v: &str| RollbackNotice {
            failed_version: v.into(),
            restored_version: "1.0.0".into(),
            reason: format!("{v} failed"),
        };
        s.record_rollback(notice("1.1.0"), true);
        s.record_rollback(notice("1.1.0"), false);
        assert_eq!(s.rolled_back_versions, [Version::new(1, 1, 0)]);
        s.record_rollback(notice("1.2.0"), false);
        // The notice not yet taken stays unless replaced.
        assert_eq!(s.rollback_notice.as_ref().unwrap().failed_version, "1.1.0");
        s.record_rollback(notice("1.3.0"), true);
        assert_eq!(s.rollback_notice.as_ref().unwrap().failed_version, "1.3.0");
        for minor in 4..40 {
            s.record_rollback(notice(&format!("1.{minor}.0")), true);
        }
        assert_eq!(s.rolled_back_versions.len(), MAX_ROLLED_BACK);
        assert_eq!(s.rolled_back_versions.last(), Some(&Version::new(1, 39, 0)));
        // Saved and read back the same.
        let (_dir, store) = store();
        store.save(&s).unwrap();
        assert_eq!(store.load().unwrap().0, s);
    }
}
