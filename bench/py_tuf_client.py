#!/usr/bin/env python3
"""Minimal python-tuf ngclient speaking the tuf-conformance client CLI.

    py_tuf_client.py --metadata-dir DIR init TRUSTED_ROOT
    py_tuf_client.py --metadata-dir DIR --metadata-url URL refresh
    py_tuf_client.py --metadata-dir DIR --metadata-url URL --target-name PATH
        [--target-name PATH ...] --target-base-url URL --target-dir DIR download

Exit code 0 on success, 1 on any failure.
"""

import argparse
import os
import shutil
import sys

from tuf.ngclient import Updater


def run(args: argparse.Namespace) -> None:
    if args.command == "init":
        os.makedirs(args.metadata_dir, exist_ok=True)
        shutil.copyfile(args.trusted_root, os.path.join(args.metadata_dir, "root.json"))
        return

    # bootstrap=None: the root.json in the metadata dir (written by init) is the trust anchor.
    updater = Updater(
        args.metadata_dir,
        args.metadata_url,
        args.target_dir,
        args.target_base_url,
        bootstrap=None,
    )
    if args.command == "refresh":
        updater.refresh()
        return

    # Targets are stored as urllib.parse.quote(target_path, "") in the target dir.
    for name in args.target_name:
        info = updater.get_targetinfo(name)
        if info is None:
            raise LookupError(f"target {name!r} not found")
        if updater.find_cached_target(info) is None:
            updater.download_target(info)


def main() -> int:
    parser = argparse.ArgumentParser(description="python-tuf ngclient (tuf-conformance CLI)")
    parser.add_argument("--metadata-dir", required=True)
    parser.add_argument("--metadata-url")
    parser.add_argument("--target-name", action="append", default=[])
    parser.add_argument("--target-base-url")
    parser.add_argument("--target-dir")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("init").add_argument("trusted_root")
    sub.add_parser("refresh")
    sub.add_parser("download")

    try:
        args = parser.parse_args()
        run(args)
    except SystemExit as e:  # argparse: --help exits 0, usage errors exit 2
        return 0 if e.code in (0, None) else 1
    except Exception as e:  # noqa: BLE001 - the CLI contract is exit code 0 or 1
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
