'use strict';
// Facts that C++ and TypeScript both state must agree (one source each,
// checked here so that the two cannot drift):
// - label ids: the handler accepts [0, kLabelSetIdLimit) (native/context-frame.h),
//   JavaScript hands out ids below ID_LIMIT (src/label-sets.ts); the tag base
//   and magic are JavaScript's alone, passed to the addon at the probe;
// - the stats fields: what StatsToObject sets (native/profiler.cc) is what
//   NativeStats declares (src/native.ts), optional exactly where the C++ sets
//   a field only sometimes; and a real stats object has those fields.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

const ROOT = path.join(__dirname, '..');
const read = (file) => fs.readFileSync(path.join(ROOT, file), 'utf8');

// A numeric constant: a literal (hex or decimal, or `1 << n`), or `name + expr` of one already read.
function evalConstant(expr, known) {
  return Function(...Object.keys(known), `return (${expr});`)(...Object.values(known));
}

function cppConstants(file) {
  const out = {};
  for (const m of read(file).matchAll(/constexpr\s+\w+\s+(k\w+)\s*=\s*([^;]+);/g)) out[m[1]] = evalConstant(m[2], out);
  return out;
}

function tsConstants(file) {
  const out = {};
  for (const m of read(file).matchAll(/^(?:export )?const ([A-Z_]+) = ([0-9x_a-fA-F <()+]+);/gm)) {
    out[m[1]] = evalConstant(m[2].replace(/_/g, ''), out);
  }
  return out;
}

test('label ids: the range the handler accepts is the range JavaScript hands out', () => {
  const cpp = cppConstants('native/context-frame.h');
  const sets = tsConstants('src/label-sets.ts');
  const context = tsConstants('src/label-context.ts');
  assert.equal(typeof cpp.kLabelSetIdLimit, 'number', 'kLabelSetIdLimit not found in native/context-frame.h');
  assert.equal(sets.ID_LIMIT, cpp.kLabelSetIdLimit, 'ID_LIMIT (src/label-sets.ts) != kLabelSetIdLimit (native/context-frame.h)');
  // Every id JavaScript can store decodes: the probe's and every interned set's.
  assert.ok(context.PROBE_ID < cpp.kLabelSetIdLimit, 'PROBE_ID falls outside the accepted range');
  assert.ok(sets.MAX_LABEL_SETS <= context.PROBE_ID, 'label-set ids reach the probe id');
  // The tag and magic are JavaScript's, handed to the addon by probeContextFrame:
  // one source; they must stay small integers (Smis) with every id added.
  assert.match(read('src/label-context.ts'), /probeContextFrame\(PROBE_ID, STORE_MAGIC, TAG_BASE\)/);
  assert.ok(sets.TAG_BASE + sets.ID_LIMIT < 2 ** 31 && sets.STORE_MAGIC < 2 ** 31);
});

// StatsToObject's fields: name -> whether it is set only under a condition.
function cppStatsFields() {
  const source = read('native/profiler.cc');
  const start = source.indexOf('Napi::Object StatsToObject(');
  assert.ok(start >= 0, 'StatsToObject not found in native/profiler.cc');
  const body = source.slice(start, source.indexOf('\n}\n', start));
  const fields = new Map();
  let depth = 0;
  for (const line of body.split('\n').slice(1)) {
    const m = line.match(/o\.Set\("(\w+)"/);
    // Set inside an `if` block, or on the line of an `if`: conditional.
    if (m) fields.set(m[1], depth > 0 || /\bif\s*\(/.test(line));
    depth += (line.match(/{/g) ?? []).length - (line.match(/}/g) ?? []).length;
  }
  return fields;
}

// NativeStats's fields: name -> whether it is optional.
function tsStatsFields() {
  const file = path.join(ROOT, 'src', 'native.ts');
  const sf = ts.createSourceFile(file, read('src/native.ts'), ts.ScriptTarget.ES2022, true);
  const fields = new Map();
  sf.forEachChild((node) => {
    if (ts.isInterfaceDeclaration(node) && node.name.text === 'NativeStats') {
      for (const member of node.members) fields.set(member.name.text, member.questionToken !== undefined);
    }
  });
  assert.ok(fields.size > 0, 'interface NativeStats not found in src/native.ts');
  return fields;
}

test('stats fields: StatsToObject (C++) and NativeStats (TypeScript) name the same fields, optional alike', () => {
  const cpp = cppStatsFields();
  const tsFields = tsStatsFields();
  assert.deepEqual([...cpp.keys()].sort(), [...tsFields.keys()].sort());
  for (const [name, conditional] of cpp) {
    assert.equal(tsFields.get(name), conditional, `${name}: ${conditional ? 'set only sometimes in C++ but required' : 'always set in C++ but optional'} in NativeStats`);
  }
});

test('stats fields: a real stats object, with and without native frames, has exactly the declared fields', async () => {
  const lp = require('..');
  const declared = tsStatsFields();
  for (const nativeFrames of [false, true]) {
    const profiler = lp.start({ intervalMicros: 1000, nativeFrames });
    const profile = await profiler.stop();
    const stats = profile.stats;
    for (const key of Object.keys(stats)) assert.ok(declared.has(key), `stats.${key} is not declared in NativeStats`);
    for (const [key, optional] of declared) if (!optional) assert.ok(key in stats, `stats.${key} is declared but missing`);
  }
});
