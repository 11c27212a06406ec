// labelprof: a sampling CPU profiler for Node.js whose samples carry Go-style
// profiler labels across await, written as pprof. Public exports only.
export { start, isProfiling, Profiler } from './profiler';
export { Profile } from './profile';
export { startContinuous, ContinuousProfiler } from './continuous';
export type { ContinuousOptions } from './continuous';
export { pprofHandler } from './pprof-handler';
export type { PprofHandlerOptions } from './pprof-handler';
export type { ProfilerStats } from './profiler';
export type { StartOptions } from './options';
export { DEFAULT_INTERVAL_MICROS } from './options';
export { withLabels, setLabels, getLabels, getLabel, MAX_LABEL_SETS } from './labels';
export type { Labels } from './labels';
