#!/usr/bin/env bash
# npm run test:asan: the addon built with AddressSanitizer and
# UndefinedBehaviorSanitizer (its own build directory, .asan/; ./build is
# left alone), then the test suite with it, every child process included.
#   scripts/test-asan.sh [test-file-substring...]
#   scripts/test-asan.sh --stress SECONDS     (npm run stress under the same build)
# Node itself is not instrumented: libasan is preloaded so that its
# allocator and interceptors are in place before node starts, leak
# detection is off (node's own allocations would all be "leaks" at exit),
# and the first error ends the process with a report (halt_on_error), so a
# sanitizer finding fails the test that ran it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
dir=$root/.asan
src=$dir/src
mkdir -p "$src"
rm -rf "$src/native" && cp -r native "$src/native"
ln -sfn "$root/node_modules" "$src/node_modules"
# binding.gyp plus the sanitizer flags (the file itself stays as it is).
python3 - "$root/binding.gyp" "$src/binding.gyp" <<'PY'
import ast, json, re, sys
text = re.sub(r'^\s*#.*$', '', open(sys.argv[1]).read(), flags=re.M)
gyp = ast.literal_eval(text)
san = ['-fsanitize=address,undefined', '-fno-sanitize-recover=undefined', '-fno-omit-frame-pointer', '-g', '-O1']
for target in gyp['targets']:
    for key in ('cflags', 'cflags_cc'):
        target[key] = [f for f in target.get(key, []) if not f.startswith('-O')] + san
    target['ldflags'] = target.get('ldflags', []) + ['-fsanitize=address,undefined']
open(sys.argv[2], 'w').write(json.dumps(gyp, indent=2))
PY
# Headers of the node that runs the tests (no download): $npm_config_nodedir,
# else its install prefix, which holds include/node.
nodedir=${npm_config_nodedir:-$(dirname "$(dirname "$(command -v node)")")}
(cd "$src" && npm_config_nodedir="$nodedir" "$root/node_modules/.bin/node-gyp" rebuild -j 2 >"$dir/build.log" 2>&1) ||
  { tail -30 "$dir/build.log" >&2; exit 1; }
npm run build:ts --silent

addon=$src/build/Release/labelprof.node
libasan=$(gcc -print-file-name=libasan.so)
echo "=== test:asan: Node $(node --version), addon $addon, preload $libasan ==="
export LABELPROF_BINDING=$addon
export LD_PRELOAD=$libasan
export ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=1:allow_user_segv_handler=1:detect_stack_use_after_return=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
if [ "${1:-}" = --stress ]; then
  node scripts/stress.js --seconds "${2:-30}"
else
  node scripts/run-tests.js "$@"
fi
