//! The kind, message and JSON of real errors, built from the engine's own values.

use std::io::{Read, Write};
use std::net::TcpListener;

use chrono::{Duration, TimeZone, Utc};
use tuf_updater_core::files::FileError;
use tuf_updater_core::policy::{self, AppDefaults, PolicyError};
use tuf_updater_core::settings::{InstallId, UserSettings};
use tuf_updater_core::tuf::error::Role;
use tuf_updater_core::tuf::fetch::{Fetcher, HttpConfig, HttpFetcher};

use super::*;

const URL: &str = "https://updates.example.com/my-app";

fn repository(source: TufError) -> Error {
    Error::Update(UpdateError::Repository {
        url: URL.into(),
        source,
    })
}

fn expired(rule: Rule, role: Role, hours: i64) -> Error {
    let checked_at = Utc.with_ymd_and_hms(2030, 1, 2, 12, 0, 0).unwrap();
    repository(TufError::Expired {
        rule,
        role,
        expires: checked_at - Duration::hours(hours),
        checked_at,
    })
}

fn io(kind: std::io::ErrorKind) -> Error {
    Error::Update(UpdateError::Io(FileError::new(
        "/home/u/.local/share/my-app/updates/metadata/timestamp.json",
        std::io::Error::new(kind, "os error"),
    )))
}

/// A spec section ("5.4.4"), a path or a URL: what a user's message must not carry.
fn assert_plain(message: &str) {
    assert!(!message.contains('§'), "{message}");
    assert!(!message.to_lowercase().contains("section"), "{message}");
    let has_section = message
        .as_bytes()
        .windows(3)
        .any(|w| w[0].is_ascii_digit() && w[1] == b'.' && w[2].is_ascii_digit());
    assert!(!has_section, "{message}");
    assert!(!message.contains('/'), "{message}");
    assert!(message.ends_with('.'), "{message}");
}

#[test]
fn an_expired_role_of_any_kind_is_repository_expired() {
    let cases = [
        (Rule::TimestampExpired, Role::Timestamp),
        (Rule::SnapshotExpired, Role::Snapshot),
        (Rule::TargetsExpired, Role::Targets),
        (Rule::TargetsExpired, Role::Delegated("stable".into())),
        (Rule::RootExpired, Role::Root),
    ];
    for (rule, role) in cases {
        let err = expired(rule, role, 26);
        assert_eq!(err.kind(), ErrorKind::RepositoryExpired, "{err}");
        let message = err.message();
        assert!(
            message.starts_with("The update server's signatures expired 26 hours ago"),
            "{message}"
        );
        assert!(message.contains("freeze attack"), "{message}");
        assert_plain(&message);
    }
}

#[test]
fn an_expired_repository_serializes_as_kind_message_and_detail() {
    let err = expired(Rule::TimestampExpired, Role::Timestamp, 5);
    let json = serde_json::to_value(&err).unwrap();
    let object = json.as_object().unwrap();
    let mut keys: Vec<_> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["detail", "kind", "message"]);
    assert_eq!(json["kind"], "repositoryExpired");
    let message = json["message"].as_str().unwrap();
    assert_eq!(
        message,
        "The update server's signatures expired 5 hours ago: the publisher has not re-signed \
         them (an outage, or a freeze attack). Updates resume once they are re-signed."
    );
    assert_plain(message);
    // The detail is today's whole chain, spec rule and URL included, for the log.
    let detail = json["detail"].as_str().unwrap();
    assert_eq!(detail, full_chain(&err));
    assert!(
        detail.starts_with(&format!("update repository {URL}: 5.4.4: ")),
        "{detail}"
    );
    assert!(
        detail.contains("expired 5 hours ago (2030-01-02T07:00:00Z)"),
        "{detail}"
    );
}

