'use strict';
// The CLI reads pprof from other producers: @datadog/pprof's time profiler
// (wall + CPU, labels from contexts) and Go's runtime/pprof with pprof.Do
// labels, built and run here.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { FIXTURES, runFixture, describeRun } = require('./helpers');
const { labelprof } = require('./cli-helpers');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'labelprof-producers-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

function shareOf(text, value) {
  const m = new RegExp(`^\\s+${value.replace(/[/]/g, '\\/')}\\s+\\S+ m?s\\s+([\\d.]+)%`, 'm').exec(text);
  assert.ok(m, `no row for ${value} in:\n${text}`);
  return Number(m[1]);
}

test('a profile written by @datadog/pprof: labels, functions, wall and cpu', () => {
  const file = path.join(dir, 'datadog.pb.gz');
  const r = runFixture('datadog-profile.js', { args: [file] });
  assert.equal(r.status, 0, describeRun('datadog-profile.js', r));
  const rep = labelprof(['report', file, '--sample', 'cpu']);
  assert.equal(rep.status, 0, rep.stderr);
  assert.match(rep.stdout, /sample types: sample\/count, wall\/nanoseconds, cpu\/nanoseconds/);
  const checkout = shareOf(rep.stdout, '/checkout');
  const search = shareOf(rep.stdout, '/search');
  assert.ok(checkout / (checkout + search) > 0.6 && checkout / (checkout + search) < 0.9, rep.stdout);
  assert.match(rep.stdout, /checkoutWork\s+test\/fixtures\/datadog-profile\.js:\d+/);
  const focused = labelprof(['report', file, '--sample', 'samples', '--focus', 'endpoint=/search', '--top', '2']);
  assert.equal(focused.status, 0, focused.stderr);
  assert.match(focused.stdout.split('functions by self')[1], /searchWork/);
  const html = labelprof(['html', file, '-o', path.join(dir, 'datadog.html')]);
  assert.equal(html.status, 0, html.stderr);
  assert.match(fs.readFileSync(path.join(dir, 'datadog.html'), 'utf8'), /"checkoutWork"/);
});

const GO_PROGRAM = `package main

import (
	"context"
	"math"
	"os"
	"runtime/pprof"
)

var sink float64

//go:noinline
func checkoutWork(units int) float64 {
	x := 0.0
	for i := 0; i < units*20000; i++ {
		x += math.Mod(math.Sqrt(float64(i)+x), 7)
	}
	return x
}

//go:noinline
func searchWork(units int) float64 {
	x := 0.0
	for i := 0; i < units*20000; i++ {
		x += math.Mod(math.Sqrt(float64(i)+x), 5)
	}
	return x
}

func main() {
	f, err := os.Create(os.Args[1])
	if err != nil {
		panic(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		panic(err)
	}
	for round := 0; round < 20; round++ {
		pprof.Do(context.Background(), pprof.Labels("endpoint", "/checkout"), func(context.Context) { sink += checkoutWork(30) })
		pprof.Do(context.Background(), pprof.Labels("endpoint", "/search"), func(context.Context) { sink += searchWork(10) })
	}
	pprof.StopCPUProfile()
	f.Close()
}
`;

const hasGo = spawnSync('go', ['version']).status === 0;
test('a profile from a Go program using pprof.Do labels', { skip: !hasGo && !process.env.CI && 'go is not installed (CI installs golang-go)' }, () => {
  const src = path.join(dir, 'goprog');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'go.mod'), 'module labelprof.test/goprog\n\ngo 1.19\n');
  fs.writeFileSync(path.join(src, 'main.go'), GO_PROGRAM);
  // Go's own build cache (under $HOME) is kept between runs: the matrix builds this four times.
  const env = { ...process.env, GOPATH: path.join(dir, 'gopath'), GOFLAGS: '-mod=mod' };
  if (!process.env.HOME && !process.env.GOCACHE) env.GOCACHE = path.join(os.tmpdir(), 'labelprof-test-gocache');
  const build = spawnSync('go', ['build', '-o', 'goprog', '.'], { cwd: src, env, encoding: 'utf8', timeout: 300000 });
  assert.equal(build.status, 0, build.stderr);
  const file = path.join(dir, 'go.pb.gz');
  let rep;
  // Go samples at 100 Hz: run until the profile has enough samples (deadline: 5 runs)
  for (let attempt = 0; attempt < 5; attempt++) {
    const run = spawnSync(path.join(src, 'goprog'), [file], { encoding: 'utf8', timeout: 120000 });
    assert.equal(run.status, 0, run.stderr);
    rep = labelprof(['report', file, '--sample', 'samples']);
    assert.equal(rep.status, 0, rep.stderr);
    const m = /^\s+\/checkout\s+(\d+)/m.exec(rep.stdout);
    if (m && Number(m[1]) >= 20) break;
  }
  assert.match(rep.stdout, /sample types: samples\/count, cpu\/nanoseconds/);
  const cpu = labelprof(['report', file]);
  assert.equal(cpu.status, 0, cpu.stderr);
  const checkout = shareOf(cpu.stdout, '/checkout');
  const search = shareOf(cpu.stdout, '/search');
  assert.ok(checkout / (checkout + search) > 0.6 && checkout / (checkout + search) < 0.9, cpu.stdout);
  assert.match(cpu.stdout, /main\.checkoutWork\s+\S*main\.go:\d+/);
  assert.match(cpu.stdout.split('by cumulative')[1], /main\.main/);
  const focused = labelprof(['report', file, '--focus', 'endpoint=/search']);
  assert.doesNotMatch(focused.stdout.split('functions by self')[1].split('\n').slice(2, 3).join(), /checkoutWork/);
  assert.match(focused.stdout.split('functions by self')[1], /main\.searchWork/);
});
