#!/usr/bin/env python3
"""Model of the metadata an app downloads to check, for the layouts weighed in
docs/metadata-scale.md (issue 12).

Builds every metadata file an app would fetch as our publisher writes it (compact JSON,
sorted keys, one ed25519 signature, the release's custom fields) for each layout, and
prints its bytes (raw and gzipped) and requests for the four check cases. The `today` rows
are checked against `cargo bench -p updater-pack --bench metadata_scale`, which measures that
layout for real.

    python3 bench/metadata_layout_model.py
"""

import gzip
import hashlib
import json

EXPIRES = "2030-01-01T00:00:00Z"
PUBLISHED = "2030-01-01T00:00:00Z"
PLATFORMS = ["linux-x86_64", "linux-aarch64", "darwin-x86_64", "darwin-aarch64",
             "windows-x86_64", "windows-aarch64"]
CHANNELS = ["stable", "beta"]
TIMESTAMP = 469   # bytes of timestamp.json (measured; constant)
HEAD = 16         # newest releases a head role holds (8 to 16: 8 move to the archive at 17)
BINS = 64         # succinct hashed bins per channel, option (b)


def hexof(*parts, n=64):
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:n]


KEYID = hexof("channel-key")
SIGNATURE = {"keyid": KEYID, "sig": hexof("s1") + hexof("s2")}
KEY = {"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": hexof("pub")}}


