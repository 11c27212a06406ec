// ESM entry of labelprof/otel: the CommonJS build re-exported by name.
import otel from '../dist/otel.js';

export const { enableSpanLabels, disableSpanLabels, spanLabelsEnabled, cpuBySpan, cpuByEndpoint, SPAN_LABEL_KEYS } = otel;
