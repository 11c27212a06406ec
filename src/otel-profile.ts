// From a profile back to the trace: CPU per span_id and per trace_endpoint,
// read from the labels labelprof/otel put on the samples. Pure: works on the
// pprof Profile object, so a profile decoded from a file works as well.
import type { Profile as PprofProfile } from 'pprof-format';

import { invalidType, invalidValue } from './errors';
import { Profile } from './profile';

export interface FunctionCpu {
  /** Function name as in the profile (JavaScript or native). */
  name: string;
  /** Script URL or module path; '' when the profile has none. */
  file: string;
  /** CPU of the samples whose leaf (innermost frame) is this function. */
  cpuNanos: number;
}

export interface SpanCpu {
  spanId: string;
  traceId: string;
  localRootSpanId: string;
  /** The endpoint of the span's local root (see cpuByEndpoint for how a provisional one is resolved). */
  endpoint: string;
  /** CPU of the samples taken while this span was the active one (its children's spans not included). */
  cpuNanos: number;
  /** The same samples' wall time (sampling intervals), and how many there were. */
  wallNanos: number;
  samples: number;
  /** The functions the span's CPU went to, by self CPU, heaviest first (at most `topFunctions`). */
  topFunctions: FunctionCpu[];
}

export interface EndpointCpu {
  endpoint: string;
  cpuNanos: number;
  wallNanos: number;
  samples: number;
  /** Distinct local root spans (requests, usually) that had samples. */
  localRoots: number;
}

export interface CpuBySpanOptions {
  /** How many functions to list per span (default 3). */
  topFunctions?: number;
}

interface SpanSample {
  spanId: string;
  traceId: string;
  localRoot: string;
  endpoint: string;
  count: number;
  cpu: number;
  wall: number;
  leafName: string;
  leafFile: string;
}

function pprofOf(profile: unknown): PprofProfile {
  if (profile instanceof Profile) return profile.toPprof();
  const p = profile as PprofProfile | null;
  if (p !== null && typeof p === 'object' && Array.isArray(p.sample) && Array.isArray(p.stringTable?.strings)) return p;
  throw invalidType('profile', 'a labelprof Profile (from stop()) or a pprof-format Profile', profile);
}

/** Every sample that carries a span_id, with its leaf function. */
function spanSamples(p: PprofProfile): SpanSample[] {
  const strings = p.stringTable.strings;
  const str = (i: number | bigint | undefined) => strings[Number(i ?? 0)] ?? '';
  const types = p.sampleType.map((t) => str(t.type));
  const countAt = types.indexOf('samples');
  const cpuAt = types.indexOf('cpu');
  const wallAt = types.indexOf('wall');
  const functions = new Map(p.function.map((f) => [Number(f.id), f]));
  const locations = new Map(p.location.map((l) => [Number(l.id), l]));
  const out: SpanSample[] = [];
  for (const s of p.sample) {
    let spanId: string | undefined;
    let traceId = '';
    let localRoot = '';
    let endpoint = '';
    for (const l of s.label) {
      const key = str(l.key);
      if (key === 'span_id') spanId = str(l.str);
      else if (key === 'trace_id') traceId = str(l.str);
      else if (key === 'local_root_span_id') localRoot = str(l.str);
      else if (key === 'trace_endpoint') endpoint = str(l.str);
    }
    if (spanId === undefined) continue;
    const leaf = locations.get(Number(s.locationId[0] ?? 0));
    const fn = functions.get(Number(leaf?.line[0]?.functionId ?? 0));
    out.push({
      spanId,
      traceId,
      localRoot: localRoot || spanId,
      endpoint,
      count: countAt >= 0 ? Number(s.value[countAt] ?? 0) : 1,
      cpu: cpuAt >= 0 ? Number(s.value[cpuAt] ?? 0) : 0,
      wall: wallAt >= 0 ? Number(s.value[wallAt] ?? 0) : 0,
      leafName: fn === undefined ? '(unknown)' : str(fn.name),
      leafFile: fn === undefined ? '' : str(fn.filename),
    });
  }
  return out;
}

