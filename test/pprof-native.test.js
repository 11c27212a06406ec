'use strict';
// The pure merge of native frames into pprof (src/pprof.ts, src/pprof-native.ts)
// on a hand-built profile: GC samples under the stack that triggered their
// GC, the Node-API frame renamed, pseudo-frames replaced by the native stack
// only where the walk never entered JavaScript, mappings and addresses.
const test = require('node:test');
const assert = require('node:assert/strict');
const zlib = require('node:zlib');
const { toPprof } = require('../dist/pprof.js');
const { readProfile } = require('./helpers');

const NODE_BIN = '/usr/bin/node';
const ADDON = '/app/build/Release/addon.node';
let nextAddress = 0x1000n;
function frame(functionName, { module = NODE_BIN, isJit = false, isBuiltin = false, isJsEntry = false } = {}) {
  const address = nextAddress;
  nextAddress += 0x40n;
  const mappingStart = module === ADDON ? 0x7f0000000000n : 0x400000n;
  return {
    address: mappingStart + address,
    module,
    buildId: module === '' ? '' : 'ab12',
    functionName,
    fileOffset: address,
    mappingStart,
    mappingLimit: mappingStart + 0x1000000n,
    isJit,
    isJsEntry,
    isBuiltin,
  };
}

// (root) -> main -> alloc ; main -> napiCall (V8 names it after the first
// Node-API function it saw, url '') ; (root) -> (garbage collector), (program), (idle)
const ROOT = 0, MAIN = 1, ALLOC = 2, GC = 3, PROGRAM = 4, NAPI = 5, IDLE = 6;
function fixture() {
  return {
    startNanos: 1.7e18,
    durationNanos: 1e9,
    nodeParent: Int32Array.from([-1, ROOT, MAIN, ROOT, ROOT, MAIN, ROOT]),
    nodeLine: Int32Array.from([0, 1, 5, 0, 0, 7, 0]),
    nodeHitLine: Int32Array.from([0, 2, 6, 0, 0, 0, 0]),
    nodeColumn: Int32Array.from([0, 1, 1, 0, 0, 0, 0]),
    nodeScriptId: Int32Array.from([0, 9, 9, 0, 0, 0, 0]),
    nodeName: ['(root)', 'main', 'alloc', '(garbage collector)', '(program)', '_readLabelSetId', '(idle)'],
    nodeUrl: ['', 'file:///app.js', 'file:///app.js', '', '', '', ''],
    sampleNode: Int32Array.from([GC, NAPI, IDLE, PROGRAM, ALLOC, GC]),
    sampleLabelSet: Int32Array.from([2, 2, 2, 2, 2, 2]),
    sampleCpuNanos: Float64Array.from([1e6, 2e6, 3e6, 4e6, 5e6, 6e6]),
    sampleWallNanos: Float64Array.from([1e6, 1e6, 1e6, 1e6, 1e6, 1e6]),
    sampleGcParent: Int32Array.from([ALLOC, -1, -1, -1, -1, -1]),
    stats: {},
  };
}

const scavenge = frame('v8::internal::Scavenger::ScavengePage');
const collect = frame('v8::internal::Heap::CollectGarbage');
const runtimeAlloc = frame('v8::internal::Runtime_AllocateInYoungGeneration');
const burnLeaf = frame('BurnNativeLeaf', { module: ADDON });
const burn = frame('BurnNative', { module: ADDON });
const trampoline = frame('v8impl::(anonymous namespace)::FunctionCallbackWrapper::Invoke');
const epoll = frame('epoll_pwait', { module: '/lib/libc.so.6' });
const ioPoll = frame('uv__io_poll');
const uvRun = frame('uv_run');
const nodeStart = frame('node::Start');
const memmove = frame('__memmove_avx_unaligned_erms', { module: '/lib/libc.so.6' });
const native = [
  { frames: [scavenge, collect, runtimeAlloc], enteredFromJs: true }, // GC, triggered in alloc
  { frames: [burnLeaf, burn, trampoline], enteredFromJs: true }, // a Node-API call
  { frames: [epoll, ioPoll, uvRun, nodeStart], enteredFromJs: false }, // the loop waiting
  { frames: [memmove], enteredFromJs: true }, // (program), but came from JavaScript
  { frames: [], enteredFromJs: false }, // plain JavaScript
  { frames: [scavenge, collect], enteredFromJs: true }, // GC with no known trigger
];
const labelSets = { 0: {}, 2: { route: '/a' } };

function rows(options = {}) {
  const p = toPprof({ raw: fixture(), intervalMicros: 1000, labelsOf: (id) => labelSets[id], native, mainBinary: NODE_BIN, ...options });
  const decoded = readProfile(zlib.gzipSync(p.encode()));
  return { p, decoded, rows: decoded.samples.map((s) => `${s.stack.join(' < ')} ${JSON.stringify(s.labels)} ${s.cpu}`).sort() };
}

test('native merge: GC under its trigger, Node-API renamed, idle replaced, (program) kept when the walk came from JavaScript', () => {
  assert.deepEqual(rows({ unlabelledOutsideJs: true }).rows, [
    'BurnNativeLeaf < BurnNative < v8impl::(anonymous namespace)::FunctionCallbackWrapper::Invoke < (Node-API call) < main {"route":"/a"} 2000000',
    '__memmove_avx_unaligned_erms < (program) {"route":"/a"} 4000000',
    'alloc < main {"route":"/a"} 5000000',
    'epoll_pwait < uv__io_poll < uv_run < node::Start {} 3000000',
    'v8::internal::Scavenger::ScavengePage < v8::internal::Heap::CollectGarbage < (garbage collector) {"route":"/a"} 6000000',
    'v8::internal::Scavenger::ScavengePage < v8::internal::Heap::CollectGarbage < v8::internal::Runtime_AllocateInYoungGeneration < (garbage collector) < alloc < main {"route":"/a"} 1000000',
  ].sort());
});

test('native merge: without unlabelledOutsideJs the idle sample keeps its labels', () => {
  const idle = rows().rows.find((r) => r.startsWith('epoll_pwait'));
  assert.equal(idle, 'epoll_pwait < uv__io_poll < uv_run < node::Start {"route":"/a"} 3000000');
});

test('native merge: one Location per address in its module\'s Mapping, the main binary first', () => {
  const { p } = rows();
  const str = (i) => p.stringTable.strings[Number(i)];
  assert.equal(str(p.mapping[0].filename), NODE_BIN);
  const files = p.mapping.map((m) => str(m.filename)).sort();
  assert.deepEqual(files, [ADDON, '/lib/libc.so.6', NODE_BIN].sort());
  const byAddress = new Map(p.location.filter((l) => BigInt(l.address) !== 0n).map((l) => [BigInt(l.address), l]));
  for (const f of [scavenge, burnLeaf, epoll, memmove]) {
    const loc = byAddress.get(f.address);
    assert.ok(loc !== undefined, `a location at ${f.address.toString(16)}`);
    const mapping = p.mapping.find((m) => Number(m.id) === Number(loc.mappingId));
    assert.equal(str(mapping.filename), f.module);
    assert.ok(f.address >= BigInt(mapping.memoryStart) && f.address < BigInt(mapping.memoryLimit));
  }
  // The same address twice (scavenge in two samples) is one Location.
  assert.equal(p.location.filter((l) => BigInt(l.address) === scavenge.address).length, 1);
});
