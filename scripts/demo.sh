#!/usr/bin/env bash
# The demo, start to finish on this machine (Debian/Ubuntu with Rust and Python 3):
#   1. installs the system packages Tauri needs (scripts/install-deps.sh), if missing;
#   2. `updater-pack init` creates an update repository (keys + signed TUF metadata);
#   3. demo-app, a Tauri v2 app, is built twice, as 1.0.0 and 1.1.0, both embedding that
#      repository's root;
#   4. `updater-pack release` publishes 1.1.0 on the stable channel, `updater-pack serve`
#      serves it on 127.0.0.1;
#   5. 1.0.0 is installed in a folder and started (in a window on $DISPLAY, or under Xvfb
#      when there is no display) in its auto-update mode: it checks, downloads and verifies
#      1.1.0 through TUF with a progress bar, swaps its executable atomically, restarts as
#      1.1.0, whose window confirms the launch.
# Everything happens under one temporary folder (kept with KEEP=1).
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."

work=$(mktemp -d "${TMPDIR:-/tmp}/updater-demo.XXXXXX")
pids=()
cleanup() {
  pkill -f "$work/installed/demo-app" 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) platform=linux-x86_64 ;;
  Linux-aarch64) platform=linux-aarch64 ;;
  *) echo "demo: this demo runs on Linux (x86_64 or aarch64)" >&2; exit 1 ;;
esac

say "system packages for Tauri (WebKitGTK), Xvfb"
bash scripts/install-deps.sh
command -v Xvfb >/dev/null || [ -n "${DISPLAY:-}" ] || {
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get install -y -qq xvfb xauth >/dev/null
}

say "building updater-pack"
cargo build --locked -p updater-pack --bin updater-pack
pack="${CARGO_TARGET_DIR:-target}/debug/updater-pack"

say "creating the update repository"
"$pack" init "$work/project"
root="$work/project/repository/metadata/1.root.json"

# The app builds use the workspace's target directory, as the end-to-end tests do; the copy
# (the release artifact) is stripped of debug information, which makes it several times smaller.
build_app() { # version -> path of the built executable
  DEMO_APP_VERSION=$1 DEMO_APP_ROOT=$root cargo build --locked -p demo-app >&2
  mkdir -p "$work/build/$1"
  cp "${CARGO_TARGET_DIR:-target}/debug/demo-app" "$work/build/$1/demo-app"
  strip "$work/build/$1/demo-app" 2>/dev/null || true
  echo "$work/build/$1/demo-app"
}
say "building demo-app as 1.0.0 and as 1.1.0 (the first build takes a few minutes)"
old=$(build_app 1.0.0)
new=$(build_app 1.1.0)

say "publishing 1.1.0 on the stable channel"
printf '## 1.1.0\n\n- Faster start.\n- Every byte verified by TUF.\n' > "$work/notes.md"
"$pack" release "$work/project" --app demo-app --version 1.1.0 --platform "$platform" \
  --channel stable --notes "$work/notes.md" "$new"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$pack" serve "$work/project" --addr "127.0.0.1:$port" > "$work/serve.log" 2>&1 &
pids+=($!)
python3 - "$port" <<'PY'
import sys, time, urllib.request
for _ in range(100):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metadata/timestamp.json", timeout=1)
        break
    except OSError:
        time.sleep(0.1)
PY

if [ -z "${DISPLAY:-}" ]; then
  say "no display: starting Xvfb"
  exec 3< <(Xvfb -displayfd 1 -screen 0 1024x768x24 -nolisten tcp 2>"$work/xvfb.log")
  read -r -t 20 display <&3 || { echo "demo: Xvfb did not start" >&2; cat "$work/xvfb.log" >&2; exit 1; }
  pids+=($(pgrep -n Xvfb))
  export DISPLAY=":$display"
fi

say "installing 1.0.0 and starting it (auto-update mode)"
mkdir -p "$work/installed"
cp "$old" "$work/installed/demo-app"
ready="$work/ready.log"
XDG_DATA_HOME="$work/data" DEMO_APP_REPOSITORY="http://127.0.0.1:$port" DEMO_APP_AUTO_UPDATE=1 \
  DEMO_APP_READY_FILE="$ready" "$work/installed/demo-app" > "$work/app.log" 2>&1 &
pids+=($!)
tail -f "$work/app.log" --pid=$$ 2>/dev/null | grep --line-buffered '^demo-app' &
pids+=($!)

for _ in $(seq 1 600); do
  grep -q '^demo-app 1.1.0 ready' "$ready" 2>/dev/null && break
  sleep 0.2
done
sleep 0.5
grep -q '^demo-app 1.1.0 ready' "$ready" 2>/dev/null || {
  echo "demo: 1.1.0 did not start within 2 minutes; the app's log:" >&2
  cat "$work/app.log" >&2
  exit 1
}
cmp -s "$work/installed/demo-app" "$new" || { echo "demo: the installed file is not 1.1.0" >&2; exit 1; }
say "done: demo-app 1.0.0 updated itself to 1.1.0, verified by TUF; the installed executable is the signed 1.1.0"
