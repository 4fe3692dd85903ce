//! The built-in prompt: a native dialog for apps that want no update UI of their own.
//! "Install now" downloads and installs (progress goes out as events), then a second
//! dialog offers to restart; "Later" waits `remindLaterSecs`; "Skip this version" never
//! asks about that version again. The answers are kept in the data directory
//! ([`memory`]), the notes are rendered as plain text ([`markdown`]), and the words are in
//! the user's language ([`strings`]).

mod markdown;
mod memory;
mod strings;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use tauri::Runtime;

use crate::config::Settings;
use crate::models::UpdateMetadata;
use crate::Updater;
use memory::{Hold, Memory};
use strings::{fill, Language, Strings};

/// Notes longer than this are cut in the dialog (the release page has the rest).
const MAX_NOTES_CHARS: usize = 1200;
/// How long "Later" waits by default.
pub(crate) const DEFAULT_REMIND_LATER: Duration = Duration::from_secs(24 * 3600);

/// What the user answered the update dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Install,
    Skip,
    Later,
}

/// The prompt of one app run: its language, its "Later" delay and the answers kept.
pub(crate) struct Prompt {
    strings: &'static Strings,
    remind_later: Duration,
    memory: Memory,
    /// The version the user chose to install in this run: not asked about again.
    installed: Option<String>,
}

impl Prompt {
    /// The prompt for `settings`; answers are kept in `data_dir` (the engine's).
    pub(crate) fn new(settings: &Settings, data_dir: Option<PathBuf>) -> Prompt {
        let language = Language::for_app(settings.prompt_language.as_deref());
        tracing::debug!(?language, "prompt language");
        Prompt {
            strings: language.strings(),
            remind_later: settings.remind_later.unwrap_or(DEFAULT_REMIND_LATER),
            memory: Memory::load(data_dir.as_deref()),
            installed: None,
        }
    }

    /// Asks about `update` unless the user skipped it, said "Later" not long ago, or chose
    /// to install it already; on "Install now" downloads, installs and offers the restart.
    pub(crate) async fn offer<R: Runtime>(
        &mut self,
        updater: &Updater<R>,
        update: &UpdateMetadata,
    ) {
        let version = &update.version;
        if self.installed.as_deref() == Some(version.as_str()) {
            return;
        }
        match self
            .memory
            .hold(version, SystemTime::now(), self.remind_later)
        {
            Some(Hold::Skipped) => {
                tracing::info!("not prompting for {version}: skipped by the user");
                return;
            }
            Some(Hold::Later(left)) => {
                tracing::info!(
                    "not prompting for {version}: the user said later ({}s left)",
                    left.as_secs()
                );
                return;
            }
            None => {}
        }
        let (title, text) = describe(self.strings, update);
        match self.ask_update(title, text).await {
            Answer::Later => {
                tracing::info!("update {version} postponed by the user");
                self.memory.later(SystemTime::now(), self.remind_later);
            }
            Answer::Skip => {
                tracing::info!("update {version} skipped by the user");
                self.memory.skip(version);
            }
            Answer::Install => {
                self.installed = Some(version.clone());
                self.install(updater, update).await;
            }
        }
    }

    /// The update dialog: "Install now", "Skip this version", "Later". Called from an
    /// async task, never the main thread: on Linux rfd queues the dialog onto the GTK main
    /// loop (the one Tauri runs on the main thread) and waits for it, as
    /// tauri-plugin-dialog does.
    async fn ask_update(&self, title: String, text: String) -> Answer {
        let s = self.strings;
        tracing::debug!(
            %title,
            buttons = ?[s.install_now, s.skip_version, s.later],
            ?text,
            "showing the update prompt"
        );
        // "Later" is the cancel button: Escape or closing the dialog (on every OS) is a
        // "Later", never a skip.
        let answer = rfd::AsyncMessageDialog::new()
            .set_level(rfd::MessageLevel::Info)
            .set_title(title)
            .set_description(text)
            .set_buttons(rfd::MessageButtons::YesNoCancelCustom(
                s.install_now.into(),
                s.skip_version.into(),
                s.later.into(),
            ))
            .show()
            .await;
        match answer {
            rfd::MessageDialogResult::Custom(label) if label == s.install_now => Answer::Install,
            rfd::MessageDialogResult::Custom(label) if label == s.skip_version => Answer::Skip,
            rfd::MessageDialogResult::Yes => Answer::Install,
            rfd::MessageDialogResult::No => Answer::Skip,
            _ => Answer::Later,
        }
    }

