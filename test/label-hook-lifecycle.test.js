'use strict';
// Slot mode (Node 20, 22 without the flag) keeps the handler's slot current
// with an async hook that is on only while sampling and labels are in use.
// These checks cover turning it on and off around code already running in
// a labelled context. Where the handler reads AsyncContextFrame they hold too.
const test = require('node:test');
const assert = require('node:assert/strict');
const timers = require('node:timers/promises');

const lp = require('..');
const internals = require('../dist/labels.js');
const context = require('../dist/label-context.js');

function handlerSees() {
  return context._handlerView();
}

test('labels entered before start() are what the handler reads after start(), across awaits', async () => {
  await lp.withLabels({ job: 'before-start' }, async () => {
    await timers.setImmediate();
    const profiler = lp.start({ nativeFrames: false });
    try {
      const id = internals._currentSetId();
      assert.notEqual(id, 0);
      assert.equal(handlerSees(), id, 'right after start()');
      await timers.setTimeout(1);
      assert.equal(handlerSees(), id, 'after an await');
      await lp.withLabels({ step: 'inner' }, async () => {
        await timers.setImmediate();
        assert.equal(handlerSees(), internals._currentSetId());
        assert.deepEqual(lp.getLabels(), { job: 'before-start', step: 'inner' });
      });
      assert.equal(handlerSees(), id, 'back in the outer set');
    } finally {
      profiler.stopSync();
    }
  });
});

test('a second profile after stop() tracks labels again', async () => {
  for (let round = 0; round < 2; round++) {
    const profiler = lp.start({ nativeFrames: false });
    try {
      assert.equal(handlerSees(), 0, 'unlabelled code reads the empty set');
      await lp.withLabels({ round: String(round) }, async () => {
        await timers.setTimeout(1);
        assert.equal(handlerSees(), internals._currentSetId());
        assert.notEqual(handlerSees(), 0);
      });
      await timers.setImmediate();
      assert.equal(handlerSees(), 0);
    } finally {
      profiler.stopSync();
    }
  }
});
