'use strict';
// `labelprof run`, `report` and `diff` on profiles of a labelled fixture, and
// the bad-input contract (one line on stderr, status 1, no stack trace).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const { FIXTURES } = require('./helpers');
const { labelprof, assertOneLineError } = require('./cli-helpers');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'labelprof-cli-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
const app = path.join(FIXTURES, 'cli-app.js');
const base = path.join(dir, 'base.pb.gz');
const flipped = path.join(dir, 'flipped.pb.gz');

// "/checkout   1.23 s   75.1%" -> 75.1
function shareOf(text, value) {
  const m = new RegExp(`^\\s+${value.replace(/[/]/g, '\\/')}\\s+\\S+ m?s\\s+([\\d.]+)%`, 'm').exec(text);
  assert.ok(m, `no row for ${value} in:\n${text}`);
  return Number(m[1]);
}

test('labelprof run profiles the command through the drop-in, says where the profile is and reports', () => {
  const r = labelprof(['run', '-o', base, '--interval-micros', '1000', '--', process.execPath, app, '300', '100']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`profile written to .*base\\.pb\\.gz`));
  assert.match(r.stderr, /cpu by label/);
  assert.match(r.stderr, /Top 10 functions by self cpu/);
  assert.ok(fs.existsSync(base));
  const r2 = labelprof(['run', '-o', flipped, '--interval-micros', '1000', '--', process.execPath, app, '100', '300']);
  assert.equal(r2.status, 0, r2.stderr);
});

test('run passes the exit status through and names a command that does not exist', () => {
  const r = labelprof(['run', '-o', path.join(dir, 'x.pb.gz'), '--', process.execPath, '-e', 'process.exitCode = 3']);
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, /profile written to/);
  assertOneLineError(labelprof(['run', '--', 'no-such-command-labelprof']), /cannot run "no-such-command-labelprof": command not found/);
  assertOneLineError(labelprof(['run', 'node', 'app.js']), /put the command after --/);
});

test('run -- npm start: every Node process writes its profile, the busiest is reported', () => {
  const pkg = path.join(dir, 'npm-app');
  fs.mkdirSync(pkg);
  fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'npm-app', private: true, scripts: { start: 'node app.js' } }));
  // app.js does far more CPU work than npm's own start-up, so it is the busiest
  fs.writeFileSync(path.join(pkg, 'app.js'), `process.argv[2] = '1200'; process.argv[3] = '400'; require(${JSON.stringify(app)});\n`);
  const r = labelprof(['run', '--interval-micros', '1000', '--', 'npm', 'start', '--silent'], { cwd: pkg });
  assert.equal(r.status, 0, r.stderr);
  const written = fs.readdirSync(pkg).filter((f) => /^labelprof-\d+\.pb\.gz$/.test(f));
  assert.ok(written.length >= 2, `npm and the app should each write one: ${written}`);
  assert.match(r.stderr, new RegExp(`${written.length} Node processes wrote profiles: labelprof-\\d+\\.pb\\.gz \\(cpu \\S+ m?s\\), .*; the busiest is labelprof-\\d+\\.pb\\.gz`));
  const reported = /profile written to (labelprof-\d+\.pb\.gz)/.exec(r.stderr)[1];
  const rep = labelprof(['report', reported], { cwd: pkg });
  assert.match(rep.stdout, /checkoutWork/);
});

test('report: CPU by label value with shares, then top functions by self and cumulative CPU', () => {
  const r = labelprof(['report', base]);
  assert.equal(r.status, 0, r.stderr);
  const out = r.stdout;
  assert.match(out, /sample types: samples\/count, cpu\/nanoseconds, wall\/nanoseconds/);
  // 3:1 work split; the share is of all CPU, which includes unlabelled startup
  const checkout = shareOf(out, '/checkout');
  const search = shareOf(out, '/search');
  assert.ok(checkout / (checkout + search) > 0.6 && checkout / (checkout + search) < 0.9, out);
  assert.ok(shareOf(out, 'acme') > 25 && shareOf(out, 'globex') > 25, out);
  const self = out.split('Top 20 functions by self cpu')[1].split('Top 20 functions by cumulative')[0];
  // On arm64 V8 calls libm's fmod for a double `%` (x64 inlines it), so
  // native rows can come first there: the heaviest JavaScript row is checked.
  const rows = self.split('\n').slice(2);
  const firstRow = process.arch === 'arm64' ? rows.find((row) => /\.js:\d+/.test(row)) : rows[0];
  assert.match(firstRow ?? '', /checkoutWork\s+test\/fixtures\/cli-app\.js:\d+/, self);
  assert.match(self, /searchWork/);
  const cum = out.split('Top 20 functions by cumulative cpu')[1];
  assert.match(cum, /withLabels/);
});

