'use strict';
// withLabels must not cost the labelled function its inlining: what TurboFan
// inlines into a caller that runs a small unit of work under withLabels, it
// inlines under AsyncLocalStorage.run too (docs/design-notes.md, "withLabels
// and TurboFan's inlining budget"). Checked from V8's own inlining trace in
// child processes (--trace-turbo-inlining; the caller's optimization forced
// with natives syntax, so it happens at a known point), not from timings.
const test = require('node:test');
const assert = require('node:assert/strict');
const { runFixture } = require('./helpers');

// The functions inlined into `caller`, from the trace.
function inlinedIntoCaller(how, warm) {
  const r = runFixture('inlining.js', { args: [how, String(warm)], nodeArgs: ['--allow-natives-syntax', '--trace-turbo-inlining'] });
  assert.equal(r.status, 0, `inlining.js ${how}: status ${r.status}\n${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  const out = JSON.parse(lines[lines.length - 1]);
  const inlined = new Set();
  for (const line of lines) {
    const m = /^Inlining .*<SharedFunctionInfo ([\w$]*)>.* into .*<SharedFunctionInfo caller>/.exec(line);
    if (m) inlined.add(m[1]);
  }
  return { inlined, labelSource: out.labelSource };
}

const UNIT = ['unitOfWork', 'hashLoop', 'sortNumbers', 'textWork'];

// warm: loops before the caller is optimized. 30 lets every function on the
// way have a feedback vector; 300 lets the lookup get optimized code first.
for (const warm of [30, 300]) {
  test(`the unit of work inlined under AsyncLocalStorage.run is inlined under withLabels (caller optimized after ${warm} loops)`, (t) => {
    const als = inlinedIntoCaller('als', warm);
    const lp = inlinedIntoCaller('labelprof', warm);
    t.diagnostic(`AsyncLocalStorage.run: ${[...als.inlined].join(' ')}`);
    t.diagnostic(`withLabels (${lp.labelSource}): ${[...lp.inlined].join(' ')}`);
    if (lp.labelSource !== 'context-frame') {
      // Slot mode calls the lookup directly (a Proxy would add ~50 ns to
      // each call there, a sixth of its cost); nothing is claimed.
      t.skip(`label source ${lp.labelSource}: withLabels keeps the unit's inlining only where the handler reads the AsyncContextFrame`);
      return;
    }
    // The lookup is behind a Proxy: never inlined, whatever the budget left.
    assert.ok(!lp.inlined.has('lookUpStore'), 'the label set lookup was inlined into the caller');
    const unitUnderAls = UNIT.filter((f) => als.inlined.has(f));
    if (unitUnderAls.length === 0) {
      t.diagnostic('this V8 inlines none of the unit under AsyncLocalStorage.run either: nothing more to compare');
      return;
    }
    // withLabels' own path is AsyncLocalStorage.run plus two small calls.
    assert.deepEqual(UNIT.filter((f) => lp.inlined.has(f)), unitUnderAls);
  });
}
