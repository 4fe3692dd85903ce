#!/usr/bin/env python3
"""python-tuf, the TUF reference implementation, makes the repositories that
tuf-updater-core's interoperability tests (../interop_python.rs) feed to our client.

Usage: make_repo.py OUT_DIR SCENARIO

Scenarios: basic, delegations, succinct, keytypes, no-consistent, tampered,
rotation-1, rotation-2, rotation-3 (rotation-N continues the repository that
rotation-(N-1) left in OUT_DIR, with the private keys it saved in OUT_DIR/keys).

Layout written (the standard one, what python-tuf's own client expects):

    OUT_DIR/metadata/N.root.json, timestamp.json
    OUT_DIR/metadata/N.snapshot.json, N.targets.json, N.<role>.json
        (snapshot.json, targets.json, <role>.json without consistent snapshots)
    OUT_DIR/targets/<dir>/<hash>.<name>
        (<dir>/<name> without consistent snapshots)
    OUT_DIR/manifest.json

Every repository is also read by python-tuf's own client (ngclient), through a
fetcher that reads OUT_DIR and logs each request: "the oracle". For each lookup
the manifest records what the reference client found (length, hashes, content)
and exactly which files it requested, so the Rust test compares our client with
the reference client, not only with the expectations written here. Those
expectations are checked against the oracle too: any disagreement, or anything
else unexpected, ends the script with an error (exit status 1). A missing
python-tuf ends it with exit status 3.

Request paths in the manifest are relative to OUT_DIR and percent-decoded,
e.g. "metadata/1.targets.json" or "targets/dir/<sha256>.name with space.bin".
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import urllib.parse
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

SETUP_HINT = "pip install -r .ci/requirements.txt"

try:
    import tuf
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from securesystemslib.signer import CryptoSigner, SSlibKey
    from tuf.api.exceptions import DownloadHTTPError
    from tuf.api.metadata import (
        DelegatedRole,
        Delegations,
        Metadata,
        MetaFile,
        Root,
        Snapshot,
        SuccinctRoles,
        TargetFile,
        Targets,
        Timestamp,
    )
    from tuf.api.serialization.json import JSONSerializer
    from tuf.ngclient import FetcherInterface, Updater
except ImportError as import_error:
    print(
        f"INTEROP SETUP ERROR: python-tuf is not importable ({import_error}).\n"
        f"The interoperability tests need it: {SETUP_HINT}",
        file=sys.stderr,
    )
    sys.exit(3)


class ScenarioError(Exception):
    """The repository or the reference client did not behave as declared."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise ScenarioError(message)


# ---------------------------------------------------------------- keys


def generate(kind: str) -> CryptoSigner:
    if kind == "ed25519":
        return CryptoSigner.generate_ed25519()
    if kind == "ecdsa-p256":
        return CryptoSigner.generate_ecdsa()
    if kind == "ecdsa-p384":
        return CryptoSigner.generate_ecdsa(scheme="ecdsa-sha2-nistp384")
    if kind == "rsa-pss-3072":
        return CryptoSigner.generate_rsa()  # rsassa-pss-sha256, python-tuf's default
    if kind == "rsa-pss-2048":
        return CryptoSigner.generate_rsa(size=2048)
    if kind == "rsa-pkcs1-2048":
        return CryptoSigner.generate_rsa(scheme="rsa-pkcs1v15-sha256", size=2048)
    raise ScenarioError(f"unknown key kind {kind}")


def save_signer(keydir: Path, name: str, signer: CryptoSigner) -> None:
    keydir.mkdir(parents=True, exist_ok=True)
    (keydir / f"{name}.pem").write_bytes(signer.private_bytes)
    public = {"keyid": signer.public_key.keyid, "key": signer.public_key.to_dict()}
    (keydir / f"{name}.pub.json").write_text(json.dumps(public, indent=1))


