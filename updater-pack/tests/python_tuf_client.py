#!/usr/bin/env python3
"""python-tuf's ngclient against a repository made by updater-pack (interoperability test).

Acts as a deployed app would: the first run trusts --root (copied into --metadata-dir as
root.json); every run refreshes, looks each --get target up through the delegations,
downloads it and checks its bytes, and checks that each --absent target is not found.
Prints a JSON report on stdout. Exits 1 on any failure, including python-tuf missing:
the interoperability test must fail, not skip, on a machine without it.
"""

import argparse
import hashlib
import json
import os
import shutil
import sys

try:
    from tuf.ngclient import Updater
    import tuf
except ImportError as e:  # pragma: no cover - the point is to fail loudly
    print(f"python-tuf is not installed ({e}); pip install -r .ci/requirements.txt", file=sys.stderr)
    sys.exit(1)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--metadata-url", required=True)
    p.add_argument("--targets-url", required=True)
    p.add_argument("--metadata-dir", required=True)
    p.add_argument("--download-dir", required=True)
    p.add_argument("--root", help="trusted root for the first run")
    p.add_argument("--get", action="append", default=[])
    p.add_argument("--absent", action="append", default=[])
    args = p.parse_args()

    os.makedirs(args.metadata_dir, exist_ok=True)
    os.makedirs(args.download_dir, exist_ok=True)
    local_root = os.path.join(args.metadata_dir, "root.json")
    if not os.path.exists(local_root):
        if not args.root:
            print("no trusted root: pass --root on the first run", file=sys.stderr)
            return 1
        shutil.copyfile(args.root, local_root)

    updater = Updater(
        metadata_dir=args.metadata_dir,
        metadata_base_url=args.metadata_url,
        target_base_url=args.targets_url,
        target_dir=args.download_dir,
        # None: start from the root.json in metadata_dir, as a deployed app does.
        bootstrap=None,
    )
    updater.refresh()

    report = {"tuf_version": tuf.__version__, "targets": {}, "absent": []}
    with open(local_root, "rb") as f:
        report["root_version"] = json.load(f)["signed"]["version"]

    for path in args.get:
        info = updater.get_targetinfo(path)
        if info is None:
            print(f"target {path} not found", file=sys.stderr)
            return 1
        local = os.path.join(args.download_dir, path.replace("/", "_"))
        downloaded = updater.download_target(info, filepath=local)
        with open(downloaded, "rb") as f:
            data = f.read()
        report["targets"][path] = {
            "length": info.length,
            "sha256": info.hashes.get("sha256"),
            "download_sha256": hashlib.sha256(data).hexdigest(),
            "download_length": len(data),
            "custom": info.custom,
        }

    for path in args.absent:
        if updater.get_targetinfo(path) is not None:
            print(f"target {path} should be absent", file=sys.stderr)
            return 1
        report["absent"].append(path)

    print(json.dumps(report, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
