import { Prng, type GeneratedFile } from './prng.js';

/** Start of the simulated readings (2026-11-02T06:00:00Z). */
const START = Date.UTC(2026, 10, 2, 6);
/** Every sensor reports every 5 s (with up to 1 s jitter). */
const PERIOD_MS = 5_000;

/** Sensors in the data: 16 for the committed file, more for bigger ones (~200 readings each). */
export function iotSensors(records: number): number {
  return Math.max(16, Math.round(records / 200));
}

/**
 * Readings of temperature sensors in rooms: each sensor has its own base temperature,
 * a slow 10-minute oscillation and Gaussian noise (σ 0.15 °C). Faults are injected:
 * spikes of ±5–10 °C (p 0.004, what detection should find), missing temperatures
 * (p 0.005) and an out-of-range 999 °C (p 0.002), which `validate` drops.
 * Rounds of readings are in time order; each sensor's readings are strictly increasing.
 */
function* readings(records: number, seed: number): Generator<string> {
  const rng = new Prng(seed);
  const sensors = iotSensors(records);
  const base = Array.from({ length: sensors }, () => 18 + rng.next() * 8);
  const phase = Array.from({ length: sensors }, () => rng.next() * 2 * Math.PI);
  const battery = Array.from({ length: sensors }, () => 3.6 + rng.next() * 0.5);
  let emitted = 0;
  for (let round = 0; emitted < records; round++) {
    for (let s = 0; s < sensors && emitted < records; s++, emitted++) {
      const ts = START + round * PERIOD_MS + rng.int(0, 999);
      const minutes = (ts - START) / 60_000;
      let temp: number | null =
        base[s] + 0.5 * Math.sin((2 * Math.PI * minutes) / 10 + phase[s]) + rng.normal(0, 0.15);
      const fault = rng.next();
      if (fault < 0.004) temp += (rng.chance(0.5) ? 1 : -1) * (5 + rng.next() * 5);
      else if (fault < 0.009) temp = null;
      else if (fault < 0.011) temp = 999;
      battery[s] = battery[s] - rng.next() * 0.0004;
      yield JSON.stringify({
        sensor_id: `s${String(s + 1).padStart(3, '0')}`,
        ts,
        temp_c: temp === null ? null : round2(temp),
        humidity: round2(40 + 10 * Math.sin(minutes / 7 + s) + rng.normal(0, 1)),
        battery_v: Math.round(battery[s] * 1000) / 1000,
      });
    }
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** The IoT example's file: `readings.jsonl`. */
export function iotFiles(records: number, seed = 7): GeneratedFile[] {
  return [{ name: 'readings.jsonl', lines: { [Symbol.iterator]: () => readings(records, seed) } }];
}
