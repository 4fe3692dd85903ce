//! Tests of [`super::select`].

use super::*;
use crate::release::test_support::{custom, path, target, v, with, APP};
use crate::release::{FieldError, InstallFormat, PathError};
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn input(channel: &str, current: &str, bucket: u8) -> SelectionInput {
    SelectionInput::new(
        APP,
        v(current),
        Platform::LinuxX86_64,
        channel,
        Bucket::new(bucket).unwrap(),
    )
}

/// Targets on `channel`, each full, published, 100 % rollout unless `extra` says otherwise.
fn repo(channel: &str, releases: &[(&str, Value)]) -> Vec<(String, TargetFile)> {
    releases
        .iter()
        .map(|(ver, extra)| (path(channel, ver), target(with(ver, extra.clone()))))
        .collect()
}

fn plain(channel: &str, versions: &[&str]) -> Vec<(String, TargetFile)> {
    let rs: Vec<(&str, Value)> = versions.iter().map(|x| (*x, json!({}))).collect();
    repo(channel, &rs)
}

fn run(targets: &[(String, TargetFile)], input: &SelectionInput) -> Selection {
    select(targets.iter().map(|(p, t)| (p.as_str(), t)), input)
}

fn chosen_version(s: &Selection) -> Option<String> {
    s.release().map(|r| r.version().to_string())
}

fn held(s: &Selection) -> Vec<(String, Vec<HeldBackReason>)> {
    s.held_back
        .iter()
        .map(|h| (h.release.version().to_string(), h.reasons.clone()))
        .collect()
}

// ---- select ----

#[test]
fn picks_the_highest_version_above_current() {
    let t = plain("stable", &["1.0.0", "1.2.0", "1.9.0", "1.10.0", "1.1.0"]);
    let s = run(&t, &input("stable", "1.1.0", 0));
    assert_eq!(chosen_version(&s).as_deref(), Some("1.10.0"));
    assert_eq!(s.chosen.as_ref().unwrap().direction, Direction::Upgrade);
    assert!(s.held_back.is_empty() && s.skipped.is_empty());
}

#[test]
fn result_does_not_depend_on_input_order() {
    let mut t = plain("stable", &["1.9.0", "1.10.0", "1.2.0"]);
    let a = run(&t, &input("stable", "1.0.0", 0));
    t.reverse();
    let b = run(&t, &input("stable", "1.0.0", 0));
    assert_eq!(a, b);
}

#[test]
fn up_to_date_and_lower_versions_offer_nothing() {
    let t = plain("stable", &["1.0.0", "1.1.0"]);
    let s = run(&t, &input("stable", "1.1.0", 0));
    assert_eq!(s, Selection::default());
    let s = run(&t, &input("stable", "2.0.0", 0));
    assert_eq!(s.release(), None);
}

#[test]
fn build_metadata_alone_is_not_an_update() {
    let t = plain("stable", &["1.2.0+build.2"]);
    let s = run(&t, &input("stable", "1.2.0+build.1", 0));
    assert_eq!(s.release(), None);
    assert!(s.held_back.is_empty());
    let s = run(&t, &input("stable", "1.2.0", 0));
    assert_eq!(s.release(), None);
    // but it orders a tie deterministically, and 1.2.1 beats any 1.2.0+build
    let t = plain(
        "stable",
        &["1.2.0+build.1", "1.2.0+build.2", "1.2.1+build.0"],
    );
    assert_eq!(
        chosen_version(&run(&t, &input("stable", "1.1.0", 0))).as_deref(),
        Some("1.2.1+build.0")
    );
    let t = plain("stable", &["1.2.0+build.1", "1.2.0+build.2"]);
    assert_eq!(
        chosen_version(&run(&t, &input("stable", "1.1.0", 0))).as_deref(),
        Some("1.2.0+build.2")
    );
}

