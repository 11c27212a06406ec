'use strict';
// Lifecycle: cycles, misuse, Workers, exit while profiling. Each case runs in
// a child process so that a crash fails the test instead of the runner.
const test = require('node:test');
const assert = require('node:assert/strict');
const { runJson, runFixture, describeRun } = require('./helpers');

test('200 start/stop cycles in one process', () => {
  const out = runJson('cycles.js', { args: ['200'] });
  assert.equal(out.cycles, 200);
  assert.equal(out.profiling, false);
  assert.ok(out.bytes > 0);
});

test('misuse gives clear errors and loses no collected profile', () => {
  const out = runJson('misuse.js');
  assert.equal(out.emptySamples, 0);
  assert.ok(out.emptyBytes > 0);
  assert.match(out.startTwice, /^Error: .*already running.*call stop\(\)/);
  assert.match(out.stopTwice, /^Error: .*already stopped.*call start\(\)/);
  assert.match(out.stopSyncTwice, /already stopped/);
  assert.ok(out.samplesAfterMisuse >= 1);
  assert.match(out.badWrite, /^TypeError: Expected a string for path but received 42 of type number/);
  assert.equal(out.missingDir, 'ENOENT');
  assert.equal(out.samplesAfterBadWrite, out.samplesAfterMisuse);
  assert.equal(out.runningAgain, true);
  assert.ok(out.stats.v8Samples >= 1, 'a stopped profiler keeps its own final stats');
});

test('Workers profile their own thread, with their own labels, next to the main thread', () => {
  const out = runJson('worker.js');
  assert.ok(out.worker.functions.burnInWorker >= 40, JSON.stringify(out));
  assert.equal(out.worker.functions.burnInMain, undefined, 'main-thread frames in the worker profile');
  assert.ok(out.worker.labelled.worker >= 40);
  assert.match(out.worker.startTwice, /already running/);
  assert.ok(out.main.functions.burnInMain >= 50, JSON.stringify(out));
  assert.equal(out.main.functions.burnInWorker, undefined, 'worker frames in the main-thread profile');
  assert.equal(out.main.labelled.worker, undefined);
  assert.ok(out.main.labelled.main >= 50);
  assert.equal(out.terminated.exit, 1, 'terminated worker should exit with code 1');
});

test('process.exit while profiling exits cleanly with its code', () => {
  const r = runFixture('exit-while-profiling.js');
  assert.equal(r.status, 3, describeRun('exit-while-profiling.js', r));
  assert.equal(r.signal, null);
});

test('an uncaught exception while profiling ends the process as usual, no crash', () => {
  const r = runFixture('exit-while-profiling.js', { args: ['throw'] });
  assert.equal(r.status, 1, describeRun('exit-while-profiling.js', r));
  assert.equal(r.signal, null);
  assert.match(r.stderr, /uncaught while profiling/);
});

test('a SIGPROF handler that displaces ours is detected and reported, without a crash', () => {
  const r = runFixture('displaced.js');
  assert.equal(r.status, 0, describeRun('displaced.js', r));
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  assert.equal(out.live, true);
  assert.equal(out.displaced, true);
  assert.ok(out.bytes > 0);
  // When: the last signal before the listener went in (within a few ms of it).
  assert.ok(Math.abs(out.displacedAtNanos - out.beforeNanos) < 1e9, JSON.stringify(out));
  // The profile says so, and stderr says so once for both displaced profiles.
  assert.equal(out.comments.length, 1);
  assert.match(out.comments[0], /^labelprof: another SIGPROF handler displaced labelprof's at \d{4}-.*samples after that are missing$/);
  const warnings = r.stderr.split('\n').filter((l) => l.includes('displaced labelprof'));
  assert.equal(warnings.length, 1, r.stderr);
  assert.match(warnings[0], /^labelprof: /);
  // The next profile put ours back over the listener.
  assert.equal(out.reinstalled, true);
  assert.equal(out.secondDisplaced, false);
});

test('Workers terminated while they start and stop profiles never abort the process', () => {
  const r = runFixture('worker-churn.js', { args: ['60'] });
  assert.equal(r.status, 0, describeRun('worker-churn.js', r));
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  assert.equal(out.workers, 60);
  assert.ok(out.terminated >= 45, JSON.stringify(out));
  assert.ok(out.mainSamples > 0, JSON.stringify(out));
});