    /// Downloads and installs `update`; a failure is shown in plain words (the whole
    /// chain of causes goes to the log and the error event), a success offers the restart.
    async fn install<R: Runtime>(&self, updater: &Updater<R>, update: &UpdateMetadata) {
        let s = self.strings;
        if let Err(e) = updater.download_and_install(&update.version, |_| {}).await {
            updater.emit_error(&e);
            let text = failure_text(s, &update.version, &e);
            rfd::AsyncMessageDialog::new()
                .set_level(rfd::MessageLevel::Error)
                .set_title(s.update_failed)
                .set_description(text)
                .set_buttons(rfd::MessageButtons::Ok)
                .show()
                .await;
            return;
        }
        let text = fill(s.restart_question, &update.version, "");
        let answer = rfd::AsyncMessageDialog::new()
            .set_level(rfd::MessageLevel::Info)
            .set_title(s.update_installed)
            .set_description(text)
            .set_buttons(rfd::MessageButtons::OkCancelCustom(
                s.restart_now.into(),
                s.later.into(),
            ))
            .show()
            .await;
        let restart = match answer {
            rfd::MessageDialogResult::Custom(label) => label == s.restart_now,
            rfd::MessageDialogResult::Ok | rfd::MessageDialogResult::Yes => true,
            _ => false,
        };
        if restart {
            updater.restart();
        }
    }
}

/// The error dialog's text: which version failed, and why in plain words (the error's
/// message in English, its kind's sentence in another language); never the chain of
/// causes, which is for the log.
fn failure_text(s: &Strings, version: &str, error: &crate::Error) -> String {
    let reason = match s.error {
        Some(for_kind) => for_kind(error.kind()).to_string(),
        None => error.message(),
    };
    // A NUL would end the dialog's C string early (rfd panics on one).
    let reason = reason.replace('\0', "");
    format!("{}\n\n{reason}", fill(s.could_not_install, version, ""))
}

/// The update dialog's title and text for `update`, in `s`'s language.
fn describe(s: &Strings, update: &UpdateMetadata) -> (String, String) {
    let title = if update.critical {
        s.critical_update_available
    } else {
        s.update_available
    };
    let mut text = fill(
        s.version_available,
        &update.version,
        &update.current_version,
    );
    if update.critical {
        text.push(' ');
        text.push_str(s.critical_sentence);
    }
    let notes = markdown::to_plain_text(&update.body);
    if !notes.is_empty() {
        text.push_str("\n\n");
        text.push_str(&markdown::cut(&notes, MAX_NOTES_CHARS));
    }
    (title.to_string(), text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(critical: bool, body: &str) -> UpdateMetadata {
        UpdateMetadata {
            version: "1.1.0".into(),
            current_version: "1.0.0".into(),
            date: "2026-11-25T00:00:00Z".into(),
            body: body.into(),
            channel: "stable".into(),
            critical,
            size: 1,
            download_size: 1,
            direction: "upgrade",
            held_back: vec![],
            raw_json: serde_json::json!({}),
        }
    }

    #[test]
    fn prompt_names_both_versions_and_the_rendered_notes() {
        let en = Language::English.strings();
        let (title, text) = describe(en, &update(false, "## 1.1.0\n\n- Faster **start**."));
        assert_eq!(title, "Update available");
        assert_eq!(
            text,
            "Version 1.1.0 is available; you have 1.0.0.\n\n1.1.0\n\n• Faster start."
        );
        assert!(!text.contains("critical"));
    }

    #[test]
    fn critical_update_says_so_in_the_chosen_language() {
        let (title, text) = describe(Language::English.strings(), &update(true, ""));
        assert_eq!(title, "Critical update available");
        assert!(text.contains("critical problem"));
        let (title, text) = describe(Language::German.strings(), &update(true, ""));
        assert_eq!(title, "Wichtiges Update verfügbar");
        assert!(
            text.starts_with("Version 1.1.0 ist verfügbar; installiert ist 1.0.0. Dieses Update"),
            "{text}"
        );
    }

    #[test]
    fn a_failed_install_is_told_in_plain_words() {
        let error = crate::Error::Busy;
        assert_eq!(
            failure_text(Language::English.strings(), "1.1.0", &error),
            "Version 1.1.0 could not be installed:\n\nAnother update of this app is in \
             progress: try again once it is done."
        );
        assert_eq!(
            failure_text(Language::German.strings(), "1.1.0", &error),
            "Version 1.1.0 konnte nicht installiert werden:\n\nEin anderes Update dieser App \
             läuft gerade: Versuchen Sie es danach erneut."
        );
        // The chain of causes (with its spec rule) stays in the log.
        let error = crate::Error::NotConfigured("no trusted root: see 5.2.1".into());
        let text = failure_text(Language::English.strings(), "1.1.0", &error);
        assert!(!text.contains("5.2.1"), "{text}");
        assert!(
            text.ends_with("The updater is not set up for this app."),
            "{text}"
        );
    }

    #[test]
    fn long_notes_are_cut() {
        let notes = "é".repeat(MAX_NOTES_CHARS + 10);
        let (_, text) = describe(Language::English.strings(), &update(false, &notes));
        assert!(text.ends_with('…'));
        assert_eq!(text.matches('é').count(), MAX_NOTES_CHARS);
    }
}