#[test]
fn prerelease_ordering_on_beta() {
    let t = plain(
        "beta",
        &["1.2.0-beta.1", "1.2.0-beta.2", "1.2.0-beta.10", "1.1.0"],
    );
    // numeric identifiers compare as numbers: beta.10 > beta.2
    let s = run(&t, &input("beta", "1.2.0-beta.1", 0));
    assert_eq!(chosen_version(&s).as_deref(), Some("1.2.0-beta.10"));
    let t = plain("beta", &["1.2.0-beta.1", "1.2.0-beta.2"]);
    let s = run(&t, &input("beta", "1.2.0-beta.1", 0));
    assert_eq!(chosen_version(&s).as_deref(), Some("1.2.0-beta.2"));
    let t = plain("beta", &["1.2.0-beta.1", "1.2.0-beta.2", "1.2.0"]);
    let s = run(&t, &input("beta", "1.2.0-beta.2", 0));
    assert_eq!(chosen_version(&s).as_deref(), Some("1.2.0"));
    // 1.2.0-beta.2 is below 1.2.0: nothing for a 1.2.0 install
    let s = run(&t, &input("beta", "1.2.0", 0));
    assert_eq!(s.release(), None);
    // alpha < beta < rc lexically
    let t = plain("beta", &["2.0.0-alpha.3", "2.0.0-rc.1", "2.0.0-beta.7"]);
    let s = run(&t, &input("beta", "1.9.0", 0));
    assert_eq!(chosen_version(&s).as_deref(), Some("2.0.0-rc.1"));
}

#[test]
fn stable_never_offers_a_prerelease() {
    let t = plain("stable", &["1.1.0", "1.2.0-beta.1"]);
    let s = run(&t, &input("stable", "1.0.0", 0));
    assert_eq!(chosen_version(&s).as_deref(), Some("1.1.0"));
    assert_eq!(
        held(&s),
        vec![(
            "1.2.0-beta.1".into(),
            vec![HeldBackReason::PreRelease {
                channel: "stable".into()
            }]
        )]
    );
    // a channel may be told to carry them
    let mut i = input("stable", "1.0.0", 0);
    i.allow_prerelease = true;
    assert_eq!(
        chosen_version(&run(&t, &i)).as_deref(),
        Some("1.2.0-beta.1")
    );
}

#[test]
fn other_channels_apps_and_platforms_are_ignored() {
    let mut t = plain("beta", &["3.0.0"]);
    t.push((
        "stable/otherapp/4.0.0/linux-x86_64/x".into(),
        target(custom("4.0.0")),
    ));
    t.push((
        format!("stable/{APP}/5.0.0/darwin-aarch64/x"),
        target(custom("5.0.0")),
    ));
    t.push((
        format!("stable/{APP}/6.0.0/windows-x86_64/x"),
        target(json!("garbage for another platform")),
    ));
    t.extend(plain("stable", &["1.1.0"]));
    let s = run(&t, &input("stable", "1.0.0", 0));
    assert_eq!(chosen_version(&s).as_deref(), Some("1.1.0"));
    assert!(s.held_back.is_empty());
    assert!(s.skipped.is_empty());
}

#[test]
fn rollout_admits_buckets_below_the_percentage() {
    let t = repo(
        "stable",
        &[
            ("1.1.0", json!({})),
            ("1.2.0", json!({ "rollout": { "percent": 25 } })),
        ],
    );
    let s = run(&t, &input("stable", "1.0.0", 24));
    assert_eq!(chosen_version(&s).as_deref(), Some("1.2.0"));
    let s = run(&t, &input("stable", "1.0.0", 25));
    assert_eq!(chosen_version(&s).as_deref(), Some("1.1.0"));
    assert_eq!(
        held(&s),
        vec![(
            "1.2.0".into(),
            vec![HeldBackReason::Rollout {
                percent: 25,
                bucket: Bucket::new(25).unwrap()
            }]
        )]
    );
    // 0 % reaches nobody, 100 % everybody
    let t = repo(
        "stable",
        &[("1.2.0", json!({ "rollout": { "percent": 0 } }))],
    );
    assert_eq!(run(&t, &input("stable", "1.0.0", 0)).release(), None);
    let t = repo(
        "stable",
        &[("1.2.0", json!({ "rollout": { "percent": 100 } }))],
    );
    assert!(run(&t, &input("stable", "1.0.0", 99)).release().is_some());
}

