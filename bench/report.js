#!/usr/bin/env node
'use strict';
// Re-renders the markdown report of a finished run from its JSON:
//   node bench/report.js bench/results/<file>.json
const fs = require('node:fs');
const { aggregate } = require('./lib/aggregate');
const { renderMarkdown } = require('./lib/report');

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node bench/report.js <results.json>\n');
  process.exit(2);
}
const { meta, measurements, long, micro } = JSON.parse(fs.readFileSync(file, 'utf8'));
process.stdout.write(renderMarkdown(aggregate({ meta, measurements, long, micro })));