#[test]
fn no_permission_and_no_space_are_told_apart_from_other_io_errors() {
    use std::io::ErrorKind as Io;
    assert_eq!(io(Io::PermissionDenied).kind(), ErrorKind::NotWritable);
    assert_eq!(io(Io::ReadOnlyFilesystem).kind(), ErrorKind::NotWritable);
    assert_eq!(io(Io::StorageFull).kind(), ErrorKind::DiskFull);
    assert_eq!(io(Io::QuotaExceeded).kind(), ErrorKind::DiskFull);
    assert_eq!(io(Io::InvalidData).kind(), ErrorKind::Other);
    // ENOSPC as the OS reports it, not only as a constructed kind.
    #[cfg(unix)]
    {
        let enospc = std::io::Error::from_raw_os_error(28);
        let err = Error::Update(UpdateError::Io(FileError::new("/data/x", enospc)));
        assert_eq!(err.kind(), ErrorKind::DiskFull);
    }
    for (kind, expected) in [
        (Io::PermissionDenied, ErrorKind::NotWritable),
        (Io::StorageFull, ErrorKind::DiskFull),
    ] {
        let err = io(kind);
        let json = serde_json::to_value(&err).unwrap();
        assert_eq!(json["kind"], serde_json::to_value(expected).unwrap());
        assert_plain(json["message"].as_str().unwrap());
        assert!(json["detail"].as_str().unwrap().contains("timestamp.json"));
    }
    // The same, deeper: the install location, the TUF store, a Tauri error.
    let install = |source| {
        Error::Update(UpdateError::Install(InstallError::NotWritable {
            path: "/opt/my-app".into(),
            source,
        }))
    };
    let os = |kind| std::io::Error::new(kind, "os error");
    assert_eq!(
        install(os(Io::PermissionDenied)).kind(),
        ErrorKind::NotWritable
    );
    assert_eq!(install(os(Io::StorageFull)).kind(), ErrorKind::DiskFull);
    let store = repository(TufError::Io {
        path: "/data/metadata".into(),
        source: os(Io::StorageFull),
    });
    assert_eq!(store.kind(), ErrorKind::DiskFull);
    assert_eq!(
        Error::Tauri(tauri::Error::Io(os(Io::PermissionDenied))).kind(),
        ErrorKind::NotWritable
    );
}

/// Answers one request with `status`, on a port of its own.
fn serve_once(status: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = stream.read(&mut buf);
        let answer = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        stream.write_all(answer.as_bytes()).unwrap();
    });
    format!("http://{addr}/timestamp.json")
}

/// What the engine's own HTTP client answers for `url`, as the repository error it makes.
fn fetch(url: &str) -> Error {
    let fetcher = HttpFetcher::new(&HttpConfig::default()).unwrap();
    let result = tauri::async_runtime::block_on(fetcher.get(url, 0));
    match result {
        Ok(_) => panic!("{url} answered"),
        Err(e) => repository(TufError::Fetch(e)),
    }
}

#[test]
fn an_unreachable_server_or_a_server_error_is_offline() {
    // A port nobody listens on: the connection is refused.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/timestamp.json", closed.local_addr().unwrap());
    drop(closed);
    let refused = fetch(&url);
    assert!(
        matches!(
            refused,
            Error::Update(UpdateError::Repository {
                source: TufError::Fetch(FetchError::Transport { .. }),
                ..
            })
        ),
        "{refused:?}"
    );
    assert_eq!(refused.kind(), ErrorKind::Offline);
    assert_plain(&refused.message());
    assert_eq!(
        fetch(&serve_once("503 Service Unavailable")).kind(),
        ErrorKind::Offline
    );
    // A 404 or a 400 is the server's answer, not the network's.
    assert_eq!(fetch(&serve_once("404 Not Found")).kind(), ErrorKind::Other);
    assert_eq!(
        fetch(&serve_once("400 Bad Request")).kind(),
        ErrorKind::Other
    );
    // A server that wants a credential header the request did not carry.
    for status in ["401 Unauthorized", "403 Forbidden"] {
        let denied = fetch(&serve_once(status));
        assert_eq!(denied.kind(), ErrorKind::AccessDenied, "{status}");
        assert_plain(&denied.message());
    }
    let timeout = repository(TufError::Fetch(FetchError::Timeout {
        url: URL.into(),
        secs: 30,
    }));
    assert_eq!(timeout.kind(), ErrorKind::Offline);
}

fn disabled(policy_json: Option<&str>, user_enabled: Option<bool>) -> Error {
    let policy: std::result::Result<Option<policy::Policy>, PolicyError> =
        Ok(policy_json.map(|j| policy::parse(j.as_bytes()).unwrap()));
    let mut user = UserSettings::new(InstallId::generate().unwrap());
    user.enabled = user_enabled;
    let effective = policy::effective(&policy, &user, &AppDefaults::new("stable"));
    Error::Disabled(effective.disabled.expect("updates are off"))
}

