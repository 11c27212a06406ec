'use strict';
// The published types show the public API only (stripInternal): a user's
// file compiles against dist/*.d.ts, and 'labelprof' exports exactly the
// documented names, its classes only their documented members.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const ts = require('typescript');

const ROOT = path.join(__dirname, '..');

test("a user's file compiles against the published declarations", () => {
  const config = ts.getParsedCommandLineOfConfigFile(path.join(__dirname, 'types', 'tsconfig.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => assert.fail(ts.flattenDiagnosticMessageText(d.messageText, '\n')),
  });
  const program = ts.createProgram(config.fileNames, config.options);
  const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  assert.deepEqual(diagnostics, []);
});

function publicSurface() {
  const index = path.join(ROOT, 'dist', 'index.d.ts');
  const program = ts.createProgram([index], { types: ['node'], strict: true });
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(index));
  const exports = checker.getExportsOfModule(module);
  const members = (name) => {
    const symbol = exports.find((s) => s.name === name);
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    const instance = checker.getDeclaredTypeOfSymbol(target);
    const statics = checker.getTypeOfSymbolAtLocation(target, target.valueDeclaration);
    return {
      // '#private' stands for ES private fields, which nobody outside can name.
      instance: checker.getPropertiesOfType(instance).map((p) => p.name).filter((n) => n !== '#private').sort(),
      constructorParameters: statics.getConstructSignatures().map((sig) => sig.parameters.map((p) => p.name)),
    };
  };
  return { names: exports.map((s) => s.name).sort(), members };
}

test("'labelprof' exports exactly the public API, and no internal member", () => {
  const { names, members } = publicSurface();
  assert.deepEqual(names, [
    'ContinuousOptions', 'ContinuousProfiler', 'DEFAULT_INTERVAL_MICROS', 'Labels', 'MAX_LABEL_SETS',
    'PprofHandlerOptions', 'Profile', 'Profiler', 'ProfilerStats', 'StartOptions',
    'getLabel', 'getLabels', 'isProfiling', 'pprofHandler', 'setLabels', 'start', 'startContinuous', 'withLabels',
  ]);
  const profile = members('Profile');
  assert.deepEqual(profile.instance, [
    'durationNanos', 'encode', 'encodeSync', 'sampleCount', 'startNanos', 'startTime', 'stats', 'toPprof', 'write', 'writeSync',
  ]);
  const profiler = members('Profiler');
  assert.deepEqual(profiler.instance, ['intervalMicros', 'nativeFrames', 'running', 'stats', 'stop', 'stopSync']);
  const continuous = members('ContinuousProfiler');
  assert.deepEqual(continuous.instance, [
    'intervalMicros', 'nativeFrames', 'periodSeconds', 'profile', 'running', 'stats', 'stop', 'stopSync',
  ]);
  // The constructors take the addon's raw data and resolved options:
  // @internal, so they are not in the declarations.
  for (const { constructorParameters } of [profile, profiler, continuous]) {
    assert.ok(constructorParameters.every((params) => params.length === 0), JSON.stringify(constructorParameters));
  }
});
