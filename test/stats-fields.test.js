'use strict';
// One source for what two languages share: the counters StatsToObject
// (native/profiler.cc) hands over are the fields NativeStats (src/native.ts)
// declares, no more, no fewer.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const lp = require('..');

function declaredFields() {
  const source = fs.readFileSync(path.join(__dirname, '..', 'src', 'native.ts'), 'utf8');
  const body = source.slice(source.indexOf('export interface NativeStats {'), source.indexOf('\n}\n', source.indexOf('export interface NativeStats {')));
  const fields = new Map();
  for (const m of body.matchAll(/^ {2}(\w+)(\??):/gm)) fields.set(m[1], m[2] === '?');
  return fields;
}

test('stats() fields are the ones NativeStats declares', async () => {
  const declared = declaredFields();
  assert.ok(declared.size >= 20, `parsed ${declared.size} fields`);
  for (const nativeFrames of [true, false]) {
    const profile = await lp.start({ intervalMicros: 1000, nativeFrames }).stop();
    const stats = profile.stats;
    for (const key of Object.keys(stats)) assert.ok(declared.has(key), `${key} is not declared in NativeStats`);
    for (const [key, optional] of declared) {
      if (!optional) assert.ok(key in stats, `${key} is declared required but missing (nativeFrames: ${nativeFrames})`);
    }
    if (nativeFrames) {
      for (const key of declared.keys()) {
        if (key !== 'unwindTableError') assert.ok(key in stats, `${key} missing with native frames`);
      }
    }
  }
});
