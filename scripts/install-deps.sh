#!/usr/bin/env bash
# Installs what building and testing the Tauri plugin and demo app need on a Debian or
# Ubuntu machine, skipping what is already there:
#   - the WebKitGTK and GTK development packages Tauri v2 builds against;
#   - with `--test`: Xvfb, xauth, WebKitWebDriver and tauri-driver (the end-to-end tests), and
#     the tools that make the real packages `tuf_updater_core::package`'s tests read: dpkg-deb
#     (dpkg), rpmbuild (rpm), makensis and its stubs (nsis), msibuild (msitools); and
#     SoftHSM2 (softhsm2), the PKCS#11 token `updater-pack`'s token-key tests sign with.
# Runs apt-get as root (through sudo when not root). Safe to run again.
set -euo pipefail

build_pkgs=(libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev
  libssl-dev pkg-config)
test_pkgs=(xvfb xauth webkit2gtk-driver xdotool imagemagick dpkg rpm nsis msitools softhsm2)

pkgs=("${build_pkgs[@]}")
want_tests=0
[ "${1:-}" = "--test" ] && { want_tests=1; pkgs+=("${test_pkgs[@]}"); }

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || {
    echo "install-deps: apt-get not found; install these packages yourself: ${missing[*]}" >&2
    exit 1
  }
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "install-deps: installing ${missing[*]}"
  # Some images delete downloaded packages after each dpkg pass, which breaks a large
  # install half way; this config keeps them until apt is done.
  conf=$(mktemp)
  printf '#clear DPkg::Post-Invoke;\n' > "$conf"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get -c "$conf" install -y -qq \
    "${missing[@]}" >/dev/null
  rm -f "$conf"
fi

if [ $want_tests = 1 ] && ! command -v tauri-driver >/dev/null; then
  echo "install-deps: installing tauri-driver"
  cargo install --locked tauri-driver@2.1.0
fi
