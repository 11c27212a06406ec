'use strict';
// Summaries -> the markdown report printed on stdout (and pasted into
// bench/README.md). Every cell is "median (min–max)" over runs unless it says
// otherwise; Δ columns are the change against the same round's baseline,
// "median [95 % bootstrap interval of the median] (min…max)".

function num(x, digits = 0) {
  if (x === undefined || x === null || !Number.isFinite(x)) return '–';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function cell(s, digits = 0) {
  if (!s) return '–';
  if (s.n === 1 || s.min === s.max) return num(s.median, digits);
  return `${num(s.median, digits)} (${num(s.min, digits)}–${num(s.max, digits)})`;
}

function signed(x, digits) {
  const v = x.toFixed(digits);
  return (x >= 0 ? '+' : '−') + v.replace('-', '');
}

// A ratio to baseline as a signed percentage change, with the bootstrap
// interval of its median in brackets when there is one.
function delta(s, digits = 1) {
  if (!s) return '–';
  const p = (r) => signed((r - 1) * 100, digits);
  if (s.n === 1 || s.min === s.max) return `${p(s.median)} %`;
  const interval = s.interval ? ` [${p(s.interval.low)}…${p(s.interval.high)}]` : '';
  return `${p(s.median)} %${interval} (${p(s.min)}…${p(s.max)})`;
}

// Half the width of a ratio's interval, in percent of its median: "±x %".
function halfWidthPercent(s) {
  return s?.interval ? ((s.interval.high - s.interval.low) / 2 / s.median) * 100 : undefined;
}

function handlerCell(m) {
  if (!m.handlerMedianNanos) return '–';
  return `${num(m.handlerMedianNanos.median)} / ${num(m.handlerMaxNanos.max)}`;
}

function shareCell(s, digits = 2) {
  if (!s) return '–';
  return `${(s.median * 100).toFixed(digits)} %`;
}

function table(header, rows) {
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((h, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  return `${lines.join('\n')}\n`;
}

// The variant's name, flagged when its native-frames setting did not take.
function nameOf(r, variants) {
  const v = variants.find((x) => x.id === r.variant);
  if (v && v.profiler === 'labelprof' && r.nativeFramesActive !== undefined && Boolean(v.nativeFrames) !== r.nativeFramesActive) {
    return `${r.name} (⚠ native walk ${r.nativeFramesActive ? 'on' : 'off'})`;
  }
  return r.name;
}

function unsupportedRow(row, width) {
  return [row.name, `n/a (${row.unsupported})`, ...new Array(width - 2).fill('')];
}

function failedNote(rows) {
  const bad = rows.filter((r) => r.failed > 0);
  if (bad.length === 0) return '';
  return `\nFailed measurements: ${bad.map((r) => `${r.variant} ×${r.failed} (${[...new Set(r.errors)].join('; ')})`).join(', ')}\n`;
}

function fixedTable(rows, variants) {
  const header = ['variant', 'wall ms', 'Δ wall', 'CPU ms', 'Δ CPU', 'peak RSS MB', 'stop+encode ms', 'longest block ms', 'profile KB', 'samples', 'labelled', 'handler med / max ns', 'handler % CPU'];
  return table(
    header,
    rows.map((r) => {
      if (r.unsupported) return unsupportedRow(r, header.length);
      const m = r.metrics;
      return [
        nameOf(r, variants),
        cell(m.wallMillis),
        r.variant === 'baseline' ? '' : delta(m.wallRatio),
        cell(m.cpuMillis),
        r.variant === 'baseline' ? '' : delta(m.cpuRatio),
        cell(m.maxRssMB),
        cell(m.stopEncodeMillis, 1),
        cell(m.maxBlockMillis, 1),
        cell(m.profileKB, 1),
        cell(m.samples),
        shareCell(m.labelledShare, 0),
        handlerCell(m),
        shareCell(m.handlerShareOfCpu),
      ];
    }),
  );
}

function httpTable(rows, variants) {
  const header = ['variant', 'req/s', 'Δ throughput', 'p99 ms', 'Δ p99', 'CPU µs/req', 'Δ CPU/req', 'peak RSS MB', 'stop+encode ms', 'longest block ms', 'profile KB', 'samples', 'labelled', 'handler med / max ns', 'handler % CPU'];
  return table(
    header,
    rows.map((r) => {
      if (r.unsupported) return unsupportedRow(r, header.length);
      const m = r.metrics;
      const base = r.variant === 'baseline';
      return [
        nameOf(r, variants),
        cell(m.throughput),
        base ? '' : delta(m.throughputRatio),
        cell(m.latencyP99Millis),
        base ? '' : delta(m.latencyP99Ratio, 0),
        cell(m.cpuMicrosPerRequest),
        base ? '' : delta(m.cpuPerRequestRatio),
        cell(m.maxRssMB),
        cell(m.stopEncodeMillis, 1),
        cell(m.maxBlockMillis, 1),
        cell(m.profileKB, 1),
        cell(m.samples),
        shareCell(m.labelledShare, 0),
        handlerCell(m),
        shareCell(m.handlerShareOfCpu),
      ];
    }),
  );
}

// The fixed-rate HTTP mode: CPU per request and latency at the same request
// rate for every variant; throughput is the rate, shown as a check.
function fixedRateTable(rows, variants) {
  const header = ['variant', 'req/s', 'CPU µs/req', 'Δ CPU/req [95 % interval] (range)', '±', 'p50 ms', 'Δ p50', 'p99 ms', 'Δ p99', 'peak RSS MB', 'samples', 'labelled', 'handler med / max ns', 'handler % CPU'];
  return table(
    header,
    rows.map((r) => {
      if (r.unsupported) return unsupportedRow(r, header.length);
      const m = r.metrics;
      const base = r.variant === 'baseline';
      const hw = halfWidthPercent(m.cpuPerRequestRatio);
      return [
        nameOf(r, variants),
        cell(m.throughput),
        cell(m.cpuMicrosPerRequest),
        base ? '' : delta(m.cpuPerRequestRatio),
        base || hw === undefined ? '' : `±${hw.toFixed(1)} %`,
        cell(m.latencyP50Millis, 1),
        base ? '' : delta(m.latencyP50Ratio, 0),
        cell(m.latencyP99Millis, 1),
        base ? '' : delta(m.latencyP99Ratio, 0),
        cell(m.maxRssMB),
        cell(m.samples),
        shareCell(m.labelledShare, 0),
        handlerCell(m),
        shareCell(m.handlerShareOfCpu),
      ];
    }),
  );
}

// The fixed-rate figures hold only while the server keeps up with the rate.
function saturationNote(rows, rate) {
  if (rate === undefined) return '';
  const behind = rows.filter((r) => !r.unsupported && r.metrics.throughput && r.metrics.throughput.min < 0.95 * rate);
  if (behind.length === 0) return '';
  return `\n⚠ Served less than 95 % of the ${rate} requests/s in some rounds (the server fell behind, so CPU per request is not at the same pace there): ${behind.map((r) => `${r.variant} (min ${num(r.metrics.throughput.min)} req/s)`).join(', ')}.\n`;
}

function longTable(long, variants) {
  const header = ['variant', 'samples', 'labelled', 'stop+encode ms', 'longest block ms', 'profile KB', 'RSS growth under load MB', 'peak RSS MB', 'req/s', 'Δ throughput', 'p99 ms'];
  return table(
    header,
    long.rows.map((r) => {
      const m = r.metrics;
      return [
        nameOf(r, variants),
        cell(m.samples),
        shareCell(m.labelledShare, 0),
        cell(m.stopEncodeMillis, 1),
        cell(m.maxBlockMillis, 1),
        cell(m.profileKB, 1),
        cell(m.rssGrowthMB, 1),
        cell(m.maxRssMB),
        cell(m.throughput),
        r.variant === 'baseline' ? '' : delta(m.throughputRatio),
        cell(m.latencyP99Millis),
      ];
    }),
  );
}

function microTable(micro) {
  const c = (k) => cell(micro[k], 1);
  const diff = (a, b) => (micro[a] && micro[b] ? `${signed(micro[a].median - micro[b].median, 1)} ns (×${(micro[a].median / micro[b].median).toFixed(2)})` : '–');
  return table(
    ['ns per operation', 'plain', 'AsyncLocalStorage.run', 'labelprof.withLabels', 'withLabels − ALS.run', 'withLabels, profiling at 99 Hz', 'profiling − ALS.run'],
    [
      ['one call (fn returns 1)', c('call-plain'), c('call-als'), c('call-labelprof'), diff('call-labelprof', 'call-als'), c('call-lpprofiling'), diff('call-lpprofiling', 'call-als')],
      ['one `await null` inside it', c('await-plain'), c('await-als'), c('await-labelprof'), diff('await-labelprof', 'await-als'), c('await-lpprofiling'), diff('await-lpprofiling', 'await-als')],
      ['one call with a new span id ({ span_id: unique, endpoint })', c('spanid-plain'), c('spanid-als'), c('spanid-labelprof'), diff('spanid-labelprof', 'spanid-als'), c('spanid-lpprofiling'), diff('spanid-lpprofiling', 'spanid-als')],
    ],
  );
}

// "no worse" when the interval of labelprof/peer reaches 1 or below.
function verdictOfInterval(s) {
  if (!s) return '–';
  if (!s.interval) return s.median <= 1.005 ? 'no worse at the median' : 'worse at the median (one round: no interval)';
  if (s.interval.high <= 1) return 'no worse (interval at or below ×1)';
  if (s.interval.low <= 1) return `no difference resolved (interval contains ×1)`;
  return `${((s.median - 1) * 100).toFixed(1)} % more (interval above ×1)`;
}

function row(tables, w, id) {
  return tables.workloads[w]?.rows.find((r) => r.variant === id && !r.unsupported && r.n > 0);
}

// The issue's targets, computed from this run (reported, never asserted).
function targets(summary) {
  const { tables, meta } = summary;
  const out = [];
  const http99 = row(tables, 'http', 'lp-99-L');
  if (http99?.metrics.throughputRatio) {
    const s = http99.metrics.throughputRatio;
    const loss = (1 - s.median) * 100;
    let verdict;
    if (loss <= 1) verdict = 'met at the median';
    else if ((1 - s.max) * 100 > 1) verdict = 'not met: every round lost more than 1 %';
    else verdict = 'not met at the median, but the rounds spread wider than the target, so this run cannot resolve it';
    out.push(`- **HTTP, 99 Hz with labels: ≤ 1 % throughput loss.** Measured ${delta(s)} throughput: ${verdict}.`);
  }
  const pair = (w, a, b) => tables.pairs?.find((p) => p.workload === w && p.a === a && p.b === b);
  const ratioCell = (s) => {
    if (!s) return '–';
    const interval = s.interval ? ` [${s.interval.low.toFixed(2)}–${s.interval.high.toFixed(2)}]` : '';
    return `×${s.median.toFixed(2)}${interval} (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;
  };
  const lines = [];
  for (const [lpId, ddId, rate] of [['lp-99-L', 'dd-99', '99 Hz'], ['lp-1k-L', 'dd-1k', '1 kHz']]) {
    for (const w of Object.keys(tables.workloads)) {
      const p = pair(w, lpId, ddId);
      if (!p) continue;
      if (w === 'http-fixed') {
        lines.push(`${w} ${rate}: labelprof/datadog CPU per request ${ratioCell(p.ratios.cpuMicrosPerRequest)}, p99 ${ratioCell(p.ratios.latencyP99Millis)} — ${verdictOfInterval(p.ratios.cpuMicrosPerRequest)}`);
      } else if (w === 'http') {
        const t = p.ratios.throughput;
        const c = p.ratios.cpuMicrosPerRequest;
        const verdict =
          t.median >= 0.995
            ? 'no worse'
            : t.max < 1
              ? `${((1 - t.median) * 100).toFixed(1)} % less throughput, in every round`
              : `${((1 - t.median) * 100).toFixed(1)} % less throughput at the median, within the spread`;
        lines.push(`${w} ${rate}: labelprof/datadog throughput ${ratioCell(t)}, CPU per request ${ratioCell(c)} — ${verdict}`);
      } else {
        const wall = p.ratios.wallMillis;
        const cpu = p.ratios.cpuMillis;
        const verdict =
          wall.median <= 1.005
            ? 'no worse'
            : wall.min > 1
              ? `${((wall.median - 1) * 100).toFixed(1)} % slower, in every round`
              : `${((wall.median - 1) * 100).toFixed(1)} % slower at the median, within the spread`;
        lines.push(`${w} ${rate}: labelprof/datadog wall ${ratioCell(wall)}, CPU ${ratioCell(cpu)} — ${verdict}`);
      }
    }
  }
  if (lines.length > 0) {
    out.push(
      `- **No worse than @datadog/pprof at equal settings** (labels on both; paired per round, median [95 % bootstrap interval] (min–max) of labelprof's figure over the peer's; "no worse" at the median):`,
    );
    for (const l of lines) out.push(`  - ${l}`);
  }
  const pyLines = [];
  for (const w of Object.keys(tables.workloads)) {
    const p = pair(w, 'lp-99-L', 'py-99');
    if (!p) continue;
    const [k, what] =
      w === 'http-fixed' ? ['cpuMicrosPerRequest', 'CPU per request'] : w === 'http' ? ['throughput', 'throughput'] : ['wallMillis', 'wall'];
    const labelled = row(tables, w, 'py-99')?.metrics.labelledShare;
    pyLines.push(
      `${w}: labelprof/pyroscope ${what} ${ratioCell(p.ratios[k])}` +
        (labelled ? `; @pyroscope/nodejs labelled ${(labelled.median * 100).toFixed(0)} % of its samples` : ''),
    );
  }
  if (pyLines.length > 0) {
    out.push(`- **Against @pyroscope/nodejs** (99 Hz, labels on both, paired per round; its labels cover the synchronous part of the wrapped function only):`);
    for (const l of pyLines) out.push(`  - ${l}`);
  }
  const fixed = row(tables, 'http-fixed', 'lp-99-L');
  if (fixed?.metrics.cpuPerRequestRatio) {
    const s = fixed.metrics.cpuPerRequestRatio;
    const hw = halfWidthPercent(s);
    out.push(
      `- **HTTP at a fixed rate, 99 Hz with labels: CPU per request** against no profiler ${delta(s)}` +
        (hw !== undefined ? `: interval ±${hw.toFixed(1)} % over ${s.n} rounds (${hw < 2 ? 'narrower than ±2 %' : 'not yet narrower than ±2 %: more rounds needed'})` : '') +
        '.',
    );
  }
  const prop = pair('async', 'lp-labels-only', 'als');
  if (prop) {
    const r = prop.ratios.wallMillis;
    out.push(
      `- **Label propagation within a few percent of AsyncLocalStorage alone** (the target is for Node 24; this run is ${meta.node.version}, ` +
        `AsyncContextFrame ${meta.node.asyncContextFrame ? 'on' : 'off'}): on the promise-heavy workload, labelprof's labels without profiling ` +
        `take ${ratioCell(r)} the wall time of AsyncLocalStorage alone (paired per round)` +
        (tables.micro?.['await-labelprof'] && tables.micro?.['await-als']
          ? `; one await inside withLabels ${num(tables.micro['await-labelprof'].median, 0)} ns vs ${num(tables.micro['await-als'].median, 0)} ns inside AsyncLocalStorage.run; one call ${num(tables.micro['call-labelprof'].median, 0)} ns vs ${num(tables.micro['call-als'].median, 0)} ns.`
          : '.'),
    );
  }
  const whileProfiling = pair('async', 'lp-99-L', 'lp-99');
  const alsAlone = pair('async', 'als', 'baseline');
  if (whileProfiling && alsAlone) {
    out.push(
      `  - While profiling (what users pay): labels at 99 Hz take ${ratioCell(whileProfiling.ratios.wallMillis)} the wall time of the same profile without labels; ` +
        `AsyncLocalStorage alone takes ${ratioCell(alsAlone.ratios.wallMillis)} that of no labels at all` +
        (tables.micro?.['await-lpprofiling'] ? `; one await inside withLabels while profiling ${num(tables.micro['await-lpprofiling'].median, 0)} ns.` : '.'),
    );
  }
  const sdk = pair('http', 'otel', 'express');
  const spans = pair('http', 'otel-lp-99', 'otel');
  if (sdk || spans) {
    const both = (p) => (p ? `throughput ${ratioCell(p.ratios.throughput)}, CPU per request ${ratioCell(p.ratios.cpuMicrosPerRequest)}` : '–');
    out.push(
      `- **OpenTelemetry** (HTTP under Express, paired per round): the SDK with http/express instrumentation against Express alone: ${both(sdk)}; ` +
        `labelprof/otel at 99 Hz (spans as labels) against the SDK alone: ${both(spans)}.`,
    );
  }
  return out.length > 0 ? `### Targets (reported, not asserted)\n\n${out.join('\n')}\n` : '';
}

function renderMarkdown(summary) {
  const { meta, tables } = summary;
  const busy = tables.machineBusy;
  let s = '';
  s += `## labelprof benchmark — Node ${meta.node.version}${meta.mode === 'quick' ? ' (--quick smoke run: figures are not meaningful)' : ''}\n\n`;
  s += `- Date: ${meta.date} (${meta.durationSeconds} s); labelprof ${meta.labelprof.commit}`;
  s += meta.labelprof.snapshot ? ` (measured a copy taken at start: dist ${meta.labelprof.distSha256}, addon ${meta.labelprof.addonSha256})\n` : `; addon ${meta.labelprof.addon}\n`;
  s += `- Machine: ${meta.machine.cpuModel}, ${meta.machine.cores} cores, ${meta.machine.os}\n`;
  s += `- Node ${meta.node.version} (V8 ${meta.node.v8}), AsyncContextFrame ${meta.node.asyncContextFrame ? 'on' : 'off'}; runner on ${meta.runnerNode}; `;
  s += `@datadog/pprof ${meta.datadog.loaded ? meta.datadog.version : 'not loadable'}; `;
  if (meta.pyroscope) s += `@pyroscope/nodejs ${meta.pyroscope.loaded ? meta.pyroscope.version : 'not loadable'}; `;
  s += `nativeFrames ${meta.nativeFrames.supported ? 'supported' : 'not supported by this build'}\n`;
  s += `- ${meta.runs} run(s) per variant, each a fresh process, variants interleaved round-robin; cells are median (min–max); Δ is against the same round's baseline, with the 95 % bootstrap interval of its median in brackets (percentile bootstrap over rounds, fixed seed)\n`;
  if (busy) {
    const f = tables.foreignCores;
    s += `- Other work on the machine (all CPU busy time minus the runner's and the measured process's): median ${f ? f.median.toFixed(2) : '?'} cores, max ${f ? f.max.toFixed(2) : '?'}; `;
    s += `${tables.repeated} of ${tables.measurementCount} measurements repeated because it exceeded ${meta.foreignLimitCores} cores`;
    s += tables.stillDisturbed > 0 ? `, ${tables.stillDisturbed} still above it after ${meta.maxRetries} retries (kept)` : '';
    s += meta.quietWaitSeconds > 0 ? `; before each, waited up to ${meta.quietWaitSeconds} s for a quiet second (${Math.round(tables.waitedForQuietSeconds)} s waited in all)` : '';
    s += `; 1-min load average at start ${meta.loadAvgAtStart[0].toFixed(2)}\n`;
  }
  s += '\n';
  for (const [w, t] of Object.entries(tables.workloads)) {
    s += `### ${w}: ${t.description}\n\n`;
    s += t.fixedRate ? fixedRateTable(t.rows, meta.variants) : t.kind === 'http' ? httpTable(t.rows, meta.variants) : fixedTable(t.rows, meta.variants);
    s += failedNote(t.rows);
    if (t.fixedRate) s += saturationNote(t.rows, meta.params?.[w]?.rate);
    s += '\n';
  }
  if (tables.long) {
    s += `### ${tables.long.seconds}-second profile on the HTTP workload (${meta.longRuns} run(s))\n\n`;
    s += longTable(tables.long, meta.variants);
    s += failedNote(tables.long.rows);
    s += '\n';
  }
  if (tables.micro) {
    s += `### Micro (${meta.microRuns} run(s); each mode in a fresh process; no profiler running except in the "profiling at 99 Hz" column)\n\n`;
    s += microTable(tables.micro);
    if (tables.microFailed.length > 0) s += `\nFailed: ${tables.microFailed.join('; ')}\n`;
    s += '\n';
  }
  s += targets(summary);
  return s;
}

// How the 95 % interval of each variant's overhead narrows with rounds: the
// report of the first k rounds of one run, for growing k (bench/report.js
// --interval-by-rounds). `aggregateRounds(k)` returns the summary of rounds
// 0..k-1. The figure is the CPU per request for the HTTP workloads (the
// fixed-rate mode's figure), the wall time for fixed work.
function intervalByRounds(workload, rounds, aggregateRounds) {
  const steps = [...new Set([3, 5, 7, 10, 15, 20, 25, 30, 40, 50, rounds].filter((k) => k <= rounds))].sort((a, b) => a - b);
  const summaries = steps.map((k) => aggregateRounds(k).tables);
  const last = summaries[summaries.length - 1];
  const t = last.workloads[workload];
  if (!t) throw new RangeError(`Workload ${JSON.stringify(workload)} is not in this run; it has ${Object.keys(last.workloads).join(', ')}`);
  const key = t.kind === 'http' ? ['cpuPerRequestRatio', 'cpuMicrosPerRequest', 'CPU per request'] : ['wallRatio', 'wallMillis', 'wall time'];
  const variants = t.rows.filter((r) => r.variant !== 'baseline' && !r.unsupported).map((r) => r.variant);
  const pairs = last.pairs.filter((p) => p.workload === workload);
  const header = ['rounds', ...variants.map((v) => `${v} vs baseline`), ...pairs.map((p) => `${p.a} / ${p.b}`)];
  const rows = steps.map((k, i) => {
    const tab = summaries[i];
    const rowOf = (v) => tab.workloads[workload].rows.find((r) => r.variant === v)?.metrics[key[0]];
    const pairOf = (p) => tab.pairs.find((q) => q.workload === workload && q.a === p.a && q.b === p.b)?.ratios[key[1]];
    const fmt = (s) => {
      const hw = halfWidthPercent(s);
      return s ? `${signed((s.median - 1) * 100, 1)} % ±${hw === undefined ? '–' : hw.toFixed(1)}` : '–';
    };
    return [String(k), ...variants.map((v) => fmt(rowOf(v))), ...pairs.map((p) => fmt(pairOf(p)))];
  });
  return (
    `### ${workload}: ${key[2]}, change and half-width of its 95 % bootstrap interval, using the first k rounds\n\n` +
    table(header, rows)
  );
}

module.exports = { renderMarkdown, intervalByRounds };
