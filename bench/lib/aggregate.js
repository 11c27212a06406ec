'use strict';
// Raw measurements -> per-workload, per-variant summaries (median, min, max),
// with each variant's overhead as a ratio to the baseline of the same round
// (the baseline measured in the same pass of the round-robin). Ratios also
// get a 95 % bootstrap interval of their median over rounds (lib/stats.js).
const { summarize, summarizeWithInterval } = require('./stats');
const { appliesTo } = require('./variants');

const MB = 1024 * 1024;

function ok(m) {
  return m.type === 'result';
}

// The metrics of one measurement, flattened; `base` is the same round's baseline.
function metricsOf(m, base, kind) {
  const out = {
    maxRssMB: m.maxRssBytes / MB,
    stopEncodeMillis: m.stopEncodeMillis,
    stopMillis: m.stopMillis,
    maxBlockMillis: m.maxBlockMillis,
    profileKB: m.profileBytes !== undefined ? m.profileBytes / 1024 : undefined,
    samples: m.samples,
    labelledShare: m.labelledShare,
    startMillis: m.startMillis,
    machineBusy: m.machineBusy,
  };
  if (m.handler) {
    out.handlerMedianNanos = m.handler.medianNanos;
    out.handlerMaxNanos = m.handler.maxNanos;
    out.handlerTotalMillis = m.handler.totalNanos / 1e6;
    out.handlerShareOfCpu = m.handler.totalNanos / 1e6 / m.cpuMillis;
    out.matchedShare = m.handler.v8Samples > 0 ? m.handler.matched / m.handler.v8Samples : undefined;
    out.dropped = m.handler.dropped;
  }
  if (kind === 'http') {
    Object.assign(out, {
      throughput: m.throughput,
      latencyP50Millis: m.latencyP50Millis,
      latencyP99Millis: m.latencyP99Millis,
      cpuMicrosPerRequest: m.cpuMicrosPerRequest,
      errors: m.errors + (m.failed || 0),
      rssGrowthMB: (m.rssEndBytes - m.rssBeginBytes) / MB,
      rssEndMB: m.rssEndBytes / MB,
    });
    if (base) {
      out.throughputRatio = m.throughput / base.throughput;
      out.latencyP50Ratio = m.latencyP50Millis / base.latencyP50Millis;
      out.latencyP99Ratio = m.latencyP99Millis / base.latencyP99Millis;
      out.cpuPerRequestRatio = m.cpuMicrosPerRequest / base.cpuMicrosPerRequest;
    }
  } else {
    Object.assign(out, { wallMillis: m.wallMillis, cpuMillis: m.cpuMillis });
    if (base) {
      out.wallRatio = m.wallMillis / base.wallMillis;
      out.cpuRatio = m.cpuMillis / base.cpuMillis;
    }
  }
  return out;
}

function summarizeRows(list, variants, unsupported, kindOf) {
  const rows = [];
  for (const v of variants) {
    if (unsupported[v.id]) {
      rows.push({ variant: v.id, name: v.name, unsupported: unsupported[v.id] });
      continue;
    }
    const mine = list.filter((m) => m.variant === v.id);
    const good = mine.filter(ok);
    const per = good.map((m) => {
      const base = list.find((b) => b.variant === 'baseline' && b.round === m.round && b.workload === m.workload && ok(b));
      return metricsOf(m, base, kindOf(m.workload));
    });
    const metrics = {};
    const keys = new Set(per.flatMap((p) => Object.keys(p)));
    for (const k of keys) {
      const values = per.map((p) => p[k]);
      const s = k.endsWith('Ratio') ? summarizeWithInterval(values) : summarize(values);
      if (s) metrics[k] = s;
    }
    rows.push({
      variant: v.id,
      name: v.name,
      n: good.length,
      failed: mine.length - good.length,
      errors: mine.filter((m) => !ok(m)).map((m) => String(m.message || m.reason).split('\n')[0]),
      useCPED: good.find((m) => m.useCPED !== undefined)?.useCPED,
      nativeFramesActive: good.some((m) => m.handler) ? good.every((m) => m.handler?.nativeFrames) : undefined,
      metrics,
    });
  }
  return rows;
}

