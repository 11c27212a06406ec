'use strict';
// Child-process fixture: a synchronous walk (no signal) from inside the test
// addon, `levels` native frames deep, symbolized; prints the frames as JSON.
//   node test/native/walk-here.js [levels]
const path = require('node:path');
const native = require('./addon.js').load();
const { Symbolizer } = require(path.join(__dirname, '..', '..', 'dist', 'symbolizer.js'));

const prepared = native._prepareUnwindTables(process.env.LABELPROF_TEST_MAIN_CFI || 'leaf');
if (!prepared.ok) throw new Error(prepared.error);
const walk = native._walkHere(Number(process.argv[2] || 0), 1);
const frames = new Symbolizer(native.demangle).symbolize([...walk.pcs], { stack: true });
process.stdout.write(JSON.stringify({
  flags: walk.flags,
  frames: frames.map((f) => ({ ...f, address: `0x${f.address.toString(16)}`, fileOffset: `0x${f.fileOffset.toString(16)}`,
    mappingStart: `0x${f.mappingStart.toString(16)}`, mappingLimit: `0x${f.mappingLimit.toString(16)}` })),
}));
