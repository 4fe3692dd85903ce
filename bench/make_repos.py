#!/usr/bin/env python3
"""Build the benchmark's TUF repositories with python-tuf (tuf.api.metadata).

Every repository uses consistent snapshots and ed25519 keys:

    <out>/<layout>/repo/metadata/1.root.json, timestamp.json,
                                 N.snapshot.json, N.targets.json, N.<role>.json
    <out>/<layout>/repo/targets/<dir>/<sha256>.<file>
    <out>/<layout>/keys/<key name>.json      (public key + PEM private key)
    <out>/<layout>/complete.json             (written last: marks a usable cache)

Layouts (see LAYOUTS):
    flat      10,000 targets in the top-level targets.json
    bins      10,000 targets in 256 succinct hashed bins (TAP 15)
    channels  top-level targets delegates "stable" and "beta", 50 releases each
    big       one 512 MiB target in the top-level targets.json

publish_release() adds ONE new release to a repository: a new target file, a
new version of the role that holds it, a new snapshot and a new timestamp.

Usage:
    make_repos.py generate [--out DIR] [--layouts flat,bins,...] [--force]
    make_repos.py publish --layout NAME --repo DIR --keys DIR
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from securesystemslib.signer import CryptoSigner, SSlibKey
from tuf.api.metadata import (
    DelegatedRole,
    Delegations,
    Metadata,
    MetaFile,
    Root,
    Signed,
    Snapshot,
    SuccinctRoles,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

# Bump when the generated repositories change, to invalidate cached copies.
FORMAT_VERSION = 1
DEFAULT_OUT = Path(__file__).resolve().parent / "out" / "repos"
TOP_LEVEL_ROLES = ("root", "timestamp", "snapshot", "targets")
# Long expiry so that cached repositories stay valid for years.
EXPIRY = timedelta(days=3650)
CHUNK = 4 * 1024 * 1024
SERIALIZER = JSONSerializer(compact=True)


@dataclass(frozen=True)
class Layout:
    name: str
    # Target paths present right after generation.
    initial_paths: Callable[[], list[str]]
    # Path of the n-th release published by publish_release() (n = 0, 1, ...).
    release_path: Callable[[int], str]
    target_size: int
    # Small target downloaded by the "cold" scenario (the big target for "big").
    cold_target: str
    # Delegation of top-level targets: None, "succinct" or "channels".
    delegation: str | None = None


def _app_path(i: int) -> str:
    return f"app/{i}/file-{i}.bin"


def _stable_path(i: int) -> str:
    return f"stable/myapp/1.0.{i}/linux-x86_64/myapp-1.0.{i}.tar.gz"


def _beta_path(i: int) -> str:
    return f"beta/myapp/2.0.0-beta.{i}/linux-x86_64/myapp-2.0.0-beta.{i}.tar.gz"


def _big_path(i: int) -> str:
    return f"bigapp/1.{i}.0/bigapp-1.{i}.0.bin"


N_FILES = 10_000
N_CHANNEL_RELEASES = 50

LAYOUTS = {
    layout.name: layout
    for layout in (
        Layout(
            name="flat",
            initial_paths=lambda: [_app_path(i) for i in range(N_FILES)],
            release_path=lambda n: _app_path(N_FILES + n),
            target_size=100,
            cold_target=_app_path(4242),
        ),
        Layout(
            name="bins",
            initial_paths=lambda: [_app_path(i) for i in range(N_FILES)],
            release_path=lambda n: _app_path(N_FILES + n),
            target_size=100,
            cold_target=_app_path(4242),
            delegation="succinct",
        ),
        Layout(
            name="channels",
            initial_paths=lambda: [
                p(i) for p in (_stable_path, _beta_path) for i in range(N_CHANNEL_RELEASES)
            ],
            release_path=lambda n: _stable_path(N_CHANNEL_RELEASES + n),
            target_size=4096,
            cold_target=_stable_path(N_CHANNEL_RELEASES - 1),
            delegation="channels",
        ),
        Layout(
            name="big",
            initial_paths=lambda: [_big_path(0)],
            release_path=lambda n: _big_path(1 + n),
            target_size=512 * 1024 * 1024,
            cold_target=_big_path(0),
        ),
    )
}


def _expires() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0) + EXPIRY


def _key_name(role: str) -> str:
    """All hashed bins share the single "bins" key (TAP 15)."""
    return "bins" if role.startswith("bins-") else role


class Repository:
    """Writes targets and signed metadata into one repository directory."""

    def __init__(self, repo_dir: Path, keys_dir: Path):
        self.metadata_dir = repo_dir / "metadata"
        self.targets_dir = repo_dir / "targets"
        self.keys_dir = keys_dir
        self._signers: dict[str, CryptoSigner] = {}

    def create_key(self, name: str) -> SSlibKey:
        signer = CryptoSigner.generate_ed25519()
        key = signer.public_key
        self.keys_dir.mkdir(parents=True, exist_ok=True)
        (self.keys_dir / f"{name}.json").write_text(
            json.dumps(
                {
                    "keyid": key.keyid,
                    "public": key.to_dict(),
                    "private_pem": signer.private_bytes.decode(),
                },
                indent=1,
            )
        )
        self._signers[name] = signer
        return key

    def signer(self, name: str) -> CryptoSigner:
        if name not in self._signers:
            stored = json.loads((self.keys_dir / f"{name}.json").read_text())
            public = SSlibKey.from_dict(stored["keyid"], stored["public"])
            private = load_pem_private_key(stored["private_pem"].encode(), None)
            self._signers[name] = CryptoSigner(private, public)
        return self._signers[name]

    def write_target(self, path: str, size: int) -> TargetFile:
        """Write `size` random bytes as target `path`, streaming in chunks."""
        dirname, _, basename = path.rpartition("/")
        directory = self.targets_dir / dirname
        directory.mkdir(parents=True, exist_ok=True)
        partial = directory / f".partial.{basename}"
        digest = hashlib.sha256()
        with open(partial, "wb") as f:
            remaining = size
            while remaining:
                chunk = os.urandom(min(remaining, CHUNK))
                digest.update(chunk)
                f.write(chunk)
                remaining -= len(chunk)
        sha256 = digest.hexdigest()
        partial.rename(directory / f"{sha256}.{basename}")
        return TargetFile(size, {"sha256": sha256}, path)

    def write_metadata(self, role: str, signed: Signed) -> None:
        """Sign and write `signed`: timestamp.json or <version>.<role>.json."""
        md = Metadata(signed)
        md.sign(self.signer(_key_name(role)))
        name = "timestamp.json" if role == "timestamp" else f"{signed.version}.{role}.json"
        self.metadata_dir.mkdir(parents=True, exist_ok=True)
        md.to_file(str(self.metadata_dir / name), SERIALIZER)

    def read_metadata(self, role: str, version: int | None = None) -> Metadata:
        name = f"{role}.json" if version is None else f"{version}.{role}.json"
        return Metadata.from_file(str(self.metadata_dir / name))


def _role_for(targets: Targets, path: str) -> str:
    """Name of the (first) role that holds `path`, given top-level targets."""
    if targets.delegations is None:
        return "targets"
    return next(targets.delegations.get_roles_for_target(path))[0]


def generate(layout: Layout, layout_dir: Path) -> None:
    """Create the repository and keys of `layout` in `layout_dir` (from scratch)."""
    shutil.rmtree(layout_dir, ignore_errors=True)
    repo = Repository(layout_dir / "repo", layout_dir / "keys")

    root = Root(expires=_expires(), consistent_snapshot=True)
    for role in TOP_LEVEL_ROLES:
        root.add_key(repo.create_key(role), role)

    top = Targets(expires=_expires())
    roles: dict[str, Targets] = {"targets": top}
    if layout.delegation == "succinct":
        key = repo.create_key("bins")
        bins = SuccinctRoles([key.keyid], 1, bit_length=8, name_prefix="bins")
        top.delegations = Delegations({key.keyid: key}, succinct_roles=bins)
        roles.update((name, Targets(expires=_expires())) for name in bins.get_roles())
    elif layout.delegation == "channels":
        keys, delegated = {}, {}
        for channel in ("stable", "beta"):
            key = repo.create_key(channel)
            keys[key.keyid] = key
            delegated[channel] = DelegatedRole(
                channel, [key.keyid], 1, terminating=True, paths=[f"{channel}/*/*/*/*"]
            )
            roles[channel] = Targets(expires=_expires())
        top.delegations = Delegations(keys, roles=delegated)

    for path in layout.initial_paths():
        roles[_role_for(top, path)].targets[path] = repo.write_target(path, layout.target_size)

    repo.write_metadata("root", root)
    for name, targets in roles.items():
        repo.write_metadata(name, targets)
    snapshot = Snapshot(
        expires=_expires(), meta={f"{name}.json": MetaFile(version=1) for name in roles}
    )
    repo.write_metadata("snapshot", snapshot)
    repo.write_metadata("timestamp", Timestamp(expires=_expires(), snapshot_meta=MetaFile(version=1)))


def publish_release(layout: Layout, repo_dir: Path, keys_dir: Path) -> TargetFile:
    """Publish one new release into an existing repository; return its target."""
    repo = Repository(repo_dir, keys_dir)
    timestamp = repo.read_metadata("timestamp").signed
    snapshot = repo.read_metadata("snapshot", timestamp.snapshot_meta.version).signed
    top = repo.read_metadata("targets", snapshot.meta["targets.json"].version).signed

    # Release n (0-based) is published on top of snapshot version n + 1.
    path = layout.release_path(snapshot.version - 1)
    role = _role_for(top, path)
    holder = top if role == "targets" else repo.read_metadata(role, snapshot.meta[f"{role}.json"].version).signed
    holder.targets[path] = repo.write_target(path, layout.target_size)

    for signed in (holder, snapshot, timestamp):
        signed.version += 1
        signed.expires = _expires()
    snapshot.meta[f"{role}.json"].version = holder.version
    timestamp.snapshot_meta.version = snapshot.version
    repo.write_metadata(role, holder)
    repo.write_metadata("snapshot", snapshot)
    repo.write_metadata("timestamp", timestamp)
    return holder.targets[path]


def ensure(layout: Layout, out: Path = DEFAULT_OUT, force: bool = False) -> tuple[Path, bool]:
    """Generate `layout` under `out` unless a complete cached copy exists.

    Returns the layout directory and whether it was (re)generated.
    """
    layout_dir = out / layout.name
    marker = layout_dir / "complete.json"
    expected = {"format": FORMAT_VERSION, "layout": layout.name}
    if not force and marker.exists() and json.loads(marker.read_text()) == expected:
        return layout_dir, False
    generate(layout, layout_dir)
    marker.write_text(json.dumps(expected))
    return layout_dir, True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="generate (or reuse cached) repositories")
    gen.add_argument("--out", type=Path, default=DEFAULT_OUT)
    gen.add_argument("--layouts", default=",".join(LAYOUTS))
    gen.add_argument("--force", action="store_true", help="regenerate even if cached")
    pub = sub.add_parser("publish", help="publish one new release into a repository")
    pub.add_argument("--layout", choices=LAYOUTS, required=True)
    pub.add_argument("--repo", type=Path, required=True, help="directory holding metadata/ and targets/")
    pub.add_argument("--keys", type=Path, required=True)
    args = parser.parse_args()

    if args.command == "generate":
        for name in args.layouts.split(","):
            start = time.perf_counter()
            layout_dir, generated = ensure(LAYOUTS[name], args.out, args.force)
            state = f"generated in {time.perf_counter() - start:.1f}s" if generated else "cached"
            print(f"{name}: {layout_dir} ({state})")
    else:
        target = publish_release(LAYOUTS[args.layout], args.repo, args.keys)
        print(f"published {target.path} ({target.length} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
