'use strict';
// Run once per suite in a fresh process under the Node being measured: its
// version, whether AsyncLocalStorage is backed by AsyncContextFrame, whether
// this labelprof build accepts nativeFrames, and whether @datadog/pprof and
// @pyroscope/nodejs load.
const os = require('node:os');
const { AsyncLocalStorage, AsyncResource } = require('node:async_hooks');

function asyncContextFrame() {
  // Under AsyncContextFrame a resource created inside run() carries the frame.
  const r = new AsyncLocalStorage().run(1, () => new AsyncResource('bench-probe'));
  return Object.getOwnPropertySymbols(r).some((s) => s.description === 'context_frame' && r[s] !== undefined);
}

function nativeFrames() {
  const lp = require(require('./labelprof-root'));
  try {
    const p = lp.start({ nativeFrames: true });
    p.stopSync();
    return { supported: true };
  } catch (err) {
    if (err instanceof TypeError && /Unknown option/.test(err.message)) return { supported: false, error: err.message };
    return { supported: false, error: String(err.message) };
  }
}

function datadog() {
  try {
    const pprof = require('@datadog/pprof');
    const { version } = require('@datadog/pprof/package.json');
    pprof.time.start({ intervalMicros: 10000, durationMillis: 1000, withContexts: true, collectCpuTime: true });
    pprof.time.stop();
    return { loaded: true, version };
  } catch (err) {
    return { loaded: false, error: String(err.message).split('\n')[0] };
  }
}

// @pyroscope/nodejs loads its own copy of @datadog/pprof (a native addon).
function pyroscope() {
  try {
    const { pyroscopeVersion } = require('./pyroscope');
    require('@pyroscope/nodejs');
    return { loaded: true, version: pyroscopeVersion() };
  } catch (err) {
    return { loaded: false, error: String(err.message).split('\n')[0] };
  }
}

const result = {
  type: 'result',
  node: process.version,
  v8: process.versions.v8,
  asyncContextFrame: asyncContextFrame(),
  nativeFrames: nativeFrames(),
  datadog: datadog(),
  pyroscope: pyroscope(),
  loadavg: os.loadavg(),
};
process.send(result, () => process.exit(0));
