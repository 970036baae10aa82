"""Loads the scim-patch engine component with wasmtime-py (PyPI `wasmtime`, component API) and
checks it from Python: the benchmark workload applies as in Rust, a rejected patch comes back as
the SCIM error, a filter evaluates. Exits non-zero, saying what differed, on any mismatch.

    python check.py <scim_patch.wasm> <tests/fixtures/bench/workload.json>
"""

import json
import sys

import wasmtime
from wasmtime import component

ENGINE_INTERFACE = "scim:patch/engine@0.1.0"


class Patcher:
    """The WIT `patcher` resource. wasmtime-py returns a `result`'s payload without its tag:
    the ok value (str, bool, resource) or, on error, the `scim-error` record, raised here."""

    def __init__(self, wasm_path, config="{}"):
        engine = wasmtime.Engine()
        self.store = wasmtime.Store(engine)
        self.store.set_wasi(wasmtime.WasiConfig())  # no files, environment or network
        linker = component.Linker(engine)
        linker.add_wasip2()
        instance = linker.instantiate(self.store, component.Component.from_file(engine, wasm_path))
        interface = instance.get_export_index(self.store, ENGINE_INTERFACE)

        def export(name):
            return instance.get_func(self.store, instance.get_export_index(self.store, name, interface))

        self._apply = export("[method]patcher.apply")
        self._matches = export("[method]patcher.matches")
        self.handle = self._ok(export("[static]patcher.create")(self.store, config))

    @staticmethod
    def _ok(value):
        if isinstance(value, component.Record):
            raise ScimError(value.status, getattr(value, "scim-type"), value.detail)
        return value

    def apply(self, resource, patch):
        return self._ok(self._apply(self.store, self.handle, resource, patch))

    def matches(self, resource, filter_text):
        return self._ok(self._matches(self.store, self.handle, resource, filter_text))


class ScimError(Exception):
    def __init__(self, status, scim_type, detail):
        super().__init__(f"{status} {scim_type}: {detail}")
        self.status, self.scim_type, self.detail = status, scim_type, detail


def main(wasm_path, workload_path):
    with open(workload_path, encoding="utf-8") as f:
        workload = json.load(f)
    failures = 0

    def check(what, actual, expected):
        nonlocal failures
        ok = actual == expected
        print(f"{'ok  ' if ok else 'FAIL'} {what}" + ("" if ok else f": got {actual!r}, expected {expected!r}"))
        failures += not ok

    patcher = Patcher(wasm_path)
    resource = json.dumps(workload["resource"])
    user = json.loads(patcher.apply(resource, json.dumps(workload["patch"])))
    enterprise = user["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]
    check("displayName", user["displayName"], "Barbara Jensen")
    check("work email", [e["value"] for e in user["emails"] if e.get("type") == "work"], ["barbara.jensen@example.com"])
    check("phone numbers", sorted(p["type"] for p in user["phoneNumbers"]), ["home", "work"])
    check("enterprise department", enterprise["department"], "Sales")
    check("name.givenName", user["name"]["givenName"], "Barb")
    check("name.familyName kept", user["name"]["familyName"], "Jensen")
    check("active", user["active"], False)
    check("title", user["title"], "Senior Tour Guide")
    check("id kept", user["id"], workload["resource"]["id"])

    read_only = json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                            "Operations": [{"op": "replace", "path": "id", "value": "mine-now"}]})
    try:
        patcher.apply(resource, read_only)
        check("readOnly id rejected", "applied", "a SCIM error")
    except ScimError as error:
        check("readOnly id: status", error.status, 400)
        check("readOnly id: scimType", error.scim_type, "mutability")
    try:
        Patcher(wasm_path, '{"profile": "lenient"}')
        check("unknown profile rejected", "created", "a SCIM error")
    except ScimError as error:
        check("unknown profile: status", error.status, 400)

    check("matches", patcher.matches(json.dumps(user), 'emails[type eq "work" and value ew "example.com"]'), True)
    check("does not match", patcher.matches(json.dumps(user), 'title sw "Junior"'), False)

    if failures:
        print(f"{failures} check(s) failed", file=sys.stderr)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
