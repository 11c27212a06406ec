'use strict';
// Child-process fixture: samples one workload with the test addon's
// stand-alone SIGPROF sampler (no profiler core), symbolizes every walk with
// dist/symbolizer.js and prints one JSON document on stdout.
//
//   node test/native/sample-workload.js <workload> [millis] [intervalMicros]
//
// Run in a child process by the tests: a walker bug that faults kills this
// process, not the test runner.

const path = require('node:path');
const zlib = require('node:zlib');
const crypto = require('node:crypto');
const fs = require('node:fs');

const native = require('./addon.js').load();
const { Symbolizer } = require(path.join(__dirname, '..', '..', 'dist', 'symbolizer.js'));
const { nativeFramesOfSamples } = require(path.join(__dirname, '..', '..', 'dist', 'native-frames.js'));

// Inputs built before sampling starts: under emulation (qemu) building
// deflate's megabyte in JavaScript took most of the sampled window.
const inputs = {
  deflate() {
    const input = Buffer.alloc(1 << 20);
    for (let i = 0; i < input.length; i++) input[i] = (i * 7919) % 251 < 64 ? 97 + (i % 13) : (i * 31) & 0xff;
    return input;
  },
};

const workloads = {
  // zlib's deflate: longest_match / deflate_slow under node::...ZlibContext.
  deflate(deadline, input) {
    while (Date.now() < deadline) zlib.deflateSync(input, { level: 9 });
  },
  // OpenSSL's sha256 block function under node::crypto::Hash::HashUpdate.
  sha256(deadline) {
    const chunk = Buffer.alloc(1 << 16, 7);
    while (Date.now() < deadline) {
      const h = crypto.createHash('sha256');
      for (let i = 0; i < 64; i++) h.update(chunk);
      h.digest();
    }
  },
  // read(2) through libuv: a libc syscall leaf under uv__fs_work <- node::fs::Read.
  fsread(deadline) {
    const fd = fs.openSync('/dev/zero', 'r');
    const buf = Buffer.alloc(1 << 16);
    while (Date.now() < deadline) {
      for (let i = 0; i < 100; i++) fs.readSync(fd, buf, 0, buf.length, null);
    }
    fs.closeSync(fd);
  },
  // Large copies: libc's memmove under node::Buffer / V8.
  buffers(deadline) {
    const chunks = [];
    for (let i = 0; i < 64; i++) chunks.push(Buffer.alloc(1 << 16, i));
    while (Date.now() < deadline) Buffer.concat(chunks).copy(Buffer.allocUnsafe(1 << 22));
  },
  burn(deadline) {
    native._burnNative(deadline - Date.now());
  },
  nofp(deadline) {
    native._burnNoFramePointer(deadline - Date.now());
  },
  syscall(deadline) {
    native._syscallLoop(deadline - Date.now());
  },
  memset(deadline) {
    native._memsetLoop(deadline - Date.now());
  },
  sort(deadline) {
    native._sortLoop(deadline - Date.now());
  },
};

async function main() {
  const [name, millisArg, intervalArg] = process.argv.slice(2);
  const millis = Number(millisArg ?? 1000);
  const interval = Number(intervalArg ?? 1000);
  // LABELPROF_TEST_MAIN_CFI: 'none' | 'leaf' (default) | 'all', to compare modes.
  const prepared = native._prepareUnwindTables(process.env.LABELPROF_TEST_MAIN_CFI || 'leaf');
  if (!prepared.ok) throw new Error(`prepareUnwindTables failed: ${prepared.error}`);
  const input = inputs[name] ? inputs[name]() : undefined;
  native._startSampling(interval, Math.ceil((millis * 1000) / interval) * 2 + 100, 128);
  // CLOCK_MONOTONIC, as `perf record -k CLOCK_MONOTONIC` stamps its samples.
  const windowStart = process.hrtime.bigint();
  if (name === 'idle') {
    // Nothing to do but wait in the event loop: epoll_pwait <- uv__io_poll <- uv_run.
    await new Promise((resolve) => setTimeout(resolve, millis));
  } else {
    const work = workloads[name];
    if (work === undefined) throw new Error(`unknown workload ${name}`);
    work(Date.now() + millis, input);
  }
  const windowEnd = process.hrtime.bigint();
  const r = native._stopSampling();
  const walks = [];
  for (let i = 0; i < r.depths.length; i++) {
    walks.push(Array.from(r.pcs.subarray(i * r.maxDepth, i * r.maxDepth + r.depths[i])));
  }
  const symbolizer = new Symbolizer(native.demangle);
  // Whole walks (every frame, for shape checks) and the part under JS.
  const full = walks.map((pcs) => symbolizer.symbolize(pcs, { stack: true }));
  const parts = nativeFramesOfSamples(walks, symbolizer);
  const frameName = (f) => f.functionName || (f.isJit ? '(jit)' : `${path.basename(f.module) || '?'}+0x${f.fileOffset.toString(16)}`);
  const out = {
    workload: name,
    node: process.version,
    prepared,
    window: { startNanos: String(windowStart), endNanos: String(windowEnd) },
    signals: r.signals,
    dropped: r.dropped,
    samples: full.map((frames, i) => ({
      flags: r.flags[i],
      walkNanos: r.walkNanos[i],
      frames: frames.map(frameName),
      modules: frames.map((f) => path.basename(f.module)),
      underJs: parts[i].frames.map(frameName),
      enteredFromJs: parts[i].enteredFromJs,
    })),
  };
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
  process.exit(1);
});
