#!/usr/bin/env python3
"""Benchmark our Rust tuf-client against python-tuf's ngclient.

Both clients speak the tuf-conformance client CLI and are run, one process at
a time, against identical copies of the same repositories, served by the same
local HTTP server. See bench/README.md.

    python3 bench/run.py --rust target/release/tuf-client [--runs N]
                         [--layouts flat,bins,channels,big]
"""

from __future__ import annotations

import argparse
import ctypes
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

import make_repos
from server import RecordingServer, Request

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
SCRATCH = OUT / "scratch"
SERVED = SCRATCH / "repo"
CLIENTS = ("rust", "python")
SCENARIOS = ("cold", "warm", "incremental")
DEFAULT_RUNS = 5
DEFAULT_RUNS_BIG = 3
CLIENT_TIMEOUT_S = 900
MIB = 1024 * 1024


class ClientError(Exception):
    pass


@dataclass
class Process:
    wall_s: float
    max_rss_kib: int


@dataclass
class Outcome:
    """One scenario, run once by one client."""

    wall_s: float = 0.0
    peak_rss_mib: float = 0.0
    mib_per_s: float | None = None
    requests: list[Request] = field(default_factory=list)
    error: str | None = None

    @property
    def bytes_sent(self) -> int:
        return sum(r.bytes_sent for r in self.requests)


class Client:
    """One client with its own metadata and target directories."""

    def __init__(self, command: list[str], home: Path, server_url: str):
        self.command = command
        self.metadata_dir = home / "metadata"
        self.target_dir = home / "targets"
        self.log = home / "log.txt"
        self.metadata_url = ["--metadata-url", f"{server_url}/metadata"]
        self.target_args = ["--target-base-url", f"{server_url}/targets", "--target-dir", str(self.target_dir)]
        home.mkdir(parents=True)

    def init(self, trusted_root: Path) -> Process:
        return self._run("init", str(trusted_root))

    def refresh(self) -> Process:
        return self._run(*self.metadata_url, "refresh")

    def download(self, target: str) -> Process:
        return self._run(*self.metadata_url, "--target-name", target, *self.target_args, "download")

    def _run(self, *args: str) -> Process:
        argv = [*self.command, "--metadata-dir", str(self.metadata_dir), *args]
        with open(self.log, "a") as log:
            log.write(f"$ {shlex.join(argv)}\n")
        process, exit_code = spawn_measured(argv, self.log)
        if exit_code != 0:
            tail = self.log.read_text(errors="replace").splitlines()[-15:]
            raise ClientError(f"exit {exit_code}: {shlex.join(argv)}\n" + "\n".join(tail))
        return process


# Peak RSS comes from wait4()'s ru_maxrss. Linux records the high-water mark of
# the memory a process had when it called execve(), so a client exec'd from a
# fork of this (large) Python process would report at least this process's RSS.
# Clients are therefore started by a tiny /bin/sh that runs them in the
# background and exits at once; as a child subreaper, this process inherits the
# client and reaps it with wait4(), getting exactly that client's ru_maxrss.
PR_SET_CHILD_SUBREAPER = 36
# The client waits on a pipe (fd $2) until the launcher has exited: a client that finished
# before its launcher would otherwise be reaped by the launcher, not by us (ECHILD).
LAUNCHER = 'log=$1; gate=$2; shift 2; { read _ <&$gate; exec "$@" </dev/null; } >>"$log" 2>&1 & echo $!'


def become_subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def spawn_measured(argv: list[str], log: Path) -> tuple[Process, int]:
    """Run argv (output appended to log); its wall time, peak RSS and exit code."""
    # Flush dirty pages (e.g. 512 MiB written by the previous step) outside the
    # timed section, so that no client pays for another one's writeback.
    os.sync()
    gate_r, gate_w = os.pipe()
    try:
        launcher = subprocess.Popen(
            ["/bin/sh", "-c", LAUNCHER, "sh", str(log), str(gate_r), *argv],
            stdout=subprocess.PIPE,
            pass_fds=(gate_r,),
        )
        pid = int(launcher.communicate()[0])
    finally:
        os.close(gate_r)
    start = time.perf_counter()
    os.write(gate_w, b"go\n")
    os.close(gate_w)
    timer = threading.Timer(CLIENT_TIMEOUT_S, os.kill, (pid, signal.SIGKILL))
    timer.start()
    try:
        _, status, rusage = os.wait4(pid, 0)
    finally:
        timer.cancel()
    wall_s = time.perf_counter() - start
    return Process(wall_s, rusage.ru_maxrss), os.waitstatus_to_exitcode(status)