def load_signer(keydir: Path, name: str) -> CryptoSigner:
    public = json.loads((keydir / f"{name}.pub.json").read_text())
    key = SSlibKey.from_dict(public["keyid"], dict(public["key"]))
    private = load_pem_private_key((keydir / f"{name}.pem").read_bytes(), None)
    return CryptoSigner(private, key)


# ---------------------------------------------------------------- repository


def expiry(days: int = 7) -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=days)


class Repo:
    """A repository built with python-tuf's metadata API, published to disk."""

    def __init__(self, out: Path, consistent: bool = True):
        self.out = out
        self.consistent = consistent
        self.root = Metadata(Root(expires=expiry(), consistent_snapshot=consistent))
        self.timestamp = Metadata(Timestamp(expires=expiry()))
        self.snapshot = Metadata(Snapshot(expires=expiry()))
        # Every targets role, top-level first; published in this order.
        self.roles: dict[str, Metadata] = {"targets": Metadata(Targets(expires=expiry()))}
        self.signers: dict[str, list[CryptoSigner]] = {}
        # Signers of the root about to be published (default: its own root keys).
        self.root_signers: list[CryptoSigner] | None = None
        # Give length and hashes in timestamp's and snapshot's meta (optional in TUF).
        self.meta_hashes = False
        self.files: dict[str, bytes] = {}  # relative to targets/
        self.expectations: list[dict[str, Any]] = []

    # -- building

    def add_top_key(self, role: str, signer: CryptoSigner, signs: bool = True) -> None:
        self.root.signed.add_key(signer.public_key, role)
        if signs:
            self.signers.setdefault(role, []).append(signer)

    def delegate(
        self,
        delegator: str,
        name: str,
        signers: list[CryptoSigner],
        threshold: int = 1,
        terminating: bool = False,
        paths: list[str] | None = None,
        path_hash_prefixes: list[str] | None = None,
    ) -> None:
        parent = self.roles[delegator].signed
        if parent.delegations is None:
            parent.delegations = Delegations(keys={}, roles={})
        role = DelegatedRole(name, [], threshold, terminating, paths, path_hash_prefixes)
        parent.delegations.roles[name] = role
        for s in signers:
            parent.add_key(s.public_key, name)
        self.roles[name] = Metadata(Targets(expires=expiry()))
        self.signers[name] = list(signers)

    def delegate_bins(
        self, delegator: str, signer: CryptoSigner, bit_length: int, prefix: str
    ) -> SuccinctRoles:
        succinct = SuccinctRoles([], 1, bit_length, prefix)
        self.roles[delegator].signed.delegations = Delegations(keys={}, succinct_roles=succinct)
        self.roles[delegator].signed.add_key(signer.public_key)
        for name in succinct.get_roles():
            self.roles[name] = Metadata(Targets(expires=expiry()))
            self.signers[name] = [signer]
        return succinct

    def add_target(
        self, role: str, path: str, data: bytes, hash_algorithms: tuple[str, ...] = ("sha256",)
    ) -> TargetFile:
        target = TargetFile.from_data(path, data, list(hash_algorithms))
        self.roles[role].signed.targets[path] = target
        self.files[self.target_file_name(target)] = data
        return target

    def target_file_name(self, target: TargetFile) -> str:
        if not self.consistent:
            return target.path
        # python-tuf's client names the file by the first hash listed in the metadata,
        # and its serializer sorts keys: store it under that name only.
        first = target.hashes[sorted(target.hashes)[0]]
        head, sep, base = target.path.rpartition("/")
        return f"{head}{sep}{first}.{base}"

    def expect_found(self, path: str, role: str) -> None:
        target = self.roles[role].signed.targets[path]
        data = self.files[self.target_file_name(target)]
        self.expectations.append({"path": path, "role": role, "target": target, "data": data})

    def expect_absent(self, path: str, why: str) -> None:
        self.expectations.append({"path": path, "role": None, "why": why})

    # -- publishing

    @staticmethod
    def signed_bytes(md: Metadata, signers: list[CryptoSigner]) -> bytes:
        md.signatures.clear()
        for s in signers:
            md.sign(s, append=True)
        # Indented, as python-tuf's to_file writes it: signatures cover the canonical
        # form, so the client must not depend on the layout of the file.
        return md.to_bytes(JSONSerializer(compact=False))

    def meta_file(self, version: int, data: bytes) -> MetaFile:
        if not self.meta_hashes:
            return MetaFile(version)
        hashes = {
            "sha256": hashlib.sha256(data).hexdigest(),
            "sha512": hashlib.sha512(data).hexdigest(),
        }
        return MetaFile(version, len(data), hashes)

    def metadata_name(self, role: str, version: int) -> str:
        return f"{version}.{role}.json" if self.consistent else f"{role}.json"

    def publish(self) -> None:
        meta_dir = self.out / "metadata"
        meta_dir.mkdir(parents=True, exist_ok=True)
        snapshot_meta = {}
        for name, md in self.roles.items():
            data = self.signed_bytes(md, self.signers[name])
            snapshot_meta[f"{name}.json"] = self.meta_file(md.signed.version, data)
            (meta_dir / self.metadata_name(name, md.signed.version)).write_bytes(data)
        self.snapshot.signed.meta = snapshot_meta
        data = self.signed_bytes(self.snapshot, self.signers["snapshot"])
        (meta_dir / self.metadata_name("snapshot", self.snapshot.signed.version)).write_bytes(data)
        self.timestamp.signed.snapshot_meta = self.meta_file(self.snapshot.signed.version, data)
        data = self.signed_bytes(self.timestamp, self.signers["timestamp"])
        (meta_dir / "timestamp.json").write_bytes(data)
        root_signers = self.root_signers if self.root_signers is not None else self.signers["root"]
        data = self.signed_bytes(self.root, root_signers)
        # Root is always versioned (spec 5.3), with or without consistent snapshots.
        (meta_dir / f"{self.root.signed.version}.root.json").write_bytes(data)
        for rel, content in self.files.items():
            path = self.out / "targets" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)


