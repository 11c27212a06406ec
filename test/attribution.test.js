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
  // Of the signals recorded (v8Samples also counts the samples V8 takes at GC
  // starts), less those V8 took one sample for two of (its sampler running
  // late on a loaded machine sent them back to back: counted by reason).
  const sampled = stats.recorded - stats.unmatchedRecordsBackToBack;
  assert.ok(stats.matched / sampled >= 0.95, `too few matched: ${JSON.stringify(stats)}`);

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

// In slot mode the slot keeps the last callback's labels while the event loop
// waits (the hook sees callbacks start, not end); such samples must still
// come out without labels, as they do where the handler reads the context
// frame. Run both ways where this Node has both.
for (const source of ['default', 'slot']) {
  test(`time waiting in the event loop carries no labels (label source: ${source})`, () => {
    const env = source === 'slot' ? { LABELPROF_LABEL_SOURCE: 'slot' } : {};
    const { file, stats } = runJson('idle-labels.js', { env });
    const { samples } = readProfile(fs.readFileSync(file));
    fs.unlinkSync(file);
    if (source === 'slot') assert.equal(stats.labelSource, 'slot');
    let burn = 0;
    let burnLabelled = 0;
    let outside = 0;
    const labelledOutside = [];
    for (const s of samples) {
      if (s.stack.includes('burnLabelled') || s.stack.includes('labelledTask')) {
        burn += s.count;
        if (s.labels.job === 'waits') burnLabelled += s.count;
      } else if (!s.stack.includes('main') && !s.stack.some((f) => f.includes('processTicksAndRejections') || f.includes('listOnTimeout'))) {
        // Neither our JavaScript nor Node's: the loop's wait, libuv, the pseudo-frames.
        outside += s.count;
        if (Object.keys(s.labels).length > 0) labelledOutside.push(`${s.stack.slice(0, 4).join(' < ')} ${JSON.stringify(s.labels)} x${s.count}`);
      }
    }
    assert.ok(burn >= 100, `too few burn samples: ${burn}`);
    assert.ok(burnLabelled / burn >= 0.95, `burn samples labelled: ${burnLabelled} of ${burn}`);
    assert.ok(outside >= 100, `too few samples outside JavaScript: ${outside}`);
    const labelled = labelledOutside.reduce((n, l) => n + Number(l.slice(l.lastIndexOf('x') + 1)), 0);
    assert.ok(labelled <= outside * 0.02, `samples outside JavaScript with labels (${labelled} of ${outside}):\n${labelledOutside.join('\n')}`);
  });
}
