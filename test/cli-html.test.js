'use strict';
// `labelprof html` in a real browser: headless Chromium (Debian's chromium
// package) driven by playwright-core. The page must open from disk with no
// network and no console error, show the expected frames, filter by label,
// search, zoom and hover; a screenshot is kept in test/artifacts/.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const { Profile, Function: PFunction, Location, Line, Sample, StringTable, ValueType, Label } = require('pprof-format');
const { ROOT, FIXTURES } = require('./helpers');
const { labelprof } = require('./cli-helpers');

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARTIFACTS = path.join(ROOT, 'test', 'artifacts');
const skip = !fs.existsSync(CHROMIUM) && !process.env.CI && `no ${CHROMIUM} (scripts/ci-browser.sh installs it)`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'labelprof-html-'));

let context;
let browserErrors = [];
async function openPage(file) {
  if (context === undefined) {
    const { chromium } = require('playwright-core');
    context = await chromium.launchPersistentContext(fs.mkdtempSync(path.join(dir, 'chromium-')), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 760 },
      // Not the sanitizer run's preloaded libasan (npm run test:asan): the
      // browser is not what it checks, and Chromium does not start under it.
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(LD_PRELOAD|ASAN_OPTIONS|UBSAN_OPTIONS)$/.test(k))),
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }
  const page = await context.newPage();
  const errors = [];
  const requests = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(`file://${file}`);
  await page.waitForFunction(() => window.labelprofView?.readyMillis !== undefined, null, { timeout: 60000 });
  return { page, errors, requests };
}
test.after(async () => {
  if (context !== undefined) await context.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the flame graph page: frames, label filter, search, hover, zoom; no network, no console error', { skip }, async () => {
  const profile = path.join(dir, 'app.pb.gz');
  const run = labelprof(['run', '-o', profile, '--interval-micros', '1000', '--', process.execPath, path.join(FIXTURES, 'cli-app.js'), '300', '100']);
  assert.equal(run.status, 0, run.stderr);
  const html = path.join(dir, 'app.html');
  const r = labelprof(['html', profile, '-o', html]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /wrote .*app\.html/);
  const text = fs.readFileSync(html, 'utf8');
  assert.doesNotMatch(text, /<(script|link|img)[^>]+(src|href)=/i, 'the page loads nothing');

  const { page, errors, requests } = await openPage(html);
  const drawn = () => page.evaluate(() => window.labelprofView.drawn());
  const widthOf = (frames, name) => frames.filter((f) => f.name === name).reduce((a, f) => a + f.width, 0);
  let frames = await drawn();
  assert.ok(widthOf(frames, 'checkoutWork') > 0 && widthOf(frames, 'searchWork') > 0, JSON.stringify(frames.map((f) => f.name)));
  assert.ok(widthOf(frames, 'checkoutWork') > 1.5 * widthOf(frames, 'searchWork'));
  assert.equal(frames.find((f) => f.name === 'checkoutWork').kind, 'js');
  assert.ok(frames.some((f) => f.kind === 'native'), 'native frames are drawn');
  assert.match(await page.textContent('#legend'), /JavaScript.*native.*V8 pseudo-frame/s);

  // ticking /search shows /search's share of the total
  const facet = page.locator('label', { has: page.locator('input[data-key="endpoint"][data-value="/search"]') });
  const facetShare = Number((await facet.locator('.share').textContent()).replace('%', ''));
  await page.check('input[data-key="endpoint"][data-value="/search"]');
  const shown = await page.locator('#shown-total');
  assert.ok(Math.abs(100 * Number(await shown.getAttribute('data-share')) - facetShare) < 0.1, `${await shown.textContent()} vs facet ${facetShare}%`);
  assert.match(await shown.textContent(), new RegExp(`\\(${facetShare.toFixed(1)}%\\)`));
  frames = await drawn();
  assert.equal(widthOf(frames, 'checkoutWork'), 0);
  assert.ok(widthOf(frames, 'searchWork') > 0);
  // a value of another key narrows further (AND); unticking restores
  await page.check('input[data-key="tenant"][data-value="acme"]');
  assert.ok(Number(await shown.getAttribute('data-share')) < facetShare / 100);
  await page.uncheck('input[data-key="tenant"][data-value="acme"]');
  await page.uncheck('input[data-key="endpoint"][data-value="/search"]');
  assert.equal(Number(await shown.getAttribute('data-share')), 1);

  // search highlights and sums the matching frames
  await page.fill('#search', 'checkoutWork');
  assert.match(await page.textContent('#search-result'), /matched \S+ m?s \([\d.]+% of shown\)/);

  // hovering a frame shows self, total and file:line
  // (The widest searchWork box, and a position relative to the canvas that
  // Playwright scrolls into view: a deep stack can put the row below the
  // viewport, and a once-seen failure hovered the row above.)
  frames = await drawn();
  const flame = page.locator('#flame');
  const target = frames.filter((f) => f.name === 'searchWork').sort((a, b) => b.width - a.width)[0];
  const at = { x: target.x + target.width / 2, y: target.row * 18 + 9 };
  await flame.hover({ position: at });
  const tooltip = page.locator('#tooltip');
  await tooltip.waitFor({ state: 'visible', timeout: 5000 });
  const tip = await tooltip.textContent();
  assert.match(tip, /searchWork/, `hovered ${JSON.stringify(at)} for ${JSON.stringify(target)} in a canvas at ${JSON.stringify(await flame.boundingBox())}`);
  assert.match(tip, /test\/fixtures\/cli-app\.js:\d+/);
  assert.match(tip, /self \S+ m?s \([\d.]+%\) · total \S+ m?s/);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, 'cli-html.png') });

  // click zooms: the clicked frame spans the width
  await flame.click({ position: at });
  frames = await drawn();
  const zoomed = frames.find((f) => f.name === 'searchWork');
  const canvas = await flame.boundingBox();
  assert.ok(Math.abs(zoomed.width - canvas.width) < 2, `${zoomed.width} vs ${canvas.width}`);
  assert.equal(widthOf(frames, 'checkoutWork'), 0);
  await page.click('#reset-zoom');
  assert.ok(widthOf(await drawn(), 'checkoutWork') > 0);

  assert.deepEqual(errors, []);
  assert.deepEqual(requests.filter((u) => !u.startsWith('file:')), []);
});

