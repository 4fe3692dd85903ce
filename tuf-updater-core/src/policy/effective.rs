//! The settings in force: the policy over the user's settings over the app's defaults, and
//! who decided each.

use std::time::Duration;

use reqwest::Url;
use semver::VersionReq;
use thiserror::Error;

use super::file::{Policy, PolicyError};
use crate::settings::UserSettings;

/// What the app decides when neither policy nor user does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppDefaults {
    /// The channel when the user has not chosen one.
    pub channel: String,
    /// Whether updates are on when neither policy nor user says.
    pub enabled: bool,
    /// How often to check when the policy does not say.
    pub check_interval: Duration,
    /// What a policy file the administrator does not control does.
    pub untrusted_policy: UntrustedPolicy,
}

/// What the app does when the policy file is not the administrator's
/// ([`PolicyError::Untrusted`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UntrustedPolicy {
    /// Updates go on as if there were no policy (the reason is in
    /// [`Effective::ignored_policy`]): whoever planted the file neither pins nor stops them.
    #[default]
    Ignore,
    /// Updates stop until the file is fixed or removed, as for a malformed policy.
    StopUpdates,
}

impl AppDefaults {
    /// Updates on, checked every 6 hours, on `channel`.
    pub fn new(channel: impl Into<String>) -> AppDefaults {
        AppDefaults {
            channel: channel.into(),
            enabled: true,
            check_interval: Duration::from_secs(6 * 3600),
            untrusted_policy: UntrustedPolicy::Ignore,
        }
    }
}

/// Who decided a setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The administrator's policy file.
    Policy,
    /// The user's settings.
    User,
    /// The app's defaults ([`AppDefaults`]).
    App,
}

/// Why updates are off.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Disabled {
    /// The policy file exists but cannot be used.
    #[error("updates are off because the update policy could not be used: {0}")]
    PolicyError(PolicyError),
    /// The policy sets `enabled: false`.
    #[error("updates are turned off by the administrator's policy")]
    Policy,
    /// The user turned updates off.
    #[error("updates are turned off in the user's settings")]
    User,
    /// The app's defaults have updates off.
    #[error("updates are turned off by the application")]
    App,
}

/// Why the channel is not the one asked for.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ChannelNote {
    /// The policy forces a channel, so the one asked for is not used.
    #[error("the administrator's policy sets the channel; {requested:?} is not used")]
    Forced {
        /// The channel asked for.
        requested: String,
    },
    /// The channel asked for is not in the policy's `allowed_channels`: the first one is used.
    #[error("channel {requested:?} is not allowed by the administrator's policy (allowed: {allowed:?}); using the first allowed channel")]
    NotAllowed {
        /// The channel asked for.
        requested: String,
        /// Who asked for it: the user or the app.
        requested_by: Source,
        /// The policy's allowed channels.
        allowed: Vec<String>,
    },
}

/// The settings in force, and who decided them.
#[derive(Clone, Debug, PartialEq)]
pub struct Effective {
    /// `None`: updates are on.
    pub disabled: Option<Disabled>,
    /// The channel to check.
    pub channel: String,
    /// Who chose it.
    pub channel_source: Source,
    /// Set when the channel asked for by the user (or the app) is not the one used.
    pub channel_note: Option<ChannelNote>,
    /// The policy's version pin: only matching releases are offered.
    pub pinned_version: Option<VersionReq>,
    /// Whether the policy lets an install above the pin go down to it.
    pub allow_rollback: bool,
    /// The policy's repository to use instead of the app's.
    pub repository_mirror: Option<Url>,
    /// How often to check.
    pub check_interval: Duration,
    /// Who set the interval: the policy or the app.
    pub check_interval_source: Source,
    /// A policy file that was not used because the administrator does not control it (the
    /// app chose [`UntrustedPolicy::Ignore`]): say so on the app's update settings page.
    pub ignored_policy: Option<PolicyError>,
}

impl Effective {
    /// True when updates are on (nothing disabled them).
    pub fn enabled(&self) -> bool {
        self.disabled.is_none()
    }
}

