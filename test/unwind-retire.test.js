'use strict';
// Retiring an unwind-table snapshot (issue 10, item 6): a rebuild while a
// walk is in flight used to spin under the table's mutex for up to 100 ms,
// then keep the old snapshot forever. Now it neither waits nor leaks: the
// old snapshot waits on a retired list and a later rebuild frees it.
const test = require('node:test');
const assert = require('node:assert/strict');
const testAddon = require('./native/addon.js');

test('a rebuild with a walk in flight keeps the old snapshot for later, and a later rebuild frees it', () => {
  testAddon.ensureBuilt();
  const native = testAddon.load();
  const first = native._prepareUnwindTables('leaf');
  assert.equal(first.ok, true, first.error);
  assert.equal(first.retiredPending, 0);
  native._holdWalk(true); // a walk is reading the current snapshot
  let during;
  try {
    during = native._prepareUnwindTables('leaf');
    // Swapped, not freed: the walk may still read it.
    assert.equal(during.retiredPending, 1);
    const again = native._prepareUnwindTables('leaf');
    assert.equal(again.retiredPending, 2);
  } finally {
    native._holdWalk(false);
  }
  // No walk in flight: everything retired goes.
  assert.equal(native._prepareUnwindTables('leaf').retiredPending, 0);
});