// An HTTP request's samples taken before its router matched carry the method
// alone ("GET"); later ones carry method and route ("GET /checkout"). Each
// local root's samples are given the most specific endpoint any of its
// samples carries: one that extends the others.
function resolvedEndpoints(samples: SpanSample[]): Map<string, string> {
  const best = new Map<string, string>();
  for (const s of samples) {
    const seen = best.get(s.localRoot);
    if (seen === undefined || (s.endpoint.length > seen.length && s.endpoint.startsWith(`${seen} `))) {
      best.set(s.localRoot, s.endpoint);
    }
  }
  return best;
}

/**
 * CPU per span: for each span_id in the profile, the CPU, wall time and
 * samples taken while it was the active span, and the functions that CPU
 * went to. Keyed by span_id.
 */
export function cpuBySpan(profile: Profile | PprofProfile, options: CpuBySpanOptions = {}): Map<string, SpanCpu> {
  const p = pprofOf(profile);
  if (options === null || typeof options !== 'object') throw invalidType('options', 'an object', options);
  const top = options.topFunctions ?? 3;
  if (typeof top !== 'number' || Number.isNaN(top)) throw invalidType('options.topFunctions', 'an integer from 0 to 1000', top);
  if (!Number.isInteger(top) || top < 0 || top > 1000) throw invalidValue('options.topFunctions', 'an integer from 0 to 1000', top);

  const samples = spanSamples(p);
  const endpoints = resolvedEndpoints(samples);
  const spans = new Map<string, SpanCpu & { byFunction: Map<string, FunctionCpu> }>();
  for (const s of samples) {
    let span = spans.get(s.spanId);
    if (span === undefined) {
      span = {
        spanId: s.spanId,
        traceId: s.traceId,
        localRootSpanId: s.localRoot,
        endpoint: endpoints.get(s.localRoot) ?? s.endpoint,
        cpuNanos: 0,
        wallNanos: 0,
        samples: 0,
        topFunctions: [],
        byFunction: new Map(),
      };
      spans.set(s.spanId, span);
    }
    span.cpuNanos += s.cpu;
    span.wallNanos += s.wall;
    span.samples += s.count;
    const fnKey = `${s.leafFile}\u0000${s.leafName}`;
    let fn = span.byFunction.get(fnKey);
    if (fn === undefined) span.byFunction.set(fnKey, (fn = { name: s.leafName, file: s.leafFile, cpuNanos: 0 }));
    fn.cpuNanos += s.cpu;
  }
  const result = new Map<string, SpanCpu>();
  for (const [id, { byFunction, ...span }] of spans) {
    span.topFunctions = [...byFunction.values()].sort((a, b) => b.cpuNanos - a.cpuNanos).slice(0, top);
    result.set(id, span);
  }
  return result;
}

/**
 * CPU per trace_endpoint, heaviest first. Samples taken before an HTTP
 * request's route was known count for the endpoint its later samples name
 * (same local_root_span_id).
 */
export function cpuByEndpoint(profile: Profile | PprofProfile): Map<string, EndpointCpu> {
  const samples = spanSamples(pprofOf(profile));
  const endpoints = resolvedEndpoints(samples);
  const byEndpoint = new Map<string, EndpointCpu & { roots: Set<string> }>();
  for (const s of samples) {
    const endpoint = endpoints.get(s.localRoot) ?? s.endpoint;
    let e = byEndpoint.get(endpoint);
    if (e === undefined) {
      byEndpoint.set(endpoint, (e = { endpoint, cpuNanos: 0, wallNanos: 0, samples: 0, localRoots: 0, roots: new Set() }));
    }
    e.cpuNanos += s.cpu;
    e.wallNanos += s.wall;
    e.samples += s.count;
    e.roots.add(s.localRoot);
  }
  const sorted = [...byEndpoint.values()].sort((a, b) => b.cpuNanos - a.cpuNanos);
  return new Map(sorted.map(({ roots, ...e }) => [e.endpoint, { ...e, localRoots: roots.size }]));
}
