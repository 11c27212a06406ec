'use strict';
// A small HTTP service with labelled endpoints, for the demo. Each request
// runs under withLabels({ endpoint, tenant }) and does a known amount of CPU
// work split by awaits; the service measures that work with process.cpuUsage()
// so the demo can compare it with what the profile says.
//   node --require labelprof/start examples/service.js   (prints its port)
const http = require('node:http');
const crypto = require('node:crypto');
const { withLabels, getLabel } = require('..');

function cpuNanos() {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

// Runs one piece of work and adds the CPU it took to the current endpoint's
// total (found through the labels, which the awaits carried here).
function measure(fn, units) {
  const t0 = cpuNanos();
  const result = fn(units);
  measured[getLabel('endpoint')].cpuNanos += cpuNanos() - t0;
  return result;
}

// Fixed work per call: a loop of arithmetic (JS) and a SHA-256 (native).
function computePrices(units) {
  let x = 0;
  for (let i = 0; i < units * 8000; i++) x += Math.sqrt(i + x) % 11;
  return x;
}
function renderResults(units) {
  const rows = [];
  for (let i = 0; i < units * 300; i++) rows.push({ id: i, name: `item-${i}`, score: i % 17 });
  return JSON.stringify(rows).length;
}
function signReceipt(units) {
  let h = crypto.createHash('sha256');
  const chunk = Buffer.alloc(4096, 7);
  for (let i = 0; i < units * 40; i++) h.update(chunk);
  return h.digest('hex');
}

const endpoints = {
  '/checkout': async () => {
    measure(computePrices, 4);
    await new Promise((r) => setImmediate(r));
    measure(signReceipt, 4);
    await null;
  },
  '/search': async () => {
    measure(renderResults, 3);
    await new Promise((r) => setTimeout(r, 0));
    measure(computePrices, 1);
  },
  '/health': async () => {},
};

const measured = {};
const tenants = ['acme', 'globex', 'initech'];
let served = 0;

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/stats') {
    res.end(JSON.stringify(measured));
    return;
  }
  const handler = endpoints[url.pathname];
  if (handler === undefined) {
    res.statusCode = 404;
    res.end();
    return;
  }
  const tenant = tenants[served++ % tenants.length];
  (measured[url.pathname] ??= { requests: 0, cpuNanos: 0 }).requests++;
  withLabels({ endpoint: url.pathname, tenant }, async () => {
    await handler();
    res.end('ok');
  });
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
