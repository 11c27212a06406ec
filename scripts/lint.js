'use strict';
// npm run lint: the checks that keep the code as the project wants it.
//   1. C++ formatting: clang-format --dry-run -Werror with the committed
//      .clang-format (npm run format rewrites the files).
//   2. TypeScript: tsc with the strict tsconfig (noUnusedLocals,
//      noUnusedParameters, noImplicitReturns), nothing emitted.
//   3. No comments that switch a check off (lint, type or format).
//   4. No dead exports: a value exported from src/ that nothing uses, not
//      even its own module.
// Prints every finding and exits 1 if there is one.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const failures = [];

function listFiles(dir, test) {
  const out = [];
  const abs = path.join(ROOT, dir);
  if (!fs.existsSync(abs)) return out;
  for (const entry of fs.readdirSync(abs, { withFileTypes: true })) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'build' && !entry.name.startsWith('.')) {
        out.push(...listFiles(rel, test));
      }
    } else if (test(entry.name)) {
      out.push(rel);
    }
  }
  return out;
}

// The native sources whose format is checked (npm run format covers the same).
const CPP = [...listFiles('native', (f) => /\.(cc|h)$/.test(f)), ...listFiles('test/native', (f) => /\.(cc|h)$/.test(f))];

function clangFormat() {
  const r = spawnSync('clang-format', ['--dry-run', '-Werror', ...CPP], { cwd: ROOT, encoding: 'utf8' });
  if (r.error) {
    failures.push(`clang-format could not run (${r.error.message}): apt-get install clang-format`);
  } else if (r.status !== 0) {
    const files = new Set([...r.stderr.matchAll(/^(\S+?):\d+:\d+: error/gm)].map((m) => m[1]));
    failures.push(`clang-format: ${files.size} file(s) not formatted (run npm run format):\n  ${[...files].join('\n  ')}`);
  }
}

function typescript() {
  const tsc = require.resolve('typescript/bin/tsc', { paths: [ROOT] });
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json', '--noEmit'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) failures.push(`tsc:\n${r.stdout}${r.stderr}`);
}

// Spelled in pieces so that this file does not match itself.
const DISABLING = [
  ['eslint', '-disable'], ['@ts', '-ignore'], ['@ts', '-nocheck'], ['@ts', '-expect-error'],
  ['clang-format', ' off'], ['NO', 'LINT'], ['prettier', '-ignore'],
].map((parts) => parts.join(''));

function disablingComments() {
  const files = [
    ...listFiles('src', (f) => f.endsWith('.ts')),
    ...listFiles('esm', (f) => f.endsWith('.mjs')),
    ...listFiles('test', (f) => /\.(js|mjs|ts|cc|h)$/.test(f)),
    ...listFiles('scripts', (f) => /\.(js|sh)$/.test(f)),
    ...listFiles('examples', (f) => /\.(js|mjs)$/.test(f)),
    ...listFiles('bench', (f) => /\.(js|mjs)$/.test(f)),
    ...CPP,
  ];
  for (const file of files) {
    const lines = fs.readFileSync(path.join(ROOT, file), 'utf8').split('\n');
    lines.forEach((line, i) => {
      for (const marker of DISABLING) {
        if (line.includes(marker)) failures.push(`${file}:${i + 1}: a comment that switches a check off (${marker})`);
      }
    });
  }
}

function deadExports() {
  const sources = listFiles('src', (f) => f.endsWith('.ts'));
  const users = [
    ...sources,
    ...listFiles('esm', (f) => f.endsWith('.mjs')),
    ...listFiles('test', (f) => /\.(js|mjs|ts)$/.test(f)),
    ...listFiles('scripts', (f) => f.endsWith('.js')),
    ...listFiles('examples', (f) => /\.(js|mjs)$/.test(f)),
    ...listFiles('bench', (f) => /\.(js|mjs)$/.test(f)),
  ];
  const text = new Map(users.map((f) => [f, fs.readFileSync(path.join(ROOT, f), 'utf8')]));
  for (const file of sources) {
    const own = text.get(file);
    for (const m of own.matchAll(/^export (?:async )?(?:function\*?|const|let|class) ([A-Za-z_$][\w$]*)/gm)) {
      const name = m[1];
      const word = new RegExp(`(?<![\\w$])${name.replace(/\$/g, '\\$')}(?![\\w$])`, 'g');
      let uses = (own.match(word) ?? []).length - 1; // the declaration itself
      for (const [other, body] of text) if (other !== file) uses += (body.match(word) ?? []).length;
      if (uses === 0) failures.push(`${file}: export ${name} is used nowhere: remove it`);
    }
  }
}

clangFormat();
typescript();
disablingComments();
deadExports();
if (failures.length > 0) {
  console.error(`lint: ${failures.length} problem(s)\n${failures.join('\n')}`);
  process.exit(1);
}
console.log(`lint: clean (${CPP.length} C++ files formatted, tsc strict, no disabling comments, no dead exports)`);
