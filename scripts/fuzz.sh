#!/usr/bin/env bash
# Runs every fuzz target (fuzz/, cargo-fuzz on nightly) for SECONDS each, one at a time, on
# a scratch copy of its committed seed corpus (fuzz/seeds/<target>/, and the inputs that
# once crashed it, fuzz/regressions/<target>/), so runs never grow the repository. Fails if
# any target crashes (a panic, a failed property, a timeout or running out of memory); the
# crashing inputs are kept and their paths printed. Prints a table of executions, executions
# per second, coverage (libFuzzer's cov:), corpus size and time.
#
# Usage: scripts/fuzz.sh SECONDS [TARGET...]
# Environment:
#   FUZZ_SANITIZER  address (slower build and runs, checks unsafe code in dependencies) or
#                   none (the default: our code forbids unsafe; see docs/fuzzing.md)
#   FUZZ_WORK       where corpora, logs and crash artefacts go (default: a new temp dir)
#   FUZZ_ARGS       more libFuzzer options, e.g. "-jobs=2 -workers=2"
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:?usage: scripts/fuzz.sh SECONDS [TARGET...]}
shift
sanitizer=${FUZZ_SANITIZER:-none}
work=${FUZZ_WORK:-$(mktemp -d -t fuzz.XXXXXX)}
mkdir -p "$work"

command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal

cd fuzz
build_flags=(--sanitizer "$sanitizer")
start=$SECONDS
cargo +nightly fuzz build "${build_flags[@]}"
echo "== fuzz: built in $((SECONDS - start)) s (sanitizer: $sanitizer)"

if (($# > 0)); then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

rows=()
failed=()
for target in "${targets[@]}"; do
    corpus="$work/corpus/$target"
    artifacts="$work/artifacts/$target"
    log="$work/$target.log"
    mkdir -p "$corpus" "$artifacts"
    # The seeds, and the inputs that once crashed it (fuzz/regressions/), run first.
    for dir in "seeds/$target" "regressions/$target"; do
        if [ -d "$dir" ]; then
            cp -n "$dir"/* "$corpus"/ 2>/dev/null || true
        fi
    done
    echo "== fuzz: $target for ${seconds} s"
    t0=$SECONDS
    status=0
    # -timeout: an input taking 10 s is a hang; -rss_limit_mb: so is one eating 2 GB.
    # shellcheck disable=SC2086
    cargo +nightly fuzz run "${build_flags[@]}" "$target" "$corpus" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" ${FUZZ_ARGS:-} >"$log" 2>&1 || status=$?
    elapsed=$((SECONDS - t0))
    execs=$(grep -oE 'stat::number_of_executed_units: +[0-9]+' "$log" | tail -1 | awk '{print $2}' || true)
    rate=$(grep -oE 'stat::average_exec_per_sec: +[0-9]+' "$log" | tail -1 | awk '{print $2}' || true)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}' || true)
    corp=$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" | tail -1 | awk '{print $2}' || true)
    crashes=$(find "$artifacts" -type f | wc -l)
    # (No final stats after a crash: the last status line has the counts.)
    execs=${execs:-$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)}
    rows+=("$(printf '%-16s %12s %8s %7s %14s %6s %7s' "$target" "${execs:-?}" "${rate:-?}" \
        "${cov:-?}" "${corp:-?}" "${elapsed}s" "$crashes")")
    if ((status != 0 || crashes > 0)); then
        failed+=("$target")
        echo "!! $target failed (exit $status); log: $log"
        grep -m1 -A2 -E '^(thread .* panicked|==[0-9]+== ERROR|ALARM|.*deadly signal)' "$log" || true
        find "$artifacts" -type f -printf '!! crash input: %p\n'
    fi
done

echo
echo "== fuzz: ${seconds} s per target, sanitizer $sanitizer, work dir $work"
printf '%-16s %12s %8s %7s %14s %6s %7s\n' target execs exec/s cov corpus time crashes
printf '%s\n' "${rows[@]}"
if ((${#failed[@]} > 0)); then
    echo "!! crashed: ${failed[*]} (inputs under $work/artifacts; reproduce with" \
        "cd fuzz && cargo +nightly fuzz run -s $sanitizer TARGET INPUT)"
    exit 1
fi
