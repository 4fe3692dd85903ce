#!/usr/bin/env python3
"""Regenerates the fuzz targets' committed inputs:

- fuzz/fixtures/repository/: a real repository made by updater-pack (channels stable and
  beta, one release on stable, root rotated once to version 2), signed as at
  2030-01-01T00:00:00Z; the trusted_set target embeds it;
- fuzz/seeds/<target>/: the seed corpus of each target, from that repository, the
  interoperability repository of the tests (python-tuf), and the documented examples.

Usage: python3 fuzz/make-seeds.py PATH-TO-updater-pack   (a new repository, new keys)
       python3 fuzz/make-seeds.py --keep-repository     (the seeds only, from the committed one)
scripts/fuzz.sh does not run it: the outputs are committed; rerun it when a format changes.
"""

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
ROOT = FUZZ.parent
SEEDS = FUZZ / "seeds"
REPO = FUZZ / "fixtures" / "repository"


def seed(target: str, data: bytes) -> None:
    """Writes one seed, named by its hash as libFuzzer names corpus files."""
    d = SEEDS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def make_repository(pack: str) -> dict:
    """Runs updater-pack; returns {fixture name: bytes}."""
    env = dict(os.environ, UPDATER_PACK_NOW="2030-01-01T00:00:00Z")
    with tempfile.TemporaryDirectory() as tmp:
        proj = Path(tmp) / "proj"
        run = lambda *args: subprocess.run([pack, *args], env=env, check=True,
                                           stdout=subprocess.DEVNULL)
        run("init", str(proj), "--channels", "stable,beta")
        artifact = Path(tmp) / "demo.tar.gz"
        artifact.write_bytes(tar_gz(bundle_entries()))
        run("release", str(proj), "--app", "demo", "--version", "1.0.0",
            "--platform", "linux-x86_64", "--channel", "stable", "--notes", "/dev/null",
            str(artifact))
        run("resign", str(proj), "--role", "root")
        meta = proj / "repository" / "metadata"

        def newest(role: str) -> bytes:
            files = sorted(meta.glob(f"*.{role}.json"), key=lambda p: int(p.name.split(".")[0]))
            return files[-1].read_bytes()

        return {
            "1.root.json": (meta / "1.root.json").read_bytes(),
            "2.root.json": (meta / "2.root.json").read_bytes(),
            "timestamp.json": (meta / "timestamp.json").read_bytes(),
            "snapshot.json": newest("snapshot"),
            "targets.json": newest("targets"),
            "stable.json": newest("stable"),
            "beta.json": newest("beta"),
        }


def bundle_entries() -> list:
    """(name, kind, data or link target, mode): a small `.app` bundle with a symlink."""
    return [
        ("Demo.app/", "dir", b"", 0o755),
        ("Demo.app/Contents/", "dir", b"", 0o755),
        ("Demo.app/Contents/MacOS/", "dir", b"", 0o755),
        ("Demo.app/Contents/MacOS/demo", "file", b"#!/bin/sh\necho demo 1.0.0\n", 0o755),
        ("Demo.app/Contents/Info.plist", "file", b"<plist><dict/></plist>\n", 0o644),
        ("Demo.app/Contents/Current", "symlink", b"MacOS", 0o777),
    ]


