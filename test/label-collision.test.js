'use strict';
// Property (issue 10, item 2): random label objects never collide unless
// equal. getLabels() inside withLabels returns exactly what went in, and two
// different label sets never share an id. Keys and values come from an
// alphabet with NUL, separators, quotes, unicode and "__proto__", and one
// case in four folds a set's keys and values into one NUL-joined value (the
// collision the old interning key allowed). Rejecting a label with a
// TypeError that names it is allowed.
//
// Written before the NUL fix of item 2 landed, and failed until it did.
const test = require('node:test');
const assert = require('node:assert/strict');
const { AsyncResource } = require('node:async_hooks');
const lp = require('..');
const { _currentSetId } = require('../dist/labels.js');

const ALPHABET = ['a', 'b', '=', ',', ':', '\u0000', '\u0001', '"', '\\', 'é', '\u{1F600}', ' ', '\n', '__proto__'];

function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('label-collision property: random sets round-trip and never share an id', () => {
  const rand = seeded(20261128);
  const word = (min) => {
    let s = '';
    const n = min + Math.floor(rand() * 5);
    for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(rand() * ALPHABET.length)];
    return s;
  };
  const canonical = (labels) => JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
  const byId = new Map();
  const held = [];
  const failures = [];
  for (let round = 0; round < 3000 && failures.length < 5; round++) {
    const labels = {};
    for (let i = 1 + Math.floor(rand() * 3); i > 0; i--) labels[word(1)] = word(0);
    const cases = [labels];
    if (rand() < 0.25) {
      const keys = Object.keys(labels).sort();
      cases.push({ [keys[0]]: keys.slice(1).reduce((v, k) => `${v}\u0000${k}\u0000${labels[k]}`, labels[keys[0]]) });
    }
    for (const input of cases) {
      let seen;
      try {
        // The resource holds the context, so the set stays live and its id
        // cannot be reused by a later set (ids of freed sets are).
        seen = lp.withLabels(input, () => ({ labels: { ...lp.getLabels() }, id: _currentSetId(), hold: new AsyncResource('hold') }));
      } catch (err) {
        assert.ok(err instanceof TypeError && /label/.test(err.message), `unexpected ${err} for ${JSON.stringify(input)}`);
        continue;
      }
      const want = canonical(input);
      if (canonical(seen.labels) !== want) failures.push(`in ${JSON.stringify(input)} out ${JSON.stringify(seen.labels)}`);
      held.push(seen.hold);
      const before = byId.get(seen.id);
      if (before !== undefined && before !== want) failures.push(`id ${seen.id} is both ${before} and ${want}`);
      else if (before === undefined) byId.set(seen.id, want);
    }
  }
  assert.deepEqual(failures, []);
});
