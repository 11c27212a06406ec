'use strict';
// The thread CPU clock behind each sample's CPU time (native/thread-cpu-clock.h):
// a perf task-clock event read in user space where the kernel allows it,
// CLOCK_THREAD_CPUTIME_ID otherwise. Both must give the profile the CPU the
// thread really used, measured here by the kernel's scheduler
// (/proc/thread-self/schedstat), on the main thread and in a Worker. Each
// run is a child process.
const test = require('node:test');
const assert = require('node:assert/strict');
const { runJson } = require('./helpers');

const run = (clock, where) => runJson('cpu-clock.js', { args: [clock, where, '1500'] });

// A run the machine starved (a handful of samples) says nothing about accuracy.
function checkAccuracy(out, what) {
  assert.ok(out.stats.recorded >= 100, `${what}: only ${out.stats.recorded} signals recorded`);
  const ratio = out.profileCpu / out.threadCpu;
  assert.ok(Math.abs(ratio - 1) <= 0.05, `${what}: profile ${out.profileCpu} ns, thread ${out.threadCpu} ns (${ratio.toFixed(3)}): ${JSON.stringify(out.stats)}`);
}

for (const where of ['main', 'worker']) {
  test(`${where} thread: with the perf task clock, the profile's CPU is the thread's, and signals read it without a system call`, (t) => {
    const out = run('perf', where);
    if (out.stats.cpuClock !== 'task-clock') {
      // perf_event_paranoid 3+, a seccomp filter: the fallback is tested below.
      t.skip(`no perf task clock here: ${out.stats.cpuClockUnavailable}`);
      return;
    }
    assert.equal(out.stats.cpuClockUnavailable, undefined);
    // The user-space read fails only when a switch lands inside it (a retry)
    // twice in a row, or before the thread's first switch with a changed page.
    assert.ok(out.stats.cpuClockSyscalls <= 0.05 * out.stats.recorded, JSON.stringify(out.stats));
    checkAccuracy(out, `task-clock, ${where}`);
  });

  test(`${where} thread: with CLOCK_THREAD_CPUTIME_ID, every signal takes the system call and the profile's CPU is the thread's`, () => {
    const out = run('syscall', where);
    assert.equal(out.stats.cpuClock, 'thread-cputime');
    assert.match(out.stats.cpuClockUnavailable, /turned off/);
    assert.equal(out.stats.cpuClockSyscalls, out.stats.recorded);
    checkAccuracy(out, `thread-cputime, ${where}`);
  });
}

test('handler part timing (_setHandlerTiming): one row of named, non-negative part costs per recorded signal', () => {
  const out = run('perf', 'main');
  assert.deepEqual(out.timingParts, ['prologue', 'claim', 'cpuClock', 'label', 'walk', 'ring', 'v8Chained']);
  assert.equal(out.timingRows, out.stats.recorded);
  assert.ok(out.timingFinite);
});