# ---------------------------------------------------------------- the oracle

ORACLE_BASE = "http://oracle.invalid/"


class LocalFetcher(FetcherInterface):
    """Serves OUT_DIR to python-tuf's client as a static web server would."""

    def __init__(self, root: Path):
        self.root = root
        self.log: list[str] = []

    def _fetch(self, url: str) -> Iterator[bytes]:
        check(url.startswith(ORACLE_BASE), f"oracle asked for a foreign URL {url}")
        rel = urllib.parse.unquote(url[len(ORACLE_BASE) :])
        self.log.append(rel)
        path = self.root / rel
        if ".." in Path(rel).parts or not path.is_file():
            raise DownloadHTTPError(f"{rel}: not found", 404)
        return iter([path.read_bytes()])

    def take(self) -> list[str]:
        log, self.log = self.log, []
        return log


def oracle_client(
    out: Path, client_dir: Path, bootstrap: bytes | None, metadata: str = "metadata"
) -> tuple[Updater, LocalFetcher]:
    (client_dir / "targets").mkdir(parents=True, exist_ok=True)
    fetcher = LocalFetcher(out)
    updater = Updater(
        str(client_dir),
        f"{ORACLE_BASE}{metadata}/",
        str(client_dir / "targets"),
        f"{ORACLE_BASE}targets/",
        fetcher,
        bootstrap=bootstrap,
    )
    return updater, fetcher


def bootstrap_root(out: Path) -> bytes:
    return (out / "metadata" / "1.root.json").read_bytes()


