// Runs the benchmark workload (tests/fixtures/bench/workload.json) through the npm `scim-patch`
// package, string in -> string out, after checking its result against ../expected.json.
//
//   node bench.mjs [--samples N] [--batch N] [--warmup-ms N] [--modules DIR] [--workload FILE]
//
// One iteration is the library's documented path for a PATCH request on a stored resource:
//   JSON.parse(resource), JSON.parse(patch), patchBodyValidation(patch),
//   scimPatch(resource, patch.Operations) with the default options (mutateDocument: true: the
//   resource was just parsed, so no clone is needed), JSON.stringify(result).
// The check report goes to stderr; stdout gets one JSON line:
//   {"name", "median_ns", "ok", "notes", "ops": [...], "extra": {...}, ...}
// --modules DIR: the folder whose node_modules holds scim-patch (run.sh installs it outside the
// source tree); defaults to this file's folder. --workload: another {resource, patch} file (the
// checks stay those of ../expected.json), to try the report on a patch the library rejects.

import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');

function parseArgs(argv) {
  const opts = {
    samples: 40, batch: 1000, warmupMs: 2000, modules: here,
    workload: path.join(root, 'tests/fixtures/bench/workload.json'),
  };
  for (let i = 0; i < argv.length; i++) {
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value`);
      return argv[++i];
    };
    switch (argv[i]) {
      case '--samples': opts.samples = Number(value()); break;
      case '--batch': opts.batch = Number(value()); break;
      case '--warmup-ms': opts.warmupMs = Number(value()); break;
      case '--modules': opts.modules = path.resolve(value()); break;
      case '--workload': opts.workload = path.resolve(value()); break;
      default: throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  if (!(opts.samples >= 1 && opts.batch >= 1 && opts.warmupMs >= 0)) throw new Error('bad numbers');
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const require = createRequire(path.join(opts.modules, 'package.json'));
const { scimPatch, patchBodyValidation } = require('scim-patch');
const version = require('scim-patch/package.json').version;

const workload = JSON.parse(fs.readFileSync(opts.workload, 'utf8'));
const expected = JSON.parse(fs.readFileSync(path.join(here, '../expected.json'), 'utf8'));
const resourceText = JSON.stringify(workload.resource);
const fullPatchText = JSON.stringify(workload.patch);

// ---- correctness: the same checks as ../checks.py ----

// A canonical text of a JSON value: object keys sorted, arrays as unordered (RFC 7643 §2.4).
function canon(v) {
  if (Array.isArray(v)) return '[' + v.map(canon).sort().join(',') + ']';
  if (v !== null && typeof v === 'object') {
    return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + canon(v[k])).join(',') + '}';
  }
  return JSON.stringify(v === undefined ? null : v);
}

const same = (a, b) => canon(a) === canon(b);
const matches = (entry, want) =>
  entry !== null && typeof entry === 'object' && Object.keys(want).every((k) => same(entry[k], want[k]));

function at(doc, p) {
  let v = doc;
  for (const key of p) v = v !== null && typeof v === 'object' && !Array.isArray(v) ? v[key] : undefined;
  return v;
}

// Each operation's checks, plus op 0: every attribute no check names equals the expected one.
function runChecks(result, rejected) {
  const ops = new Map();
  const touched = new Set();
  for (const check of expected.checks) {
    touched.add(check.path[0]);
    const entry = ops.get(check.op) ?? { op: check.op, label: check.label, ok: true, detail: [] };
    ops.set(check.op, entry);
    if (rejected.has(check.op)) {
      entry.ok = false;
      if (entry.detail.length === 0) entry.detail.push(`rejected: ${rejected.get(check.op)}`);
      continue;
    }
    const got = at(result, check.path);
    const name = check.path.join('.');
    if ('equals' in check && !same(got, check.equals)) {
      entry.ok = false;
      entry.detail.push(`${name} = ${JSON.stringify(got)}`);
    }
    const list = Array.isArray(got) ? got : [];
    for (const want of check.contains ?? []) {
      if (!list.some((e) => matches(e, want))) {
        entry.ok = false;
        entry.detail.push(`${name} has no ${JSON.stringify(want)}`);
      }
    }
    for (const unwanted of check.lacks ?? []) {
      if (list.some((e) => matches(e, unwanted))) {
        entry.ok = false;
        entry.detail.push(`${name} still has ${JSON.stringify(unwanted)}`);
      }
    }
  }
  const rest = { op: 0, label: 'everything else unchanged', ok: true, detail: [] };
  const keys = new Set([...Object.keys(result ?? {}), ...Object.keys(expected.result)]);
  for (const key of [...keys].sort()) {
    if (touched.has(key)) continue;
    if (!same(result?.[key], expected.result[key])) {
      rest.ok = false;
      rest.detail.push(`${key} = ${JSON.stringify(result?.[key])}`);
    }
  }
  const list = [...ops.values()].sort((a, b) => a.op - b.op);
  list.push(rest);
  return list.map((o) => ({ ...o, detail: o.detail.join('; ') }));
}

// ---- the measured path ----

function applyText(resText, patchText) {
  const resource = JSON.parse(resText);
  const patch = JSON.parse(patchText);
  patchBodyValidation(patch);
  return JSON.stringify(scimPatch(resource, patch.Operations));
}

function floorText(resText, patchText) {
  const resource = JSON.parse(resText);
  const patch = JSON.parse(patchText);
  if (patch === null) throw new Error('unreachable');
  return JSON.stringify(resource);
}

const errorText = (e) => `${e?.name ?? 'Error'}: ${e?.message ?? e}`;

// Apply the whole patch; when the library rejects it, find the operations it rejects one by
// one and keep the patch of the others, which is what gets timed.
function validate() {
  const rejected = new Map();
  let patchText = fullPatchText;
  let output;
  try {
    output = applyText(resourceText, fullPatchText);
  } catch (e) {
    let current = resourceText;
    const kept = [];
    workload.patch.Operations.forEach((op, i) => {
      const one = JSON.stringify({ ...workload.patch, Operations: [op] });
      try {
        current = applyText(current, one);
        kept.push(op);
      } catch (err) {
        rejected.set(i + 1, errorText(err));
      }
    });
    if (rejected.size === 0) throw new Error(`rejects the patch but no operation alone: ${errorText(e)}`);
    patchText = JSON.stringify({ ...workload.patch, Operations: kept });
    output = kept.length ? applyText(resourceText, patchText) : resourceText;
  }
  const result = JSON.parse(output);
  const ops = runChecks(result, rejected);
  const exact = rejected.size === 0 && same(result, expected.result);
  return { ops, exact, patchText, rejected, output };
}

function measure(fn, patchText) {
  let sink = 0;
  const deadline = process.hrtime.bigint() + BigInt(Math.round(opts.warmupMs * 1e6));
  do {
    for (let i = 0; i < 100; i++) sink += fn(resourceText, patchText).length;
  } while (process.hrtime.bigint() < deadline);
  const perIter = [];
  for (let s = 0; s < opts.samples; s++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < opts.batch; i++) sink += fn(resourceText, patchText).length;
    const t1 = process.hrtime.bigint();
    perIter.push(Number(t1 - t0) / opts.batch);
  }
  if (sink === 0) throw new Error('empty output');
  perIter.sort((a, b) => a - b);
  const q = (f) => {
    const x = f * (perIter.length - 1);
    const lo = Math.floor(x);
    const hi = Math.ceil(x);
    return perIter[lo] + (perIter[hi] - perIter[lo]) * (x - lo);
  };
  return { median: q(0.5), q1: q(0.25), q3: q(0.75), min: perIter[0] };
}

const { ops, exact, patchText, rejected } = validate();
const name = `node scim-patch ${version}`;
console.error(`${name} (Node ${process.version}): result checks`);
for (const o of ops) {
  console.error(`  ${o.ok ? 'ok  ' : 'FAIL'} op ${o.op}: ${o.label}${o.detail ? ` — ${o.detail}` : ''}`);
}
console.error(`  whole result ${exact ? 'equals' : 'differs from'} ../expected.json`);

const timing = measure(applyText, patchText);
const floor = measure(floorText, patchText);
const wrong = ops.filter((o) => !o.ok).map((o) => o.op);
const notes = [
  'JSON.parse x2 + patchBodyValidation + scimPatch (mutateDocument) + JSON.stringify',
  rejected.size ? `timed without the rejected operations ${[...rejected.keys()].join(', ')}` : null,
  wrong.length ? `wrong: ops ${wrong.join(', ')}` : null,
].filter(Boolean).join('; ');
console.log(JSON.stringify({
  name,
  runtime: `Node ${process.version}`,
  median_ns: Math.round(timing.median),
  q1_ns: Math.round(timing.q1),
  q3_ns: Math.round(timing.q3),
  min_ns: Math.round(timing.min),
  ok: exact && wrong.length === 0,
  notes,
  ops: ops.map(({ op, label, ok, detail }) => ({ op, label, ok, detail })),
  extra: { json_floor_ns: Math.round(floor.median) },
  samples: opts.samples,
  batch: opts.batch,
  warmup_ms: opts.warmupMs,
}));
