'use strict';
// Workload 2b: the HTTP service of workloads/http.js (same handler, same
// labels per request) under a fixed request rate well under saturation,
// instead of as many requests as it can serve. The figure is the server's
// CPU per request (process.cpuUsage over the measured window / requests
// served in it), plus latency p50/p99: every variant serves the same
// requests at the same pace, so the CPU a profiler adds shows per request
// rather than as a throughput change that the machine's noise swamps.
//
// The rate: 700 requests/s, about a third of what the no-profiler server
// serves saturated on the bench's 2-core VM (1,953 req/s median on Node 20,
// 2,214 on Node 24, bench/README.md); ~35 % of one core at ~0.5 ms CPU each.
// The load comes from autocannon in the runner process (lib/http-driver.js)
// with `overallRate`, spread over the connections.
const http = require('./http');

module.exports = {
  kind: 'http',
  fixedRate: true,
  ROUTES: http.ROUTES,
  params: {
    full: { warmupSeconds: 1, seconds: 5, connections: 8, rate: 700 },
    // --quick: no warm-up, 1 s (autocannon runs whole seconds).
    quick: { warmupSeconds: 0, seconds: 1, connections: 8, rate: 700 },
  },
  describe: (p) =>
    `the HTTP service above at a fixed ${p.rate} requests/s (autocannon overallRate, ${p.connections} connections), ${p.warmupSeconds} s warm-up + ${p.seconds} s measured; server CPU µs per request`,
  serve: http.serve,
};
