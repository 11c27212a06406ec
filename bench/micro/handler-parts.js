'use strict';
// What each part of labelprof's SIGPROF handler costs (issue 14): the
// handler's own median from stats(), and per part (handler-timing.h) the
// median over all records of one run, at 99 Hz and 1 kHz, with and without
// native frames. Each configuration runs in a fresh process, configurations
// interleaved round-robin; cells are the median over rounds (min-max).
//
//   node bench/micro/handler-parts.js [--rounds 5] [--seconds 3]
//        [--workload cpu|idle|mixed] [--configs 99,99n,1000,1000n]
//        [--perf-clock off]   (CPU time from CLOCK_THREAD_CPUTIME_ID, as before)
//        [--roots dirA[:off],dirB]  (builds to compare, interleaved:
//                              labelprof checkouts with the handler-timing
//                              switch; ":off" runs that one with --perf-clock off)
//        [--node path]        (the node binary of the children; for another
//                              major than the checkouts' own build, each
//                              checkout's .matrix/node<major> build is loaded,
//                              as scripts/build-for-node.sh makes it)
//
// Workloads: cpu (the bench's CPU kernels under withLabels, back to back),
// idle (an event loop waking every 2 ms for ~0.2 ms of work: most ticks
// find the thread just woken), mixed (both halves alternating every 50 ms).
// Run it on a quiet machine for figures; it prints the load average so a
// loaded run shows as one.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = require('../lib/labelprof-root');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

if (process.env.HANDLER_PARTS_CHILD) {
  runChild(JSON.parse(process.env.HANDLER_PARTS_CHILD));
} else {
  main();
}

function runChild(job) {
  const labelprof = require(root);
  const binding = require(path.join(root, 'dist', 'native.js')).native();
  const { hashLoop, buildIndex, sortNumbers, textWork, warmUp } = require('../lib/kernels');
  warmUp();
  const unit = (i) => hashLoop(30_000) + buildIndex(200, i) + sortNumbers(100, i) + textWork(100, i);
  const TASKS = ['parse', 'score', 'rank', 'render'];
  binding._setHandlerTiming(true);
  if (job.perfClock === 'off') binding._setPerfCpuClock(false);
  const profiler = labelprof.start({ intervalMicros: job.intervalMicros, nativeFrames: job.nativeFrames });
  const end = Date.now() + job.seconds * 1000;
  let checksum = 0;
  let i = 0;
  const busyFor = (millis) => {
    const until = Date.now() + millis;
    while (Date.now() < until) {
      checksum = (checksum + labelprof.withLabels({ task: TASKS[i & 3] }, () => unit(i++))) | 0;
    }
  };
  const finish = async () => {
    const timings = binding._handlerTimings();
    const profile = await profiler.stop();
    const st = profile.stats;
    const parts = timings.parts;
    const rows = timings.nanos.length / parts.length;
    const medians = {};
    for (let p = 0; p < parts.length; p++) {
      const col = new Float64Array(rows);
      for (let r = 0; r < rows; r++) col[r] = timings.nanos[r * parts.length + p];
      col.sort();
      medians[parts[p]] = rows ? col[rows >> 1] : NaN;
    }
    process.stdout.write(
      JSON.stringify({ checksum, rows, recorded: st.recorded, handlerMedianNanos: st.handlerMedianNanos, medians }),
    );
  };
  if (job.workload === 'cpu') {
    busyFor(job.seconds * 1000);
    finish();
  } else {
    // idle: 0.2 ms of work every 2 ms; mixed: 50 ms busy, 50 ms of that.
    let phaseBusy = job.workload === 'mixed';
    let phaseEnd = Date.now() + 50;
    const tick = () => {
      if (Date.now() >= end) return finish();
      if (job.workload === 'mixed' && Date.now() >= phaseEnd) {
        phaseBusy = !phaseBusy;
        phaseEnd = Date.now() + 50;
      }
      if (phaseBusy) busyFor(10);
      else busyFor(0.2);
      setTimeout(tick, phaseBusy ? 0 : 2);
    };
    tick();
  }
}

function main() {
  const rounds = Number(arg('rounds', 5));
  const seconds = Number(arg('seconds', 3));
  const workload = arg('workload', 'cpu');
  const perfClock = arg('perf-clock', 'on');
  const roots = arg('roots', root).split(',');
  const nodeBin = arg('node', process.execPath);
  const major = spawnSync(nodeBin, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' }).stdout.trim();
  const configs = [];
  for (const spec of roots) {
    const [r, clockOfRoot] = spec.split(':');
    const matrixBuild = path.join(r, '.matrix', `node${major}`, 'src', 'build', 'Release', 'labelprof.node');
    const binding = major !== process.versions.node.split('.')[0] ? matrixBuild : undefined;
    for (const c of arg('configs', '99,99n,1000,1000n').split(',')) {
      configs.push({
        name: `${roots.length > 1 ? `${path.basename(r)}${clockOfRoot ? ` (perf clock ${clockOfRoot})` : ''}: ` : ''}${c.replace('n', '')} Hz${c.endsWith('n') ? ' + native' : ''}`,
        intervalMicros: Math.round(1e6 / Number(c.replace('n', ''))),
        nativeFrames: c.endsWith('n'),
        root: r,
        binding,
        perfClock: clockOfRoot,
      });
    }
  }
  const load0 = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const results = configs.map(() => []);
  for (let r = 0; r < rounds; r++) {
    configs.forEach((c, k) => {
      const job = { ...c, seconds, workload, perfClock: c.perfClock ?? perfClock };
      const env = { ...process.env, HANDLER_PARTS_CHILD: JSON.stringify(job), BENCH_LABELPROF_ROOT: c.root };
      if (c.binding) env.LABELPROF_BINDING = c.binding;
      const out = spawnSync(nodeBin, [__filename], {
        env,
        encoding: 'utf8',
      });
      if (out.status !== 0) throw new Error(`child failed: ${out.stderr}`);
      results[k].push(JSON.parse(out.stdout));
    });
  }
  const load1 = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const cell = (values) => {
    const v = values.map((x) => (x === undefined ? NaN : x)).filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
    if (!v.length) return '–';
    const med = v[v.length >> 1];
    return `${Math.round(med)} (${Math.round(v[0])}–${Math.round(v[v.length - 1])})`;
  };
  const parts = [...new Set(results.flatMap((rs) => rs.flatMap((x) => Object.keys(x.medians))))];
  const version = spawnSync(nodeBin, ['--version'], { encoding: 'utf8' }).stdout.trim();
  console.log(`Node ${version}, workload ${workload}, perf clock ${perfClock}, ${rounds} rounds × ${seconds} s; load average ${load0} -> ${load1}`);
  console.log(`| config | stats() median ns | ${parts.join(' | ')} | records |`);
  console.log(`| --- | ---: | ${parts.map(() => '---:').join(' | ')} | ---: |`);
  configs.forEach((c, k) => {
    const rs = results[k];
    console.log(
      `| ${c.name} | ${cell(rs.map((x) => x.handlerMedianNanos))} | ${parts
        .map((p) => cell(rs.map((x) => x.medians[p])))
        .join(' | ')} | ${cell(rs.map((x) => x.recorded))} |`,
    );
  });
}
