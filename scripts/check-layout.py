#!/usr/bin/env python3
"""Checks the shape rules of docs/architecture.md on the workspace's Rust sources:

- no import cycle between the modules (files) of a crate: `use crate::a::b` and `use super::x`
  in non-test code are edges from the importing file's module to the module they name;
- no non-test source file over 700 lines (a file's test module, from its `#[cfg(test)]`, and
  files under tests/, benches/ and examples/ do not count);
- no function over 100 lines (counted from `fn` to its closing brace at the same indent).

Usage: python3 scripts/check-layout.py [--verbose]. Exits 1 and lists what breaks a rule.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRATES = ["tuf-updater-core", "updater-pack", "tauri-plugin-tuf-updater", "demo-app"]
MAX_FILE_LINES = 700
MAX_FN_LINES = 100


def module_of(src: Path, file: Path) -> tuple:
    """`src/a/b.rs` -> ("a", "b"); `src/a/mod.rs` -> ("a",); `src/lib.rs` -> ()."""
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts and parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


def non_test_code(text: str) -> list:
    """The lines before the first top-level `#[cfg(test)]` (a file's test module comes last)."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("#[cfg(test)]"):
            return lines[:i]
    return lines


USE_RE = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", re.S | re.M)


def use_paths(code: str) -> list:
    """Every path a `use` brings in, braces expanded one level: `a::{b, c::d}` -> a::b, a::c::d."""
    out = []
    for m in USE_RE.finditer(code):
        body = re.sub(r"\s+", "", m.group(1))
        if "{" in body:
            head, _, rest = body.partition("{")
            for item in rest.rstrip("}").split(","):
                if item:
                    out.append(head + item.split("{")[0])
        else:
            out.append(body)
    return out


def resolve(path: str, here: tuple, is_mod_file: bool, modules: set):
    """The module a `use` path points into, or None when it leaves the crate."""
    segs = [s for s in path.split("::") if s and s != "self"]
    if not segs:
        return None
    if segs[0] == "crate":
        base, segs = (), segs[1:]
    elif segs[0] == "super":
        # In `a/b.rs` (module a::b) `super` is `a`; in `a/mod.rs` (module a) it is the root.
        base = here[:-1]
        segs = segs[1:]
        while segs and segs[0] == "super":
            base, segs = base[:-1], segs[1:]
    elif here + (segs[0],) in modules:
        base = here  # a child module, named relative to this one
    else:
        return None
    target = base
    for s in segs:
        if target + (s,) in modules:
            target = target + (s,)
        else:
            break
    return target


def cycles(src: Path) -> list:
    files = sorted(src.rglob("*.rs"))
    modules = {module_of(src, f) for f in files}
    graph = {m: set() for m in modules}
    for f in files:
        here = module_of(src, f)
        code = "\n".join(non_test_code(f.read_text()))
        for p in use_paths(code):
            t = resolve(p, here, f.name == "mod.rs", modules)
            if t is not None and t != here:
                graph[here].add(t)
    # Tarjan's strongly connected components.
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted("::".join(c) or "crate" for c in comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


FN_RE = re.compile(r"^(\s*)(?:pub(?:\([^)]*\))?\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?fn\s+(\w+)")


def long_functions(file: Path) -> list:
    lines = non_test_code(file.read_text())
    out = []
    for i, line in enumerate(lines):
        m = FN_RE.match(line)
        if not m:
            continue
        indent = m.group(1)
        # The body ends at the first `}` line with the same indent after the signature.
        for j in range(i + 1, len(lines)):
            if lines[j] == indent + "}":
                if j - i + 1 > MAX_FN_LINES:
                    out.append((m.group(2), i + 1, j - i + 1))
                break
            if lines[j].startswith(indent + "fn ") or (
                lines[j].strip() and not lines[j].startswith(indent) and lines[j] != ""
            ):
                if not lines[j].startswith(indent):
                    break
    return out


def main() -> int:
    verbose = "--verbose" in sys.argv
    problems = []
    for crate in CRATES:
        src = ROOT / crate / "src"
        if not src.is_dir():
            continue
        for comp in cycles(src):
            problems.append(f"{crate}: import cycle between modules {', '.join(comp)}")
        for f in sorted(src.rglob("*.rs")):
            if f.name.endswith("_tests.rs"):
                continue
            n = len(non_test_code(f.read_text()))
            rel = f.relative_to(ROOT)
            if n > MAX_FILE_LINES:
                problems.append(f"{rel}: {n} lines of non-test code (max {MAX_FILE_LINES})")
            for name, line, length in long_functions(f):
                problems.append(f"{rel}:{line}: fn {name} is {length} lines (max {MAX_FN_LINES})")
            if verbose:
                print(f"{n:5} {rel}")
    for p in problems:
        print(p)
    if not problems:
        print("layout: no import cycles, files and functions within their limits")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
