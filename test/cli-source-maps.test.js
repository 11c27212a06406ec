'use strict';
// Source maps: the pure transform (src/source-maps.ts) on profiles built by
// hand over real tsc output (separate files, inline maps, a bundle, missing
// and broken maps), then real profiles: the drop-in with LABELPROF_SOURCE_MAPS=1
// (through `labelprof run --source-maps`), start({ sourceMaps: true }), and
// `labelprof report --source-maps` on a profile taken without them.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { Profile, Function: PFunction, Location, Line, Sample, StringTable, ValueType } = require('pprof-format');
const { ROOT, FIXTURES, readProfile } = require('./helpers');
const { labelprof } = require('./cli-helpers');
const { SourceMapCache, applySourceMaps, mapProfileSources } = require('../dist/source-maps');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'labelprof-maps-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

function tsc(args) {
  const r = spawnSync(process.execPath, [TSC, ...args], { encoding: 'utf8', cwd: dir });
  assert.equal(r.status, 0, r.stdout + r.stderr);
}
// 1-based line of the first line containing `needle`
function lineOf(file, needle) {
  const i = fs.readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(needle));
  assert.ok(i >= 0, `${needle} not in ${file}`);
  return i + 1;
}

// The TypeScript app, compiled with separate .map files and with inline maps.
const appSrc = path.join(dir, 'ts-app');
fs.cpSync(path.join(FIXTURES, 'ts-app'), appSrc, { recursive: true });
const common = ['--target', 'es2020', '--module', 'commonjs', '--strict', path.join(appSrc, 'main.ts'), path.join(appSrc, 'work.ts')];
tsc([...common, '--sourceMap', '--outDir', path.join(dir, 'out')]);
tsc([...common, '--inlineSourceMap', '--outDir', path.join(dir, 'inline')]);
// A bundle: two scripts concatenated into one file with one map over both sources.
fs.writeFileSync(path.join(dir, 'a.ts'), 'interface A { n: number }\nfunction bundledAlpha(a: A): number {\n  let x = 0;\n  for (let i = 0; i < a.n; i++) x += i;\n  return x;\n}\n');
fs.writeFileSync(path.join(dir, 'b.ts'), 'type B = { n: number };\n\nfunction bundledBeta(b: B): number {\n  return bundledAlpha({ n: b.n }) * 2;\n}\nconsole.log(bundledBeta({ n: 10 }));\n');
tsc(['--target', 'es2020', '--outFile', path.join(dir, 'bundle.js'), '--sourceMap', path.join(dir, 'a.ts'), path.join(dir, 'b.ts')]);

// A profile with one sample whose stack is the given frames (leaf first): [name, file, line]
function handMade(frames) {
  const strings = new StringTable();
  const functions = frames.map(([name, file], i) => new PFunction({ id: i + 1, name: strings.dedup(name), systemName: strings.dedup(name), filename: strings.dedup(file) }));
  const locations = frames.map(([, , line], i) => new Location({ id: i + 1, line: [new Line({ functionId: i + 1, line })] }));
  return new Profile({
    sampleType: [new ValueType({ type: strings.dedup('samples'), unit: strings.dedup('count') })],
    sample: [new Sample({ locationId: locations.map((l) => l.id), value: [1], label: [] })],
    location: locations,
    function: functions,
    stringTable: strings,
  });
}
function framesOf(profile) {
  const str = (i) => profile.stringTable.strings[Number(i)];
  const fns = new Map(profile.function.map((f) => [Number(f.id), f]));
  return profile.sample[0].locationId.map((id) => {
    const line = profile.location.find((l) => Number(l.id) === Number(id)).line[0];
    const fn = fns.get(Number(line.functionId));
    return [str(fn.name), str(fn.filename), Number(line.line)];
  });
}

test('separate .map files and inline maps: JavaScript lines go back to the .ts lines', () => {
  for (const out of ['out', 'inline']) {
    const js = path.join(dir, out, 'work.js');
    const hotJs = lineOf(js, 'Math.sqrt');
    const hotTs = lineOf(path.join(appSrc, 'work.ts'), 'Math.sqrt');
    assert.notEqual(hotJs, hotTs, 'the fixture should move lines');
    const profile = handMade([['tsHotLoop', js, hotJs], ['main', `file://${path.join(dir, out, 'main.js')}`, lineOf(path.join(dir, out, 'main.js'), 'tsHotLoop')]]);
    const cache = new SourceMapCache();
    cache.loadSync([js, path.join(dir, out, 'main.js')]);
    const stats = applySourceMaps(profile, cache);
    assert.deepEqual(framesOf(profile), [
      ['tsHotLoop', path.join(appSrc, 'work.ts'), hotTs],
      ['main', path.join(appSrc, 'main.ts'), lineOf(path.join(appSrc, 'main.ts'), 'tsHotLoop({')],
    ]);
    assert.equal(stats.filesMapped, 2);
    assert.equal(stats.framesMapped, 2);
  }
});

