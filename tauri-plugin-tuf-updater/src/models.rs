//! What the plugin sends to the webview (camelCase JSON), made from tuf-updater-core's types.
//! The shapes are documented for app developers in `docs/tauri-plugin.md`.

use serde::Serialize;
use tuf_updater_core::policy::{Effective, Source};
use tuf_updater_core::{CheckResult, Direction, HeldBack, Progress, RollbackNotice, Update};

/// An update found by a check.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateMetadata {
    /// The version offered.
    pub version: String,
    /// The running version.
    pub current_version: String,
    /// RFC 3339.
    pub date: String,
    /// Release notes (markdown).
    pub body: String,
    /// The channel it was found on.
    pub channel: String,
    /// A critical release skips the staged rollout; an app may install it without asking.
    pub critical: bool,
    /// Size of the full artifact, in bytes.
    pub size: u64,
    /// What the download costs: the patch's size when one applies to the installed bytes.
    pub download_size: u64,
    /// `upgrade`, `downgrade` (the channel's newest, below the running version) or `rollbackToPin`.
    pub direction: &'static str,
    /// Newer releases that were not offered, and why.
    pub held_back: Vec<HeldBackInfo>,
    /// The release's custom data as signed in its TUF target (version, channel, notes,
    /// date and the publisher's own fields): tauri-plugin-updater's `rawJson`. `{}` when
    /// the target has none.
    pub raw_json: serde_json::Value,
}

impl From<&Update> for UpdateMetadata {
    fn from(u: &Update) -> Self {
        UpdateMetadata {
            version: u.version.to_string(),
            current_version: u.current_version.to_string(),
            date: u.date.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            body: u.notes.clone(),
            channel: u.channel.clone(),
            critical: u.critical,
            size: u.size,
            download_size: u.download_size,
            direction: match u.direction {
                Direction::Upgrade => "upgrade",
                Direction::Downgrade => "downgrade",
                Direction::RollbackToPin => "rollbackToPin",
            },
            held_back: u.held_back.iter().map(HeldBackInfo::from).collect(),
            raw_json: u
                .custom()
                .cloned()
                .unwrap_or_else(|| serde_json::Value::Object(serde_json::Map::new())),
        }
    }
}

/// A newer release that was not offered, and why (one sentence per reason).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeldBackInfo {
    /// The release's version.
    pub version: String,
    /// Why it was held back, one sentence per rule it failed.
    pub reasons: Vec<String>,
}

impl From<&HeldBack> for HeldBackInfo {
    fn from(h: &HeldBack) -> Self {
        HeldBackInfo {
            version: h.version().to_string(),
            reasons: h.reasons.iter().map(ToString::to_string).collect(),
        }
    }
}

/// The answer of `check`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum CheckStatus {
    /// An update to download and install.
    Available {
        /// The update.
        update: UpdateMetadata,
    },
    /// Nothing newer on the channel.
    UpToDate {
        /// The channel checked.
        channel: String,
    },
    /// Newer releases exist but are held back (policy, rollout, `min_version`, an earlier
    /// rollback).
    HeldBack {
        /// The channel checked.
        channel: String,
        /// The releases held back, each with its reasons.
        held: Vec<HeldBackInfo>,
    },
    /// Updates are turned off.
    Disabled {
        /// Who turned them off, as a sentence.
        reason: String,
    },
}

impl From<&CheckResult> for CheckStatus {
    fn from(result: &CheckResult) -> Self {
        match result {
            CheckResult::Available(update) => CheckStatus::Available {
                update: update.into(),
            },
            CheckResult::UpToDate { channel } => CheckStatus::UpToDate {
                channel: channel.clone(),
            },
            CheckResult::HeldBack { channel, held } => CheckStatus::HeldBack {
                channel: channel.clone(),
                held: held.iter().map(HeldBackInfo::from).collect(),
            },
            CheckResult::Disabled { reason } => CheckStatus::Disabled {
                reason: reason.to_string(),
            },
        }
    }
}

/// The answer of the `check` command: the status, and the resource id under which the
/// page's resource table keeps the update found (`plugin:resources|close` drops it).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CheckReply {
    #[serde(flatten)]
    pub status: CheckStatus,
    pub rid: Option<tauri::ResourceId>,
}

