'use strict';
// The load for bench/continuous.js, in a process of its own (so that its
// CPU is not the server's): autocannon at a fixed overall rate against
// 127.0.0.1:$port over the workload's routes, until the duration is over or
// the parent sends 'stop'; then one {type:'result'} message.
//   BENCH_LOAD={"port":..,"rate":..,"seconds":..,"connections":..,"routes":[..]}
const autocannon = require('autocannon');

const o = JSON.parse(process.env.BENCH_LOAD);
const instance = autocannon(
  {
    url: `http://127.0.0.1:${o.port}`,
    connections: o.connections,
    overallRate: o.rate,
    duration: o.seconds,
    requests: o.routes.map((path) => ({ method: 'GET', path })),
    timeout: 10,
  },
  (err, r) => {
    const msg = err
      ? { type: 'error', message: String(err.stack || err) }
      : {
          type: 'result',
          requests: r.requests.total,
          seconds: r.duration,
          throughput: r.requests.total / r.duration,
          latencyP50Millis: r.latency.p50,
          latencyP99Millis: r.latency.p99,
          latencyMaxMillis: r.latency.max,
          errors: r.errors + r.timeouts + r.non2xx,
        };
    process.send(msg, () => process.exit(0));
  },
);
// autocannon loaded and connecting: the parent starts measuring from here.
process.send({ type: 'ready' });
process.on('message', (m) => {
  if (m.type === 'stop') instance.stop();
});