def dump(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def size(value):
    b = dump(value)
    return len(b), len(gzip.compress(b, 6))


def version(i):
    return f"1.{i // 100}.{i % 100}"


def target(channel, app, i, seg):
    v = version(i)
    path = f"{channel}/{app}/{v}/{seg}/{app}_{v}_{seg}.tar.gz"
    custom = {"critical": False, "kind": "full", "notes": "", "published": PUBLISHED,
              "rollout": {"percent": 100}, "version": v}
    return path, {"custom": custom, "hashes": {"sha256": hexof(path)},
                  "length": 40_000_000 + i}


def role(targets=None, delegations=None, version_=7):
    signed = {"_type": "targets", "expires": EXPIRES, "spec_version": "1.0.34",
              "targets": dict(targets or []), "version": version_}
    if delegations is not None:
        signed["delegations"] = delegations
    return {"signatures": [SIGNATURE], "signed": signed}


def delegation(name, pattern, terminating=True):
    return {"keyids": [KEYID], "name": name, "paths": [pattern],
            "terminating": terminating, "threshold": 1}


def delegations(roles):
    return {"keys": {KEYID: KEY}, "roles": roles}


def succinct(channel, bits):
    return {"keys": {KEYID: KEY}, "succinct_roles": {
        "bit_length": bits, "keyids": [KEYID], "name_prefix": f"{channel}.bin", "threshold": 1}}


def snapshot(names, hashes=True):
    meta = {}
    for n in names:
        m = {"length": 4_000 + len(n) * 7, "version": 123}
        if hashes:
            m["hashes"] = {"sha256": hexof("snap", n)}
        meta[f"{n}.json"] = m
    return {"signatures": [SIGNATURE], "signed": {
        "_type": "snapshot", "expires": EXPIRES, "meta": meta, "spec_version": "1.0.34",
        "version": 456}}


class Shape:
    def __init__(self, apps, releases):
        self.apps = [f"app-{a:02}" for a in range(apps)]
        self.releases = releases

    @property
    def targets(self):
        return len(self.apps) * len(PLATFORMS) * len(CHANNELS) * self.releases


def cases(files, cold, other, same, pinned):
    """Bytes (raw, gzip) and requests of each case; every case also probes N+1.root.json
    (404) and fetches timestamp.json."""
    out = {}
    for case, names in (("cold", cold), ("other", other), ("same", same), ("pinned", pinned)):
        raw = TIMESTAMP + sum(files[n][0] for n in names)
        gz = TIMESTAMP + sum(files[n][1] for n in names)
        out[case] = (raw, gz, 2 + len(names))
    return out


def today(shape):
    """targets -> one role per channel holding every release of the channel."""
    beta = role([target("beta", a, i, p) for a in shape.apps for p in PLATFORMS
                 for i in range(shape.releases)])
    top = role(delegations=delegations([delegation(c, f"{c}/*/*/*/*") for c in CHANNELS]))
    files = {"snapshot": size(snapshot(["targets"] + CHANNELS)), "targets": size(top),
             "beta": size(beta)}
    files["snapshot_roles"] = (3, 3)
    return files, cases(files, ["snapshot", "targets", "beta"], ["snapshot", "beta"],
                        ["snapshot", "beta"], [])


def head_archive(shape, apps_in_repo, hashes):
    """(a): targets -> <channel> (delegations per app) -> <channel>.<app> (per platform:
    head, then archive) -> <channel>.<app>.<platform> (newest HEAD) and
    <channel>.<app>.<platform>.archive (older, moved in batches of HEAD / 2). With one app
    in the repository, (e), the per-app level is left out: the channel delegates to the
    heads and archives directly."""
    app, plat = apps_in_repo[0], PLATFORMS[0]
    older = max(0, shape.releases - HEAD)
    head = role([target("beta", app, i, plat) for i in range(older, shape.releases)])
    archive = role([target("beta", app, i, plat) for i in range(0, older)])
    per_segment = [delegation(f"beta.{app}.{p}", f"beta/{app}/*/{p}/*", False)
                   for p in PLATFORMS] + [
        delegation(f"beta.{app}.{p}.archive", f"beta/{app}/*/{p}/*") for p in PLATFORMS]
    top = role(delegations=delegations([delegation(c, f"{c}/*/*/*/*") for c in CHANNELS]))
    leaves = [f"{c}.{a}.{p}{s}" for c in CHANNELS for a in apps_in_repo for p in PLATFORMS
              for s in ("", ".archive")]
    if len(apps_in_repo) == 1:
        files = {"channel": size(role(delegations=delegations(per_segment)))}
        names = ["targets"] + CHANNELS + leaves
        cold = ["snapshot", "targets", "channel", "head"]
    else:
        files = {"channel": size(role(delegations=delegations(
            [delegation(f"beta.{a}", f"beta/{a}/*/*/*") for a in apps_in_repo]))),
            "app": size(role(delegations=delegations(per_segment)))}
        names = ["targets"] + CHANNELS + [f"{c}.{a}" for c in CHANNELS
                                          for a in apps_in_repo] + leaves
        cold = ["snapshot", "targets", "channel", "app", "head"]
    files.update({"snapshot": size(snapshot(names, hashes)), "targets": size(top),
                  "head": size(head), "archive": size(archive),
                  "snapshot_roles": (len(names), len(names))})
    return files, cases(files, cold, ["snapshot"], ["snapshot", "head"], ["archive"])


def hashed_bins(shape):
    """(b): targets -> <channel> (succinct delegation to BINS bins) -> bins by path hash.
    A check must read every bin: it does not know the newest release's path."""
    per_bin = len(shape.apps) * len(PLATFORMS) * shape.releases // BINS
    binrole = role([target("beta", shape.apps[0], i, PLATFORMS[0]) for i in range(per_bin)])
    channel = role(delegations=succinct("beta", BINS.bit_length() - 1))
    top = role(delegations=delegations([delegation(c, f"{c}/*/*/*/*") for c in CHANNELS]))
    names = ["targets"] + CHANNELS + [f"{c}.bin-{i:02x}" for c in CHANNELS for i in range(BINS)]
    files = {"snapshot": size(snapshot(names, False)), "targets": size(top),
             "channel": size(channel), "bin": size(binrole),
             "snapshot_roles": (len(names), len(names))}
    allbins = (files["bin"][0] * BINS, files["bin"][1] * BINS)
    files["all bins"] = allbins
    return files, cases(files, ["snapshot", "targets", "channel", "all bins"],
                        ["snapshot", "bin"], ["snapshot", "bin"], [])


def index(shape):
    """(c): a per-channel signed index of the newest release of every app and platform
    (delegated by the channel; the full history stays in the channel role for pins)."""
    idx = role([target("beta", a, shape.releases - 1, p) for a in shape.apps for p in PLATFORMS])
    top = role(delegations=delegations([delegation(c, f"{c}/*/*/*/*") for c in CHANNELS]))
    names = ["targets"] + CHANNELS + [f"{c}.index" for c in CHANNELS]
    files = {"snapshot": size(snapshot(names)), "targets": size(top), "index": size(idx),
             "snapshot_roles": (len(names), len(names))}
    beta = today(shape)[0]["beta"]
    files["beta"] = beta
    return files, cases(files, ["snapshot", "targets", "index"], ["snapshot", "index"],
                        ["snapshot", "index"], ["beta"])


def per_app_repo(shape):
    """(e): one TUF repository per app (same keys, same root), each laid out as (a)."""
    files, c = head_archive(shape, shape.apps[:1], True)
    # Another app's release changes nothing in this app's repository.
    c["other"] = (TIMESTAMP, TIMESTAMP, 2)
    return files, c


def kb(n):
    return f"{n / 1024:.1f}"


def main():
    options = [
        ("today: one role per channel", today),
        ("(a) heads + archives, snapshot with hashes", lambda s: head_archive(s, s.apps, True)),
        ("(a) heads + archives, snapshot without hashes",
         lambda s: head_archive(s, s.apps, False)),
        (f"(b) {BINS} hashed bins per channel", hashed_bins),
        ("(c) per-channel index + channel role", index),
        ("(e) per-app repositories, each (a)", per_app_repo),
    ]
    shapes = [Shape(2, 42), Shape(20, 500)]
    print("KiB raw / gzip, requests. cold | after another app's release | after the same "
          "app's release | pinned lookup of an archived version (warm, extra)\n")
    print("| layout | targets | snapshot KiB (roles) | cold | other app | same app | pinned |")
    print("|---|---|---|---|---|---|---|")
    for name, fn in options:
        for shape in shapes:
            files, c = fn(shape)
            snap = files["snapshot"]
            cells = [f"{kb(r)} / {kb(g)}, {n}" for r, g, n in
                     (c["cold"], c["other"], c["same"], c["pinned"])]
            print(f"| {name} | {shape.targets:,} | {kb(snap[0])} / {kb(snap[1])} "
                  f"({files['snapshot_roles'][0]}) | " + " | ".join(cells) + " |")
    files, _ = today(Shape(20, 500))
    t = target("beta", "app-00", 0, PLATFORMS[0])
    print(f"\ntarget entry {len(dump(dict([t]))) - 1} B; role sizes at 120,000: "
          + ", ".join(f"{k} {v[0]:,} B" for k, v in files.items()))


if __name__ == "__main__":
    main()
