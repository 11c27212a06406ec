'use strict';
// Native frames must not cost samples (issue 9): on a workload that collects
// garbage every few milliseconds, every tick V8 sampled is matched to its
// record, the CPU split comes out right, the profile's CPU adds up to the
// process's, and the GC stacks labelprof asks V8 for do not disturb another
// CPU profiler on the isolate. Real profiles, child processes.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { runJson, readProfile, EMULATED } = require('./helpers');

const major = Number(process.versions.node.split('.')[0]);

// CPU shares (percent) by label and by the churn function on the stack.
function shares(samples) {
  const byLabel = { alpha: 0, beta: 0, gamma: 0 };
  const byFunction = { churnAlpha: 0, churnBeta: 0, churnGamma: 0 };
  let gc = 0;
  let gcUnderChurn = 0;
  for (const s of samples) {
    if (s.labels.task in byLabel) byLabel[s.labels.task] += s.cpu;
    const fn = s.stack.find((name) => name in byFunction);
    if (fn !== undefined) byFunction[fn] += s.cpu;
    if (s.stack.includes('(garbage collector)')) {
      gc += s.count;
      if (fn !== undefined) gcUnderChurn += s.count;
    }
  }
  const percent = (o) => {
    const total = Object.values(o).reduce((a, b) => a + b, 0);
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, (100 * v) / total]));
  };
  return { byLabel: percent(byLabel), byFunction: percent(byFunction), gc, gcUnderChurn };
}

function profileOf(out) {
  const { samples } = readProfile(fs.readFileSync(out.file));
  fs.unlinkSync(out.file);
  return samples;
}

// Matching is deterministic and checked on every run. The CPU split and the
// CPU total are statistical: on a machine loaded far past its cores (this
// suite shares 2 cores with other work), V8's sampler thread can starve for
// tens of milliseconds while the main thread runs (seen: 70 ms, 10-12 % of a
// profile's CPU in such ticks at a load average of 15-20), and the next tick
// carries all that CPU to whichever function it lands in. A run where more
// than 3 % of the CPU came that way is starved: it is retried, and if every
// attempt starves the statistical check is skipped, saying so. A bias from
// the profiler itself (issue 9's put 5-7 points on one function in 4 runs of
// 5) shows in runs that are not starved.
const STARVED = 0.03;
function attempts(t, count, run) {
  const starved = [];
  for (let i = 0; i < count; i++) {
    const out = run();
    if (out.starvedCpuShare <= STARVED) return out;
    starved.push((100 * out.starvedCpuShare).toFixed(1));
    t.diagnostic(`attempt ${i + 1}: ${starved[i]} % of the CPU in ticks V8's sampler thread sent late`);
  }
  t.skip(`V8's sampler thread starved in every attempt (${starved.join(', ')} % of CPU): the machine is overloaded`);
  return undefined;
}

