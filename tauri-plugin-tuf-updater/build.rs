//! Generates the plugin's permissions (one `allow-`/`deny-` pair per command) and checks
//! `permissions/default.toml`.

const COMMANDS: &[&str] = &[
    "check",
    "download",
    "install",
    "download_and_install",
    "restart",
    "get_channel",
    "set_channel",
    "policy_status",
    "status",
    "confirm",
];

fn main() {
    tauri_plugin::Builder::new(COMMANDS)
        .global_api_script_path("./dist-js/api-iife.js")
        .build();
}
