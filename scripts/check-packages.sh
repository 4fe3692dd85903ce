#!/usr/bin/env bash
# What a registry would receive: the four crates as `cargo publish` would upload them, each
# built from its packaged sources alone (`cargo package` verifies by compiling the .crate,
# the way `cargo install updater-pack` would), and the JavaScript API as `npm publish` would
# upload it, installed into an empty project and imported there.
set -euo pipefail
cd "$(dirname "$0")/.."

# Cargo unpacks and builds the packages it verifies against as registry crates, which it
# takes to be immutable: an earlier run's unpacked copies and builds (same name and version)
# would be used instead of this run's. Remove both: the unnamed local registry's folder
# (`-<hash>`), and every build of these four crates.
crates=(file-trust tuf-updater-core tauri-plugin-tuf-updater updater-pack)
for crate in "${crates[@]}"; do
  rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/"$crate"-0.1.0
done
cargo clean --quiet $(printf -- '-p %s ' "${crates[@]}")

# demo-app is `publish = false`. The crates depend on each other by version and path;
# cargo packages them in dependency order against a local registry of the ones before.
# A package is built without the workspace's profiles: the same settings are passed here,
# so that the dependencies the tests compiled are reused rather than compiled again.
cargo package --workspace --exclude demo-app --locked \
  --config 'profile.dev.debug="line-tables-only"' \
  --config 'profile.dev.package."*".opt-level=2' \
  --config 'profile.dev.package."*".debug=false'
target="${CARGO_TARGET_DIR:-target}"
for crate in "${crates[@]}"; do
  file="$target/package/$crate-0.1.0.crate"
  listing=$(tar tzf "$file")
  for needed in Cargo.toml README.md LICENSE-APACHE LICENSE-MIT src/lib.rs; do
    grep -qx "$crate-0.1.0/$needed" <<<"$listing" || { echo "$file lacks $needed"; exit 1; }
  done
done
# The plugin's crate carries what Tauri's build needs: permissions and the injected script.
listing=$(tar tzf "$target/package/tauri-plugin-tuf-updater-0.1.0.crate")
for needed in permissions/default.toml dist-js/api-iife.js build.rs; do
  grep -qx "tauri-plugin-tuf-updater-0.1.0/$needed" <<<"$listing" \
    || { echo "plugin crate lacks $needed"; exit 1; }
done

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
(cd tauri-plugin-tuf-updater && npm pack --silent --pack-destination "$scratch" >/dev/null)
tgz="$scratch/tauri-plugin-tuf-updater-api-0.1.0.tgz"
listing=$(tar tzf "$tgz")
for needed in package/dist-js/index.js package/dist-js/index.d.ts package/README.md \
  package/LICENSE-MIT package/LICENSE-APACHE; do
  grep -qx "$needed" <<<"$listing" || { echo "npm package lacks $needed"; exit 1; }
done
# An app's view: install the tarball (its dependency @tauri-apps/api from the registry) and
# import it; the exports an app uses are there.
mkdir "$scratch/app"
(cd "$scratch/app" && echo '{"name": "app", "private": true, "type": "module"}' >package.json \
  && npm install --silent --no-audit --no-fund "$tgz" \
  && node --input-type=module -e "
const api = await import('tauri-plugin-tuf-updater-api')
for (const name of ['check', 'checkStatus', 'relaunch', 'Update', 'UpdaterError', 'getChannel', 'setChannel']) {
  if (!(name in api)) { console.error('missing export ' + name); process.exit(1) }
}
console.log('npm package: imports, ' + Object.keys(api).length + ' exports')")
echo "packages: 4 crates built from their .crate files, the npm package installs and imports"