def run_lookups(repo: Repo) -> list[dict[str, Any]]:
    """Each declared lookup, done by the reference client from scratch (a fresh
    metadata directory, the version 1 root as bootstrap)."""
    results = []
    for exp in repo.expectations:
        path = exp["path"]
        with tempfile.TemporaryDirectory() as tmp:
            updater, fetcher = oracle_client(repo.out, Path(tmp), bootstrap_root(repo.out))
            updater.refresh()
            entry: dict[str, Any] = {"path": path, "refresh_requests": fetcher.take()}
            info = updater.get_targetinfo(path)
            entry["lookup_requests"] = fetcher.take()
            if exp["role"] is None:
                check(info is None, f"python-tuf found {path}, declared absent: {exp['why']}")
                entry.update(found=False, role=None, why=exp["why"])
            else:
                check(info is not None, f"python-tuf did not find {path} (declared in {exp['role']})")
                check(
                    info == exp["target"],
                    f"python-tuf found another {path} than the one in {exp['role']}: {info.to_dict()}",
                )
                local = updater.download_target(info)
                data = Path(local).read_bytes()
                check(data == exp["data"], f"python-tuf downloaded other bytes for {path}")
                entry.update(
                    found=True,
                    role=exp["role"],
                    length=info.length,
                    hashes=dict(info.hashes),
                    content_hex=data.hex(),
                    target_requests=fetcher.take(),
                )
        results.append(entry)
    return results


def manifest(repo: Repo, scenario: str, **extra: Any) -> dict[str, Any]:
    return {
        "scenario": scenario,
        "python_tuf_version": tuf.__version__,
        "consistent_snapshot": repo.consistent,
        "root_version": repo.root.signed.version,
        "lookups": run_lookups(repo),
        "extra": extra,
    }


def role_keys(root: Root) -> dict[str, Any]:
    return {
        name: {"keyids": sorted(role.keyids), "threshold": role.threshold}
        for name, role in root.roles.items()
    }


# ---------------------------------------------------------------- scenarios


def standard_keys(repo: Repo) -> None:
    for role in ("root", "timestamp", "snapshot", "targets"):
        repo.add_top_key(role, generate("ed25519"))


def scenario_basic(out: Path) -> dict[str, Any]:
    repo = Repo(out)
    repo.meta_hashes = True
    standard_keys(repo)
    repo.add_target("targets", "hello.txt", b"Hello from python-tuf\n")
    repo.add_target("targets", "nested/dir/deep file.bin", os.urandom(4096))
    repo.add_target("targets", "multi/hashes.bin", os.urandom(20_000), ("sha256", "sha512"))
    repo.add_target("targets", "empty.dat", b"")
    repo.add_target("targets", "big.bin", os.urandom(256 * 1024 + 7))
    for path in ("hello.txt", "nested/dir/deep file.bin", "multi/hashes.bin", "empty.dat", "big.bin"):
        repo.expect_found(path, "targets")
    repo.expect_absent("missing.txt", "listed nowhere")
    repo.publish()

    # A second update cycle on the same local metadata, nothing new on the server.
    with tempfile.TemporaryDirectory() as tmp:
        first, _ = oracle_client(out, Path(tmp), bootstrap_root(out))
        first.refresh()
        second, fetcher = oracle_client(out, Path(tmp), None)
        second.refresh()
        second_refresh = fetcher.take()
    return manifest(repo, "basic", second_refresh_requests=second_refresh)


