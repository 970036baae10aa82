"""Prints the comparison table of one run of bench/compare/run.sh as Markdown.

    python report.py --criterion DIR [--newer-than FILE] [--rust-result FILE] [--node FILE] [--python FILE] [--json OUT]

--criterion: criterion's folder of the `workload` group ($CARGO_TARGET_DIR/criterion/workload),
holding native/new/estimates.json and serde_floor/new/estimates.json (median.point_estimate, ns).
--rust-result: the text the native engine returns for the workload, checked here like the others.
--node, --python: the JSON line node/bench.mjs and python/bench.py print.
Exits 1 when a part is missing or the native engine's result is wrong (a library's wrong result
is a finding: it shows in the table).
"""

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import checks  # noqa: E402


def criterion_median(folder: Path, bench: str, newer_than: Path | None) -> float | None:
    path = folder / bench / "new" / "estimates.json"
    try:
        if newer_than is not None and path.stat().st_mtime_ns <= newer_than.stat().st_mtime_ns:
            print(f"report.py: {path} is older than {newer_than}: not from this run", file=sys.stderr)
            return None
        return float(json.loads(path.read_text())["median"]["point_estimate"])
    except (OSError, KeyError, ValueError) as e:
        print(f"report.py: no criterion median in {path}: {e}", file=sys.stderr)
        return None


def load_line(path: str | None) -> dict | None:
    if not path:
        return None
    try:
        lines = [line for line in Path(path).read_text().splitlines() if line.strip()]
        return json.loads(lines[-1]) if lines else None
    except (OSError, ValueError):
        return None


def verdict(part: dict | None) -> str:
    if part is None:
        return "not run"
    if "ops" not in part:
        return "not checked"
    ops = [o for o in part["ops"] if o["op"] != 0]
    right = [o["op"] for o in ops if o["ok"]]
    wrong = [o["op"] for o in ops if not o["ok"]]
    rest = next((o for o in part["ops"] if o["op"] == 0), None)
    if part.get("ok"):
        return f"yes ({len(right)}/{len(ops)} ops)"
    said = [f"{len(right)}/{len(ops)} ops"]
    if wrong:
        said.append(f"wrong: {', '.join(map(str, wrong))}")
    if rest is not None and not rest["ok"]:
        said.append("other attributes changed")
    return "**no** (" + "; ".join(said) + ")"


def micros(ns: float | None) -> str:
    if ns is None:
        return "—"
    us = ns / 1000
    return f"{us:,.0f}" if us >= 1000 else f"{us:.1f}" if us >= 10 else f"{us:.2f}"


def ratio(ns: float | None, base: float | None) -> str:
    if ns is None or not base:
        return "—"
    r = ns / base
    return f"{r:,.0f}×" if r >= 100 else f"{r:.1f}×" if r >= 10 else f"{r:.2f}×"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--criterion", required=True, type=Path)
    parser.add_argument("--newer-than", type=Path, help="ignore criterion estimates not newer than this file")
    parser.add_argument("--rust-result")
    parser.add_argument("--node")
    parser.add_argument("--python")
    parser.add_argument("--json", help="also write the rows as JSON here")
    args = parser.parse_args()

    native = criterion_median(args.criterion, "native", args.newer_than)
    floor = criterion_median(args.criterion, "serde_floor", args.newer_than)

    rust: dict | None = {"name": "Rust scim-patch `Engine::apply_json` (native)", "median_ns": native}
    if args.rust_result:
        try:
            result = json.loads(Path(args.rust_result).read_text())
            rust["ops"] = checks.run_checks(result, {})
            rust["ok"] = checks.exact(result) and all(o["ok"] for o in rust["ops"])
            checks.print_report("Rust scim-patch native", rust["ops"], checks.exact(result), sys.stderr)
        except (OSError, ValueError) as e:
            rust["ops"] = checks.run_checks(None, {i: f"no result: {e}" for i in range(1, 8)})
            rust["ok"] = False
    node = load_line(args.node)
    python = load_line(args.python)

    rows = [
        (rust["name"], native, verdict(rust) if "ops" in rust else "not checked", "criterion"),
        ("Rust serde_json floor (parse both, serialize the resource)", floor, "—", "criterion"),
    ]
    for label, part in (("node scim-patch", node), ("python scim2-models", python)):
        if part is None:
            rows.append((label, None, "not run", ""))
        else:
            rows.append((f"{part['name']} ({part.get('runtime', '')})", part["median_ns"], verdict(part), part.get("notes", "")))

    print("| implementation | median per PATCH (µs) | result correct? | vs Rust native | vs serde floor |")
    print("|---|---:|---|---:|---:|")
    for name, ns, correct, _ in rows:
        print(f"| {name} | {micros(ns)} | {correct} | {ratio(ns, native)} | {ratio(ns, floor)} |")
    print()

    extras = []
    if node and node.get("extra", {}).get("json_floor_ns"):
        extras.append(f"Node JSON floor (JSON.parse ×2 + JSON.stringify): {micros(node['extra']['json_floor_ns'])} µs")
    if python and python.get("extra", {}).get("json_floor_ns"):
        extras.append(f"CPython JSON floor (json.loads ×2 + json.dumps): {micros(python['extra']['json_floor_ns'])} µs")
    if python and python.get("extra", {}).get("models_without_patch_ns"):
        extras.append(
            "scim2-models without `patch()` (validate both, dump): "
            f"{micros(python['extra']['models_without_patch_ns'])} µs"
        )
    for line in extras:
        print(f"- {line}")
    for part in (rust, node, python):
        if part is None:
            continue
        for o in part.get("ops", []):
            if not o["ok"]:
                print(f"- {part['name']}: op {o['op']} ({o['label']}) wrong: {o['detail']}")
    print(f"- load average when the report was made: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")

    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"native_ns": native, "serde_floor_ns": floor, "rust": rust, "node": node, "python": python},
                indent=1,
                ensure_ascii=False,
            )
        )

    complete = native is not None and floor is not None and node is not None and python is not None
    # A library that gets the workload wrong is a finding, shown in the table; the native engine
    # getting it wrong, or a part missing, fails the run.
    return 0 if complete and rust.get("ok", True) else 1


if __name__ == "__main__":
    sys.exit(main())
