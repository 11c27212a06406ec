#!/usr/bin/env node
'use strict';
// Re-renders the markdown report of finished runs from their JSON:
//   node bench/report.js bench/results/<file>.json
//   node bench/report.js --readme <a.json> [<b.json> ...]
//   node bench/report.js --interval-by-rounds <file.json> [workload]
// --readme writes the reports into bench/README.md, between the
// `<!-- RESULTS -->` and `<!-- /RESULTS -->` markers (headings one level
// down), so the README's tables are always a rendering of committed JSON.
// --interval-by-rounds shows how the 95 % intervals of one workload's
// overheads (default http-fixed) narrow as rounds are added: how many rounds
// a run needs to resolve a given difference.
const fs = require('node:fs');
const path = require('node:path');
const { aggregate } = require('./lib/aggregate');
const { renderMarkdown, intervalByRounds } = require('./lib/report');

function render(file) {
  const { meta, measurements, long, micro } = JSON.parse(fs.readFileSync(file, 'utf8'));
  return renderMarkdown(aggregate({ meta, measurements, long, micro }));
}

const args = process.argv.slice(2);
if (args[0] === '--interval-by-rounds') {
  if (args.length < 2 || args.length > 3) {
    process.stderr.write('usage: node bench/report.js --interval-by-rounds <results.json> [workload]\n');
    process.exit(2);
  }
  const { meta, measurements } = JSON.parse(fs.readFileSync(args[1], 'utf8'));
  const rounds = Math.max(...measurements.map((m) => m.round)) + 1;
  const byRounds = (k) => aggregate({ meta, measurements: measurements.filter((m) => m.round < k), long: [], micro: [] });
  process.stdout.write(intervalByRounds(args[2] ?? 'http-fixed', rounds, byRounds));
  process.exit(0);
}
const readme = args[0] === '--readme';
const files = readme ? args.slice(1) : args;
if (files.length === 0 || (!readme && files.length !== 1)) {
  process.stderr.write('usage: node bench/report.js <results.json>\n       node bench/report.js --readme <results.json>...\n');
  process.exit(2);
}
if (!readme) {
  process.stdout.write(render(files[0]));
} else {
  const readmePath = path.join(__dirname, 'README.md');
  const text = fs.readFileSync(readmePath, 'utf8');
  const open = '<!-- RESULTS -->';
  const close = '<!-- /RESULTS -->';
  const a = text.indexOf(open);
  const b = text.indexOf(close);
  if (a < 0 || b < a) {
    process.stderr.write(`bench/README.md needs the markers ${open} and ${close}\n`);
    process.exit(1);
  }
  const body = files
    .map((f) => {
      const md = render(f).replace(/^(#+) /gm, '#$1 ');
      return `${md.trimEnd()}\n\nSource: \`bench/results/${path.basename(f)}\` (re-render with \`node bench/report.js\`).\n`;
    })
    .join('\n');
  fs.writeFileSync(readmePath, `${text.slice(0, a + open.length)}\n\n${body}\n${text.slice(b)}`);
  process.stdout.write(`bench/README.md: results of ${files.length} run(s) written\n`);
}