def scenario_delegations(out: Path) -> dict[str, Any]:
    repo = Repo(out)
    standard_keys(repo)
    key = lambda: generate("ed25519")  # noqa: E731
    repo.add_target("targets", "top.txt", b"top-level target\n")

    # Nested: targets -> projects -> alpha -> alpha-nightly.
    repo.delegate("targets", "projects", [key()], paths=["projects/*/*"])
    repo.add_target("projects", "projects/readme/index.txt", b"projects index\n")
    repo.delegate("projects", "alpha", [key()], paths=["projects/alpha/*"])
    repo.add_target("alpha", "projects/alpha/alpha-1.0.tar.gz", os.urandom(3000))
    repo.delegate("alpha", "alpha-nightly", [key()], paths=["projects/alpha/nightly-*"])
    repo.add_target("alpha-nightly", "projects/alpha/nightly-2024.bin", os.urandom(1500))

    # A terminating role, then a role that must not be searched for its paths.
    repo.delegate("targets", "locked", [key()], terminating=True, paths=["locked/*"])
    repo.add_target("locked", "locked/real.txt", b"the locked role's file\n")
    repo.delegate("targets", "after-locked", [key()], paths=["locked/*", "free/*"])
    repo.add_target("after-locked", "locked/shadow.txt", b"must never be found\n")
    repo.add_target("after-locked", "free/open.txt", b"after-locked serves free/\n")

    # Two non-terminating roles on the same paths: the first one listing a target wins.
    repo.delegate("targets", "first", [key()], paths=["shared/*"])
    repo.add_target("first", "shared/both.txt", b"version of the first role\n")
    repo.delegate("targets", "second", [key()], paths=["shared/*"])
    repo.add_target("second", "shared/both.txt", b"version of the SECOND role, not to be used\n")
    repo.add_target("second", "shared/only-second.txt", b"only the second role has this\n")

    # path_hash_prefixes: two paths covered by their SHA-256 prefix, one listed but not covered.
    def prefix(path: str) -> str:
        return hashlib.sha256(path.encode()).hexdigest()[:2]

    covered = ["hp/one.bin", "hp/two.bin"]
    prefixes = sorted({prefix(p) for p in covered})
    uncovered = next(
        p for p in (f"hp/uncovered-{i}.bin" for i in range(1000)) if prefix(p) not in prefixes
    )
    repo.delegate("targets", "hashed", [key()], path_hash_prefixes=prefixes)
    for p in covered + [uncovered]:
        repo.add_target("hashed", p, f"hashed bin content of {p}\n".encode())

    repo.expect_found("top.txt", "targets")
    repo.expect_found("projects/readme/index.txt", "projects")
    repo.expect_found("projects/alpha/alpha-1.0.tar.gz", "alpha")
    repo.expect_found("projects/alpha/nightly-2024.bin", "alpha-nightly")
    repo.expect_found("locked/real.txt", "locked")
    repo.expect_absent("locked/shadow.txt", "locked is terminating; after-locked is never searched")
    repo.expect_found("free/open.txt", "after-locked")
    repo.expect_found("shared/both.txt", "first")
    repo.expect_found("shared/only-second.txt", "second")
    for p in covered:
        repo.expect_found(p, "hashed")
    repo.expect_absent(uncovered, "hashed lists it but its path_hash_prefixes do not cover it")
    repo.expect_absent("projects/beta/beta.tar.gz", "projects delegates only alpha; projects does not list it")
    repo.expect_absent("nowhere/missing.txt", "no delegation covers it")
    repo.publish()
    return manifest(repo, "delegations", hash_prefixes=prefixes, uncovered=uncovered)


def scenario_succinct(out: Path) -> dict[str, Any]:
    repo = Repo(out)
    standard_keys(repo)
    succinct = repo.delegate_bins("targets", generate("ed25519"), bit_length=5, prefix="bin")
    targets = {}
    for i in range(200):
        path = f"pkg/file-{i:03}.txt"
        role = succinct.get_role_for_target(path)
        data = f"package file {i}\n".encode() * (i % 7 + 1)
        t = repo.add_target(role, path, data)
        targets[path] = {"bin": role, "length": t.length, "hashes": dict(t.hashes), "content_hex": data.hex()}
    seen: set[str] = set()
    for path, t in targets.items():
        if t["bin"] not in seen and len(seen) < 6:
            seen.add(t["bin"])
            repo.expect_found(path, t["bin"])
    repo.expect_absent("pkg/missing.txt", "its bin does not list it")
    repo.publish()
    return manifest(
        repo,
        "succinct",
        bit_length=5,
        name_prefix="bin",
        bins=list(succinct.get_roles()),
        missing_bin=succinct.get_role_for_target("pkg/missing.txt"),
        targets=targets,
    )


