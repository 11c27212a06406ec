'use strict';
// @datadog/pprof's time profiler, wired the way dd-trace-js wires it
// (packages/dd-trace/src/profiling/profilers/wall.js, NativeWallProfiler,
// with code hotspots / endpoint collection and CPU profiling on), so its
// overhead is that of the closest equivalent product, not of a bare profiler.
//
// What dd-trace does, and what this file does instead of its tracer:
// - The tracer keeps the active span in its own AsyncLocalStorage; here that
//   storage holds the workload's label object (one object per request/task,
//   like the per-span "profiling context" dd-trace caches on each span).
// - time.start({ intervalMicros, durationMillis: 60 000, withContexts: true,
//   collectCpuTime: true, lineNumbers: false, workaroundV8Bug: true,
//   useCPED: <AsyncContextFrame active> }).
// - With AsyncContextFrame (Node 24): dd-trace wraps
//   AsyncLocalStorage.prototype.enterWith and calls time.setContext(ctx)
//   after every enterWith; run() delegates to enterWith there, so each run
//   costs two setContext calls, and the profiler reads the context out of
//   the frame V8 carries across awaits. We wrap enterWith of our one storage.
// - Without it (Node 20): dd-trace installs createHook({ before }) and wraps
//   run() so that its "enter" runs when a callback starts, inside run() and
//   after run() returns. "enter" keeps one holder object as the profiler's
//   context and swaps holder.ref to the current span's context; when the
//   profiler's sample counter moved since the last enter, the holder is
//   retired (the samples taken keep it) and a fresh one is set with
//   time.setContext. We do the same, calling enter directly instead of
//   through a diagnostics channel.
// - stop: time.stop(false, generateLabels, lowCardinalityLabels), where
//   generateLabels turns each sample's context into string labels; then
//   pprof.encode (encodeAsync + gzip), as dd-trace's encodeProfileAsync.
// - Continuously (bench/continuous.js): every 60 s dd-trace calls
//   time.stop(true, ...), which restarts the profiler before serializing;
//   stopAndRestart() does that. High-cardinality keys (dd-trace's span ids)
//   are left out of lowCardinalityLabels, as dd-trace does.
const { AsyncLocalStorage, createHook } = require('node:async_hooks');

const LABEL_KEYS = ['endpoint', 'tenant', 'task', 'job', 'op'];

function asyncContextFrameActive(pprof) {
  try {
    // What @datadog/pprof itself uses to decide (feature detection).
    return require('@datadog/pprof/out/src/async-context-frame').isAsyncContextFrameActive();
  } catch {
    // Older packages: dd-trace's own rule, Node >= 24.
    void pprof;
    return Number(process.versions.node.split('.')[0]) >= 24;
  }
}

// options.labelKeys: the label keys copied into each sample (default
// LABEL_KEYS); options.lowCardinalityKeys: those whose Label objects the
// serializer may share (default: all of labelKeys).
function startDatadog(intervalMicros, options = {}) {
  const labelKeys = options.labelKeys ?? LABEL_KEYS;
  const lowCardinalityKeys = options.lowCardinalityKeys ?? labelKeys;
  const pprof = require('@datadog/pprof');
  const useCPED = asyncContextFrameActive(pprof);
  // dd-trace: "pprof otherwise crashes in worker threads".
  if (!process._startProfilerIdleNotifier) process._startProfilerIdleNotifier = () => {};
  if (!process._stopProfilerIdleNotifier) process._stopProfilerIdleNotifier = () => {};

  pprof.time.start({
    intervalMicros,
    durationMillis: 60_000,
    withContexts: true,
    collectCpuTime: true,
    lineNumbers: false,
    workaroundV8Bug: true,
    useCPED,
  });

  const storage = new AsyncLocalStorage();
  let wrap;
  let hook;
  if (useCPED) {
    const enterWith = storage.enterWith;
    storage.enterWith = function enterWithAndSetContext(store) {
      const ret = enterWith.call(this, store);
      pprof.time.setContext(store === undefined ? {} : store);
      return ret;
    };
    wrap = (labels, fn) => storage.run(labels, fn);
  } else {
    const state = pprof.time.getState();
    const { kSampleCount } = pprof.time.constants;
    let lastSampleCount = 0;
    let holder;
    const setNewContext = () => pprof.time.setContext((holder = { ref: {} }));
    const enter = () => {
      const sampleCount = state[kSampleCount];
      if (sampleCount !== lastSampleCount) {
        lastSampleCount = sampleCount;
        setNewContext();
      }
      const store = storage.getStore();
      holder.ref = store === undefined ? {} : store;
    };
    setNewContext();
    hook = createHook({ before: enter });
    hook.enable();
    wrap = (labels, fn) => {
      const ret = storage.run(labels, () => {
        enter();
        return fn();
      });
      enter();
      return ret;
    };
  }

  const generateLabels = ({ context }) => {
    if (context == null) return {};
    const ref = useCPED ? context.context : context.context?.ref;
    if (ref === null || typeof ref !== 'object') return {};
    const labels = {};
    for (const k of labelKeys) if (ref[k] !== undefined) labels[k] = ref[k];
    return labels;
  };

  return {
    wrap,
    useCPED,
    sampleCount: () => pprof.time.getState()[pprof.time.constants.kSampleCount],
    // Synchronous part (time.stop + serialization + generateLabels), then the async encode.
    stop: () => {
      const profile = pprof.time.stop(false, generateLabels, lowCardinalityKeys);
      if (hook !== undefined) hook.disable();
      return profile;
    },
    // The period's profile (serialized, not encoded); sampling goes on.
    stopAndRestart: () => pprof.time.stop(true, generateLabels, lowCardinalityKeys),
    encode: (profile) => pprof.encode(profile),
  };
}

module.exports = { startDatadog };
