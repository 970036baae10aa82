#!/usr/bin/env python3
"""Writes afl seed inputs from the fixture corpus: seeds/apply (profile byte, resource, NUL, patch),
seeds/path and seeds/filter (profile byte, text). Run from fuzz/: python3 seeds.py"""
import json, pathlib, re

root = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures"
out = pathlib.Path(__file__).resolve().parent / "seeds"
for kind in ("apply", "path", "filter"):
    (out / kind).mkdir(parents=True, exist_ok=True)
paths, filters = set(), set()
n = 0
for file in sorted((root / "patch").glob("*.json")):
    cases = json.loads(file.read_text())
    cases = cases if isinstance(cases, list) else [cases]
    for case in cases:
        res = case["resource"]
        if isinstance(res, str):
            res = json.loads((root / "resources" / f"{res}.json").read_text())
        if "config" in case:
            continue
        profile = b"\x01" if case.get("profile") == "strict" else b"\x00"
        body = json.dumps(res, separators=(",", ":")) + "\0" + json.dumps(case["patch"], separators=(",", ":"))
        if len(body) <= 8192:  # afl wants small seeds; the big-group cases only slow it down
            (out / "apply" / f"{n:04}").write_bytes(profile + body.encode())
            n += 1
        ops = case["patch"].get("Operations", []) if isinstance(case["patch"], dict) else []
        for op in ops if isinstance(ops, list) else []:
            p = op.get("path") if isinstance(op, dict) else None
            if isinstance(p, str):
                paths.add((profile, p))
                m = re.search(r"\[(.*)\]", p)
                if m:
                    filters.add((profile, m.group(1)))
for i, (profile, p) in enumerate(sorted(paths)):
    (out / "path" / f"{i:04}").write_bytes(profile + p.encode())
for i, (profile, f) in enumerate(sorted(filters)):
    (out / "filter" / f"{i:04}").write_bytes(profile + f.encode())
print(n, "apply seeds,", len(paths), "paths,", len(filters), "filters")
