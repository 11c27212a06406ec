// Type test: what a user of 'labelprof' writes must compile against the
// published declarations (dist/*.d.ts). test/types.test.js compiles it and
// checks that nothing internal is visible next to it.
import {
  DEFAULT_INTERVAL_MICROS,
  MAX_LABEL_SETS,
  getLabel,
  getLabels,
  isProfiling,
  setLabels,
  start,
  withLabels,
  type Labels,
  type Profile,
  type Profiler,
  type ProfilerStats,
  type StartOptions,
} from 'labelprof';

async function use(): Promise<void> {
  const options: StartOptions = { intervalMicros: DEFAULT_INTERVAL_MICROS, maxSamples: 4096, nativeFrames: false };
  const profiler: Profiler = start(options);
  const running: boolean = profiler.running && isProfiling();
  const interval: number = profiler.intervalMicros;
  const result: Promise<number> = withLabels({ route: '/a' }, async () => 1);
  setLabels({ tenant: 'acme' });
  const labels: Labels = getLabels();
  const tenant: string | undefined = getLabel('tenant');
  const stats: ProfilerStats = profiler.stats();
  const counts: number[] = [stats.signals, stats.matched, stats.labelSets, MAX_LABEL_SETS];
  const when: number | undefined = stats.displaced ? stats.displacedAtNanos : undefined;
  const profile: Profile = await profiler.stop();
  const bytes: Buffer = await profile.encode();
  profile.writeSync('cpu.pb.gz');
  const samples: number = profile.sampleCount;
  void [running, interval, result, labels, tenant, counts, when, bytes, samples, profile.toPprof()];
}
void use;
