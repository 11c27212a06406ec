'use strict';
// Child side of a variant: start the profiler (if any), hand the workload its
// wrap(labels, fn), and at the end stop + encode the profile and measure that.
const { AsyncLocalStorage } = require('node:async_hooks');
const { performance } = require('node:perf_hooks');
const zlib = require('node:zlib');
const { promisify } = require('node:util');

const { withBlockProbe } = require('./probe');

const gzip = promisify(zlib.gzip);
const LABELPROF_ROOT = require('./labelprof-root');
const plain = (labels, fn) => fn();

function labelprof() {
  return require(LABELPROF_ROOT);
}

// Returns { unsupported: reason } when this build cannot run the variant.
// Asynchronous for @pyroscope/nodejs, whose local ingest server must listen first.
async function setupVariant(variant) {
  const t0 = performance.now();
  let wrap = plain;
  if (variant.labels === 'als') {
    const als = new AsyncLocalStorage();
    wrap = (labels, fn) => als.run(labels, fn);
  } else if (variant.labels === 'labelprof') {
    wrap = labelprof().withLabels;
  }

  let otel;
  if (variant.otel !== undefined) {
    otel = require('./otel').setUpOtel({ labelprofRoot: LABELPROF_ROOT, withLabelprof: variant.otel === 'labelprof' });
  }
  // Express is loaded after the instrumentations are registered, as they require.
  const express = variant.server === 'express' ? require('express') : undefined;

  let finish = async () => ({});
  if (variant.profiler === 'labelprof') {
    const lp = labelprof();
    // nativeFrames is passed explicitly both ways: builds that have it turn
    // it on by default. Builds without it reject the option: then the
    // "without native frames" variants run without it, the others are n/a.
    let profiler;
    try {
      profiler = lp.start({ intervalMicros: variant.intervalMicros, nativeFrames: Boolean(variant.nativeFrames) });
    } catch (err) {
      if (!(err instanceof TypeError && /Unknown option/.test(err.message))) throw err;
      if (variant.nativeFrames) return { unsupported: 'not supported by this build' };
      profiler = lp.start({ intervalMicros: variant.intervalMicros });
    }
    finish = async () => {
      const live = profiler.stats();
      let profile;
      const stop = await withBlockProbe(async () => {
        const s0 = performance.now();
        profile = await profiler.stop();
        const stopMillis = performance.now() - s0;
        const buf = await profile.encode();
        return { stopMillis, bytes: buf.length, buf };
      });
      const st = profile.stats;
      return {
        stopMillis: stop.result.stopMillis,
        stopEncodeMillis: stop.elapsedMillis,
        maxBlockMillis: stop.maxBlockMillis,
        profileBytes: stop.result.bytes,
        profileBuffer: stop.result.buf,
        samples: profile.sampleCount,
        handler: {
          signals: st.signals,
          recorded: st.recorded,
          dropped: st.dropped,
          v8Samples: st.v8Samples,
          matched: st.matched,
          medianNanos: st.handlerMedianNanos,
          maxNanos: st.handlerMaxNanos,
          totalNanos: st.handlerTotalNanos,
          displaced: st.displaced,
          labelSets: live.labelSets,
          nativeFrames: st.nativeFrames === true,
        },
      };
    };
  } else if (variant.profiler === 'datadog') {
    const dd = require('./datadog').startDatadog(variant.intervalMicros);
    wrap = dd.wrap;
    finish = async () => {
      const samples = dd.sampleCount();
      const stop = await withBlockProbe(async () => {
        const s0 = performance.now();
        const profile = dd.stop();
        const stopMillis = performance.now() - s0;
        const buf = await dd.encode(profile);
        return { stopMillis, bytes: buf.length, buf };
      });
      return {
        stopMillis: stop.result.stopMillis,
        stopEncodeMillis: stop.elapsedMillis,
        maxBlockMillis: stop.maxBlockMillis,
        profileBytes: stop.result.bytes,
        profileBuffer: stop.result.buf,
        samples,
        useCPED: dd.useCPED,
      };
    };
  } else if (variant.profiler === 'pyroscope') {
    const py = await require('./pyroscope').startPyroscope(variant.intervalMicros);
    wrap = py.wrap;
    finish = async () => {
      const samples = py.sampleCount();
      // Pyroscope's stop serializes, encodes and pushes in one call: no separate stop figure.
      const stop = await withBlockProbe(async () => {
        const buf = await py.stop();
        return { bytes: buf.length, buf };
      });
      return {
        stopEncodeMillis: stop.elapsedMillis,
        maxBlockMillis: stop.maxBlockMillis,
        profileBytes: stop.result.bytes,
        profileBuffer: stop.result.buf,
        samples,
      };
    };
  } else if (variant.profiler === 'inspector') {
    const inspector = require('node:inspector');
    const session = new inspector.Session();
    session.connect();
    const post = (method, params) =>
      new Promise((resolve, reject) =>
        session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))),
      );
    // Session.post on the main thread answers synchronously; start before the workload.
    session.post('Profiler.enable');
    session.post('Profiler.setSamplingInterval', { interval: variant.intervalMicros });
    session.post('Profiler.start');
    finish = async () => {
      const stop = await withBlockProbe(async () => {
        const s0 = performance.now();
        const { profile } = await post('Profiler.stop');
        const stopMillis = performance.now() - s0;
        // What --cpu-prof writes: JSON. Gzipped here so sizes compare with pprof.
        const json = JSON.stringify(profile);
        const buf = await gzip(json);
        return { stopMillis, bytes: buf.length, jsonBytes: json.length, samples: profile.samples.length };
      });
      session.disconnect();
      return {
        stopMillis: stop.result.stopMillis,
        stopEncodeMillis: stop.elapsedMillis,
        maxBlockMillis: stop.maxBlockMillis,
        profileBytes: stop.result.bytes,
        profileJsonBytes: stop.result.jsonBytes,
        samples: stop.result.samples,
      };
    };
  }
  if (otel !== undefined) {
    const inner = finish;
    finish = async () => {
      await otel.provider.forceFlush();
      return { ...(await inner()), exportedSpans: otel.exportedSpans() };
    };
  }
  return { wrap, finish, express, startMillis: performance.now() - t0 };
}

module.exports = { setupVariant };