test('GC every few ms, native frames on: >= 99 % of recorded signals matched, CPU split within 3 points of the measured one', (t) => {
  const out = attempts(t, 3, () => {
    const out = runJson('gc-split.js', { args: ['3000', '1000', 'auto', '2000', '200'], timeoutMs: 90000 });
    const s = out.stats;
    const shown = JSON.stringify(s);
    assert.equal(s.nativeFrames, true);
    assert.equal(s.gcStacks, true, shown);
    assert.ok(s.recorded >= 2000, `too few signals: ${shown}`);
    assert.ok(s.gcs >= 200, `the workload should collect garbage every few ms: ${shown}`);
    // Every V8 sample is accounted for once.
    assert.equal(s.v8Samples, s.matched + s.gcStartSamples + s.unmatched + s.beforeInstall + s.afterStop, shown);
    // Every recorded signal that V8 sampled is matched. V8 takes no sample of a
    // tick that interrupted a frame setup or teardown in JIT code (0.3-1 % of
    // ticks here), nor of a second SIGPROF its own sampler sends while the
    // first is being taken (only on a heavily loaded machine).
    const sampledByV8 = s.recorded - s.unmatchedRecordsFrameSetup - s.unmatchedRecordsBackToBack;
    assert.ok(s.unmatchedRecordsFrameSetup <= 0.02 * s.recorded, shown);
    assert.ok(s.unmatchedRecordsBackToBack <= 0.1 * s.recorded, shown);
    assert.ok(s.matched >= 0.99 * sampledByV8, `matched ${s.matched} of ${sampledByV8} that V8 sampled: ${shown}`);
    // A GC-start sample for (nearly) every GC, none taking a tick's place.
    assert.ok(s.gcStartSamples >= 0.98 * s.gcs && s.gcStartSamples <= s.gcs, shown);
    assert.ok(s.unmatched <= Math.max(5, 0.01 * s.v8Samples), `V8 samples with no record: ${shown}`);
    out.samples = profileOf(out);
    return out;
  });
  if (out === undefined) return;
  // The split the tasks really had (CPU measured around each call; units go
  // 5/3/2), against the profile's, by label and by function.
  const m = out.measuredCpuNanos;
  const measuredTotal = m.alpha + m.beta + m.gamma;
  const want = { alpha: (100 * m.alpha) / measuredTotal, beta: (100 * m.beta) / measuredTotal, gamma: (100 * m.gamma) / measuredTotal };
  const { byLabel, byFunction, gc, gcUnderChurn } = shares(out.samples);
  const split = JSON.stringify({ want, byLabel, byFunction });
  // GC samples hang under the function that allocated.
  assert.ok(gc >= 10 && gcUnderChurn >= 0.8 * gc, `GC samples ${gc}, under a churn function ${gcUnderChurn}`);
  for (const name of ['alpha', 'beta', 'gamma']) {
    assert.ok(Math.abs(byLabel[name] - want[name]) <= 3, `label ${name}: ${split}`);
    const fn = `churn${name[0].toUpperCase()}${name.slice(1)}`;
    assert.ok(Math.abs(byFunction[fn] - want[name]) <= 3, `function ${fn}: ${split}`);
  }
});

test('the profile\'s CPU total is within 5 % of process.cpuUsage() over the profiled interval', (t) => {
  // Single-threaded: V8's GC and compiler helpers off. At 400 Hz V8's own
  // profiler thread, which the profile cannot see, costs little (at 1 kHz
  // with a GC-start sample per GC it took ~4 % here), and the CPU after the
  // last sample, which no sample carries, is a few milliseconds.
  const out = attempts(t, 3, () => {
    const run = runJson('gc-split.js', { args: ['3000', '2500', 'auto', '800'], nodeArgs: ['--single-threaded'], timeoutMs: 90000 });
    run.samples = profileOf(run);
    return run;
  });
  if (out === undefined) return;
  const profileCpu = out.samples.reduce((a, s) => a + s.cpu, 0);
  const ratio = profileCpu / out.processCpuNanos;
  // Under qemu V8's sampler thread and the signal delivery the profile
  // cannot see are emulated too, and cost 5-6 % of the process's CPU (0.948
  // seen, 1 run in 2): the 5 % bound is checked natively (x64 here, arm64
  // on arm64 machines); the GC-split test above still checks matching and
  // shares under qemu.
  if (EMULATED) {
    t.diagnostic(`profile/process CPU ${ratio.toFixed(3)} under ${EMULATED}: not checked`);
    return;
  }
  assert.ok(Math.abs(ratio - 1) <= 0.05, `profile ${profileCpu} ns, process ${out.processCpuNanos} ns (${ratio.toFixed(3)}): ${JSON.stringify(out.stats)}`);
});

function negativeDeltas(dir) {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  assert.equal(files.length, 1, `one --cpu-prof profile in ${dir}: ${files}`);
  const p = JSON.parse(fs.readFileSync(path.join(dir, files[0]), 'utf8'));
  return { samples: p.samples.length, negative: p.timeDeltas.filter((d) => d < 0).length };
}