/// One step of a download and install, sent on the command's channel and as the
/// `tuf-updater://download-progress` event. The tags and fields match tauri-plugin-updater's
/// (`Started { contentLength }`, `Progress { chunkLength }`, `Finished`); `resumedFrom`,
/// `downloaded`, `Verifying` and `Installing` are extra. The `chunkLength`s after a
/// `Started` add up to its `contentLength`, bytes resumed from disk included (they come
/// as the first chunk). A second `Started` comes only when a patch failed and the full
/// release is downloaded instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", content = "data")]
pub enum DownloadEvent {
    /// The download starts (or resumes).
    #[serde(rename_all = "camelCase")]
    Started {
        /// The artifact's signed length, in bytes.
        content_length: u64,
        /// Bytes already on disk from an earlier attempt.
        resumed_from: u64,
    },
    /// A chunk arrived.
    #[serde(rename_all = "camelCase")]
    Progress {
        /// The chunk's size, in bytes.
        chunk_length: u64,
        /// Bytes on disk so far, resumed ones included.
        downloaded: u64,
    },
    /// Every byte is in; the length and hashes are being checked.
    Verifying,
    /// The download is verified.
    Finished,
    /// The verified update is being installed.
    Installing,
}

impl From<Progress> for DownloadEvent {
    fn from(p: Progress) -> Self {
        match p {
            Progress::Started {
                content_length,
                resumed_from,
            } => DownloadEvent::Started {
                content_length,
                resumed_from,
            },
            Progress::Progress {
                chunk_length,
                downloaded,
            } => DownloadEvent::Progress {
                chunk_length,
                downloaded,
            },
            Progress::Verifying => DownloadEvent::Verifying,
            Progress::Finished => DownloadEvent::Finished,
        }
    }
}

fn source_name(source: Source) -> &'static str {
    match source {
        Source::Policy => "policy",
        Source::User => "user",
        Source::App => "app",
    }
}

/// The channel in force and who chose it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelInfo {
    /// The channel checked.
    pub channel: String,
    /// Who chose it: `policy`, `user` or `app`.
    pub source: &'static str,
    /// Why the channel asked for is not the one used.
    pub note: Option<String>,
    /// The administrator's policy forces the channel: the user cannot change it.
    pub locked: bool,
}

impl From<&Effective> for ChannelInfo {
    fn from(e: &Effective) -> Self {
        ChannelInfo {
            channel: e.channel.clone(),
            source: source_name(e.channel_source),
            note: e.channel_note.as_ref().map(ToString::to_string),
            locked: e.channel_source == Source::Policy
                && matches!(
                    e.channel_note,
                    None | Some(tuf_updater_core::policy::ChannelNote::Forced { .. })
                ),
        }
    }
}

/// The administrator's policy as it applies to this app.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyStatus {
    /// Whether updates are on (by the policy, else the user, else the app).
    pub enabled: bool,
    /// Why updates are off, when they are.
    pub disabled_reason: Option<String>,
    /// The policy's version requirement, e.g. `~1.4`: only matching releases are offered.
    pub pinned_version: Option<String>,
    /// Whether the policy lets an install above the pin go down to it.
    pub allow_rollback: bool,
    /// The policy's repository, used instead of the app's.
    pub mirror: Option<String>,
    /// How often to check, in seconds (the policy's interval, else the app's).
    pub check_interval_secs: u64,
    /// The channel in force and who chose it.
    pub channel: ChannelInfo,
    /// One line for the UI when the policy pins or blocks updates, else `None`.
    pub message: Option<String>,
    /// Why a policy file was not used: it is not the administrator's (someone else owns or
    /// may write it). Updates go on without it; an administrator should fix or remove it.
    pub ignored_policy: Option<String>,
}

impl From<&Effective> for PolicyStatus {
    fn from(e: &Effective) -> Self {
        let pinned = e.pinned_version.as_ref().map(ToString::to_string);
        let message = match (&e.disabled, &pinned) {
            (Some(reason), _) => Some(capitalized(&reason.to_string())),
            (None, Some(req)) => Some(format!("Your administrator pins updates to versions {req}")),
            (None, None) => None,
        };
        PolicyStatus {
            enabled: e.enabled(),
            disabled_reason: e.disabled.as_ref().map(ToString::to_string),
            pinned_version: pinned,
            allow_rollback: e.allow_rollback,
            mirror: e.repository_mirror.as_ref().map(ToString::to_string),
            check_interval_secs: e.check_interval.as_secs(),
            channel: e.into(),
            message,
            ignored_policy: e.ignored_policy.as_ref().map(ToString::to_string),
        }
    }
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A rollback at an earlier start, reported once to the version that was restored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RollbackInfo {
    /// The version that was rolled back.
    pub failed_version: String,
    /// The version put back in its place, now running.
    pub restored_version: String,
    /// Why, e.g. "version 1.3.0 did not confirm within 3 launches".
    pub reason: String,
}

impl From<RollbackNotice> for RollbackInfo {
    fn from(n: RollbackNotice) -> Self {
        RollbackInfo {
            failed_version: n.failed_version,
            restored_version: n.restored_version,
            reason: n.reason,
        }
    }
}

/// The plugin's state, for an app's update page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdaterStatus {
    /// The app's name in the repository.
    pub app: String,
    /// The running version.
    pub current_version: String,
    /// `false` when the updater could not be set up; `error` says why.
    pub configured: bool,
    /// Why the updater could not be set up, when it could not.
    pub error: Option<String>,
    /// The rollback of an earlier start, if this start followed one.
    pub last_rollback: Option<RollbackInfo>,
    /// This version was just installed and has not confirmed its launch yet.
    pub pending_confirmation: bool,
    /// A version installed by this process, waiting for a restart.
    pub installed: Option<String>,
}