/// Merges policy over user over app.
///
/// - A policy that failed to load turns updates off (and nothing else of it applies); one
///   the administrator does not control is ignored instead, if the app says so.
/// - `enabled`: the policy's if set, else the user's, else the app's.
/// - Channel: the policy's forced channel; else the user's choice, else the app's default,
///   if `allowed_channels` (when set) lists it; else the first allowed channel, with a note.
/// - Pin, rollback and mirror come only from the policy; the check interval from the
///   policy, else the app.
pub fn effective(
    policy: &Result<Option<Policy>, PolicyError>,
    user: &UserSettings,
    app: &AppDefaults,
) -> Effective {
    let (policy, broken, ignored) = match policy {
        Ok(p) => (p.as_ref(), None, None),
        Err(e @ PolicyError::Untrusted { .. })
            if app.untrusted_policy == UntrustedPolicy::Ignore =>
        {
            (None, None, Some(e.clone()))
        }
        Err(e) => (None, Some(e.clone()), None),
    };
    let disabled = if let Some(e) = broken {
        Some(Disabled::PolicyError(e))
    } else {
        match (policy.and_then(|p| p.enabled), user.enabled) {
            (Some(false), _) => Some(Disabled::Policy),
            (Some(true), _) => None,
            (None, Some(false)) => Some(Disabled::User),
            (None, Some(true)) => None,
            (None, None) => (!app.enabled).then_some(Disabled::App),
        }
    };

    let (requested, requested_by) = match &user.channel {
        Some(c) => (c.clone(), Source::User),
        None => (app.channel.clone(), Source::App),
    };
    let forced = policy.and_then(|p| p.channel.clone());
    let allowed = policy.and_then(|p| p.allowed_channels.as_ref());
    let (channel, channel_source, channel_note) = if let Some(forced) = forced {
        let note = (requested_by == Source::User && requested != forced)
            .then_some(ChannelNote::Forced { requested });
        (forced, Source::Policy, note)
    } else {
        match allowed {
            Some(list) if !list.contains(&requested) => match list.first() {
                Some(first) => (
                    first.clone(),
                    Source::Policy,
                    Some(ChannelNote::NotAllowed {
                        requested,
                        requested_by,
                        allowed: list.clone(),
                    }),
                ),
                None => (requested, requested_by, None),
            },
            _ => (requested, requested_by, None),
        }
    };

    let (check_interval, check_interval_source) = match policy.and_then(|p| p.check_interval) {
        Some(i) => (i, Source::Policy),
        None => (app.check_interval, Source::App),
    };
    Effective {
        disabled,
        channel,
        channel_source,
        channel_note,
        pinned_version: policy.and_then(|p| p.pinned_version.clone()),
        allow_rollback: policy.is_some_and(|p| p.allow_rollback),
        repository_mirror: policy.and_then(|p| p.repository_mirror.clone()),
        check_interval,
        check_interval_source,
        ignored_policy: ignored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::file::parse;
    use crate::settings::InstallId;
    use std::path::PathBuf;

    fn user(channel: Option<&str>, enabled: Option<bool>) -> UserSettings {
        let mut u = UserSettings::new(InstallId::parse(&"0".repeat(32)).unwrap());
        u.channel = channel.map(str::to_string);
        u.enabled = enabled;
        u
    }

    fn policy(json: &str) -> Result<Option<Policy>, PolicyError> {
        parse(json.as_bytes())
            .map(Some)
            .map_err(|reason| PolicyError::Malformed {
                path: PathBuf::from("/etc/app/update-policy.json"),
                reason,
            })
    }

    // ---- effective ----

    #[test]
    fn no_policy_user_then_app() {
        let app = AppDefaults::new("stable");
        let e = effective(&Ok(None), &user(None, None), &app);
        assert!(e.enabled());
        assert_eq!(
            (e.channel.as_str(), e.channel_source),
            ("stable", Source::App)
        );
        assert_eq!(e.channel_note, None);
        assert_eq!(
            (e.check_interval, e.check_interval_source),
            (app.check_interval, Source::App)
        );
        assert_eq!(
            (e.pinned_version, e.allow_rollback, e.repository_mirror),
            (None, false, None)
        );

        let e = effective(&Ok(None), &user(Some("beta"), None), &app);
        assert_eq!(
            (e.channel.as_str(), e.channel_source),
            ("beta", Source::User)
        );
    }

    #[test]
    fn broken_policy_keeps_updates_off() {
        let broken = policy(r#"{"enabled": "yes"}"#);
        assert!(broken.is_err());
        let e = effective(
            &broken,
            &user(Some("beta"), Some(true)),
            &AppDefaults::new("stable"),
        );
        assert!(!e.enabled());
        let Some(Disabled::PolicyError(err)) = &e.disabled else {
            panic!("{:?}", e.disabled)
        };
        assert!(err.to_string().contains("/etc/app/update-policy.json"));
        assert!(e
            .disabled
            .unwrap()
            .to_string()
            .contains("could not be used"));
    }

    #[test]
    fn an_untrusted_policy_is_ignored_or_stops_updates_as_the_app_chose() {
        let planted: Result<Option<Policy>, PolicyError> = Err(PolicyError::Untrusted {
            path: PathBuf::from(r"C:\ProgramData\app\update-policy.json"),
            reason: "owned by DESKTOP\\mallory".into(),
        });
        let mut app = AppDefaults::new("stable");
        let e = effective(&planted, &user(Some("beta"), None), &app);
        assert_eq!(e.disabled, None);
        assert_eq!(e.channel, "beta");
        assert_eq!(e.pinned_version, None);
        assert!(!e.allow_rollback);
        assert_eq!(e.ignored_policy, planted.clone().err());
        app.untrusted_policy = UntrustedPolicy::StopUpdates;
        let e = effective(&planted, &user(Some("beta"), None), &app);
        assert_eq!(
            e.disabled,
            Some(Disabled::PolicyError(planted.clone().unwrap_err()))
        );
        assert_eq!(e.ignored_policy, None);
        // Any other policy error stops updates whatever the app chose for untrusted files.
        app.untrusted_policy = UntrustedPolicy::Ignore;
        let broken = policy("{");
        assert!(!effective(&broken, &user(None, None), &app).enabled());
    }

    #[test]
    fn enabled_policy_over_user_over_app() {
        let on = policy(r#"{"enabled": true}"#);
        let off = policy(r#"{"enabled": false}"#);
        let none = policy("{}");
        let app_on = AppDefaults::new("stable");
        let app_off = AppDefaults {
            enabled: false,
            ..AppDefaults::new("stable")
        };
        let d = |p: &Result<Option<Policy>, PolicyError>, u: Option<bool>, a: &AppDefaults| {
            effective(p, &user(None, u), a).disabled
        };
        assert_eq!(d(&off, Some(true), &app_on), Some(Disabled::Policy));
        assert_eq!(d(&on, Some(false), &app_off), None);
        assert_eq!(d(&none, Some(false), &app_on), Some(Disabled::User));
        assert_eq!(d(&none, Some(true), &app_off), None);
        assert_eq!(d(&none, None, &app_off), Some(Disabled::App));
        assert_eq!(d(&none, None, &app_on), None);
        assert_eq!(d(&Ok(None), Some(false), &app_on), Some(Disabled::User));
    }

    #[test]
    fn forced_channel_wins() {
        let p = policy(r#"{"channel": "stable"}"#);
        let app = AppDefaults::new("beta");
        let e = effective(&p, &user(Some("beta"), None), &app);
        assert_eq!(
            (e.channel.as_str(), e.channel_source),
            ("stable", Source::Policy)
        );
        assert_eq!(
            e.channel_note,
            Some(ChannelNote::Forced {
                requested: "beta".into()
            })
        );
        // the same choice, or no choice: no note
        let e = effective(&p, &user(Some("stable"), None), &app);
        assert_eq!(e.channel_note, None);
        let e = effective(&p, &user(None, None), &app);
        assert_eq!((e.channel.as_str(), e.channel_note), ("stable", None));
    }

    #[test]
    fn channel_outside_allowed_falls_back_to_the_first_allowed() {
        let p = policy(r#"{"allowed_channels": ["lts", "stable"]}"#);
        let app = AppDefaults::new("stable");
        let e = effective(&p, &user(Some("beta"), None), &app);
        assert_eq!(
            (e.channel.as_str(), e.channel_source),
            ("lts", Source::Policy)
        );
        assert_eq!(
            e.channel_note,
            Some(ChannelNote::NotAllowed {
                requested: "beta".into(),
                requested_by: Source::User,
                allowed: vec!["lts".into(), "stable".into()],
            })
        );
        assert!(e.channel_note.unwrap().to_string().contains("not allowed"));
        // an allowed choice stands
        let e = effective(&p, &user(Some("stable"), None), &app);
        assert_eq!(
            (e.channel.as_str(), e.channel_source, e.channel_note),
            ("stable", Source::User, None)
        );
        // the app default is checked too
        let e = effective(&p, &user(None, None), &AppDefaults::new("beta"));
        assert_eq!(e.channel, "lts");
        assert!(matches!(
            e.channel_note,
            Some(ChannelNote::NotAllowed {
                requested_by: Source::App,
                ..
            })
        ));
        let e = effective(&p, &user(None, None), &app);
        assert_eq!(
            (e.channel.as_str(), e.channel_source),
            ("stable", Source::App)
        );
    }

    #[test]
    fn pin_mirror_interval_come_from_policy() {
        let p = policy(
            r#"{"pinned_version": "=1.4.2", "allow_rollback": true, "check_interval": "30m",
                "repository_mirror": "https://mirror.example.com/"}"#,
        );
        let e = effective(&p, &user(None, None), &AppDefaults::new("stable"));
        assert_eq!(e.pinned_version, Some(VersionReq::parse("=1.4.2").unwrap()));
        assert!(e.allow_rollback);
        assert_eq!(
            e.repository_mirror.unwrap().as_str(),
            "https://mirror.example.com/"
        );
        assert_eq!(
            (e.check_interval, e.check_interval_source),
            (Duration::from_secs(1800), Source::Policy)
        );
        assert!(e.disabled.is_none());
    }
}