test('with --cpu-prof on, GC stacks stay off and that profile keeps its time order; forced on, it does not', () => {
  for (const mode of ['auto', 'on']) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'labelprof-cpuprof-'));
    try {
      const out = runJson('gc-split.js', { args: ['1500', '1000', mode, '0', '40'], nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
      fs.unlinkSync(out.file);
      const { samples, negative } = negativeDeltas(dir);
      const shown = `${mode}: ${negative} of ${samples} deltas negative; ${JSON.stringify(out.stats)}`;
      if (mode === 'auto') {
        assert.equal(out.stats.gcStacks, false, shown);
        assert.match(out.stats.gcStacksOff, /--cpu-prof/);
        // V8's own deopt samples can still come out of order: a few at most.
        assert.ok(negative <= Math.max(2, 0.002 * samples), shown);
      } else {
        // What automatic mode avoids: one extra sample per GC, out of order
        // (many GC-start samples break the order: 42-95 % seen, the low end
        // in a clean-clone CI run; automatic mode stays under 0.2 %).
        assert.equal(out.stats.gcStacks, true, shown);
        assert.ok(out.stats.gcStartSamples >= 20, shown);
        assert.ok(negative >= 0.2 * out.stats.gcStartSamples, shown);
        // Under qemu the JIT code allocates ~3x slower per sampled
        // millisecond, so GCs (and their out-of-order samples) are ~1 % of
        // samples there; the per-GC check above holds on both.
        if (!EMULATED) assert.ok(negative >= 0.05 * samples, shown);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('an inspector Session that starts profiling turns GC stacks off; its profile keeps its time order', () => {
  const auto = runJson('inspector-alongside.js', { args: ['auto'] });
  const shown = JSON.stringify(auto);
  assert.equal(auto.gcStacksBefore, true, shown);
  assert.equal(auto.stats.gcStacks, false, shown);
  assert.match(auto.stats.gcStacksOff, /Profiler\.start/);
  assert.ok(auto.inspectorSamples >= 200, shown);
  assert.ok(auto.negativeDeltas <= Math.max(2, 0.002 * auto.inspectorSamples), shown);
  const forced = runJson('inspector-alongside.js', { args: ['on'] });
  assert.equal(forced.stats.gcStacks, true);
  const forcedShown = JSON.stringify(forced);
  // One extra sample per GC, out of order (42-95 % of GC-start samples break
  // the order); natively GCs are >= 5 % of samples, under qemu ~3x fewer.
  assert.ok(forced.stats.gcStartSamples >= 20, forcedShown);
  assert.ok(forced.negativeDeltas >= 0.2 * forced.stats.gcStartSamples, forcedShown);
  if (!EMULATED) assert.ok(forced.negativeDeltas >= 0.05 * forced.inspectorSamples, forcedShown);
});

// A V8 layout change must fail the suite, not fall back to the slot hook
// without a word.
const contextFrameCases = [];
if (major >= 24) contextFrameCases.push({ nodeArgs: [], want: 'context-frame' });
if (major === 22) {
  contextFrameCases.push({ nodeArgs: ['--experimental-async-context-frame'], want: 'context-frame' });
  contextFrameCases.push({ nodeArgs: [], want: 'slot' });
}
if (major === 20) contextFrameCases.push({ nodeArgs: [], want: 'slot' });
for (const { nodeArgs, want } of contextFrameCases) {
  test(`labelSource is '${want}' on Node ${major}${nodeArgs.length ? ` with ${nodeArgs.join(' ')}` : ''}`, () => {
    const out = runJson('gc-split.js', { args: ['300', '1000'], nodeArgs, env: { LABELPROF_LABEL_SOURCE: '' } });
    fs.unlinkSync(out.file);
    assert.equal(out.labelSource, want, JSON.stringify(out.stats));
    assert.equal(out.stats.labelSource, want);
    if (want === 'context-frame') assert.equal(out.stats.contextFrameUnavailable, undefined);
  });
}
