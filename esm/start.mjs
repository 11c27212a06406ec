// `node --import labelprof/start app.mjs`: the same drop-in as the CommonJS one.
import '../dist/start.js';
