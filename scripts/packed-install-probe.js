'use strict';
// Run by scripts/test-packed-install.js inside a project that installed the
// packed labelprof: which addon file loaded, and a labelled profile taken
// with it, decoded back. Prints one JSON line.
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const lp = require('labelprof');

const { Profile } = require(require.resolve('pprof-format', { paths: [path.dirname(require.resolve('labelprof'))] }));

function loadedAddon() {
  const maps = fs.readFileSync('/proc/self/maps', 'utf8').split('\n');
  const hit = maps.map((l) => l.split(/\s+/).slice(5).join(' ')).find((p) => /labelprof[^/]*\/.*\.node$/.test(p));
  return hit || null;
}

function burn(millis) {
  const end = Date.now() + millis;
  let x = 0;
  while (Date.now() < end) for (let i = 0; i < 1e4; i++) x += Math.sqrt(i);
  return x;
}

async function main() {
  const out = { node: process.version };
  out.labelsInside = lp.withLabels({ endpoint: '/checkout' }, () => lp.getLabel('endpoint'));
  let profiler;
  try {
    profiler = lp.start({ intervalMicros: 2000 });
  } catch (err) {
    out.startError = err.message;
    out.addon = loadedAddon();
    console.log(JSON.stringify(out));
    return;
  }
  out.addon = loadedAddon();
  for (let round = 0; round < 4; round++) {
    await lp.withLabels({ endpoint: '/checkout' }, async () => {
      await new Promise((resolve) => setImmediate(resolve));
      burn(150);
    });
    lp.withLabels({ endpoint: '/search' }, () => burn(100));
  }
  const profile = await profiler.stop();
  out.nativeFrames = profiler.stats().nativeFrames;
  const decoded = Profile.decode(zlib.gunzipSync(await profile.encode()));
  const str = (i) => decoded.stringTable.strings[Number(i)];
  const values = new Set();
  let labelled = 0;
  for (const s of decoded.sample) {
    const l = s.label.find((x) => str(x.key) === 'endpoint');
    if (l) {
      values.add(str(l.str));
      labelled += Number(s.value[0]);
    }
  }
  out.samples = profile.sampleCount;
  out.labelledSamples = labelled;
  out.labelValues = [...values].sort();
  console.log(JSON.stringify(out));
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
