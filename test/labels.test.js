'use strict';
// Label semantics and propagation, in process (no sampling). Each check reads
// both what JavaScript sees (getLabels) and what the signal handler would
// read (the native slot), which must name the same label set.
const test = require('node:test');
const assert = require('node:assert/strict');
const { EventEmitter, EventEmitterAsyncResource } = require('node:events');
const { AsyncResource } = require('node:async_hooks');
const timers = require('node:timers/promises');

const lp = require('..');
const internals = require('../dist/labels.js');
const context = require('../dist/label-context.js');

// What the handler reads matters only while sampling (in slot mode the hook
// that keeps it current is on only then), so these tests run under a profiler.
const profiler = lp.start({ nativeFrames: false });
test.after(() => profiler.stopSync());

function seen() {
  assert.equal(context._handlerView(), internals._currentSetId(), 'what the signal handler would read disagrees with getLabels()');
  return { ...lp.getLabels() };
}

test('withLabels runs fn with the labels and restores afterwards', () => {
  assert.deepEqual(seen(), {});
  const result = lp.withLabels({ endpoint: '/a' }, () => {
    assert.deepEqual(seen(), { endpoint: '/a' });
    return 42;
  });
  assert.equal(result, 42);
  assert.deepEqual(seen(), {});
});

test('nested withLabels merges, overrides and restores', () => {
  lp.withLabels({ endpoint: '/a', tenant: 't1' }, () => {
    lp.withLabels({ tenant: 't2', job: 'j' }, () => {
      assert.deepEqual(seen(), { endpoint: '/a', tenant: 't2', job: 'j' });
    });
    assert.deepEqual(seen(), { endpoint: '/a', tenant: 't1' });
  });
  assert.deepEqual(seen(), {});
});

test('withLabels restores after fn throws', () => {
  assert.throws(() => lp.withLabels({ a: '1' }, () => { throw new Error('boom'); }), /boom/);
  assert.deepEqual(seen(), {});
});

test('getLabels returns a frozen plain object; getLabel one value', () => {
  lp.withLabels({ k: 'v' }, () => {
    const labels = lp.getLabels();
    assert.ok(Object.isFrozen(labels));
    assert.equal(Object.getPrototypeOf(labels), Object.prototype);
    assert.equal(lp.getLabel('k'), 'v');
    assert.equal(lp.getLabel('missing'), undefined);
    assert.equal(lp.getLabel('toString'), undefined);
  });
});

test('labels follow await and promise chains', async () => {
  await lp.withLabels({ form: 'await' }, async () => {
    await null;
    assert.deepEqual(seen(), { form: 'await' });
    await timers.setTimeout(2);
    assert.deepEqual(seen(), { form: 'await' });
    await Promise.resolve().then(() => assert.deepEqual(seen(), { form: 'await' }));
  });
  await lp.withLabels({ form: 'then' }, () =>
    Promise.resolve(1)
      .then(() => seen())
      .then((labels) => assert.deepEqual(labels, { form: 'then' })),
  );
  assert.deepEqual(seen(), {});
});

test('labels follow timers, setImmediate and process.nextTick', async () => {
  const results = await lp.withLabels({ form: 'timers' }, () =>
    Promise.all([
      new Promise((resolve) => setTimeout(() => resolve(seen()), 1)),
      new Promise((resolve) => setImmediate(() => resolve(seen()))),
      new Promise((resolve) => process.nextTick(() => resolve(seen()))),
      new Promise((resolve) => {
        let n = 0;
        const t = setInterval(() => {
          if (++n === 3) {
            clearInterval(t);
            resolve(seen());
          }
        }, 1);
      }),
    ]),
  );
  for (const labels of results) assert.deepEqual(labels, { form: 'timers' });
  assert.deepEqual(seen(), {});
});

