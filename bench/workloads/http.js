'use strict';
// Workload 2: an HTTP service on 127.0.0.1. The handler does ~0.6 ms of CPU
// work in four pieces separated by awaits (a resolved promise, a turn of the
// event loop, a chained promise) and runs under a label set made per request
// ({endpoint, tenant}). The load comes from autocannon in the runner process
// (lib/http-driver.js), a separate process; this file is the server side.
//
// Protocol with the runner (IPC): we send {type:'listening', port}; the
// runner warms up, sends 'begin', drives the measured load, sends 'end'; we
// close the server and report CPU used between begin and end.
const http = require('node:http');
const { performance } = require('node:perf_hooks');
const { warmUp, hashLoop, buildIndex, sortNumbers, textWork } = require('../lib/kernels');

// Before anything is measured (module load, in every variant alike).
warmUp();

const ROUTES = ['/api/users', '/api/orders', '/api/search', '/api/report'];
const TENANTS = ['t0', 't1', 't2', 't3', 't4', 't5', 't6', 't7'];

async function handle(req, res, labels, i) {
  const a = hashLoop(80_000);
  await null;
  const b = buildIndex(800, i);
  await new Promise((resolve) => setImmediate(resolve));
  const c = sortNumbers(400, i);
  const d = await Promise.resolve(i).then((v) => textWork(600, v));
  const body = JSON.stringify({ endpoint: labels.endpoint, tenant: labels.tenant, a, b, c, d });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

module.exports = {
  kind: 'http',
  ROUTES,
  handle, // also served by bench/lib/continuous-server.js
  params: {
    full: { warmupSeconds: 1, seconds: 4, connections: 8 },
    // Smoke run: no warm-up (autocannon runs whole seconds: a 0.3 s warm-up took 1 s).
    quick: { warmupSeconds: 0, seconds: 1, connections: 8 },
    long: { warmupSeconds: 1, seconds: 60, connections: 8 },
  },
  describe: (p) =>
    `autocannon, ${p.connections} connections, ${p.warmupSeconds} s warm-up + ${p.seconds} s measured; handler ~0.7 ms CPU, 3 awaits, withLabels({endpoint, tenant}) per request`,

  // Serves until the runner says 'end'; resolves with the measurement.
  // With `express` (the OpenTelemetry variants), the same handler is mounted
  // on an Express app, one route per endpoint.
  serve({ wrap, express, send, onMessage }) {
    let served = 0;
    let failed = 0;
    const onRequest = (req, res) => {
      const i = served++;
      const route = ROUTES.includes(req.url) ? req.url : 'other';
      const labels = { endpoint: route, tenant: TENANTS[i & 7] };
      Promise.resolve(wrap(labels, () => handle(req, res, labels, i))).catch(() => {
        failed++;
        res.statusCode = 500;
        res.end();
      });
    };
    let listener = onRequest;
    if (express !== undefined) {
      const app = express();
      for (const route of ROUTES) app.get(route, onRequest);
      app.use(onRequest);
      listener = app;
    }
    const server = http.createServer(listener);
    server.keepAliveTimeout = 60_000;
    return new Promise((resolve, reject) => {
      let begin;
      let rssTimer;
      let rssMax = 0;
      onMessage((msg) => {
        if (msg.type === 'begin') {
          begin = {
            cpu: process.cpuUsage(),
            t: performance.now(),
            served,
            rss: process.memoryUsage.rss(),
          };
          rssMax = begin.rss;
          rssTimer = setInterval(() => {
            rssMax = Math.max(rssMax, process.memoryUsage.rss());
          }, 1000);
        } else if (msg.type === 'end') {
          clearInterval(rssTimer);
          const cpu = process.cpuUsage(begin.cpu);
          const requests = served - begin.served;
          const rssEnd = process.memoryUsage.rss();
          server.closeAllConnections();
          server.close(() =>
            resolve({
              wallMillis: performance.now() - begin.t,
              cpuMillis: (cpu.user + cpu.system) / 1000,
              requests,
              failed,
              cpuMicrosPerRequest: requests > 0 ? ((cpu.user + cpu.system) / requests) : null,
              rssBeginBytes: begin.rss,
              rssEndBytes: rssEnd,
              rssMaxDuringBytes: Math.max(rssMax, rssEnd),
            }),
          );
        }
      });
      server.on('error', reject);
      server.listen(0, '127.0.0.1', () => send({ type: 'listening', port: server.address().port }));
    });
  },
};
