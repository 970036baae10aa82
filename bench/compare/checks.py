"""The result checks of expected.json, shared by python/bench.py and report.py.

node/bench.mjs carries the same logic in JavaScript: keep the two in step.
"""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
WORKLOAD = ROOT / "tests" / "fixtures" / "bench" / "workload.json"
EXPECTED = HERE / "expected.json"


def load_expected() -> dict:
    return json.loads(EXPECTED.read_text(encoding="utf-8"))


def load_workload() -> dict:
    return json.loads(WORKLOAD.read_text(encoding="utf-8"))


def canon(value) -> str:
    """A canonical text of a JSON value: object keys sorted, arrays as unordered (RFC 7643 §2.4)."""
    if isinstance(value, list):
        return "[" + ",".join(sorted(canon(v) for v in value)) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(
            json.dumps(k, ensure_ascii=False) + ":" + canon(value[k]) for k in sorted(value)
        ) + "}"
    return json.dumps(value, ensure_ascii=False)


def same(a, b) -> bool:
    return canon(a) == canon(b)


def _matches(entry, want: dict) -> bool:
    return isinstance(entry, dict) and all(same(entry.get(k), v) for k, v in want.items())


def _at(doc, path):
    value = doc
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def run_checks(result: dict | None, rejected: dict[int, str], expected: dict | None = None) -> list[dict]:
    """One entry per operation of the workload, then op 0: every attribute no check names is unchanged.

    rejected maps the number (from 1) of an operation the implementation refused to the error.
    """
    expected = expected or load_expected()
    result = result if isinstance(result, dict) else {}
    ops: dict[int, dict] = {}
    touched = set()
    for check in expected["checks"]:
        touched.add(check["path"][0])
        entry = ops.setdefault(check["op"], {"op": check["op"], "label": check["label"], "ok": True, "detail": []})
        if check["op"] in rejected:
            entry["ok"] = False
            if not entry["detail"]:
                entry["detail"].append(f"rejected: {rejected[check['op']]}")
            continue
        got = _at(result, check["path"])
        name = ".".join(check["path"])
        if "equals" in check and not same(got, check["equals"]):
            entry["ok"] = False
            entry["detail"].append(f"{name} = {json.dumps(got)}")
        entries = got if isinstance(got, list) else []
        for want in check.get("contains", []):
            if not any(_matches(e, want) for e in entries):
                entry["ok"] = False
                entry["detail"].append(f"{name} has no {json.dumps(want)}")
        for unwanted in check.get("lacks", []):
            if any(_matches(e, unwanted) for e in entries):
                entry["ok"] = False
                entry["detail"].append(f"{name} still has {json.dumps(unwanted)}")
    rest = {"op": 0, "label": "everything else unchanged", "ok": True, "detail": []}
    for key in sorted(set(result) | set(expected["result"])):
        if key in touched:
            continue
        if not same(result.get(key), expected["result"].get(key)):
            rest["ok"] = False
            rest["detail"].append(f"{key} = {json.dumps(result.get(key))}")
    out = [ops[k] for k in sorted(ops)] + [rest]
    return [{**o, "detail": "; ".join(o["detail"])} for o in out]


def exact(result, expected: dict | None = None) -> bool:
    expected = expected or load_expected()
    return same(result, expected["result"])


def print_report(name: str, ops: list[dict], is_exact: bool, file) -> None:
    print(f"{name}: result checks", file=file)
    for o in ops:
        detail = f" — {o['detail']}" if o["detail"] else ""
        print(f"  {'ok  ' if o['ok'] else 'FAIL'} op {o['op']}: {o['label']}{detail}", file=file)
    print(f"  whole result {'equals' if is_exact else 'differs from'} expected.json", file=file)
