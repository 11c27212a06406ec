'use strict';
// @pyroscope/nodejs (Grafana Pyroscope's Node.js SDK), wired as its docs show:
//
//   Pyroscope.init({ serverAddress, appName, wall: { samplingIntervalMicros } });
//   Pyroscope.startWallProfiling();
//   Pyroscope.wrapWithLabels({ endpoint, tenant }, () => handler());
//   await Pyroscope.stopWallProfiling();   // serializes, gzips and pushes the profile
//
// What its source (dist/cjs, 0.6.x) does, which decides what the bench measures:
// - It embeds its own copy of @datadog/pprof (5.14.4 in 0.6.4) and starts its
//   time profiler with withContexts: true, workaroundV8Bug: true and
//   collectCpuTime: false (its default; `wall.collectCpuTime` turns it on),
//   without useCPED: the sampled context is one global, set by setContext.
// - wrapWithLabels(labels, fn) sets a fresh context { labels: {...old, ...labels} },
//   calls fn synchronously, then sets { labels: {...old} } again, and returns
//   nothing. So labels cover the synchronous part of fn only: after fn's
//   first await the samples carry the labels of whatever ran last (none, here).
//   The bench keeps that wiring (the "labelled" column shows its effect on the
//   async workloads) and only captures fn's return value in a closure, which
//   the workloads need for their checksums.
// - Its default rate is 100 Hz (samplingIntervalMicros 10,000); the bench
//   passes the variant's interval (99 Hz: 10,101 µs, as for the other profilers).
// - Pyroscope.start() would also start its heap profiler; the bench starts the
//   wall profiler alone, the part comparable to the other CPU profilers.
// - It pushes a profile every flushIntervalMs (60 s by default) and at stop,
//   to `${serverAddress}/ingest` (HTTP POST, gzipped pprof body). There is no
//   mode that collects without a server, so the measured process runs a tiny
//   ingest server of its own on 127.0.0.1 that keeps the last body (to count
//   labelled samples, like the other profilers' profiles). flushIntervalMs is
//   set to 10 minutes so that, as for the other profilers, one profile covers
//   the whole measurement and no push happens inside the measured window.
const http = require('node:http');
const path = require('node:path');

const FLUSH_INTERVAL_MILLIS = 10 * 60 * 1000;

// The @datadog/pprof instance that @pyroscope/nodejs itself loads (its own
// nested copy), for its sample counter.
function pyroscopePprof() {
  const from = path.dirname(require.resolve('@pyroscope/nodejs'));
  return require(require.resolve('@datadog/pprof', { paths: [from] }));
}

// Its package.json is not in its "exports": read it from beside dist/cjs/index.js.
function pyroscopeVersion() {
  return require(path.join(path.dirname(require.resolve('@pyroscope/nodejs')), '..', '..', 'package.json')).version;
}

// A stand-in for the Pyroscope server: accepts POST /ingest, keeps the body.
function startIngestServer() {
  const pushes = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      pushes.push({ url: req.url, body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({ server, pushes, port: server.address().port }));
  });
}

// Starts the wall profiler at intervalMicros; resolves with the variant's
// wrap(labels, fn) and its stop.
async function startPyroscope(intervalMicros) {
  // CommonJS: startWallProfiling and stopWallProfiling are on the default export only.
  const Pyroscope = require('@pyroscope/nodejs').default;
  const ingest = await startIngestServer();
  Pyroscope.init({
    appName: 'labelprof-bench',
    serverAddress: `http://127.0.0.1:${ingest.port}`,
    flushIntervalMs: FLUSH_INTERVAL_MILLIS,
    wall: { samplingIntervalMicros: intervalMicros },
  });
  Pyroscope.startWallProfiling();
  const pprof = pyroscopePprof();
  const wrap = (labels, fn) => {
    let ret;
    Pyroscope.wrapWithLabels(labels, () => {
      ret = fn();
    });
    return ret;
  };
  return {
    wrap,
    sampleCount: () => pprof.time.getState()[pprof.time.constants.kSampleCount],
    // Stop, serialize, gzip and push to the local ingest server: what a
    // Pyroscope user's process does at stop. Resolves with the pushed bytes.
    stop: async () => {
      await Pyroscope.stopWallProfiling();
      ingest.server.close();
      const last = ingest.pushes[ingest.pushes.length - 1];
      if (last === undefined) throw new Error('@pyroscope/nodejs pushed no profile to the local ingest server');
      return last.body;
    },
  };
}

module.exports = { startPyroscope, pyroscopeVersion };