#[test]
fn critical_ignores_rollout_only() {
    let t = repo(
        "stable",
        &[(
            "1.2.0",
            json!({ "critical": true, "rollout": { "percent": 0 } }),
        )],
    );
    let s = run(&t, &input("stable", "1.0.0", 99));
    assert_eq!(chosen_version(&s).as_deref(), Some("1.2.0"));
    // but not min_version
    let t = repo(
        "stable",
        &[("1.2.0", json!({ "critical": true, "min_version": "1.1.0" }))],
    );
    let s = run(&t, &input("stable", "1.0.0", 0));
    assert_eq!(s.release(), None);
    assert!(s.intermediate_update_needed());
}

#[test]
fn min_version_needs_an_intermediate_update() {
    let t = repo(
        "stable",
        &[
            ("1.5.0", json!({})),
            ("2.0.0", json!({ "min_version": "1.5.0" })),
        ],
    );
    let s = run(&t, &input("stable", "1.0.0", 0));
    assert_eq!(chosen_version(&s).as_deref(), Some("1.5.0"));
    assert!(s.intermediate_update_needed());
    assert_eq!(
        held(&s),
        vec![(
            "2.0.0".into(),
            vec![HeldBackReason::MinVersion {
                min_version: v("1.5.0")
            }]
        )]
    );
    assert!(s.held_back[0].reasons[0]
        .to_string()
        .contains("intermediate update"));
    // current == min_version is enough
    let s = run(&t, &input("stable", "1.5.0", 0));
    assert_eq!(chosen_version(&s).as_deref(), Some("2.0.0"));
    assert!(!s.intermediate_update_needed());
    // a pre-release of the min version is below it
    let s = run(&t, &input("beta", "1.5.0-beta.3", 0));
    assert_eq!(s.release(), None);
    let t = repo("beta", &[("2.0.0", json!({ "min_version": "1.5.0" }))]);
    let s = run(&t, &input("beta", "1.5.0-beta.3", 0));
    assert_eq!(s.release(), None);
    assert!(s.intermediate_update_needed());
    // build metadata does not count: 1.5.0+b1 reaches 1.5.0
    let s = run(&t, &input("beta", "1.5.0+b1", 0));
    assert_eq!(chosen_version(&s).as_deref(), Some("2.0.0"));
}

#[test]
fn pin_limits_upgrades() {
    let t = plain("stable", &["1.4.2", "1.4.5", "1.5.0", "2.0.0"]);
    let mut i = input("stable", "1.3.0", 0);
    i.pin = Some(VersionReq::parse("~1.4").unwrap());
    let s = run(&t, &i);
    assert_eq!(chosen_version(&s).as_deref(), Some("1.4.5"));
    let pin = HeldBackReason::Pin {
        requirement: VersionReq::parse("~1.4").unwrap(),
    };
    assert_eq!(
        held(&s),
        vec![
            ("2.0.0".into(), vec![pin.clone()]),
            ("1.5.0".into(), vec![pin])
        ]
    );
    i.pin = Some(VersionReq::parse("=1.4.2").unwrap());
    assert_eq!(chosen_version(&run(&t, &i)).as_deref(), Some("1.4.2"));
    // a pin does not admit pre-releases unless it names one
    let t = plain("beta", &["1.4.6-beta.1"]);
    let mut i = input("beta", "1.4.5", 0);
    i.pin = Some(VersionReq::parse("~1.4").unwrap());
    assert_eq!(run(&t, &i).release(), None);
    i.pin = Some(VersionReq::parse(">=1.4.6-beta.1").unwrap());
    assert_eq!(
        chosen_version(&run(&t, &i)).as_deref(),
        Some("1.4.6-beta.1")
    );
}

#[test]
fn rollback_to_the_pin_only_when_allowed() {
    let t = plain("stable", &["1.4.1", "1.4.2", "1.5.0"]);
    let mut i = input("stable", "1.5.0", 0);
    i.pin = Some(VersionReq::parse("=1.4.2").unwrap());
    let s = run(&t, &i);
    assert_eq!(s.release(), None);
    assert_eq!(
        held(&s),
        vec![(
            "1.4.2".into(),
            vec![HeldBackReason::RollbackNotAllowed {
                requirement: VersionReq::parse("=1.4.2").unwrap()
            }]
        )]
    );
    i.allow_rollback = true;
    let s = run(&t, &i);
    assert_eq!(chosen_version(&s).as_deref(), Some("1.4.2"));
    assert_eq!(
        s.chosen.as_ref().unwrap().direction,
        Direction::RollbackToPin
    );
    assert!(s.held_back.is_empty());
    // allow_downgrade does not cross the administrator's pin
    i.allow_rollback = false;
    i.allow_downgrade = true;
    assert_eq!(run(&t, &i).release(), None);
}

