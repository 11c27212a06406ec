// ESM entry: the CommonJS build re-exported by name.
import labelprof from '../dist/index.js';

export const {
  start,
  isProfiling,
  Profiler,
  Profile,
  DEFAULT_INTERVAL_MICROS,
  withLabels,
  setLabels,
  getLabels,
  getLabel,
  MAX_LABEL_SETS,
} = labelprof;
