// Other V8 CPU profilers on this isolate, as far as labelprof can see them.
//
// GC stacks (the JavaScript stack a GC sample goes under) come from
// v8::CpuProfiler::CollectSample, the only way V8 offers to sample the stack
// at a GC start. It samples into every CpuProfiler of the isolate: an
// inspector or --cpu-prof profile taken at the same time would get one extra
// sample per GC, listed out of time order (negative time deltas). So unless
// asked otherwise (start({ gcStacks: true })), labelprof leaves GC stacks off
// while it sees another CPU profiler: --cpu-prof, an open inspector port (a
// DevTools client may profile), or Profiler.start posted on an in-process
// inspector Session. Native profilers of other addons are not visible.
import { native } from './native';

let sessionProfiling = 0;
let onSessionProfile: (() => void) | undefined;
let hooked = false;

function isProfilerStart(method: unknown): boolean {
  return method === 'Profiler.start';
}
function isProfilerStop(method: unknown): boolean {
  return method === 'Profiler.stop';
}

// Wraps Session.prototype.post of node:inspector and node:inspector/promises
// (the latter calls the original it captured, not the wrapper).
function hookSessions(): void {
  if (hooked) return;
  hooked = true;
  for (const id of ['node:inspector', 'node:inspector/promises']) {
    let proto: { post?: (...args: unknown[]) => unknown } | undefined;
    try {
      proto = (require(id) as { Session?: { prototype: { post?: (...args: unknown[]) => unknown } } }).Session
        ?.prototype;
    } catch {
      continue; // a Node built without the inspector
    }
    const original = proto?.post;
    if (proto === undefined || typeof original !== 'function') continue;
    proto.post = function post(this: unknown, ...args: unknown[]) {
      if (isProfilerStart(args[0])) {
        sessionProfiling++;
        onSessionProfile?.();
      } else if (isProfilerStop(args[0]) && sessionProfiling > 0) {
        sessionProfiling--;
      }
      return original.apply(this, args);
    };
  }
}

/** Why another CPU profiler may be running on this isolate, or undefined. */
export function otherCpuProfiler(): string | undefined {
  hookSessions();
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  if (flags.some((f) => f === '--cpu-prof' || f.startsWith('--cpu-prof='))) return '--cpu-prof is on';
  if (sessionProfiling > 0) return 'an inspector Session is profiling (Profiler.start)';
  try {
    const url = (require('node:inspector') as { url(): string | undefined }).url();
    if (url !== undefined) return `the inspector is open (${url}): a DevTools client may profile`;
  } catch {
    // no inspector in this build
  }
  return undefined;
}

/**
 * While a profile with automatic GC stacks runs: turn them off (and note why)
 * as soon as an inspector Session starts profiling. Undefined: stop watching.
 */
export function watchForOtherProfilers(onSeen: ((why: string) => void) | undefined): void {
  hookSessions();
  onSessionProfile =
    onSeen === undefined
      ? undefined
      : () => {
          native().setGcStacks(false);
          onSeen('an inspector Session started profiling (Profiler.start)');
        };
}