#[test]
fn rollback_goes_to_the_highest_admitted_version_matching_the_pin() {
    let t = repo(
        "stable",
        &[
            ("1.4.1", json!({})),
            ("1.4.2", json!({})),
            ("1.4.3", json!({ "rollout": { "percent": 10 } })),
            ("1.6.0", json!({})),
        ],
    );
    let mut i = input("stable", "1.6.0", 50);
    i.pin = Some(VersionReq::parse("~1.4").unwrap());
    i.allow_rollback = true;
    let s = run(&t, &i);
    assert_eq!(chosen_version(&s).as_deref(), Some("1.4.2"));
    assert_eq!(held(&s).len(), 1);
    assert_eq!(held(&s)[0].0, "1.4.3");
}

#[test]
fn no_rollback_when_current_matches_the_pin() {
    let t = plain("stable", &["1.4.2", "1.4.3", "1.4.5"]);
    let mut i = input("stable", "1.4.5", 0);
    i.pin = Some(VersionReq::parse("~1.4").unwrap());
    i.allow_rollback = true;
    assert_eq!(run(&t, &i), Selection::default());
    // the channel lacks 1.4.5: the downgrade rule, not the rollback rule, applies
    let t = plain("stable", &["1.4.2", "1.4.3"]);
    let s = run(&t, &i);
    assert_eq!(s.release(), None);
    assert_eq!(
        held(&s),
        vec![("1.4.3".into(), vec![HeldBackReason::Downgrade])]
    );
}

#[test]
fn leaving_beta_never_downgrades_unless_allowed() {
    let t = plain("stable", &["1.1.0", "1.2.0"]);
    let i = input("stable", "1.3.0-beta.2", 0);
    let s = run(&t, &i);
    assert_eq!(s.release(), None);
    assert_eq!(
        held(&s),
        vec![("1.2.0".into(), vec![HeldBackReason::Downgrade])]
    );
    let mut i = i;
    i.allow_downgrade = true;
    let s = run(&t, &i);
    assert_eq!(chosen_version(&s).as_deref(), Some("1.2.0"));
    assert_eq!(s.chosen.as_ref().unwrap().direction, Direction::Downgrade);
    // once stable catches up it is an upgrade
    let t = plain("stable", &["1.2.0", "1.3.0"]);
    let s = run(&t, &input("stable", "1.3.0-beta.2", 0));
    assert_eq!(chosen_version(&s).as_deref(), Some("1.3.0"));
    assert_eq!(s.chosen.as_ref().unwrap().direction, Direction::Upgrade);
}

#[test]
fn no_downgrade_when_the_channel_carries_the_current_version() {
    // 1.3.0 is on stable, its newer 1.4.0 held by rollout: stay, do not go to 1.2.0
    let t = repo(
        "stable",
        &[
            ("1.2.0", json!({})),
            ("1.3.0", json!({})),
            ("1.4.0", json!({ "rollout": { "percent": 0 } })),
        ],
    );
    let mut i = input("stable", "1.3.0", 0);
    i.allow_downgrade = true;
    let s = run(&t, &i);
    assert_eq!(s.release(), None);
    assert_eq!(held(&s).len(), 1);
    assert_eq!(held(&s)[0].0, "1.4.0");
    // a non-pre-release from beta that stable does not carry: down to stable's newest
    let t = plain("stable", &["1.2.0"]);
    let s = run(&t, &i);
    assert_eq!(chosen_version(&s).as_deref(), Some("1.2.0"));
}