def scenario_keytypes(out: Path) -> dict[str, Any]:
    repo = Repo(out)
    # Root: threshold 2 of three keys of three types, signed by exactly two of them.
    repo.add_top_key("root", generate("ecdsa-p256"))
    repo.add_top_key("root", generate("rsa-pss-3072"))
    repo.add_top_key("root", generate("ed25519"), signs=False)
    repo.root.signed.roles["root"].threshold = 2
    repo.add_top_key("timestamp", generate("ecdsa-p384"))
    repo.add_top_key("snapshot", generate("rsa-pss-2048"))
    repo.add_top_key("targets", generate("ecdsa-p256"))
    repo.add_top_key("targets", generate("ecdsa-p384"))
    repo.root.signed.roles["targets"].threshold = 2
    repo.add_target("targets", "top.bin", os.urandom(2048))

    repo.delegate("targets", "pkcs1", [generate("rsa-pkcs1-2048")], paths=["pkcs1/*"])
    repo.add_target("pkcs1", "pkcs1/a.txt", b"signed with RSA PKCS#1 v1.5 / SHA-256\n")
    repo.delegate("targets", "p384", [generate("ecdsa-p384")], paths=["p384/*"])
    repo.add_target("p384", "p384/b.txt", b"signed with ECDSA P-384\n")
    mixed = [generate("ed25519"), generate("ecdsa-p256"), generate("rsa-pss-2048")]
    repo.delegate("targets", "mixed", mixed, threshold=2, paths=["mixed/*"])
    repo.signers["mixed"] = mixed[1:]  # ECDSA and RSA sign; ed25519 does not
    repo.add_target("mixed", "mixed/c.txt", b"threshold 2: ECDSA P-256 + RSA-PSS\n")

    for path, role in (("top.bin", "targets"), ("pkcs1/a.txt", "pkcs1"), ("p384/b.txt", "p384"), ("mixed/c.txt", "mixed")):
        repo.expect_found(path, role)
    repo.publish()

    keys = {kid: {"keytype": k.keytype, "scheme": k.scheme} for kid, k in repo.root.signed.keys.items()}
    signatures = {}
    files = {"root": "1.root.json", "timestamp": "timestamp.json", "snapshot": "1.snapshot.json", "targets": "1.targets.json"}
    for name, file in files.items():
        md = Metadata.from_bytes((out / "metadata" / file).read_bytes())
        signatures[name] = sorted(md.signatures)
    return manifest(repo, "keytypes", keys=keys, roles=role_keys(repo.root.signed), signatures=signatures)


def scenario_no_consistent(out: Path) -> dict[str, Any]:
    repo = Repo(out, consistent=False)
    standard_keys(repo)
    repo.add_target("targets", "readme.txt", b"no consistent snapshots here\n")
    repo.add_target("targets", "dist/app-1.0.tar.gz", os.urandom(5000))
    repo.delegate("targets", "docs", [generate("ed25519")], paths=["docs/*"])
    repo.add_target("docs", "docs/manual.txt", b"the manual\n")
    repo.expect_found("readme.txt", "targets")
    repo.expect_found("dist/app-1.0.tar.gz", "targets")
    repo.expect_found("docs/manual.txt", "docs")
    repo.expect_absent("docs/absent.txt", "docs does not list it")
    repo.publish()
    return manifest(repo, "no-consistent")


def rewrite_signed(path: Path, change) -> None:
    """Edits the signed part of a metadata file in place, keeping its signatures."""
    doc = json.loads(path.read_bytes())
    change(doc["signed"])
    path.write_text(json.dumps(doc, indent=1, sort_keys=True))


