// Loads the scim-patch engine component transpiled by `jco transpile` and checks it from
// Node.js: the benchmark workload applies as in Rust, a rejected patch comes back as the SCIM
// error, a filter evaluates. Exits non-zero, saying what differed, on any mismatch.
//
// node check.mjs <transpiled dir (jco's -o)> <tests/fixtures/bench/workload.json>
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { join, resolve } from 'node:path';

const [outDir, workloadPath] = process.argv.slice(2);
if (!outDir || !workloadPath) {
  console.error('usage: node check.mjs <jco output dir> <workload.json>');
  process.exit(2);
}
const { engine } = await import(pathToFileURL(resolve(join(outDir, 'scim_patch.js'))).href);
const workload = JSON.parse(readFileSync(workloadPath, 'utf8'));

let failures = 0;
function check(what, actual, expected) {
  const ok = JSON.stringify(actual) === JSON.stringify(expected);
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${ok ? '' : `: got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`}`);
  if (!ok) failures += 1;
}

const patcher = engine.Patcher.create('{}');

// The 7-operation workload.
const user = JSON.parse(patcher.apply(JSON.stringify(workload.resource), JSON.stringify(workload.patch)));
const enterprise = user['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'];
check('displayName', user.displayName, 'Barbara Jensen');
check('work email', user.emails.find((e) => e.type === 'work').value, 'barbara.jensen@example.com');
check('phone numbers', user.phoneNumbers.map((p) => p.type).sort(), ['home', 'work']);
check('enterprise department', enterprise.department, 'Sales');
check('manager kept', enterprise.manager.value, workload.resource[
  'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'].manager.value);
check('name.givenName', user.name.givenName, 'Barb');
check('name.familyName kept', user.name.familyName, 'Jensen');
check('active', user.active, false);
check('title', user.title, 'Senior Tour Guide');
check('id kept', user.id, workload.resource.id);

// A rejected patch: the WIT result's error arrives as a thrown ComponentError whose payload is
// the scim-error record.
const readOnly = JSON.stringify({
  schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
  Operations: [{ op: 'replace', path: 'id', value: 'mine-now' }],
});
try {
  patcher.apply(JSON.stringify(workload.resource), readOnly);
  check('readOnly id rejected', 'applied', 'a SCIM error');
} catch (error) {
  check('readOnly id: status', error.payload?.status, 400);
  check('readOnly id: scimType', error.payload?.scimType, 'mutability');
}

// A bad configuration is refused by create.
try {
  engine.Patcher.create('{"profile": "lenient"}');
  check('unknown profile rejected', 'created', 'a SCIM error');
} catch (error) {
  check('unknown profile: status', error.payload?.status, 400);
}

// Filters.
check('matches', patcher.matches(JSON.stringify(user), 'emails[type eq "work" and value ew "example.com"]'), true);
check('does not match', patcher.matches(JSON.stringify(user), 'title sw "Junior"'), false);

if (failures > 0) {
  console.error(`${failures} check(s) failed`);
  process.exit(1);
}
console.log('all checks passed');