// Paired comparisons: variant a against variant b measured in the same round
// (median, min–max and 95 % bootstrap interval over rounds of a/b). Less
// noisy than comparing two baseline-relative medians, since both sides share
// the round.
const PAIRS = [
  ['lp-99-L', 'dd-99'],
  ['lp-99-L', 'py-99'],
  ['lp-1k-L', 'dd-1k'],
  ['lp-labels-only', 'als'],
  ['lp-99-L', 'lp-99'],
  ['als', 'baseline'],
  ['otel', 'express'],
  ['otel-lp-99', 'otel'],
];

function pairs(measurements, workloads) {
  const out = [];
  for (const w of workloads) {
    const keys =
      w === 'http-fixed'
        ? ['cpuMicrosPerRequest', 'latencyP50Millis', 'latencyP99Millis']
        : kindOf(w) === 'http'
          ? ['throughput', 'cpuMicrosPerRequest', 'latencyP99Millis']
          : ['wallMillis', 'cpuMillis'];
    for (const [a, b] of PAIRS) {
      const ratios = Object.fromEntries(keys.map((k) => [k, []]));
      for (const ma of measurements.filter((m) => m.workload === w && m.variant === a && ok(m))) {
        const mb = measurements.find((m) => m.workload === w && m.variant === b && m.round === ma.round && ok(m));
        if (!mb) continue;
        for (const k of keys) ratios[k].push(ma[k] / mb[k]);
      }
      if (ratios[keys[0]].length === 0) continue;
      out.push({ workload: w, a, b, ratios: Object.fromEntries(keys.map((k) => [k, summarizeWithInterval(ratios[k])])) });
    }
  }
  return out;
}

// How a workload is measured: 'http' (a server under load: the fixed-rate
// mode too) or 'fixed' (fixed work, wall and CPU time).
function kindOf(w) {
  return w === 'http' || w === 'http-fixed' ? 'http' : 'fixed';
}

function aggregate({ meta, measurements, long, micro }) {
  const tables = { workloads: {}, long: null, micro: null };
  for (const w of Object.keys(meta.workloads)) {
    tables.workloads[w] = {
      kind: kindOf(w),
      fixedRate: w === 'http-fixed',
      description: meta.workloads[w],
      rows: summarizeRows(
        measurements.filter((m) => m.workload === w),
        meta.variants.filter((v) => appliesTo(v, w)),
        meta.unsupported,
        kindOf,
      ),
    };
  }
  if (long.length > 0) {
    const ids = [...new Set(long.map((m) => m.variant))];
    tables.long = {
      seconds: meta.longSeconds,
      rows: summarizeRows(long, meta.variants.filter((v) => ids.includes(v.id)), {}, kindOf),
    };
  }
  if (micro.length > 0) {
    const modes = {};
    for (const m of micro) {
      if (!ok(m)) continue;
      (modes[m.mode] ??= []).push(m.nsPerOp);
    }
    tables.micro = Object.fromEntries(Object.entries(modes).map(([k, v]) => [k, summarize(v)]));
    tables.microFailed = micro.filter((m) => !ok(m)).map((m) => `${m.mode}: ${m.message}`);
  }
  tables.pairs = pairs(measurements, Object.keys(meta.workloads));
  const all = [...measurements, ...long];
  tables.machineBusy = summarize(all.map((m) => m.machineBusy));
  tables.foreignCores = summarize(all.map((m) => m.foreignCores));
  tables.repeated = all.filter((m) => m.attempts > 1).length;
  tables.stillDisturbed = all.filter((m) => m.disturbed).length;
  tables.measurementCount = all.length;
  tables.waitedForQuietSeconds = all.reduce((a, m) => a + (m.waitedForQuietMillis || 0), 0) / 1000;
  tables.loadAvg1 = summarize([...measurements, ...long].map((m) => m.loadAvg1));
  return { meta, tables };
}

module.exports = { aggregate };
