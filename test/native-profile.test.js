'use strict';
// Native frames in real profiles: what the walk in the SIGPROF handler shows
// under (and instead of) V8's opaque frames. Shapes, not counts; each
// workload runs in a child process.
const test = require('node:test');
const assert = require('node:assert/strict');
const { runJson } = require('./helpers');

function profileOf(workload) {
  const { stats, stacks } = runJson('native-workloads.js', { args: [workload] });
  assert.equal(stats.nativeFrames, true);
  assert.ok(stats.handlerMedianNanos > 0, 'the handler cost is in stats()');
  return { stats, stacks };
}

// Samples whose stack has every pattern, in this order from the leaf up.
function countInOrder(stacks, patterns) {
  let n = 0;
  for (const [count, stack] of stacks) {
    let at = 0;
    let ok = true;
    for (const p of patterns) {
      const i = stack.findIndex((f, k) => k >= at && (typeof p === 'string' ? f === p : p.test(f)));
      if (i < 0) {
        ok = false;
        break;
      }
      at = i + 1;
    }
    if (ok) n += count;
  }
  return n;
}

const total = (stacks) => stacks.reduce((a, [n]) => a + n, 0);
const show = (stacks) =>
  stacks
    .sort((a, b) => b[0] - a[0])
    .slice(0, 5)
    .map(([n, s]) => `${n} ${s.slice(0, 12).join(' < ')}`)
    .join('\n');

test('crypto.createHash(sha256).update shows the SHA-256 block function and HashUpdate under update', () => {
  const { stacks } = profileOf('sha256');
  const n = countInOrder(stacks, [/^sha256_block/, /HashUpdate/, 'update', 'sha256']);
  assert.ok(n >= 0.3 * total(stacks), `${n} of ${total(stacks)}:\n${show(stacks)}`);
});

test('zlib.deflateSync shows deflate internals under the JavaScript caller', () => {
  const { stacks } = profileOf('deflate');
  const n = countInOrder(stacks, [/^(deflate_slow|deflate_fast|longest_match|fill_window|deflate_stored|compress_block|send_bits|build_tree|pqdownheap)/, /^writeSync$|^processChunkSync$|zlibBufferSync/, 'deflate']);
  assert.ok(n >= 0.3 * total(stacks), `${n} of ${total(stacks)}:\n${show(stacks)}`);
});

test('an allocation-heavy loop shows GC functions under the allocating function', () => {
  const { stats, stacks } = profileOf('alloc');
  const gc = stacks.filter(([, s]) => s.includes('(garbage collector)'));
  assert.ok(total(gc) >= 5, `GC samples: ${total(gc)}\n${show(stacks)}`);
  const gcFunction = /v8::internal::(Heap|Scavenger|MarkCompact|MinorMarkSweep|ScavengerCollector|Sweeper|MemoryAllocator|PagedSpace|ConcurrentMarking|IncrementalMarking)/;
  const inner = countInOrder(gc, [gcFunction, /Runtime_Allocate|Runtime_|Heap::CollectGarbage|HeapAllocator/, '(garbage collector)']);
  assert.ok(inner >= 0.5 * total(gc), `${inner} of ${total(gc)} GC samples show GC functions:\n${show(gc)}`);
  const underAlloc = countInOrder(gc, [gcFunction, '(garbage collector)', 'alloc']);
  assert.ok(underAlloc >= 0.5 * total(gc), `${underAlloc} of ${total(gc)} GC samples under alloc (stats ${JSON.stringify(stats)}):\n${show(gc)}`);
  assert.ok(stats.gcs >= 1 && stats.gcSamplesAttributed >= underAlloc);
});

test('idle time shows the event loop\'s epoll wait reaching uv_run', () => {
  const { stacks } = profileOf('idle');
  const n = countInOrder(stacks, [/^epoll_(p)?wait/, 'uv__io_poll', 'uv_run']);
  assert.ok(n >= 0.5 * total(stacks), `${n} of ${total(stacks)}:\n${show(stacks)}`);
  assert.equal(countInOrder(stacks, ['(idle)']) + countInOrder(stacks, ['(program)']) <= 0.1 * total(stacks), true, 'idle pseudo-frames should be replaced by the native wait');
});

test('a native addon loaded while profiling shows its functions by name', () => {
  // The fixture loads the test addon; build it here rather than rely on
  // another test file (they run in parallel) having built it.
  require('./native/addon.js').ensureBuilt();
  const { stacks } = profileOf('addon');
  const n = countInOrder(stacks, [/labelprof_test::BurnNativeLeaf/, /labelprof_test::BurnNative\b/, '(Node-API call)', 'addon']);
  assert.ok(n >= 0.5 * total(stacks), `${n} of ${total(stacks)}:\n${show(stacks)}`);
});