def tar_bytes(entries: list, fmt=tarfile.USTAR_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for name, kind, data, mode in entries:
            info = tarfile.TarInfo(name)
            info.mode, info.mtime = mode, 1893456000
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, data.decode()
                tar.addfile(info)
            elif kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, data.decode()
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def tar_gz(entries: list) -> bytes:
    return gzip.compress(tar_bytes(entries), mtime=0)


def unpack_seeds() -> None:
    exe = [("demo", "file", b"\x7fELF demo 1.0.0\n", 0o755)]
    nested = [("bin/", "dir", b"", 0o755), ("bin/demo", "file", b"\x7fELF\n", 0o755)]
    bundle = bundle_entries()
    links = [("app/", "dir", b"", 0o755), ("app/a", "file", b"a", 0o644),
             ("app/b", "hardlink", b"app/a", 0o644), ("app/c", "symlink", b"a", 0o777)]
    # Hostile archives: links out of the staging folder (the unpack target keeps a file
    # `canary` and a directory `outside` next to it), to the root, to themselves.
    escapes = [[("x", "symlink", target, 0o777)] for target in
               (b"../canary", b"../../canary", b"../../outside", b"/", b".", b"x")]
    escapes.append([("App.app", "symlink", b"../../outside", 0o777)])
    escapes.append([("a", "symlink", b"..", 0o777), ("a/b", "file", b"b", 0o644)])
    escapes.append([("a", "hardlink", b"../canary", 0o644)])
    for entries in (exe, nested, bundle, links, *escapes):
        for fmt in (tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT):
            raw = tar_bytes(entries, fmt)
            # Bit 0: bundle; bit 1: the target fixes checksums and compresses.
            for mode in (0, 1):
                seed("unpack", bytes([mode | 2]) + raw)
        for mode in (0, 1):
            seed("unpack", bytes([mode]) + tar_gz(entries))


def ar_archive(members: list) -> bytes:
    """An `ar` archive of (name, data), as dpkg-deb writes it."""
    out = b"!<arch>\n"
    for name, data in members:
        out += f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n".encode()
        out += data + (b"\n" if len(data) % 2 else b"")
    return out


def rpm_header(entries: list) -> bytes:
    """An RPM header of (tag, string) entries: magic, counts, index, store."""
    index, store = b"", b""
    for tag, value in entries:
        index += b"".join(n.to_bytes(4, "big") for n in (tag, 6, len(store), 1))
        store += value + b"\0"
    return (b"\x8e\xad\xe8\x01\0\0\0\0" + len(entries).to_bytes(4, "big")
            + len(store).to_bytes(4, "big") + index + store)


def package_seeds() -> None:
    """The package target: a file of each release format, small."""
    import lzma
    seed("package", b"\x7fELF\x02\x01\x01\0" + bytes(56))
    seed("package", b"\x7fELF\x02\x01\x01\0AI\x02" + bytes(53))
    seed("package", b"\xcf\xfa\xed\xfe" + bytes(28))
    seed("package", b"\xca\xfe\xba\xbe\0\0\0\x02" + bytes(40))
    seed("package", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    pe = bytearray(1024)
    pe[0:2] = b"MZ"
    pe[0x3C:0x40] = (0x80).to_bytes(4, "little")
    pe[0x80:0x84] = b"PE\0\0"
    seed("package", bytes(pe))
    pe[516:532] = b"\xef\xbe\xad\xdeNullsoftInst"
    seed("package", bytes(pe))
    control = b"Package: demo\nVersion: 1:1.2.0-1\nArchitecture: amd64\nDescription: d\n more\n"
    control_tar = tar_bytes([("./control", "file", control, 0o644)])
    data_tar = tar_gz([("./usr/bin/demo", "file", b"\x7fELF\n", 0o755)])
    for name, packed in (("control.tar.gz", gzip.compress(control_tar, mtime=0)),
                         ("control.tar.xz", lzma.compress(control_tar)),
                         ("control.tar", control_tar)):
        seed("package", ar_archive([("debian-binary", b"2.0\n"), (name, packed),
                                    ("data.tar.gz", data_tar)]))
    lead = b"\xed\xab\xee\xdb\x03\0\0\0" + bytes(88)
    sig = rpm_header([])
    sig += bytes(-len(sig) % 8)
    main_header = rpm_header([(1000, b"demo"), (1001, b"1.2.0"), (1002, b"3"), (1022, b"x86_64")])
    seed("package", lead + sig + main_header + b"payload")
    seed("package", tar_gz(bundle_entries()))
    seed("package", tar_gz([("demo/bin/demo", "file", b"\x7fELF\n", 0o755)]))


def metadata_seeds(files: dict) -> None:
    for data in files.values():
        seed("metadata_cjson", data)
    interop = ROOT / "tuf-updater-core" / "tests" / "interop"
    for path in sorted(interop.rglob("*.json")):
        seed("metadata_cjson", path.read_bytes())
    for doc in [
        '{"b":1,"a":[true,false,null],"c":{"z":"x\\"y\\\\z","é":"ü\\n\\t\\u0001"},"":-5}',
        '{"dup":1,"a":2,"dup":3}', '{"a\\u0000":1,"a":2,"a-":3}', '18446744073709551615',
        '[1,[2,[3,{"k":"v","a":{}}]],"",{},[]]', '{"x":-9223372036854775808}',
        '{"signed":{"_type":"targets","spec_version":"1.0.0","version":1,'
        '"expires":"2030-01-01T00:00:00Z","targets":{"a":{"length":1,"hashes":{"sha256":"00"}}}},'
        '"signatures":[]}',
    ]:
        seed("metadata_cjson", doc.encode())


def trusted_set_seeds(files: dict) -> None:
    order = ["2.root.json", "timestamp.json", "snapshot.json", "targets.json", "stable.json"]
    for role, name in enumerate(order):
        for cache in (0, 8):
            seed("trusted_set", bytes([role | cache]) + files[name])
    # The other channel's file where stable is expected, and root 1 as the next root.
    seed("trusted_set", bytes([4 | 8]) + files["beta.json"])
    seed("trusted_set", bytes([0]) + files["1.root.json"])


def policy_seeds() -> None:
    docs = [
        {"enabled": True, "channel": "stable", "allowed_channels": ["stable", "beta"],
         "pinned_version": "~1.4", "allow_rollback": False, "check_interval": "6h",
         "repository_mirror": "https://updates.example.internal/app/"},
        {"enabled": False}, {}, {"channel": None, "pinned_version": ">=1.2, <2.0.0-0"},
        {"check_interval": "90s", "allow_rollback": True, "pinned_version": "=1.0.0"},
        {"repository_mirror": "http://[::1]:8080/r?x=1#f", "allowed_channels": ["a.b_c-d"]},
    ]
    for doc in docs:
        seed("policy", json.dumps(doc).encode())


def settings_seeds() -> None:
    docs = [
        {"install_id": "5f0c3e2a9b8d4c7e1f6a2b3c4d5e6f70", "channel": "beta", "enabled": True,
         "rolled_back_versions": ["1.3.0", "x", "2.0.0-rc.1+b"],
         "rollback_notice": {"failed_version": "1.3.0", "restored_version": "1.2.0",
                             "reason": "version 1.3.0 did not confirm within 3 launches"}},
        {"install_id": "0123456789abcdef0123456789abcdef"},
        {"install_id": "0123456789abcdef0123456789abcdef", "future": {"k": [1, -2, 3.5]},
         "rollback_notice": 7, "rolled_back_versions": None},
    ]
    for doc in docs:
        seed("settings", json.dumps(doc, indent=2).encode())


def journal_seeds() -> None:
    base = {"from_version": "1.0.0", "to_version": "2.0.0", "staged": "/d/staged",
            "backup": "/d/backup", "new_id": "ab" * 32}
    states = [{"state": "staged"}, {"state": "backed_up"},
              {"state": "swapped", "launches": 2},
              {"state": "rolling_back", "reason": "did not confirm"},
              {"state": "rolled_back", "reason": "did not confirm"}]
    targets = [{"kind": "executable", "path": "/opt/app/app"},
               {"kind": "bundle", "path": "/Applications/Demo.app"}]
    for i, state in enumerate(states):
        doc = dict(state, **base, target=targets[i % 2])
        seed("journal", json.dumps(doc, indent=2).encode())


def tauri_config_seeds(files: dict) -> None:
    full = {"repository": "https://updates.example.com/my-app",
            "mirrors": ["https://mirror.example.net/my-app"],
            "trustedRoot": json.loads(files["1.root.json"]),
            "trustedRootFile": "update-root.json", "channel": "stable", "checkOnStart": True,
            "checkIntervalSecs": 21600, "prompt": False, "confirmWindow": "main",
            "maxUnconfirmedLaunches": 3, "appName": "my-app", "timeoutSecs": 30}
    docs = [full, {"repository": "http://127.0.0.1:8080", "trustedRoot":
                   files["1.root.json"].decode()},
            {"trustedRootFile": "/etc/app/root.json"}, None, {}]
    for doc in docs:
        seed("tauri_config", json.dumps(doc).encode())


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    if sys.argv[1] == "--keep-repository":
        files = {p.name: p.read_bytes() for p in REPO.iterdir()}
    else:
        files = make_repository(sys.argv[1])
        shutil.rmtree(REPO, ignore_errors=True)
        REPO.mkdir(parents=True)
        for name, data in files.items():
            (REPO / name).write_bytes(data)
    shutil.rmtree(SEEDS, ignore_errors=True)
    metadata_seeds(files)
    trusted_set_seeds(files)
    policy_seeds()
    settings_seeds()
    journal_seeds()
    unpack_seeds()
    package_seeds()
    tauri_config_seeds(files)
    for d in sorted(SEEDS.iterdir()):
        print(f"{d.name}: {len(list(d.iterdir()))} seeds")


if __name__ == "__main__":
    main()
