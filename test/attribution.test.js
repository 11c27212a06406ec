'use strict';
// CPU attribution read back from the encoded profile: shares per label match
// the work each labelled task did, and the burn functions' samples carry
// their own task's label.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { runJson, readProfile } = require('./helpers');

test('three labelled tasks burning 50/30/20 get their CPU share within 5 points', () => {
  const { file, stats } = runJson('attribution.js');
  const { samples } = readProfile(fs.readFileSync(file));
  fs.unlinkSync(file);
  assert.ok(stats.v8Samples >= 300, `too few samples: ${JSON.stringify(stats)}`);
  assert.ok(stats.matched / stats.v8Samples >= 0.95, `too few matched: ${JSON.stringify(stats)}`);

  const cpuByTask = { alpha: 0, beta: 0, gamma: 0 };
  const own = { alpha: [0, 0], beta: [0, 0], gamma: [0, 0] };
  const burnOf = { burnAlpha: 'alpha', burnBeta: 'beta', burnGamma: 'gamma' };
  for (const s of samples) {
    if (s.labels.task in cpuByTask) cpuByTask[s.labels.task] += s.cpu;
    const burn = s.stack.find((name) => name in burnOf);
    if (burn !== undefined) {
      const t = burnOf[burn];
      own[t][1] += s.count;
      if (s.labels.task === t) own[t][0] += s.count;
    }
  }
  const total = cpuByTask.alpha + cpuByTask.beta + cpuByTask.gamma;
  const share = (t) => (100 * cpuByTask[t]) / total;
  const shown = JSON.stringify({ alpha: share('alpha'), beta: share('beta'), gamma: share('gamma') });
  assert.ok(Math.abs(share('alpha') - 50) <= 5, `alpha share off: ${shown}`);
  assert.ok(Math.abs(share('beta') - 30) <= 5, `beta share off: ${shown}`);
  assert.ok(Math.abs(share('gamma') - 20) <= 5, `gamma share off: ${shown}`);
  for (const t of Object.keys(own)) {
    const [mine, all] = own[t];
    assert.ok(all >= 30, `too few samples in burn function of ${t}: ${all}`);
    assert.ok(mine / all >= 0.95, `${t}: only ${mine} of ${all} burn samples carry task=${t}`);
  }
});

test('interleaved concurrent requests: no sample carries another request\'s labels', () => {
  const { file, stats } = runJson('concurrent.js');
  const { samples } = readProfile(fs.readFileSync(file));
  fs.unlinkSync(file);
  const kindOf = { burnKindA: 'A', burnKindB: 'B', burnKindC: 'C' };
  const seen = { A: 0, B: 0, C: 0 };
  const wrong = [];
  let beforeStart = 0;
  for (const s of samples) {
    if (s.stack.includes('burnBeforeStart')) {
      beforeStart += s.count;
      if (s.labels.phase !== 'top-level' || s.labels.kind !== undefined) wrong.push(`burnBeforeStart with ${JSON.stringify(s.labels)}`);
    }
    const burn = s.stack.find((f) => f in kindOf);
    if (burn === undefined) continue;
    const kind = kindOf[burn];
    seen[kind] += s.count;
    if (s.labels.kind !== kind || !String(s.labels.request).startsWith(`${kind}-`)) {
      wrong.push(`${burn} with ${JSON.stringify(s.labels)} x${s.count}`);
    }
  }
  assert.deepEqual(wrong, [], `stats ${JSON.stringify(stats)}`);
  for (const k of Object.keys(seen)) assert.ok(seen[k] >= 30, `too few samples for kind ${k}: ${JSON.stringify(seen)}`);
  assert.ok(beforeStart >= 10, `labels set before start(): ${beforeStart} samples`);
});
