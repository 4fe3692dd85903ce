#!/usr/bin/env python3
"""Benchmark: our verified download beside `curl -o`, same file, same server, one run.

Serves a random file (1 GiB by default) over loopback with `server.py`'s
RecordingServer (sendfile, TCP_NODELAY), then downloads it alternately with

- `fetch_target` (tuf-updater-core/examples/fetch_target.rs): `download_verified`,
  the updater's download: streamed to a `.part` file, SHA-256 and length checked
  while it streams, renamed into place only when they match;
- `curl -s -o FILE URL`: no verification at all;

`--runs` times each (default 3), and prints MiB/s per run, the medians, the
ratio ours/curl and both peak RSS (GNU time's %M). Each download goes to
a fresh file beside the served one (same file system), deleted after the run.

    cargo build --release -p tuf-updater-core --example fetch_target
    python3 bench/download_vs_curl.py [--size-mib 1024] [--runs 3]

Exits 1 if a download fails or our file's SHA-256 is not the served one's.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server import RecordingServer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024


def make_file(path: Path, size: int) -> str:
    """Writes `size` random bytes to `path`; returns their SHA-256."""
    digest = hashlib.sha256()
    block = os.urandom(4 * MIB)  # random enough to defeat any compression
    with open(path, "wb") as f:
        written = 0
        while written < size:
            chunk = block[: min(len(block), size - written)]
            # Vary each block so the file is not one block repeated.
            chunk = written.to_bytes(8, "little") + chunk[8:]
            f.write(chunk)
            digest.update(chunk)
            written += len(chunk)
    return digest.hexdigest()


GNU_TIME = "/usr/bin/time"


def timed(cmd: list[str], scratch: Path) -> tuple[float, int]:
    """Runs `cmd`; returns (seconds, peak RSS in KiB). Raises on failure.

    The peak RSS comes from GNU time (`%M`) when there is one: a child forked from this
    Python process would report Python's own RSS as its peak (Linux keeps the pre-exec
    high-water mark), so wait4's ru_maxrss is only the fallback.
    """
    rss_file = scratch / "rss"
    wrapped = [GNU_TIME, "-f", "%M", "-o", str(rss_file), *cmd] if Path(GNU_TIME).exists() else cmd
    start = time.perf_counter()
    proc = subprocess.Popen(wrapped, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {code}: {err.strip()}")
    rss = usage.ru_maxrss
    if wrapped is not cmd:
        rss = int(rss_file.read_text().split()[-1])
    return elapsed, rss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--fetch-target",
        default=str(ROOT / "target/release/examples/fetch_target"),
        help="our downloader (default: the release build of the example)",
    )
    parser.add_argument("--dir", help="where to put the file (default: a temp dir)")
    parser.add_argument(
        "--multi-thread",
        action="store_true",
        help="run fetch_target on tokio's multi-thread runtime (default: one thread)",
    )
    args = parser.parse_args()

    ours = Path(args.fetch_target)
    if not ours.is_file():
        print(f"{ours} is missing: cargo build --release -p tuf-updater-core --example fetch_target")
        return 1
    curl = shutil.which("curl")
    if not curl:
        print("curl is missing")
        return 1

    if args.multi_thread:
        os.environ["FETCH_TARGET_MULTI_THREAD"] = "1"
    runtime = "multi-thread runtime" if args.multi_thread else "current-thread runtime"
    size = args.size_mib * MIB
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="dl-bench-") as tmp:
        root = Path(tmp) / "srv"
        root.mkdir()
        served = root / "artifact.bin"
        print(f"writing {args.size_mib} MiB of random data to {served} ...", flush=True)
        sha = make_file(served, size)
        dest = Path(tmp) / "download.bin"
        results: dict[str, list[tuple[float, int]]] = {"ours": [], "curl": []}
        with RecordingServer(root) as server:
            url = f"{server.url}/artifact.bin"
            for run in range(1, args.runs + 1):
                for name in ("curl", "ours"):
                    if name == "ours":
                        cmd = [str(ours), url, str(size), sha, str(dest)]
                    else:
                        cmd = [curl, "-s", "-f", "-o", str(dest), url]
                    secs, rss = timed(cmd, Path(tmp))
                    if dest.stat().st_size != size:
                        print(f"{name}: wrong size {dest.stat().st_size}")
                        return 1
                    if name == "ours":
                        # fetch_target renames only a verified file; check anyway.
                        check = hashlib.sha256()
                        with open(dest, "rb") as f:
                            while block := f.read(8 * MIB):
                                check.update(block)
                        if check.hexdigest() != sha:
                            print("ours: SHA-256 mismatch")
                            return 1
                    dest.unlink()
                    results[name].append((secs, rss))
                    print(
                        f"run {run} {name:4}: {size / MIB / secs:8.1f} MiB/s "
                        f"({secs:.3f} s), peak RSS {rss / 1024:.1f} MiB",
                        flush=True,
                    )
                    server.take_requests()

    def median_rate(name: str) -> float:
        return statistics.median(size / MIB / s for s, _ in results[name])

    ours_rate, curl_rate = median_rate("ours"), median_rate("curl")
    ours_rss = max(r for _, r in results["ours"]) / 1024
    curl_rss = max(r for _, r in results["curl"]) / 1024
    print()
    print(f"| {args.size_mib} MiB over loopback, {args.runs} runs | median MiB/s | peak RSS |")
    print("| --- | ---: | ---: |")
    print(f"| curl -o (no verification) | {curl_rate:.1f} | {curl_rss:.1f} MiB |")
    print(
        f"| fetch_target, {runtime} (SHA-256 + length, .part + rename) "
        f"| {ours_rate:.1f} | {ours_rss:.1f} MiB |"
    )
    print()
    print(f"ours / curl = {ours_rate / curl_rate:.2f}x; our peak RSS {ours_rss:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
