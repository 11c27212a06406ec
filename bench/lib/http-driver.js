'use strict';
// Runner side of the HTTP workloads: autocannon in this (the runner's)
// process drives the server child over 127.0.0.1 for a bounded time, as fast
// as the server answers, or at a fixed overall rate (params.rate, requests/s:
// workloads/http-fixed.js), warm-up included.
const autocannon = require('autocannon');

function cannon(port, seconds, connections, routes, rate) {
  return autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    ...(rate !== undefined ? { overallRate: rate } : {}),
    duration: seconds,
    requests: routes.map((path) => ({ method: 'GET', path })),
    timeout: 10,
  });
}

// `child` is the server process; `waitFor(type)` resolves with its next message of that type.
async function driveHttp({ child, waitFor, params, routes }) {
  const { port } = await waitFor('listening');
  if (params.warmupSeconds > 0) await cannon(port, params.warmupSeconds, params.connections, routes, params.rate);
  child.send({ type: 'begin' });
  const r = await cannon(port, params.seconds, params.connections, routes, params.rate);
  child.send({ type: 'end' });
  return {
    throughput: r.requests.total / r.duration,
    requestsTotal: r.requests.total,
    loadSeconds: r.duration,
    latencyP50Millis: r.latency.p50,
    latencyP99Millis: r.latency.p99,
    latencyMaxMillis: r.latency.max,
    errors: r.errors + r.timeouts + r.non2xx,
  };
}

module.exports = { driveHttp };