def run_scenario(server: RecordingServer, steps: Callable[[], list[Process]], payload: int | None) -> Outcome:
    """Run the client processes of one scenario and collect what the server saw.

    `payload`: size of a large target downloaded by the last process, to report
    its throughput.
    """
    try:
        processes = steps()
    except ClientError as e:
        return Outcome(requests=server.take_requests(), error=str(e))
    return Outcome(
        wall_s=sum(p.wall_s for p in processes),
        peak_rss_mib=max(p.max_rss_kib for p in processes) / 1024,
        mib_per_s=payload / MIB / processes[-1].wall_s if payload else None,
        requests=server.take_requests(),
    )


def fresh_repo_copy(layout_dir: Path) -> None:
    """Put a pristine copy of the layout's repository at SERVED (targets hard-linked:
    publishing only adds target files, it never rewrites one)."""
    shutil.rmtree(SCRATCH, ignore_errors=True)
    shutil.copytree(layout_dir / "repo" / "metadata", SERVED / "metadata")
    shutil.copytree(layout_dir / "repo" / "targets", SERVED / "targets", copy_function=os.link)


def bench_layout(
    layout: make_repos.Layout,
    layout_dir: Path,
    runs: int,
    commands: dict[str, list[str]],
    server: RecordingServer,
) -> dict[str, dict[str, list[Outcome]]]:
    """results[scenario][client] = one Outcome per run."""
    results = {s: {c: [] for c in commands} for s in SCENARIOS}
    payload = layout.target_size if layout.target_size >= MIB else None
    for run in range(runs):
        fresh_repo_copy(layout_dir)
        server.take_requests()
        # Alternate which client goes first, so neither always benefits from warmed caches.
        order = list(commands) if run % 2 == 0 else list(reversed(commands))
        clients = {name: Client(commands[name], SCRATCH / "clients" / name, server.url) for name in order}
        trusted_root = SERVED / "metadata" / "1.root.json"
        new_target = None
        for scenario in SCENARIOS:
            if scenario == "incremental":
                new_target = make_repos.publish_release(layout, SERVED, layout_dir / "keys").path
            for name in order:
                client = clients[name]
                steps = {
                    "cold": lambda: [client.init(trusted_root), client.refresh(), client.download(layout.cold_target)],
                    "warm": lambda: [client.refresh()],
                    "incremental": lambda: [client.download(new_target)],
                }[scenario]
                if scenario != "cold" and results["cold"][name][-1].error:
                    outcome = Outcome(error="skipped: cold scenario failed")
                else:
                    outcome = run_scenario(server, steps, payload if scenario != "warm" else None)
                results[scenario][name].append(outcome)
        progress = "  ".join(
            f"{s} " + " ".join(f"{c}={_fmt_outcome(results[s][c][-1])}" for c in commands) for s in SCENARIOS
        )
        print(f"  {layout.name} run {run + 1}/{runs}: {progress}", file=sys.stderr, flush=True)
    shutil.rmtree(SCRATCH, ignore_errors=True)
    return results


def _fmt_outcome(outcome: Outcome) -> str:
    return "FAIL" if outcome.error else f"{outcome.wall_s * 1000:.0f}ms"


def _fmt_bytes(n: float) -> str:
    if n < 1024:
        return f"{n:.0f} B"
    if n < MIB:
        return f"{n / 1024:.1f} KiB"
    return f"{n / MIB:.1f} MiB"


def _fmt_counts(values: list[int]) -> str:
    return str(values[0]) if min(values) == max(values) else f"{min(values)}-{max(values)}"


def _client_cells(outcomes: list[Outcome], throughput: bool) -> dict[str, str]:
    """Median over the successful runs of one client in one scenario."""
    ok = [o for o in outcomes if not o.error]
    if not ok:
        return dict.fromkeys(("ms", "requests", "bytes", "mib_s", "rss"), "FAIL")

    def median(value: Callable[[Outcome], float]) -> float:
        return statistics.median(value(o) for o in ok)

    failed = len(outcomes) - len(ok)
    return {
        "ms": f"{median(lambda o: o.wall_s) * 1000:.1f}" + (f" ({failed} failed)" if failed else ""),
        "requests": _fmt_counts([len(o.requests) for o in ok]),
        "bytes": _fmt_bytes(median(lambda o: o.bytes_sent)),
        "mib_s": f"{median(lambda o: o.mib_per_s):.0f}" if throughput else "-",
        "rss": f"{median(lambda o: o.peak_rss_mib):.1f}",
    }


HEADER = [
    "layout",
    "scenario",
    "rust ms",
    "python ms",
    "rust/python",
    "requests (rust / python)",
    "bytes (rust / python)",
    "MiB/s (rust / python)",
    "peak RSS MiB (rust / python)",
]