def scenario_tampered(out: Path) -> dict[str, Any]:
    repo = Repo(out)
    standard_keys(repo)
    payload = b"the genuine payload\n"
    repo.add_target("targets", "payload.bin", payload)
    repo.delegate("targets", "sub", [generate("ed25519")], paths=["sub/*"])
    repo.add_target("sub", "sub/file.txt", b"the genuine delegated file\n")
    repo.expect_found("payload.bin", "targets")
    repo.expect_found("sub/file.txt", "sub")
    repo.publish()  # the genuine repository: metadata/ and targets/

    # The attacker's payload, served where a client believing the forged metadata looks.
    evil = b"MALICIOUS payload swapped in by an attacker\n"
    evil_sha256 = hashlib.sha256(evil).hexdigest()
    (out / "targets" / f"{evil_sha256}.payload.bin").write_bytes(evil)

    def forge_payload(signed: dict[str, Any]) -> None:
        signed["targets"]["payload.bin"] = {"length": len(evil), "hashes": {"sha256": evil_sha256}}

    def forge_sub(signed: dict[str, Any]) -> None:
        signed["targets"]["sub/file.txt"]["length"] += 1

    def resign_timestamp_with_snapshot_key(path: Path) -> None:
        md = Metadata.from_bytes(path.read_bytes())
        path.write_bytes(Repo.signed_bytes(md, repo.signers["snapshot"]))

    cases = [
        # (name, file changed, how, lookup that must fail or None for refresh)
        ("targets-length", "1.targets.json", lambda p: rewrite_signed(p, forge_payload), None),
        ("delegated-entry", "1.sub.json", lambda p: rewrite_signed(p, forge_sub), "sub/file.txt"),
        ("timestamp-wrong-key", "timestamp.json", resign_timestamp_with_snapshot_key, None),
    ]
    results = []
    for name, file, tamper, lookup in cases:
        case_dir = out / "tampered" / name
        shutil.copytree(out / "metadata", case_dir / "metadata")
        tamper(case_dir / "metadata" / file)
        # The reference client must refuse it, or the case proves nothing.
        with tempfile.TemporaryDirectory() as tmp:
            updater, fetcher = oracle_client(out, Path(tmp), bootstrap_root(out), f"tampered/{name}/metadata")
            try:
                if lookup is None:
                    updater.refresh()
                else:
                    updater.refresh()
                    check(updater.get_targetinfo("payload.bin") is not None, f"{name}: payload.bin lost")
                    updater.get_targetinfo(lookup)
            except ScenarioError:
                raise
            except Exception as e:  # noqa: BLE001 - any refusal is what we want, recorded
                error = {"type": type(e).__name__, "message": str(e)}
            else:
                raise ScenarioError(f"python-tuf accepted the tampered case {name}")
            requests = fetcher.take()
        results.append(
            {
                "name": name,
                "metadata": f"tampered/{name}/metadata",
                "file": file,
                "lookup": lookup,
                "python_error": error,
                "python_requests": requests,
            }
        )
    return manifest(repo, "tampered", cases=results, evil_file=f"targets/{evil_sha256}.payload.bin")


# -- rotation: rotation-1 makes the repository, rotation-2 and -3 continue it.

ROTATION_CLIENT = "oracle-client"  # the reference client's metadata dir, kept across stages


def rotation_repo(out: Path, stage: int) -> tuple[Repo, Path]:
    keydir = out / "keys"
    repo = Repo(out)
    if stage == 1:
        for role, name in (("root", "root-a"), ("timestamp", "timestamp-1"), ("snapshot", "snapshot"), ("targets", "targets")):
            signer = generate("ed25519")
            save_signer(keydir, name, signer)
            repo.add_top_key(role, signer)
        return repo, keydir
    # Continue from what the previous stage published.
    meta = out / "metadata"
    repo.root = Metadata[Root].from_file(str(meta / f"{stage - 1}.root.json"))
    repo.root.signed.version = stage
    repo.root.signed.expires = expiry()
    repo.roles["targets"] = Metadata[Targets].from_file(str(meta / f"{stage - 1}.targets.json"))
    repo.roles["targets"].signed.version = stage
    repo.roles["targets"].signed.expires = expiry()
    repo.snapshot.signed.version = stage
    repo.timestamp.signed.version = stage
    repo.signers["snapshot"] = [load_signer(keydir, "snapshot")]
    repo.signers["targets"] = [load_signer(keydir, "targets")]
    # Earlier targets stay published.
    for path, target in repo.roles["targets"].signed.targets.items():
        name = repo.target_file_name(target)
        repo.files[name] = (out / "targets" / name).read_bytes()
    return repo, keydir