#[test]
fn every_failed_rule_is_reported() {
    let t = repo(
        "stable",
        &[
            ("1.1.0", json!({})),
            (
                "2.0.0-beta.1",
                json!({ "min_version": "1.5.0", "rollout": { "percent": 5 } }),
            ),
        ],
    );
    let mut i = input("stable", "1.0.0", 50);
    i.pin = Some(VersionReq::parse("^1").unwrap());
    let s = run(&t, &i);
    assert_eq!(chosen_version(&s).as_deref(), Some("1.1.0"));
    let reasons = &s.held_back[0].reasons;
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    assert!(matches!(reasons[0], HeldBackReason::PreRelease { .. }));
    assert!(matches!(reasons[1], HeldBackReason::Pin { .. }));
    assert!(matches!(reasons[2], HeldBackReason::MinVersion { .. }));
    assert!(matches!(reasons[3], HeldBackReason::Rollout { .. }));
    for r in reasons {
        assert!(!r.to_string().is_empty());
    }
}

#[test]
fn held_back_lists_only_releases_above_the_outcome_highest_first() {
    let t = repo(
        "stable",
        &[
            ("1.1.0", json!({ "rollout": { "percent": 0 } })),
            ("1.2.0", json!({})),
            ("1.3.0", json!({ "rollout": { "percent": 0 } })),
            ("1.4.0", json!({ "min_version": "1.2.0" })),
        ],
    );
    let s = run(&t, &input("stable", "1.0.0", 10));
    assert_eq!(chosen_version(&s).as_deref(), Some("1.2.0"));
    let versions: Vec<String> = held(&s).into_iter().map(|(v, _)| v).collect();
    assert_eq!(versions, ["1.4.0", "1.3.0"]);
}

#[test]
fn deltas_are_ignored() {
    let t = repo(
        "stable",
        &[
            ("1.1.0", json!({})),
            (
                "1.2.0",
                json!({ "kind": "delta", "from": "1.1.0", "full": "stable/selfupdate/1.2.0/linux-x86_64/full" }),
            ),
        ],
    );
    let s = run(&t, &input("stable", "1.0.0", 0));
    assert_eq!(chosen_version(&s).as_deref(), Some("1.1.0"));
    assert!(s.held_back.is_empty() && s.skipped.is_empty());
}

#[test]
fn malformed_releases_are_skipped_with_a_reason() {
    let mut t = plain("stable", &["1.1.0"]);
    t.push((
        path("stable", "1.9.0"),
        target(json!({ "version": "1.9.0" })),
    ));
    t.push((path("stable", "1.8.0"), target(custom("1.8.1"))));
    t.push((
        format!("stable/{APP}/1.7.0/linux-x86_64"),
        target(custom("1.7.0")),
    ));
    t.push((
        format!("stable/{APP}/1.6.0/plan9-mips/x"),
        target(custom("1.6.0")),
    ));
    t.push((path("stable", "1.5.0"), TargetFile::new(1, BTreeMap::new())));
    let s = run(&t, &input("stable", "1.0.0", 0));
    assert_eq!(chosen_version(&s).as_deref(), Some("1.1.0"));
    let mut errors: Vec<(String, ReleaseError)> = s
        .skipped
        .iter()
        .map(|k| (k.path.clone(), k.error.clone()))
        .collect();
    errors.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        errors,
        vec![
            (
                path("stable", "1.5.0"),
                ReleaseError::Fields(FieldError::NoCustom)
            ),
            (
                format!("stable/{APP}/1.7.0/linux-x86_64"),
                ReleaseError::Path(PathError::Shape)
            ),
            (
                path("stable", "1.8.0"),
                ReleaseError::VersionMismatch {
                    path: "1.8.0".into(),
                    custom: "1.8.1".into()
                }
            ),
            (
                path("stable", "1.9.0"),
                ReleaseError::Fields(FieldError::Missing("published"))
            ),
        ]
    );
}

#[test]
fn equal_versions_pick_the_first_path() {
    let t = vec![
        (
            format!("stable/{APP}/1.2.0/linux-x86_64/b.AppImage"),
            target(custom("1.2.0")),
        ),
        (
            format!("stable/{APP}/1.2.0/linux-x86_64/a.tar.gz"),
            target(custom("1.2.0")),
        ),
    ];
    let s = run(&t, &input("stable", "1.0.0", 0));
    assert_eq!(s.release().unwrap().path.file, "a.tar.gz");
}