test('report --focus, --by, --top and --sample', () => {
  const r = labelprof(['report', base, '--focus', 'endpoint=/search', '--top', '3']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /focus endpoint=\/search: \S+ m?s, [\d.]+% of/);
  const self = r.stdout.split('Top 3 functions by self cpu')[1].split('Top 3')[0];
  assert.match(self, /searchWork/);
  assert.doesNotMatch(self, /checkoutWork/);
  assert.ok(self.trim().split('\n').length <= 1 + 3, self);
  const cum = r.stdout.split('Top 3 functions by cumulative cpu')[1];
  assert.equal(cum.trim().split('\n').length, 1 + 3, cum);
  assert.equal(shareOf(r.stdout, '/search'), 100);

  const two = labelprof(['report', base, '--focus', 'endpoint=/search', '--focus', 'endpoint=/checkout', '--by', 'tenant']);
  assert.equal(two.status, 0, two.stderr);
  assert.match(two.stdout, /endpoint=\/search or endpoint=\/checkout/);
  assert.doesNotMatch(two.stdout.split('cpu by label')[1].split('Top')[0], /endpoint/);

  const samples = labelprof(['report', base, '--sample', 'samples']);
  assert.equal(samples.status, 0, samples.stderr);
  assert.match(samples.stdout, /samples by label/);
  assert.match(samples.stdout, /^\s+\/checkout\s+\d+\s+[\d.]+%$/m);
  const wall = labelprof(['report', base, '--sample', 'wall']);
  assert.match(wall.stdout, /wall by label/);
});

test('diff: per-function change between two profiles, and within one label value', () => {
  const r = labelprof(['diff', base, flipped]);
  assert.equal(r.status, 0, r.stderr);
  const row = (name) => r.stdout.split('\n').find((l) => l.includes(name) && /[+-]\d/.test(l));
  assert.match(row('checkoutWork'), /\s-\d/, r.stdout);
  assert.match(row('searchWork'), /\s\+\d/, r.stdout);
  const same = labelprof(['diff', base, base]);
  assert.match(same.stdout, /\(no difference\)/);
  const focused = labelprof(['diff', base, flipped, '--focus', 'endpoint=/search']);
  assert.equal(focused.status, 0, focused.stderr);
  assert.match(focused.stdout, /focus endpoint=\/search/);
  assert.doesNotMatch(focused.stdout, /checkoutWork/);
});

test('bad input: one line naming the file or flag, status 1, no stack trace', () => {
  const bytes = fs.readFileSync(base);
  const notGzip = path.join(dir, 'notes.txt');
  fs.writeFileSync(notGzip, 'this is not a profile\n'.repeat(20));
  const truncated = path.join(dir, 'truncated.pb.gz');
  fs.writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
  const notProfile = path.join(dir, 'not-profile.pb.gz');
  fs.writeFileSync(notProfile, zlib.gzipSync(Buffer.from(JSON.stringify({ hello: 'world', n: [1, 2, 3] }))));
  const empty = path.join(dir, 'empty.pb.gz');
  fs.writeFileSync(empty, '');

  assertOneLineError(labelprof(['report', path.join(dir, 'missing.pb.gz')]), /cannot read .*missing\.pb\.gz: no such file/);
  assertOneLineError(labelprof(['html', notGzip]), /notes\.txt: not a pprof profile \(neither gzip nor a pprof protobuf/);
  assertOneLineError(labelprof(['report', truncated]), /truncated\.pb\.gz: truncated gzip data/);
  assertOneLineError(labelprof(['report', notProfile]), /not-profile\.pb\.gz: gunzipped, but not a pprof profile/);
  assertOneLineError(labelprof(['diff', base, empty]), /empty\.pb\.gz: empty file/);
  assertOneLineError(labelprof(['report', base, '--bogus']), /unknown flag --bogus for labelprof report/);
  assertOneLineError(labelprof(['report', base, '-x']), /unknown flag -x/);
  assertOneLineError(labelprof(['report', base, '--top', '0']), /--top needs a positive whole number, got "0"/);
  assertOneLineError(labelprof(['report', base, '--top']), /--top needs a value/);
  assertOneLineError(labelprof(['report', base, '--focus', 'endpoint']), /--focus endpoint: expected key=value/);
  assertOneLineError(labelprof(['report', base, '--focus', 'route=/a']), /--focus route=\/a: no sample has the label route \(labels: endpoint, tenant\)/);
  assertOneLineError(labelprof(['report', base, '--focus', 'endpoint=/nope']), /no sample has endpoint=\/nope \(values: \/checkout, \/search\)/);
  assertOneLineError(labelprof(['report', base, '--sample', 'alloc']), /--sample alloc: .*base\.pb\.gz has no such values \(it has samples\/count, cpu\/nanoseconds, wall\/nanoseconds\)/);
  assertOneLineError(labelprof(['report']), /labelprof report needs <profile>/);
  assertOneLineError(labelprof(['report', base, base]), /unexpected argument/);
  assertOneLineError(labelprof(['frobnicate']), /unknown command "frobnicate"/);
});
