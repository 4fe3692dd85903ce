#!/usr/bin/env bash
# The delta benchmark of docs/delta-updates.md: builds the selfupdate example and demo-app as
# 1.0.0 and 1.1.0 (stripped, as the e2e tests publish them), then patches each pair and a
# synthetic 200 MB bundle with ours (zstd, old file as reference prefix) and qbsdiff, and
# prints the table. The first demo-app build takes minutes (`--no-demo-app` skips it).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${CARGO_TARGET_DIR:-target}/delta-bench"
rm -rf "$out" && mkdir -p "$out"
cargo build -q --locked -p updater-pack --bin updater-pack
"${CARGO_TARGET_DIR:-target}/debug/updater-pack" init "$out/project" >/dev/null
root="$out/project/repository/metadata/1.root.json"

copy() { # built file, name
  cp "$1" "$out/$2" && strip "$out/$2" 2>/dev/null || true
}
for v in 1.0.0 1.1.0; do
  SELFUPDATE_VERSION=$v SELFUPDATE_ROOT=$root cargo build -q --locked -p tuf-updater-core \
    --example selfupdate --features fault-injection
  copy "${CARGO_TARGET_DIR:-target}/debug/examples/selfupdate" "selfupdate-$v"
done
pairs=(--pair "selfupdate example 1.0.0 -> 1.1.0" "$out/selfupdate-1.0.0" "$out/selfupdate-1.1.0")
if [ "${1:-}" != "--no-demo-app" ]; then
  for v in 1.0.0 1.1.0; do
    DEMO_APP_VERSION=$v DEMO_APP_ROOT=$root cargo build -q --locked -p demo-app
    copy "${CARGO_TARGET_DIR:-target}/debug/demo-app" "demo-app-$v"
  done
  pairs+=(--pair "demo-app 1.0.0 -> 1.1.0" "$out/demo-app-1.0.0" "$out/demo-app-1.1.0")
fi
cargo bench -q --locked -p tuf-updater-core --bench delta -- "${pairs[@]}" --synthetic
