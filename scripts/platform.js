'use strict';
// Which platforms labelprof's native addon supports, and which one this is.
// The one source for the install script (scripts/install.js, which runs
// before any TypeScript is compiled) and the loader (src/native.ts), so the
// two never disagree. Plain CommonJS with no dependencies for that reason.
const fs = require('node:fs');

/** Where the addon is prebuilt (`npm run prebuild`), tested and supported. */
const SUPPORTED_PLATFORMS = Object.freeze([
  Object.freeze({ os: 'linux', arch: 'x64', libc: 'glibc', name: 'Linux x64 (glibc)' }),
  Object.freeze({ os: 'linux', arch: 'arm64', libc: 'glibc', name: 'Linux arm64 (glibc)' }),
]);

/** Node majors with a prebuilt addon (one per Node ABI: the addon includes V8 headers). */
const PREBUILT_NODE_MAJORS = Object.freeze([20, 22, 24, 26]);

const OS_NAMES = { linux: 'Linux', darwin: 'macOS', win32: 'Windows', freebsd: 'FreeBSD', openbsd: 'OpenBSD', sunos: 'SunOS', aix: 'AIX' };

function readText(file) {
  try {
    return fs.readFileSync(file, 'latin1');
  } catch {
    return undefined;
  }
}

function hasMuslLoader() {
  for (const dir of ['/lib', '/usr/lib']) {
    try {
      if (fs.readdirSync(dir).some((f) => f.startsWith('ld-musl-'))) return true;
    } catch {
      // no such directory
    }
  }
  return false;
}

/**
 * The C library the running node links, from what the probe saw:
 * - `glibcVersionRuntime`: process.report's header field, set exactly when
 *   node runs on glibc (the decisive sign: it is about this node binary);
 * - otherwise `lddText` (the `ldd` script names its libc) and `muslLoader`
 *   (an /lib/ld-musl-* dynamic loader) tell musl from an unknown libc.
 * Debian can have musl's loader installed next to glibc, which is why the
 * report comes first.
 */
function detectLibc(probe) {
  if (probe.glibcVersionRuntime) return 'glibc';
  const ldd = probe.lddText || '';
  if (/musl/i.test(ldd)) return 'musl';
  if (probe.muslLoader) return 'musl';
  if (/GNU C Library|GLIBC|glibc/.test(ldd)) return 'glibc';
  return 'unknown';
}

/** What this machine looks like to the probe; each field lazily read. */
function probeThisMachine() {
  let glibcVersionRuntime;
  if (process.platform === 'linux') {
    try {
      const report = process.report.getReport();
      glibcVersionRuntime = report.header && report.header.glibcVersionRuntime;
    } catch {
      // no report support: fall back on ldd and the loader
    }
  }
  return {
    platform: process.platform,
    arch: process.arch,
    glibcVersionRuntime,
    get lddText() {
      return readText('/usr/bin/ldd');
    },
    get muslLoader() {
      return hasMuslLoader();
    },
  };
}

/**
 * LABELPROF_TEST_PLATFORM=<os>-<arch>[-<libc>] makes labelprof see another
 * platform (tests of the unsupported path: macOS, Windows, musl). Not for
 * production: a real other platform is detected on its own.
 */
function probeFromOverride(value) {
  const m = /^([a-z0-9]+)-([a-z0-9]+)(?:-(glibc|musl))?$/.exec(value);
  if (m === null) {
    throw new RangeError(
      `Expected <os>-<arch>[-<libc>] (like darwin-arm64 or linux-x64-musl) for LABELPROF_TEST_PLATFORM but received ${JSON.stringify(value)}`,
    );
  }
  const libc = m[3] || (m[1] === 'linux' ? 'glibc' : undefined);
  return {
    platform: m[1],
    arch: m[2],
    glibcVersionRuntime: libc === 'glibc' ? 'simulated' : undefined,
    lddText: libc === 'musl' ? 'musl libc (simulated)' : '',
    muslLoader: libc === 'musl',
  };
}

/** { os, arch, libc, id, name } of a probe (default: this machine, or LABELPROF_TEST_PLATFORM). */
function describePlatform(probe) {
  if (probe === undefined) {
    const override = process.env.LABELPROF_TEST_PLATFORM;
    probe = override ? probeFromOverride(override) : probeThisMachine();
  }
  const os = probe.platform;
  const arch = probe.arch;
  const libc = os === 'linux' ? detectLibc(probe) : undefined;
  const id = libc === undefined ? `${os}-${arch}` : `${os}-${arch}-${libc}`;
  const osName = OS_NAMES[os] || os;
  const name = libc === undefined ? `${osName} ${arch}` : `${osName} ${arch} (${libc === 'unknown' ? 'not glibc' : libc})`;
  return { os, arch, libc, id, name };
}

let current;
/** This process's platform, detected once. */
function currentPlatform() {
  if (current === undefined) current = describePlatform();
  return current;
}

function isSupported(p) {
  return SUPPORTED_PLATFORMS.some((s) => s.os === p.os && s.arch === p.arch && s.libc === p.libc);
}

function listSupported() {
  const names = SUPPORTED_PLATFORMS.map((s) => s.name);
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** Null where the addon is supported; else a sentence naming the platform and what is supported. */
function unsupportedReason(p) {
  if (isSupported(p)) return null;
  return (
    `profiling is not supported on ${p.name} [${p.id}]: labelprof's native addon runs on ` +
    `${listSupported()}, Node ${PREBUILT_NODE_MAJORS.join(', ')}. ` +
    'The label API (withLabels, setLabels, getLabels, getLabel) works on every platform'
  );
}

module.exports = {
  SUPPORTED_PLATFORMS,
  PREBUILT_NODE_MAJORS,
  detectLibc,
  describePlatform,
  probeFromOverride,
  currentPlatform,
  unsupportedReason,
};