def table_row(layout: str, scenario: str, per_client: dict[str, list[Outcome]]) -> list[str]:
    throughput = any(o.mib_per_s is not None for outcomes in per_client.values() for o in outcomes)
    rust, python = (_client_cells(per_client[c], throughput) for c in CLIENTS)
    ratios = [r.wall_s / p.wall_s for r, p in zip(per_client["rust"], per_client["python"]) if not (r.error or p.error)]

    def pair(key: str) -> str:
        return f"{rust[key]} / {python[key]}"

    return [
        layout,
        scenario,
        rust["ms"],
        python["ms"],
        f"{statistics.median(ratios):.3f}" if ratios else "-",
        pair("requests"),
        pair("bytes"),
        pair("mib_s") if throughput else "-",
        pair("rss"),
    ]


def markdown_table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [HEADER, *rows]) for i in range(len(HEADER))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cell.ljust(w) for cell, w in zip(cells, widths)) + " |"

    return "\n".join([line(HEADER), line(["-" * w for w in widths]), *map(line, rows)])


def request_listing(results: dict[str, dict[str, dict[str, list[Outcome]]]]) -> str:
    """Requests made in the warm and incremental scenarios of the first run."""
    lines = []
    for layout, per_scenario in results.items():
        for scenario in ("warm", "incremental"):
            for client in CLIENTS:
                outcome = per_scenario[scenario][client][0]
                lines.append(f"{layout} / {scenario} / {client}:")
                if outcome.error:
                    lines.append(f"  FAILED: {outcome.error.splitlines()[0]}")
                lines += [f"  {r.status} {r.bytes_sent:>10} B  {r.path}" for r in outcome.requests]
    return "\n".join(lines)


def failures(results: dict[str, dict[str, dict[str, list[Outcome]]]]) -> str:
    """The first failure of each client in each layout and scenario, in full."""
    lines = []
    for layout, per_scenario in results.items():
        for scenario, per_client in per_scenario.items():
            for client, outcomes in per_client.items():
                errors = [o.error for o in outcomes if o.error and not o.error.startswith("skipped")]
                if errors:
                    lines += [f"{layout} / {scenario} / {client} ({len(errors)} failed):", errors[0], ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rust", required=True, help="command of the client under test (split with shlex)")
    parser.add_argument("--runs", type=int, help=f"runs per layout (default {DEFAULT_RUNS}, big: {DEFAULT_RUNS_BIG})")
    parser.add_argument("--layouts", default=",".join(make_repos.LAYOUTS))
    args = parser.parse_args()
    layouts = [make_repos.LAYOUTS[name] for name in args.layouts.split(",")]
    commands = {
        "rust": shlex.split(args.rust),
        "python": [sys.executable, str(HERE / "py_tuf_client.py")],
    }

    started = time.perf_counter()
    layout_dirs = {}
    for layout in layouts:
        t0 = time.perf_counter()
        layout_dirs[layout.name], generated = make_repos.ensure(layout)
        state = f"generated in {time.perf_counter() - t0:.1f}s" if generated else "cached"
        print(f"repo {layout.name}: {state}", file=sys.stderr, flush=True)
    generation_s = time.perf_counter() - started

    results = {}
    become_subreaper()
    with RecordingServer(SERVED) as server:
        for layout in layouts:
            runs = args.runs or (DEFAULT_RUNS_BIG if layout.name == "big" else DEFAULT_RUNS)
            results[layout.name] = bench_layout(layout, layout_dirs[layout.name], runs, commands, server)
    total_s = time.perf_counter() - started

    table = markdown_table(
        [table_row(layout, scenario, per_client) for layout, per_scenario in results.items() for scenario, per_client in per_scenario.items()]
    )
    requests = request_listing(results)
    errors = failures(results)
    print(f"\n{table}\n\nRequests (first run):\n{requests}")
    if errors:
        print(f"\nFailures:\n{errors}")

    report = [
        "# tuf-client vs python-tuf ngclient",
        "",
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}",
        f"- rust: `{shlex.join(commands['rust'])}`",
        f"- python: `{shlex.join(commands['python'])}` (tuf {version('tuf')}, Python {sys.version.split()[0]})",
        f"- repository generation: {generation_s:.1f}s, total: {total_s:.1f}s",
        "- times are medians over runs; rust/python is the median of per-run ratios",
        "",
        table,
        "",
        "## Requests (first run)",
        "",
        "```",
        requests,
        "```",
    ]
    if errors:
        report += ["", "## Failures", "", "```", errors, "```"]
    (OUT / "results.md").write_text("\n".join(report) + "\n")
    print(f"\nrepository generation {generation_s:.1f}s, total {total_s:.1f}s; wrote {OUT / 'results.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
