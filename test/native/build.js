'use strict';
// Builds the test addon against the running node (or $npm_config_nodedir):
//   node test/native/build.js
require('./addon.js').build();