test('labels follow EventEmitter listeners and AsyncResource', async () => {
  const emitter = new EventEmitter();
  let fromEmit;
  emitter.on('x', () => { fromEmit = seen(); });
  lp.withLabels({ form: 'emit' }, () => emitter.emit('x'));
  assert.deepEqual(fromEmit, { form: 'emit' });

  // A listener bound where it was created runs in that context when emitted elsewhere.
  const bound = lp.withLabels({ form: 'bound' }, () => AsyncResource.bind(() => seen()));
  assert.deepEqual(lp.withLabels({ form: 'other' }, () => bound()), { form: 'bound' });
  assert.deepEqual(seen(), {});

  const resource = lp.withLabels({ form: 'resource' }, () => new AsyncResource('test'));
  assert.deepEqual(resource.runInAsyncScope(() => seen()), { form: 'resource' });
  assert.deepEqual(seen(), {});

  const ee = lp.withLabels({ form: 'eear' }, () => new EventEmitterAsyncResource({ name: 'x' }));
  let fromEear;
  ee.on('y', () => { fromEear = seen(); });
  ee.emit('y');
  assert.deepEqual(fromEear, { form: 'eear' });
  assert.deepEqual(seen(), {});
});

test('setLabels replaces the labels of the current context from here on', async () => {
  await lp.withLabels({ a: '1' }, async () => {
    lp.setLabels({ b: '2' });
    assert.deepEqual(seen(), { b: '2' });
    await null;
    assert.deepEqual(seen(), { b: '2' });
    await new Promise((resolve) => setTimeout(resolve, 1));
    assert.deepEqual(seen(), { b: '2' });
  });
  assert.deepEqual(seen(), {});
  // In a fresh async context, setLabels does not leak to the caller.
  await new Promise((resolve) =>
    setImmediate(() => {
      lp.setLabels({ c: '3' });
      assert.deepEqual(seen(), { c: '3' });
      resolve();
    }),
  );
  assert.deepEqual(seen(), {});
});

test('many interleaved concurrent requests never see each other\'s labels', async () => {
  const errors = [];
  const request = (i) =>
    lp.withLabels({ request: String(i) }, async () => {
      for (let step = 0; step < 5; step++) {
        const labels = seen();
        if (labels.request !== String(i)) errors.push(`request ${i} step ${step} saw ${labels.request}`);
        if ((i + step) % 3 === 0) await timers.setTimeout(i % 4);
        else if ((i + step) % 3 === 1) await new Promise((r) => setImmediate(r));
        else await null;
      }
    });
  await Promise.all(Array.from({ length: 300 }, (_, i) => request(i)));
  assert.deepEqual(errors, []);
  assert.deepEqual(seen(), {});
});

test('label sets are interned: the same labels get the same id', () => {
  const a = lp.withLabels({ x: '1', y: '2' }, () => internals._currentSetId());
  const b = lp.withLabels({ y: '2' }, () => lp.withLabels({ x: '1' }, () => internals._currentSetId()));
  assert.equal(a, b);
  assert.notEqual(a, 0);
});

test('bad labels get a TypeError naming the culprit', () => {
  const fn = () => 1;
  assert.throws(() => lp.withLabels(null, fn), { name: 'TypeError', message: /labels.*null/ });
  assert.throws(() => lp.withLabels('a=b', fn), { name: 'TypeError', message: /labels.*"a=b" of type string/ });
  assert.throws(() => lp.withLabels(['a'], fn), { name: 'TypeError', message: /labels.*array/ });
  assert.throws(() => lp.withLabels(new Map(), fn), { name: 'TypeError', message: /labels/ });
  assert.throws(() => lp.withLabels({ a: 1 }, fn), { name: 'TypeError', message: /labels\["a"\].*1 of type number/ });
  assert.throws(() => lp.withLabels({ a: undefined }, fn), { name: 'TypeError', message: /labels\["a"\]/ });
  assert.throws(() => lp.withLabels({ '': 'x' }, fn), { name: 'TypeError', message: /empty key/ });
  assert.throws(() => lp.withLabels({ [Symbol('s')]: 'x' }, fn), { name: 'TypeError', message: /symbol/ });
  assert.throws(() => lp.withLabels({ a: 'b' }), { name: 'TypeError', message: /fn.*undefined/ });
  assert.throws(() => lp.withLabels({ a: 'b' }, 'notfn'), { name: 'TypeError', message: /fn/ });
  assert.throws(() => lp.setLabels(undefined), { name: 'TypeError', message: /labels/ });
  assert.throws(() => lp.setLabels({ a: {} }), { name: 'TypeError', message: /labels\["a"\]/ });
  assert.throws(() => lp.getLabel(1), { name: 'TypeError', message: /key.*number/ });
  assert.throws(() => lp.getLabel(''), { name: 'RangeError', message: /key/ });
  assert.deepEqual(seen(), {});
});

