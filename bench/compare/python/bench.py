"""Runs the benchmark workload (tests/fixtures/bench/workload.json) through the PyPI
`scim2-models` package, string in -> string out, after checking its result against
../expected.json.

    python bench.py [--samples N] [--batch N | --sample-ms MS] [--warmup-ms MS] [--workload FILE]

One iteration is the library's own path for a PATCH request on a stored resource:

    user = User[EnterpriseUser].model_validate_json(resource_text)           # the stored resource
    patch = PatchOp[User[EnterpriseUser]].model_validate_json(
        patch_text, scim_ctx=Context.RESOURCE_PATCH_REQUEST)                  # the request body
    patch.patch(user)                                                        # applies in place, atomically
    user.model_dump_json(scim_ctx=Context.RESOURCE_PATCH_RESPONSE)           # the response body

The check report goes to stderr; stdout gets one JSON line:
{"name", "median_ns", "ok", "notes", "ops": [...], "extra": {...}, ...}
"""

import argparse
import gc
import json
import platform
import sys
import time
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import checks  # noqa: E402
from scim2_models import Context, EnterpriseUser, PatchOp, User  # noqa: E402

UserT = User[EnterpriseUser]
PatchT = PatchOp[UserT]


def apply_text(resource_text: str, patch_text: str) -> str:
    user = UserT.model_validate_json(resource_text)
    patch = PatchT.model_validate_json(patch_text, scim_ctx=Context.RESOURCE_PATCH_REQUEST)
    patch.patch(user)
    return user.model_dump_json(scim_ctx=Context.RESOURCE_PATCH_RESPONSE)


def model_roundtrip(resource_text: str, patch_text: str) -> str:
    """The same path without patch.patch: what the models cost on their own."""
    user = UserT.model_validate_json(resource_text)
    PatchT.model_validate_json(patch_text, scim_ctx=Context.RESOURCE_PATCH_REQUEST)
    return user.model_dump_json(scim_ctx=Context.RESOURCE_PATCH_RESPONSE)


def json_floor(resource_text: str, patch_text: str) -> str:
    resource = json.loads(resource_text)
    json.loads(patch_text)
    return json.dumps(resource)


def error_text(e: BaseException) -> str:
    text = " ".join(line.strip() for line in str(e).splitlines() if line.strip())
    return f"{type(e).__name__}: {text[:300]}"


def validate(workload: dict, resource_text: str, full_patch_text: str):
    """Apply the whole patch; when the library rejects it, find the operations it rejects one
    by one and keep the patch of the others, which is what gets timed."""
    rejected: dict[int, str] = {}
    patch_text = full_patch_text
    try:
        output = apply_text(resource_text, full_patch_text)
    except Exception as e:  # noqa: BLE001 - any rejection is a finding
        current, kept = resource_text, []
        for i, op in enumerate(workload["patch"]["Operations"], start=1):
            one = json.dumps({**workload["patch"], "Operations": [op]})
            try:
                current = apply_text(current, one)
                kept.append(op)
            except Exception as err:  # noqa: BLE001
                rejected[i] = error_text(err)
        if not rejected:
            raise RuntimeError(f"rejects the patch but no operation alone: {error_text(e)}") from e
        patch_text = json.dumps({**workload["patch"], "Operations": kept})
        output = apply_text(resource_text, patch_text) if kept else resource_text
    result = json.loads(output)
    ops = checks.run_checks(result, rejected)
    is_exact = not rejected and checks.exact(result)
    return ops, is_exact, patch_text, rejected


def measure(fn, resource_text: str, patch_text: str, samples: int, batch: int | None,
            warmup_ms: float, sample_ms: float) -> dict:
    """Median (and quartiles) of the time per iteration over samples of batch iterations each.

    With no batch given, the warm-up's rate sets one so that a sample lasts about sample_ms.
    """
    sink = 0
    started = time.perf_counter_ns()
    deadline = started + int(warmup_ms * 1e6)
    done = 0
    while True:
        sink += len(fn(resource_text, patch_text))
        done += 1
        now = time.perf_counter_ns()
        if now >= deadline and done >= 3:
            break
    if batch is None:
        batch = max(1, round(sample_ms * 1e6 / ((now - started) / done)))
    per_iter = []
    for _ in range(samples):
        t0 = time.perf_counter_ns()
        for _ in range(batch):
            sink += len(fn(resource_text, patch_text))
        t1 = time.perf_counter_ns()
        per_iter.append((t1 - t0) / batch)
    assert sink > 0
    per_iter.sort()

    def q(f: float) -> float:
        x = f * (len(per_iter) - 1)
        lo, hi = int(x), min(int(x) + 1, len(per_iter) - 1)
        return per_iter[lo] + (per_iter[hi] - per_iter[lo]) * (x - lo)

    return {"median": q(0.5), "q1": q(0.25), "q3": q(0.75), "min": per_iter[0], "batch": batch}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--batch", type=int, default=None,
                        help="iterations per sample (default: as many as fill --sample-ms)")
    parser.add_argument("--sample-ms", type=float, default=100)
    parser.add_argument("--warmup-ms", type=float, default=1000)
    parser.add_argument("--workload", type=Path, default=checks.WORKLOAD,
                        help="another {resource, patch} file (the checks stay those of ../expected.json)")
    args = parser.parse_args()

    workload = json.loads(args.workload.read_text(encoding="utf-8"))
    resource_text = json.dumps(workload["resource"])
    full_patch_text = json.dumps(workload["patch"])
    name = f"python scim2-models {version('scim2-models')}"
    runtime = f"{platform.python_implementation()} {platform.python_version()}, pydantic {version('pydantic')}"

    ops, is_exact, patch_text, rejected = validate(workload, resource_text, full_patch_text)
    checks.print_report(f"{name} ({runtime})", ops, is_exact, sys.stderr)

    gc.collect()
    run = dict(samples=args.samples, batch=args.batch, sample_ms=args.sample_ms)
    timing = measure(apply_text, resource_text, patch_text, warmup_ms=args.warmup_ms, **run)
    models = measure(model_roundtrip, resource_text, patch_text, warmup_ms=args.warmup_ms / 4, **run)
    run["batch"] = None
    floor = measure(json_floor, resource_text, patch_text, warmup_ms=args.warmup_ms / 4, **run)
    wrong = [o["op"] for o in ops if not o["ok"]]
    notes = "; ".join(
        n
        for n in [
            "User[EnterpriseUser].model_validate_json + PatchOp.model_validate_json(RESOURCE_PATCH_REQUEST)"
            " + patch() + model_dump_json(RESOURCE_PATCH_RESPONSE)",
            f"timed without the rejected operations {', '.join(map(str, rejected))}" if rejected else None,
            f"wrong: ops {', '.join(map(str, wrong))}" if wrong else None,
        ]
        if n
    )
    print(
        json.dumps(
            {
                "name": name,
                "runtime": runtime,
                "median_ns": round(timing["median"]),
                "q1_ns": round(timing["q1"]),
                "q3_ns": round(timing["q3"]),
                "min_ns": round(timing["min"]),
                "ok": is_exact and not wrong,
                "notes": notes,
                "ops": ops,
                "extra": {
                    "models_without_patch_ns": round(models["median"]),
                    "json_floor_ns": round(floor["median"]),
                },
                "samples": args.samples,
                "batch": timing["batch"],
                "warmup_ms": args.warmup_ms,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
