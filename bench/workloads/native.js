'use strict';
// Workload 4: native-heavy work, fixed. Each unit hashes 64 KiB with SHA-256,
// deflates and inflates 32 KiB, and round-trips ~20 KiB of JSON, each under a
// label naming the operation: most CPU time is in OpenSSL, zlib and V8's JSON
// code (C++), which V8's profiler shows as one opaque frame.
const crypto = require('node:crypto');
const zlib = require('node:zlib');
const { rng } = require('../lib/kernels');

function makeInputs() {
  const random = rng(42);
  const hashInput = Buffer.alloc(64 * 1024);
  for (let i = 0; i < hashInput.length; i++) hashInput[i] = (random() * 256) | 0;
  // Semi-compressible text for zlib (words from a small vocabulary).
  const vocab = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota'];
  let text = '';
  while (text.length < 32 * 1024) text += `${vocab[(random() * vocab.length) | 0]}${(random() * 1000) | 0} `;
  const zlibInput = Buffer.from(text.slice(0, 32 * 1024));
  const doc = [];
  for (let i = 0; i < 200; i++) {
    doc.push({ id: i, name: `item-${i}`, score: random(), tags: ['a', 'b', `t${i % 7}`], ok: (i & 1) === 0 });
  }
  return { hashInput, zlibInput, doc };
}

function hashOp(inputs, i) {
  const h = crypto.createHash('sha256').update(inputs.hashInput).update(String(i)).digest();
  return h[0];
}

function zlibOp(inputs) {
  const deflated = zlib.deflateSync(inputs.zlibInput, { level: 6 });
  return zlib.inflateSync(deflated).length + deflated.length;
}

function jsonOp(inputs, i) {
  inputs.doc[i % inputs.doc.length].score = i;
  const s = JSON.stringify(inputs.doc);
  return JSON.parse(s).length + s.length;
}

module.exports = {
  kind: 'fixed',
  params: { full: { units: 700 }, quick: { units: 50 } },
  describe: (p) =>
    `${p.units} units of SHA-256 (64 KiB) + deflate/inflate (32 KiB) + JSON round trip (~20 KiB), each op under withLabels({op})`,
  run({ wrap, params }) {
    const inputs = makeInputs();
    let checksum = 0;
    for (let i = 0; i < params.units; i++) {
      checksum = (checksum + wrap({ op: 'hash' }, () => hashOp(inputs, i))) | 0;
      checksum = (checksum + wrap({ op: 'zlib' }, () => zlibOp(inputs))) | 0;
      checksum = (checksum + wrap({ op: 'json' }, () => jsonOp(inputs, i))) | 0;
    }
    return { checksum, units: params.units };
  },
};