def scenario_rotation(out: Path, stage: int) -> dict[str, Any]:
    repo, keydir = rotation_repo(out, stage)
    root = repo.root.signed
    if stage == 2:
        # New root keys (threshold 2), signed by the old key and the new ones (spec 5.3.4).
        old = load_signer(keydir, "root-a")
        new = [generate("ecdsa-p256"), generate("ed25519")]
        save_signer(keydir, "root-b", new[0])
        save_signer(keydir, "root-c", new[1])
        root.revoke_key(old.public_key.keyid, "root")
        for s in new:
            root.add_key(s.public_key, "root")
        root.roles["root"].threshold = 2
        repo.root_signers = [old, *new]
        # And a new timestamp key: the old one must no longer be accepted.
        old_ts = load_signer(keydir, "timestamp-1")
        new_ts = generate("ed25519")
        save_signer(keydir, "timestamp-2", new_ts)
        root.revoke_key(old_ts.public_key.keyid, "timestamp")
        root.add_key(new_ts.public_key, "timestamp")
        repo.signers["timestamp"] = [new_ts]
    elif stage == 3:
        # A third root key; the two current ones sign (threshold 2 of the old and the new).
        b, c = load_signer(keydir, "root-b"), load_signer(keydir, "root-c")
        d = generate("rsa-pss-2048")
        save_signer(keydir, "root-d", d)
        root.add_key(d.public_key, "root")
        repo.root_signers = [b, c]
        repo.signers["timestamp"] = [load_signer(keydir, "timestamp-2")]
    elif stage != 1:
        raise ScenarioError(f"no rotation stage {stage}")

    repo.add_target("targets", f"app/v{stage}.txt", f"application version {stage}\n".encode())
    for s in range(1, stage + 1):
        repo.expect_found(f"app/v{s}.txt", "targets")
    repo.expect_absent(f"app/v{stage + 1}.txt", "not published yet")
    repo.publish()

    # The reference client that has followed every stage, from its stored metadata.
    client_dir = out / ROTATION_CLIENT
    updater, fetcher = oracle_client(out, client_dir, bootstrap_root(out) if stage == 1 else None)
    updater.refresh()
    persisted = fetcher.take()
    check(updater._trusted_set.root.version == stage, f"python-tuf is at root {updater._trusted_set.root.version}")  # noqa: SLF001
    return manifest(
        repo,
        f"rotation-{stage}",
        stage=stage,
        roles=role_keys(root),
        persisted_refresh_requests=persisted,
    )


SCENARIOS = {
    "basic": scenario_basic,
    "delegations": scenario_delegations,
    "succinct": scenario_succinct,
    "keytypes": scenario_keytypes,
    "no-consistent": scenario_no_consistent,
    "tampered": scenario_tampered,
    "rotation-1": lambda out: scenario_rotation(out, 1),
    "rotation-2": lambda out: scenario_rotation(out, 2),
    "rotation-3": lambda out: scenario_rotation(out, 3),
}


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[2] not in SCENARIOS:
        print(f"usage: {argv[0]} OUT_DIR {{{','.join(SCENARIOS)}}}", file=sys.stderr)
        return 2
    out = Path(argv[1]).resolve()
    out.mkdir(parents=True, exist_ok=True)
    try:
        result = SCENARIOS[argv[2]](out)
    except ScenarioError as e:
        print(f"INTEROP SCENARIO ERROR ({argv[2]}): {e}", file=sys.stderr)
        return 1
    (out / "manifest.json").write_text(json.dumps(result, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