test('a frame at line 0 (V8 knew no position) in a mapped file stays as it is and is counted', () => {
  const js = path.join(dir, 'out', 'work.js');
  const hotJs = lineOf(js, 'Math.sqrt');
  const profile = handMade([['tsHotLoop', js, 0], ['tsHotLoop', js, hotJs]]);
  const cache = new SourceMapCache();
  cache.loadSync([js]);
  const stats = applySourceMaps(profile, cache);
  assert.deepEqual(framesOf(profile)[0], ['tsHotLoop', js, 0]);
  assert.equal(framesOf(profile)[1][2], lineOf(path.join(appSrc, 'work.ts'), 'Math.sqrt'));
  assert.equal(stats.framesUnmapped, 1);
  assert.equal(stats.framesMapped, 1);
});

test('a bundle maps each frame to its own source file', async () => {
  const bundle = path.join(dir, 'bundle.js');
  const profile = handMade([
    ['bundledAlpha', bundle, lineOf(bundle, 'x += i')],
    ['bundledBeta', bundle, lineOf(bundle, 'return bundledAlpha')],
  ]);
  const stats = await mapProfileSources(profile, new SourceMapCache());
  assert.deepEqual(framesOf(profile), [
    ['bundledAlpha', path.join(dir, 'a.ts'), 4],
    ['bundledBeta', path.join(dir, 'b.ts'), 4],
  ]);
  assert.equal(stats.filesMapped, 1);
  assert.match(profile.stringTable.strings[Number(profile.comment.at(-1))], /source maps: 2 frames mapped from 1 files/);
});

test('missing, broken and absent maps leave frames as they were and are counted', async () => {
  const missing = path.join(dir, 'missing.js');
  fs.writeFileSync(missing, 'function f() {}\n//# sourceMappingURL=missing.js.map\n');
  const broken = path.join(dir, 'broken.js');
  fs.writeFileSync(broken, 'function g() {}\n//# sourceMappingURL=broken.js.map\n');
  fs.writeFileSync(`${broken}.map`, '{"version": 3, "mappings": ');
  const plain = path.join(dir, 'plain.js');
  fs.writeFileSync(plain, 'function h() {}\n');
  const frames = [['f', missing, 1], ['g', broken, 1], ['h', plain, 1], ['gone', path.join(dir, 'deleted.js'), 3], ['(garbage collector)', '', 0], ['readFile', 'node:fs', 10], ['sha256_block_data_order', process.execPath, 0], ['work', path.join(dir, 'work.ts'), 4]];
  const profile = handMade(frames);
  const stats = await mapProfileSources(profile, new SourceMapCache());
  assert.deepEqual(framesOf(profile), frames);
  // the node binary and the .ts file are not JavaScript: neither is read nor counted
  assert.deepEqual(stats, { filesMapped: 0, filesWithoutMap: 1, filesUnreadable: 1, mapsMissing: 1, mapsBroken: 1, framesMapped: 0, framesUnmapped: 0 });
});

test('each map is read once per cache', async () => {
  const copy = path.join(dir, 'once');
  fs.cpSync(path.join(dir, 'out'), copy, { recursive: true });
  const js = path.join(copy, 'work.js');
  const cache = new SourceMapCache();
  await mapProfileSources(handMade([['tsHotLoop', js, lineOf(js, 'Math.sqrt')]]), cache);
  fs.rmSync(`${js}.map`); // a second read would now find no map
  const again = handMade([['tsHotLoop', js, lineOf(js, 'Math.sqrt')]]);
  const stats = await mapProfileSources(again, cache);
  assert.equal(stats.framesMapped, 1);
  assert.equal(framesOf(again)[0][1], path.join(appSrc, 'work.ts'));
});