// A large synthetic profile: many functions, deep stacks and labels, with
// random structure so that it does not compress: at least 5 MB gzipped.
function largeProfile(file) {
  const strings = new StringTable();
  const functions = [];
  const locations = [];
  for (let i = 1; i <= 20000; i++) {
    functions.push(new PFunction({ id: i, name: strings.dedup(`fn_${i}_${(i * 2654435761) % 99991}`), filename: strings.dedup(`/srv/app/src/module${i % 500}.js`) }));
    locations.push(new Location({ id: i, line: [new Line({ functionId: i, line: 1 + (i % 400) })] }));
  }
  const keys = ['endpoint', 'tenant', 'region'].map((k) => strings.dedup(k));
  const values = [40, 200, 8].map((n, k) => Array.from({ length: n }, (_, v) => strings.dedup(`${['/api/v', 'tenant-', 'region-'][k]}${v}`)));
  let seed = 12345;
  const rand = (n) => {
    // xorshift32: deterministic, and random enough not to compress
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const samples = [];
  for (let s = 0; s < 85000; s++) {
    const depth = 8 + rand(30);
    const stack = [];
    let f = 1 + rand(50);
    for (let d = 0; d < depth; d++) {
      stack.unshift(f);
      f = 1 + ((f * 31 + rand(64)) % 20000);
    }
    samples.push(new Sample({ locationId: stack, value: [1 + rand(3), 1e5 + rand(4e6)], label: keys.map((k, i) => new Label({ key: k, str: values[i][rand(values[i].length)] })) }));
  }
  const p = new Profile({
    sampleType: [new ValueType({ type: strings.dedup('samples'), unit: strings.dedup('count') }), new ValueType({ type: strings.dedup('cpu'), unit: strings.dedup('nanoseconds') })],
    sample: samples,
    location: locations,
    function: functions,
    stringTable: strings,
    durationNanos: 60e9,
  });
  fs.writeFileSync(file, zlib.gzipSync(p.encode()));
}

test('a 5 MB profile opens (load time measured, checked loosely)', { skip }, async (t) => {
  const profile = path.join(dir, 'large.pb.gz');
  largeProfile(profile);
  const size = fs.statSync(profile).size;
  assert.ok(size >= 5e6, `synthetic profile is only ${size} bytes`);
  const html = path.join(dir, 'large.html');
  const started = Date.now();
  const r = labelprof(['html', profile, '-o', html]);
  assert.equal(r.status, 0, r.stderr);
  const buildMillis = Date.now() - started;
  const { page, errors } = await openPage(html);
  const readyMillis = await page.evaluate(() => window.labelprofView.readyMillis);
  t.diagnostic(`profile ${(size / 1e6).toFixed(1)} MB, page ${(fs.statSync(html).size / 1e6).toFixed(1)} MB; labelprof html ${buildMillis} ms; page ready ${readyMillis.toFixed(0)} ms after navigation start`);
  assert.deepEqual(errors, []);
  assert.ok((await page.evaluate(() => window.labelprofView.drawn().length)) > 20);
  // Speed belongs in a measurement (see the README); this only catches a page that hangs.
  assert.ok(readyMillis < 20000, `page took ${readyMillis} ms`);
});