#[test]
fn accepts_a_targets_map_directly() {
    let map: BTreeMap<String, TargetFile> = plain("stable", &["1.1.0"]).into_iter().collect();
    let s = select(&map, &input("stable", "1.0.0", 0));
    assert_eq!(chosen_version(&s).as_deref(), Some("1.1.0"));
}

#[test]
fn a_format_this_install_cannot_apply_is_held_back_with_the_reason() {
    let t = vec![
        (
            format!("stable/{APP}/1.2.0/linux-x86_64-deb/{APP}.deb"),
            target(custom("1.2.0")),
        ),
        (
            format!("stable/{APP}/1.1.0/linux-x86_64-appimage/{APP}.AppImage"),
            target(custom("1.1.0")),
        ),
    ];
    let mut i = input("stable", "1.0.0", 0);
    i.formats = vec![InstallFormat::Exe, InstallFormat::AppImage];
    let s = run(&t, &i);
    assert_eq!(chosen_version(&s).as_deref(), Some("1.1.0"));
    assert_eq!(
        held(&s),
        [(
            "1.2.0".to_string(),
            vec![HeldBackReason::Format {
                format: InstallFormat::Deb
            }]
        )]
    );
    assert_eq!(
        s.held_back[0].to_string(),
        "1.2.0: published as deb, an install format this install cannot apply"
    );
    // Nothing it can apply: held back, never silently "up to date".
    i.formats = vec![InstallFormat::App];
    let s = run(&t, &i);
    assert_eq!(chosen_version(&s), None);
    assert_eq!(held(&s).len(), 2);
}

#[test]
fn the_same_version_in_another_format_is_no_news() {
    let t = vec![
        (
            format!("stable/{APP}/1.2.0/linux-x86_64-deb/{APP}.deb"),
            target(custom("1.2.0")),
        ),
        (
            format!("stable/{APP}/1.2.0/linux-x86_64-appimage/{APP}.AppImage"),
            target(custom("1.2.0")),
        ),
    ];
    let mut i = input("stable", "1.0.0", 0);
    i.formats = vec![InstallFormat::AppImage];
    let s = run(&t, &i);
    assert_eq!(
        s.release().unwrap().path.format(),
        Some(InstallFormat::AppImage)
    );
    assert!(s.held_back.is_empty());
}

#[test]
fn releases_without_a_format_are_always_candidates() {
    let t = plain("stable", &["1.1.0"]);
    let mut i = input("stable", "1.0.0", 0);
    i.formats = Vec::new();
    assert_eq!(chosen_version(&run(&t, &i)).as_deref(), Some("1.1.0"));
}

#[test]
fn an_unknown_format_of_this_platform_is_reported_not_dropped() {
    let t = vec![(
        format!("stable/{APP}/1.2.0/linux-x86_64-flatpak/{APP}.flatpak"),
        target(custom("1.2.0")),
    )];
    let s = run(&t, &input("stable", "1.0.0", 0));
    assert_eq!(chosen_version(&s), None);
    assert_eq!(s.skipped.len(), 1);
    assert!(matches!(
        s.skipped[0].error,
        ReleaseError::Path(PathError::Name(crate::release::NameError::Platform { .. }))
    ));
    // Another platform's segment is not this install's business.
    let t = vec![(
        format!("stable/{APP}/1.2.0/linux-x86_64x/{APP}"),
        target(custom("1.2.0")),
    )];
    assert!(run(&t, &input("stable", "1.0.0", 0)).skipped.is_empty());
}

#[test]
fn versions_rolled_back_here_are_held_back() {
    let t = plain("stable", &["1.1.0", "1.2.0"]);
    let mut i = input("stable", "1.0.0", 0);
    i.rolled_back = vec![v("1.2.0")];
    let s = run(&t, &i);
    assert_eq!(chosen_version(&s).as_deref(), Some("1.1.0"));
    assert_eq!(
        held(&s),
        [("1.2.0".to_string(), vec![HeldBackReason::RolledBack])]
    );
    // Rolled back and nothing else newer: held back, not up to date.
    i.rolled_back = vec![v("1.1.0"), v("1.2.0")];
    let s = run(&t, &i);
    assert_eq!(chosen_version(&s), None);
    assert_eq!(held(&s).len(), 2);
}