function hotFrames(file) {
  const { profile, samples, str } = readProfile(fs.readFileSync(file));
  const fns = new Map(profile.function.map((f) => [Number(f.id), f]));
  const out = [];
  for (const s of profile.sample) {
    const line = profile.location.find((l) => Number(l.id) === Number(s.locationId[0])).line[0];
    const fn = fns.get(Number(line.functionId));
    if (str(fn.name) === 'tsHotLoop') out.push({ file: str(fn.filename), line: Number(line.line), count: Number(s.value[0]) });
  }
  assert.ok(out.reduce((a, f) => a + f.count, 0) >= 20, `too few tsHotLoop samples: ${JSON.stringify(out)} of ${samples.length}`);
  return out;
}
const tsLoopLines = () => [lineOf(path.join(appSrc, 'work.ts'), 'for (let i'), lineOf(path.join(appSrc, 'work.ts'), 'Math.sqrt')];

test('start() checks sourceMaps like every option', () => {
  const { resolveOptions } = require('../dist/options');
  assert.equal(resolveOptions({}).sourceMaps, false);
  assert.equal(resolveOptions({ sourceMaps: true }).sourceMaps, true);
  assert.throws(() => resolveOptions({ sourceMaps: 'yes' }), { name: 'TypeError', message: 'Expected a boolean for sourceMaps but received "yes" of type string' });
});

test('labelprof run --source-maps (the drop-in with LABELPROF_SOURCE_MAPS=1) writes .ts frames', () => {
  const out = path.join(dir, 'dropin.pb.gz');
  const r = labelprof(['run', '--source-maps', '--interval-micros', '1000', '-o', out, '--', process.execPath, path.join(dir, 'out', 'main.js')]);
  assert.equal(r.status, 0, r.stderr);
  const frames = hotFrames(out);
  const heaviest = frames.sort((a, b) => b.count - a.count)[0];
  assert.equal(heaviest.file, path.join(appSrc, 'work.ts'));
  assert.ok(tsLoopLines().includes(heaviest.line), JSON.stringify(frames));
  assert.match(r.stderr, /tsHotLoop\s+\S*work\.ts:\d+/);
});

test('the drop-in in period mode (LABELPROF_PERIOD_SECONDS) maps each period file', () => {
  const outDir = path.join(dir, 'periods');
  fs.mkdirSync(outDir);
  const r = spawnSync(process.execPath, ['--require', path.join(ROOT, 'dist', 'start.js'), path.join(dir, 'out', 'main.js')], {
    env: { ...process.env, LABELPROF_SOURCE_MAPS: '1', LABELPROF_PERIOD_SECONDS: '1', LABELPROF_OUT_DIR: outDir, LABELPROF_INTERVAL_MICROS: '1000', LABELPROF_QUIET: '1' },
    encoding: 'utf8',
    timeout: 120000,
  });
  assert.equal(r.status, 0, r.stderr);
  const files = fs.readdirSync(outDir).filter((f) => f.endsWith('.pb.gz'));
  assert.ok(files.length >= 1, `no period files: ${r.stderr}`);
  const frames = [];
  for (const f of files) {
    const { profile, str } = readProfile(fs.readFileSync(path.join(outDir, f)));
    for (const fn of profile.function) if (str(fn.name) === 'tsHotLoop') frames.push(str(fn.filename));
  }
  assert.ok(frames.length > 0 && frames.every((f) => f === path.join(appSrc, 'work.ts')), JSON.stringify(frames));
});

test('start({ sourceMaps: true }) and report --source-maps on an unmapped profile', () => {
  const mapped = path.join(dir, 'api.pb.gz');
  const r = spawnSync(process.execPath, [path.join(dir, 'out', 'main.js')], {
    env: { ...process.env, LABELPROF_API: ROOT, PROFILE_OUT: mapped },
    encoding: 'utf8',
    timeout: 120000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(hotFrames(mapped).every((f) => f.file === path.join(appSrc, 'work.ts')));

  const plain = path.join(dir, 'plain.pb.gz');
  const run = labelprof(['run', '--interval-micros', '1000', '-o', plain, '--', process.execPath, path.join(dir, 'inline', 'main.js')]);
  assert.equal(run.status, 0, run.stderr);
  assert.ok(hotFrames(plain).every((f) => f.file === path.join(dir, 'inline', 'work.js')));
  const rep = labelprof(['report', plain, '--source-maps'], { cwd: dir });
  assert.equal(rep.status, 0, rep.stderr);
  assert.match(rep.stderr, /source maps: \d+ frames mapped from [1-9]\d* files/);
  const row = rep.stdout.split('functions by self')[1].split('\n').find((l) => l.includes('tsHotLoop'));
  const m = /ts-app\/work\.ts:(\d+)/.exec(row);
  assert.ok(m && tsLoopLines().includes(Number(m[1])), row);
});
