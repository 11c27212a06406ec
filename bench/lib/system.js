'use strict';
// What the results are tied to: machine, Node, load. Also how busy the machine
// was during a measurement (from /proc/stat), to see other people's work.
const os = require('node:os');
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');

function cpuModel() {
  const model = os.cpus()[0]?.model ?? 'unknown';
  try {
    // Some VMs report a bare family name; add what /proc/cpuinfo knows.
    const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
    const mhz = /cpu MHz\s*:\s*([\d.]+)/.exec(info);
    return mhz ? `${model} (${Math.round(Number(mhz[1]))} MHz)` : model;
  } catch {
    return model;
  }
}

function gitCommit(dir) {
  try {
    const rev = execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', dir, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim();
    return dirty ? `${rev} (+ uncommitted changes)` : rev;
  } catch {
    return 'unknown';
  }
}

// /proc/stat's first line, in USER_HZ ticks (10 ms), summed over all CPUs.
// `guest` time is already inside `user`, so it is not added again.
function cpuTimes() {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line
      .trim()
      .split(/\s+/)
      .slice(1, 9)
      .map((x) => Number(x) || 0);
    const busy = user + nice + system + irq + softirq;
    return { busy, total: busy + idle + iowait + steal, steal, softirq, irq, system, user: user + nice };
  } catch {
    return null;
  }
}

// Per-field differences between two readings, in milliseconds of CPU.
function cpuTimesDelta(a, b) {
  if (!a || !b) return null;
  const out = {};
  for (const k of Object.keys(a)) out[k] = (b[k] - a[k]) * 10;
  return out;
}

// Fraction of all CPUs busy between two cpuTimes() readings (0..1).
function busyFraction(a, b) {
  if (!a || !b || b.total === a.total) return null;
  return (b.busy - a.busy) / (b.total - a.total);
}

// CPU (in cores) that something other than the measured processes used
// between two readings: all busy time on the machine (user, system, irq,
// softirq; not steal, which the hypervisor took and is reported apart),
// minus what the runner and the measured child used. /proc/stat counts in
// USER_HZ (100 on Linux). Kernel work done for the measured processes but
// charged to nobody (softirq: loopback networking) counts as "other" here.
function foreignCores(a, b, elapsedMillis, ownCpuMillis) {
  if (!a || !b || !(elapsedMillis > 0) || !Number.isFinite(ownCpuMillis)) return null;
  const busyMillis = (b.busy - a.busy) * 10;
  return Math.max(0, (busyMillis - ownCpuMillis) / elapsedMillis);
}

function machine() {
  return {
    cpuModel: cpuModel(),
    cores: os.cpus().length,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    totalMemoryBytes: os.totalmem(),
    hostname: os.hostname(),
  };
}

module.exports = { machine, gitCommit, cpuTimes, cpuTimesDelta, busyFraction, foreignCores };
