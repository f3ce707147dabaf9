import type { FunctionContext } from '../../../src/index.js';
import type { Reading, SensorReading } from './types.js';

/**
 * Keeps readings whose temperature is a number in [-40, 85] °C (the sensors' rated
 * range) and whose humidity is a number in [0, 100] %; returns undefined (drops the
 * reading) otherwise.
 */
export function validate(reading: SensorReading, _ctx: FunctionContext): Reading | undefined {
  const { temp_c, humidity } = reading;
  if (typeof temp_c !== 'number' || !Number.isFinite(temp_c) || temp_c < -40 || temp_c > 85)
    return undefined;
  if (
    typeof humidity !== 'number' ||
    !Number.isFinite(humidity) ||
    humidity < 0 ||
    humidity > 100
  ) {
    return undefined;
  }
  return {
    sensor_id: reading.sensor_id,
    ts: reading.ts,
    temp_c,
    humidity,
    battery_v: reading.battery_v,
  };
}
