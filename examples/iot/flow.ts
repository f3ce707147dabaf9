/**
 * The same flow as `flow.yaml`, written in TypeScript: `warmflow template examples/iot/flow.ts`
 * infers the same template. Outside this repository, import from 'warmflow'.
 */
import { defineFlow, defineFunction } from '../../src/template/index.js';

const validate = defineFunction({
  name: 'validate',
  module: './functions/validate.ts',
  description: 'Drops readings with a missing or impossible temperature or humidity.',
  input: ['SensorReading'],
  output: ['Reading'],
});

const window = defineFunction({
  name: 'window',
  module: './functions/window.ts',
  description:
    'Per sensor, mean/stddev/min/max of the current 1-minute window, updated on every reading.',
  input: ['Reading'],
  output: ['WindowStat'],
  key: 'sensor_id',
});

const detect = defineFunction({
  name: 'detect',
  module: './functions/detect.ts',
  description:
    "Per sensor, alerts when a reading is 4 standard deviations off the previous minute's mean.",
  input: ['Reading'],
  output: ['Alert'],
  key: 'sensor_id',
});

export default defineFlow({
  name: 'iot',
  description:
    'Temperature sensors report every 5 s. Readings are validated, summarised per sensor ' +
    'in tumbling 1-minute windows (written to the metrics store) and checked for ' +
    "anomalies against the sensor's previous minute (z-score); alerts go to the default " +
    'JSONL sink.\n',
  streams: { readings: { type: 'SensorReading', source: './data/readings.jsonl' } },
  stores: { metrics: { kind: 'sqlite', path: './out/metrics.db' } },
  types: { WindowStat: { store: 'metrics', key: 'window_id' } },
  functions: [validate, window, detect],
});
