//! What a page may call with the plugin's permission sets, resolved by Tauri's own ACL
//! resolver from the plugin's real permission files (the ones the app's build embeds).
//! The attacker here is a script injected into the page: with `updater-tauri:default` it
//! must be able to look, never to install, restart or move the user to another channel.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use tauri_utils::acl::capability::{Capability, PermissionEntry};
use tauri_utils::acl::manifest::{Manifest, PermissionFile};
use tauri_utils::acl::resolved::Resolved;
use tauri_utils::acl::Identifier;
use tauri_utils::platform::Target;

const PLUGIN: &str = "updater-tauri";
const EVERY_COMMAND: [&str; 9] = [
    "check",
    "download",
    "install",
    "download_and_install",
    "restart",
    "get_channel",
    "set_channel",
    "policy_status",
    "status",
];

fn permission_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            permission_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}

fn manifest() -> Manifest {
    let mut paths = Vec::new();
    permission_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("permissions"),
        &mut paths,
    );
    let files: Vec<PermissionFile> = paths
        .iter()
        .map(|p| toml::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
        .collect();
    Manifest::new(files, None)
}

/// The commands a window granted `permissions` may call.
fn allowed(permissions: &[&str]) -> BTreeSet<String> {
    let capability = Capability {
        identifier: "page".into(),
        description: String::new(),
        remote: None,
        local: true,
        windows: vec!["main".into()],
        webviews: Vec::new(),
        permissions: permissions
            .iter()
            .map(|p| PermissionEntry::PermissionRef(Identifier::try_from(p.to_string()).unwrap()))
            .collect(),
        platforms: None,
    };
    let acl = BTreeMap::from([(PLUGIN.to_string(), manifest())]);
    let capabilities = BTreeMap::from([("page".to_string(), capability)]);
    let resolved = Resolved::resolve(&acl, capabilities, Target::Linux).unwrap();
    let prefix = format!("plugin:{PLUGIN}|");
    resolved
        .allowed_commands
        .keys()
        .filter_map(|k| k.strip_prefix(&prefix).map(str::to_string))
        .collect()
}

fn set(commands: &[&str]) -> BTreeSet<String> {
    commands.iter().map(|c| c.to_string()).collect()
}

#[test]
fn the_default_set_reads_and_cannot_act() {
    let granted = allowed(&["updater-tauri:default"]);
    assert_eq!(
        granted,
        set(&["check", "get_channel", "policy_status", "status"])
    );
    for acting in [
        "download",
        "install",
        "download_and_install",
        "restart",
        "set_channel",
    ] {
        assert!(!granted.contains(acting), "{acting} is in the default set");
    }
}

#[test]
fn acting_commands_are_granted_by_name_or_with_the_act_set() {
    let granted = allowed(&[
        "updater-tauri:default",
        "updater-tauri:allow-download-and-install",
    ]);
    assert_eq!(
        granted,
        set(&[
            "check",
            "get_channel",
            "policy_status",
            "status",
            "download_and_install"
        ])
    );
    let everything = allowed(&["updater-tauri:default", "updater-tauri:act"]);
    assert_eq!(everything, set(&EVERY_COMMAND));
}

#[test]
fn every_command_has_its_own_permission() {
    for command in EVERY_COMMAND {
        let name = format!("updater-tauri:allow-{}", command.replace('_', "-"));
        assert_eq!(allowed(&[&name]), set(&[command]), "{name}");
    }
}
