'use strict';
// Loads the test addon (labelprof_test_native), built by `node test/native/build.js`.
const path = require('node:path');

function load() {
  const file = path.join(__dirname, 'build', 'Release', 'labelprof_test_native.node');
  try {
    return require(file);
  } catch (err) {
    throw new Error(
      `cannot load the test addon ${file} (${err.message}): build it with \`node test/native/build.js\``,
    );
  }
}

module.exports = { load };
