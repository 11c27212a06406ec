'use strict';
// Where children load labelprof from: the snapshot the runner took at start
// ($BENCH_LABELPROF_ROOT; see run.js), or the repository itself.
const path = require('node:path');

module.exports = process.env.BENCH_LABELPROF_ROOT || path.join(__dirname, '..', '..');
