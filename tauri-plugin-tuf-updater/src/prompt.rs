//! The built-in prompt: a native dialog for apps that want no update UI of their own.
//! "Install now" downloads and installs (progress goes out as events), then a second
//! dialog offers to restart.

use tauri::Runtime;

use crate::models::UpdateMetadata;
use crate::Updater;

const INSTALL: &str = "Install now";
const LATER: &str = "Later";
const RESTART: &str = "Restart now";

/// Notes longer than this are cut in the dialog (the release page has the rest).
const MAX_NOTES_CHARS: usize = 1200;

/// Shows a message dialog and waits for the answer: `true` for `yes`. Called from an async
/// task, never the main thread: on Linux rfd queues the dialog onto the GTK main loop (the
/// one Tauri runs on the main thread) and waits for it, as tauri-plugin-dialog does.
async fn ask(title: String, text: String, yes: &'static str) -> bool {
    let answer = rfd::AsyncMessageDialog::new()
        .set_level(rfd::MessageLevel::Info)
        .set_title(title)
        .set_description(text)
        .set_buttons(rfd::MessageButtons::OkCancelCustom(
            yes.into(),
            LATER.into(),
        ))
        .show()
        .await;
    match answer {
        rfd::MessageDialogResult::Ok | rfd::MessageDialogResult::Yes => true,
        rfd::MessageDialogResult::Custom(label) => label == yes,
        _ => false,
    }
}

/// The prompt's text for `update`.
pub(crate) fn describe(update: &UpdateMetadata) -> (String, String) {
    let title = if update.critical {
        "Critical update available".to_string()
    } else {
        "Update available".to_string()
    };
    let mut text = format!(
        "Version {} is available; you have {}.",
        update.version, update.current_version
    );
    if update.critical {
        text.push_str(" This update fixes a critical problem: install it now.");
    }
    let notes = update.body.trim();
    if !notes.is_empty() {
        text.push_str("\n\n");
        let mut cut: String = notes.chars().take(MAX_NOTES_CHARS).collect();
        if cut.len() < notes.len() {
            cut.push('…');
        }
        text.push_str(&cut);
    }
    (title, text)
}

/// Asks about `update`; on yes downloads, installs and offers the restart.
pub(crate) async fn offer<R: Runtime>(updater: &Updater<R>, update: &UpdateMetadata) {
    let (title, text) = describe(update);
    if !ask(title, text, INSTALL).await {
        tracing::info!(version = %update.version, "update postponed by the user");
        return;
    }
    if let Err(e) = updater.download_and_install(&update.version, |_| {}).await {
        updater.emit_error(&e);
        let text = format!(
            "Version {} could not be installed:\n\n{}",
            update.version,
            crate::error::full_chain(&e)
        );
        rfd::AsyncMessageDialog::new()
            .set_level(rfd::MessageLevel::Error)
            .set_title("Update failed")
            .set_description(text)
            .set_buttons(rfd::MessageButtons::Ok)
            .show()
            .await;
        return;
    }
    let text = format!(
        "Version {} is installed. Restart now to run it?",
        update.version
    );
    if ask("Update installed".into(), text, RESTART).await {
        updater.restart();
    }
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
    fn prompt_names_both_versions_and_the_notes() {
        let (title, text) = describe(&update(false, "Faster start."));
        assert_eq!(title, "Update available");
        assert!(text.starts_with("Version 1.1.0 is available; you have 1.0.0."));
        assert!(text.ends_with("Faster start."));
        assert!(!text.contains("critical"));
    }

    #[test]
    fn critical_update_says_so() {
        let (title, text) = describe(&update(true, ""));
        assert_eq!(title, "Critical update available");
        assert!(text.contains("critical problem"));
    }

    #[test]
    fn long_notes_are_cut() {
        let notes = "é".repeat(MAX_NOTES_CHARS + 10);
        let (_, text) = describe(&update(false, &notes));
        assert!(text.ends_with('…'));
        assert_eq!(text.matches('é').count(), MAX_NOTES_CHARS);
    }
}
