'use strict';
// The addon's symbolizer (native/symbolizer.h) against the TypeScript one
// (src/symbolizer.ts) on this very process, and what it changes for stop():
// symbolization off the event loop, stopSync() still complete.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { Symbolizer, parseMaps } = require('../dist/symbolizer.js');
const { native } = require('../dist/native.js');
const { runJson, runFixture, readProfile } = require('./helpers');

const NODE = fs.realpathSync(process.execPath);

// Addresses all over this process's executable mappings (node, its remapped
// builtins, libc, the vDSO, JIT code), plus a few in no mapping.
function probes(mapsText) {
  let x = 0;
  for (let i = 0; i < 1e5; i++) x += Math.sqrt(i); // some JIT code
  assert.ok(x > 0);
  const out = [0, 1, 4096];
  for (const m of parseMaps(mapsText)) {
    if (!m.perms.includes('x') || m.end > 2n ** 47n) continue; // [vsyscall]: no user address
    const size = Number(m.end - m.start);
    const step = Math.max(61, Math.floor(size / 4000) | 1); // odd: lands mid-function
    for (let a = Number(m.start); a < Number(m.end); a += step) out.push(a);
    out.push(Number(m.end) - 1, Number(m.end));
  }
  return out;
}

function compare(nativeAnswer, addresses, reference) {
  let named = 0;
  for (let i = 0; i < addresses.length; i++) {
    const r = reference[i];
    const module = nativeAnswer.module[i];
    const name = nativeAnswer.name[i];
    const got = {
      module: module >= 0 ? nativeAnswer.modules[module] : '',
      buildId: module >= 0 ? nativeAnswer.buildIds[module] : '',
      functionName: name >= 0 ? nativeAnswer.names[name] : '',
      fileOffset: BigInt(nativeAnswer.fileOffset[i]),
      mappingStart: BigInt(nativeAnswer.mappingStart[i]),
      mappingLimit: BigInt(nativeAnswer.mappingLimit[i]),
      isJit: (nativeAnswer.flags[i] & 1) !== 0,
      isJsEntry: (nativeAnswer.flags[i] & 2) !== 0,
      isBuiltin: (nativeAnswer.flags[i] & 4) !== 0,
    };
    const want = { ...r };
    delete want.address;
    assert.deepEqual(got, want, `address 0x${addresses[i].toString(16)}`);
    if (got.functionName !== '') named++;
  }
  return named;
}

test('symbolize: the same answers as the TypeScript symbolizer, address for address', () => {
  const mapsText = fs.readFileSync('/proc/self/maps', 'utf8');
  const addresses = probes(mapsText);
  const mapsFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'labelprof-maps-')), 'maps');
  fs.writeFileSync(mapsFile, mapsText);
  const reference = new Symbolizer((names) => native().demangle(names), mapsFile).symbolize(addresses.map(BigInt));
  const answer = native().symbolize(Float64Array.from(addresses), mapsText);
  const named = compare(answer, addresses, reference);
  assert.ok(named >= addresses.length / 4, `${named} of ${addresses.length} named`);
  // The kinds of frames the profiles need were among them.
  const names = new Set(answer.names);
  assert.ok([...names].some((n) => n.startsWith('Builtins_')), 'a V8 builtin');
  assert.ok([...names].some((n) => /^node::/.test(n)), 'a demangled C++ name of node');
  assert.ok([...names].some((n) => /clock_gettime/.test(n)), 'the vDSO');
  assert.ok(answer.modules.includes(NODE));
});

test('symbolizeAsync: the same answers, from the addon\'s own thread', async () => {
  const mapsText = fs.readFileSync('/proc/self/maps', 'utf8');
  const addresses = Float64Array.from(probes(mapsText).slice(0, 5000));
  const sync = native().symbolize(addresses, mapsText);
  const promise = native().symbolizeAsync(addresses, mapsText);
  assert.ok(promise instanceof Promise);
  assert.deepEqual(await promise, sync);
});

test('symbolize: resolves against the maps it is given, not the process\'s own', () => {
  const mapsText = fs.readFileSync('/proc/self/maps', 'utf8');
  const node = parseMaps(mapsText).find((m) => m.path === NODE && m.perms.includes('x'));
  const address = Number(node.start) + 0x1001;
  // The same code range, described as anonymous memory: JIT code at collect time.
  const anonymous = `${node.start.toString(16)}-${node.end.toString(16)} r-xp 00000000 00:00 0 \n`;
  const answer = native().symbolize(Float64Array.of(address), anonymous);
  assert.equal(answer.flags[0] & 1, 1);
  assert.equal(answer.name[0], -1);
  assert.equal(answer.modules[answer.module[0]], '');
  const empty = native().symbolize(Float64Array.of(address), '');
  assert.equal(empty.flags[0], 1, 'no mapping: JIT, as the TypeScript symbolizer says');
  assert.equal(empty.module[0], -1);
});

test('symbolize: arguments are checked and the culprit named', () => {
  assert.throws(() => native().symbolize([1, 2], ''), { name: 'TypeError', message: /Float64Array for addresses/ });
  assert.throws(() => native().symbolize(new Uint32Array(2), ''), { name: 'TypeError', message: /Float64Array for addresses/ });
  assert.throws(() => native().symbolize(new Float64Array(2)), { name: 'TypeError', message: /string .* for maps/ });
  assert.throws(() => native().symbolizeAsync(new Float64Array(2), 3), { name: 'TypeError', message: /string .* for maps/ });
});

const realWalks = { skip: process.platform !== 'linux' || process.arch !== 'x64' };
const deflateFrame = /^(deflate_slow|deflate_fast|longest_match|fill_window|deflate_stored|compress_block|send_bits|build_tree|pqdownheap)/;

test('an awaited stop() lets the event loop run while its native frames are symbolized', realWalks, () => {
  const out = runJson('async-symbolize.js', { args: ['stop'] });
  // stop() returned at once; with the symbolizer held, timers kept firing and
  // the profile waited; once let go, it came with native frames.
  assert.equal(out.returnedAfterTicks, 0);
  assert.ok(out.ticksWhileHeld >= 5);
  assert.equal(out.resolvedWhileHeld, false, 'stop() resolved before its symbolization ran');
  assert.ok(out.samples > 0);
  assert.ok(out.names.some((n) => deflateFrame.test(n)), out.names.slice(0, 40).join('\n'));
});

test('stopSync() in an exit handler still gives native frames', realWalks, () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'labelprof-exit-')), 'exit.pb.gz');
  const r = runFixture('async-symbolize.js', { args: ['exit', file] });
  assert.equal(r.status, 0, r.stderr);
  const { samples } = readProfile(fs.readFileSync(file));
  assert.ok(samples.length > 0);
  const names = new Set(samples.flatMap((s) => s.stack));
  assert.ok([...names].some((n) => deflateFrame.test(n)), [...names].slice(0, 40).join('\n'));
});

test('continuous periods get native frames, delivered in order', realWalks, () => {
  const out = runJson('async-symbolize.js', { args: ['periods'] });
  assert.ok(out.lastIsLast, 'the last period is the one stop() returns, delivered last');
  assert.ok(out.periods.length >= 2, `${out.periods.length} periods`);
  for (let i = 1; i < out.periods.length; i++) assert.ok(out.periods[i].start > out.periods[i - 1].start);
  const withDeflate = out.periods.filter((p) => p.names.some((n) => deflateFrame.test(n)));
  assert.ok(withDeflate.length >= 2, JSON.stringify(out.periods.map((p) => [p.samples, p.names.length])));
});
