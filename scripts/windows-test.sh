#!/usr/bin/env bash
# Lints file-trust for Windows and runs its tests there, on Linux: Debian's rustc-web builds
# std for x86_64-pc-windows-gnu from its sources (-Zbuild-std), mingw links, Wine runs the
# test executables. Installs what is missing (Debian packages, a Wine prefix) first.
#
#   scripts/windows-test.sh               file-trust: clippy and tests
#   scripts/windows-test.sh --packaging   also packaging's tests of its private keys (init,
#                                         rotate, keys elsewhere, encrypted keys)
#
# CI runs it without --packaging: std and file-trust build in ~5-9 minutes on a fresh target
# dir (2 cores), a rerun takes seconds; packaging pulls in tuf-updater-core, reqwest and ring,
# another ~20 minutes cold. Wine is not Windows: see file-trust/tests/windows.rs for what it
# does differently.
set -euo pipefail
cd "$(dirname "$0")/.."

packaging=false
[[ "${1:-}" == "--packaging" ]] && packaging=true

target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
export CARGO_TARGET_DIR="$target_dir"

echo "== windows: packages"
if ! command -v x86_64-w64-mingw32-gcc >/dev/null || ! command -v wine >/dev/null ||
    [[ ! -x /usr/bin/rustc || ! -x /usr/bin/clippy-driver || ! -d /usr/lib/rustlib/src/rust ]]; then
    apt-get update -qq
    # Without the post-invoke hooks of the image (they are slow and not needed here).
    printf '#clear DPkg::Post-Invoke;\n' >/tmp/windows-test-apt.conf
    DEBIAN_FRONTEND=noninteractive apt-get -c /tmp/windows-test-apt.conf install -y -qq \
        --no-install-recommends rustc-web cargo-web rust-web-src rust-web-clippy \
        gcc-mingw-w64-x86-64 wine wine64 >/dev/null
fi

# Debian's toolchain (1.96, with std's sources) for every cargo call below; rustup's stays
# the default elsewhere. /usr/bin first so that `cargo clippy` finds Debian's clippy.
export PATH="/usr/bin:$PATH"
export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
export WINEPREFIX="$target_dir/wine-prefix" WINEDEBUG=-all
# The shim below instead of Wine's (missing) bcryptprimitives.dll; no Mono or Gecko (their
# installers would ask).
export WINEDLLOVERRIDES="bcryptprimitives=n;mscoree,mshtml="
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine
cargo=(/usr/bin/cargo)
windows=(-Zbuild-std=std,panic_abort --target x86_64-pc-windows-gnu --locked)

echo "== windows: wine prefix"
shim="$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"
if [[ ! -f "$WINEPREFIX/system.reg" ]]; then
    mkdir -p "$WINEPREFIX"
    # wineboot complains that 32-bit rundll32 is missing (no wine32): harmless here.
    wine wineboot -i >/dev/null 2>&1 || true
    wineserver -w
fi
if [[ ! -f "$shim" || scripts/wine/bcryptprimitives.c -nt "$shim" ]]; then
    x86_64-w64-mingw32-gcc -shared -O2 -o "$shim" scripts/wine/bcryptprimitives.c -ladvapi32
fi

echo "== windows: clippy"
"${cargo[@]}" clippy "${windows[@]}" -p file-trust --all-targets -- -D warnings

echo "== windows: tests under wine"
"${cargo[@]}" test "${windows[@]}" -p file-trust
if $packaging; then
    "${cargo[@]}" test "${windows[@]}" -p updater-pack --test commands --test encryption -- key rotate
fi
wineserver -w