test('labels already cached are checked as strictly as new ones', () => {
  const fn = () => lp.getLabels();
  // The merged set of { a: 'x' } is cached under the empty set from here on.
  assert.deepEqual(lp.withLabels({ a: 'x' }, fn), { a: 'x' });
  assert.deepEqual(lp.withLabels({ a: 'x' }, fn), { a: 'x' });
  assert.throws(() => lp.withLabels({ a: 'x', [Symbol('s')]: 'y' }, fn), { name: 'TypeError', message: /symbol/ });
  assert.throws(() => lp.withLabels({ a: 'x', b: 2 }, fn), { name: 'TypeError', message: /labels\["b"\]/ });
  assert.throws(() => lp.withLabels({ a: 'x', '': 'y' }, fn), { name: 'TypeError', message: /empty key/ });
  const withGetter = { get a() { return 'x'; } };
  assert.deepEqual(lp.withLabels(withGetter, fn), { a: 'x' });
  // Key order differs, same set.
  lp.withLabels({ a: 'x', b: 'y' }, () => assert.equal(lp.withLabels({ b: 'y', a: 'x' }, () => internals._currentSetId()), internals._currentSetId()));
  // Under a parent, the cached child merges the parent's labels.
  lp.withLabels({ p: '1' }, () => {
    assert.deepEqual(lp.withLabels({ a: 'x' }, fn), { p: '1', a: 'x' });
    assert.deepEqual(lp.withLabels({ a: 'x' }, fn), { p: '1', a: 'x' });
  });
});

test('past the cap on live label sets, labels still work, samples carry labelprof_overflow, and freed sets make room (child process)', () => {
  const { runJson } = require('./helpers');
  const out = runJson('overflow.js', { nodeArgs: ['--expose-gc'] });
  assert.deepEqual(out.seen, { request: 'past-the-cap' });
  assert.equal(out.labelSetsAtCap, 1000, JSON.stringify(out));
  assert.ok(out.overflowed >= 100, JSON.stringify(out));
  assert.ok(out.burnSamples >= 20, JSON.stringify(out));
  assert.deepEqual(out.burnLabels, [JSON.stringify({ labelprof_overflow: 'true' })]);
  // After the gated sets were collected, a new set gets its own id again.
  assert.ok(out.labelSetsAfter < 50, JSON.stringify(out));
  assert.deepEqual(out.afterLabels, [JSON.stringify({ request: 'after' })]);
});

test('setLabels inside a withLabels of the same labels stays inside it', () => {
  lp.withLabels({ a: '1' }, () => {
    lp.withLabels({ a: '1' }, () => lp.setLabels({ b: '2' }));
    assert.deepEqual(lp.getLabels(), { a: '1' });
  });
  assert.deepEqual(lp.getLabels(), {});
});

test('a set entered inside itself keeps its id while only the inner scope\'s continuations hold it (child process)', () => {
  const { runJson } = require('./helpers');
  const out = runJson('twin-lifetime.js', { nodeArgs: ['--expose-gc'] });
  assert.notEqual(out.idInside, 0, JSON.stringify(out));
  assert.deepEqual(out.after, { labels: { twin: 'kept' }, id: out.idInside });
  assert.equal(out.reused, false, `a new set got the id of a set still in use: ${JSON.stringify(out)}`);
});