/// Payload of `tuf-updater://installed`.
#[derive(Debug, Clone, Serialize)]
pub struct InstalledPayload {
    pub version: String,
}

/// Payload of `tuf-updater://error`.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorPayload {
    /// What kind of failure it is, as a command's rejection says it.
    pub kind: crate::error::ErrorKind,
    /// The error with its whole chain of causes.
    pub message: String,
}

/// Payload of `tuf-updater://launch-confirmed`: emitted (to Rust listeners and every
/// window) once the confirm window has loaded; `confirmed` is true when this start
/// confirmed a freshly installed version.
#[derive(Debug, Clone, Serialize)]
pub struct LaunchPayload {
    pub version: String,
    pub confirmed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use tuf_updater_core::policy::{self, AppDefaults, PolicyError};
    use tuf_updater_core::settings::{InstallId, UserSettings};

    fn effective(policy_json: Option<&str>, user_channel: Option<&str>) -> Effective {
        let policy: Result<Option<policy::Policy>, PolicyError> =
            Ok(policy_json.map(|j| policy::parse(j.as_bytes()).unwrap()));
        let mut user = UserSettings::new(InstallId::generate().unwrap());
        user.set_channel(user_channel).unwrap();
        policy::effective(&policy, &user, &AppDefaults::new("stable"))
    }

    #[test]
    fn no_policy_means_no_message_and_a_free_channel() {
        let status = PolicyStatus::from(&effective(None, Some("beta")));
        assert!(status.enabled);
        assert_eq!(status.message, None);
        assert_eq!(status.channel.channel, "beta");
        assert_eq!(status.channel.source, "user");
        assert!(!status.channel.locked);
    }

    #[test]
    fn a_pin_is_one_line_for_the_ui() {
        let status = PolicyStatus::from(&effective(Some(r#"{"pinned_version": "~1.0"}"#), None));
        assert!(status.enabled);
        assert_eq!(status.pinned_version.as_deref(), Some("~1.0"));
        assert_eq!(
            status.message.as_deref(),
            Some("Your administrator pins updates to versions ~1.0")
        );
    }

    #[test]
    fn updates_turned_off_by_policy_say_who() {
        let status = PolicyStatus::from(&effective(Some(r#"{"enabled": false}"#), None));
        assert!(!status.enabled);
        assert_eq!(
            status.message.as_deref(),
            Some("Updates are turned off by the administrator's policy")
        );
    }

    #[test]
    fn a_policy_file_planted_by_a_user_is_reported_as_ignored() {
        let planted = Err(PolicyError::Untrusted {
            path: "/etc/app/update-policy.json".into(),
            reason: "/etc/app is owned by uid 1000, not root".into(),
        });
        let user = UserSettings::new(InstallId::generate().unwrap());
        let e = policy::effective(&planted, &user, &AppDefaults::new("stable"));
        let status = PolicyStatus::from(&e);
        assert!(status.enabled);
        assert_eq!(status.message, None);
        let ignored = status.ignored_policy.unwrap();
        assert!(ignored.contains("owned by uid 1000"), "{ignored}");
        assert!(ignored.contains("/etc/app/update-policy.json"), "{ignored}");
    }

    #[test]
    fn a_forced_channel_is_locked_and_explains_itself() {
        let e = effective(Some(r#"{"channel": "stable"}"#), Some("beta"));
        let info = ChannelInfo::from(&e);
        assert_eq!(info.channel, "stable");
        assert_eq!(info.source, "policy");
        assert!(info.locked);
        assert!(info.note.unwrap().contains("\"beta\" is not used"));
    }

    #[test]
    fn download_events_have_tauri_plugin_updater_shapes() {
        let started = DownloadEvent::from(Progress::Started {
            content_length: 10,
            resumed_from: 0,
        });
        assert_eq!(
            serde_json::to_value(started).unwrap(),
            serde_json::json!({"event": "Started", "data": {"contentLength": 10, "resumedFrom": 0}})
        );
        assert_eq!(
            serde_json::to_value(DownloadEvent::Finished).unwrap(),
            serde_json::json!({"event": "Finished"})
        );
        let held = CheckStatus::HeldBack {
            channel: "stable".into(),
            held: vec![],
        };
        assert_eq!(
            serde_json::to_value(held).unwrap(),
            serde_json::json!({"status": "heldBack", "channel": "stable", "held": []})
        );
    }
}