#[test]
fn the_administrators_policy_turning_updates_off_is_disabled_by_policy() {
    let err = disabled(Some(r#"{"enabled": false}"#), Some(true));
    assert_eq!(err.kind(), ErrorKind::DisabledByPolicy);
    let json = serde_json::to_value(&err).unwrap();
    assert_eq!(json["kind"], "disabledByPolicy");
    assert_eq!(
        json["message"],
        "Updates are turned off by the administrator's policy."
    );
    // A policy file that cannot be used turns updates off too: the administrator's doing.
    let broken: std::result::Result<Option<policy::Policy>, PolicyError> =
        Err(PolicyError::Malformed {
            path: "/etc/my-app/update-policy.json".into(),
            reason: "expected value".into(),
        });
    let user = UserSettings::new(InstallId::generate().unwrap());
    let effective = policy::effective(&broken, &user, &AppDefaults::new("stable"));
    let err = Error::Disabled(effective.disabled.expect("updates are off"));
    assert_eq!(err.kind(), ErrorKind::DisabledByPolicy);
    assert_plain(&err.message());
    // The user's own switch is not the administrator's.
    let err = disabled(None, Some(false));
    assert_eq!(err.kind(), ErrorKind::Disabled);
    assert_eq!(err.message(), "Updates are turned off in the settings.");
}

#[test]
fn signature_rollback_and_hash_refusals_are_attacks_and_malformed_data_is_not() {
    let refusals = [
        TufError::Threshold {
            rule: Rule::TimestampSignatures,
            role: Role::Timestamp,
            valid: 0,
            threshold: 1,
        },
        TufError::Rollback {
            rule: Rule::TimestampRollback,
            role: Role::Timestamp,
            trusted: 7,
            new: 3,
        },
        TufError::LengthOrHash {
            rule: Rule::TargetLengthAndHashes,
            what: "target stable/my-app/1.1.0/linux-x86_64-exe/my-app".into(),
            detail: "sha256 mismatch".into(),
        },
        TufError::NotDelegated {
            role: Role::Delegated("beta".into()),
            delegator: Role::Targets,
            delegated: vec!["stable".into()],
        },
    ];
    for source in refusals {
        let err = repository(source);
        assert_eq!(err.kind(), ErrorKind::AttackDetected, "{err}");
        let json = serde_json::to_value(&err).unwrap();
        assert_eq!(json["kind"], "attackDetected");
        assert_plain(json["message"].as_str().unwrap());
        assert_eq!(json["detail"], full_chain(&err));
    }
    let tampered = Error::Update(UpdateError::Install(InstallError::StagedTampered(
        "/data/updates/install/staged".into(),
    )));
    assert_eq!(tampered.kind(), ErrorKind::AttackDetected);
    let malformed = repository(TufError::Malformed {
        role: Role::Timestamp,
        reason: "expected value at line 1".into(),
    });
    assert_eq!(malformed.kind(), ErrorKind::Other);
    let no_root = repository(TufError::Missing {
        rule: Rule::TrustedRoot,
        detail: "no trusted root in /data/metadata".into(),
    });
    assert_eq!(no_root.kind(), ErrorKind::NotConfigured);
}

#[test]
fn set_up_busy_and_the_plugins_own_errors() {
    assert_eq!(
        Error::NotConfigured("no repository".into()).kind(),
        ErrorKind::NotConfigured
    );
    assert_eq!(
        Error::Update(UpdateError::Config("no trusted root".into())).kind(),
        ErrorKind::NotConfigured
    );
    assert_eq!(Error::Busy.kind(), ErrorKind::Busy);
    let locked = Error::Update(UpdateError::Install(InstallError::Busy(
        "/data/updates/install/lock".into(),
    )));
    assert_eq!(locked.kind(), ErrorKind::Busy);
    assert_plain(&locked.message());
    let err = Error::NotChecked {
        requested: "2.0.0".into(),
        found: "none".into(),
    };
    assert_eq!(err.kind(), ErrorKind::Other);
    assert_eq!(
        err.message(),
        "Version 2.0.0 is not the update found by the last check (none): call check() first."
    );
    assert_eq!(
        Error::UpdateClosed.message(),
        "This update was closed, or was not found by a check in this page: check again."
    );
    let option = Error::InvalidOption("a timeout of 0 ms".into());
    assert_eq!(option.kind(), ErrorKind::Other);
    assert_eq!(option.message(), "Invalid check option: a timeout of 0 ms.");
}

/// The TypeScript `ErrorKind` union lists exactly the kinds Rust sends.
#[test]
fn the_typescript_union_names_every_kind() {
    let kinds = [
        ErrorKind::RepositoryExpired,
        ErrorKind::Offline,
        ErrorKind::AttackDetected,
        ErrorKind::NotWritable,
        ErrorKind::DiskFull,
        ErrorKind::DisabledByPolicy,
        ErrorKind::Disabled,
        ErrorKind::NotConfigured,
        ErrorKind::Busy,
        ErrorKind::AccessDenied,
        ErrorKind::Other,
    ];
    let rust: Vec<String> = kinds
        .iter()
        .map(|k| {
            serde_json::to_value(k)
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(rust[0], "repositoryExpired");
    let ts = include_str!("../guest-js/index.ts");
    let start = ts.find("export type ErrorKind =").unwrap();
    let union = &ts[start..start + ts[start..].find("\n\n").unwrap()];
    let names: Vec<&str> = union.split('\'').skip(1).step_by(2).collect();
    assert_eq!(names, rust);
}
