#!/usr/bin/env bash
# The demo, start to finish on this machine:
#   1. `updater-pack init` creates an update repository (keys + signed TUF metadata);
#   2. the app `selfupdate` is built twice, as 1.0.0 and 1.1.0, both embedding that repository's root;
#   3. `updater-pack release` publishes 1.1.0 on the stable channel, `updater-pack serve` serves it;
#   4. 1.0.0 is installed in a folder and told to update: it verifies 1.1.0 through TUF, swaps
#      itself atomically, restarts as 1.1.0 and confirms.
# Everything happens under one temporary folder (kept with KEEP=1); the server listens on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d "${TMPDIR:-/tmp}/updater-demo.XXXXXX")
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) platform=linux-x86_64 ;;
  Linux-aarch64) platform=linux-aarch64 ;;
  Darwin-arm64) platform=darwin-aarch64 ;;
  Darwin-x86_64) platform=darwin-x86_64 ;;
  *) echo "demo: unsupported platform $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac

say "building updater-pack"
cargo build --release --locked -p packaging --bin updater-pack
pack=target/release/updater-pack

say "creating the update repository"
"$pack" init "$work/project"
root="$work/project/repository/metadata/1.root.json"

build_app() { # version -> path of the built executable
  SELFUPDATE_VERSION=$1 SELFUPDATE_ROOT=$root \
    cargo build --release --locked -p updater-core --example selfupdate >&2
  mkdir -p "$work/build/$1"
  cp target/release/examples/selfupdate "$work/build/$1/selfupdate"
  echo "$work/build/$1/selfupdate"
}
say "building the app as 1.0.0 and as 1.1.0"
old=$(build_app 1.0.0)
new=$(build_app 1.1.0)

say "publishing 1.1.0 on the stable channel"
printf '## 1.1.0\n\n- Faster start.\n' > "$work/notes.md"
"$pack" release "$work/project" --app selfupdate --version 1.1.0 --platform "$platform" \
  --channel stable --notes "$work/notes.md" "$new"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$pack" serve "$work/project" --addr "127.0.0.1:$port" > "$work/serve.log" 2>&1 &
server=$!
python3 - "$port" <<'PY'
import sys, time, urllib.request
for _ in range(100):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metadata/timestamp.json", timeout=1)
        break
    except OSError:
        time.sleep(0.1)
PY

say "installing 1.0.0"
mkdir -p "$work/installed"
cp "$old" "$work/installed/selfupdate"
"$work/installed/selfupdate" --version

say "updating (check, verified download, atomic swap, restart, confirm)"
"$work/installed/selfupdate" update --repo "http://127.0.0.1:$port" --data-dir "$work/data"

say "the installed app now"
out=$("$work/installed/selfupdate" --version)
echo "$out"
[ "$out" = "selfupdate 1.1.0" ] || { echo "demo: expected selfupdate 1.1.0" >&2; exit 1; }
say "done: 1.0.0 updated itself to 1.1.0, verified by TUF"
