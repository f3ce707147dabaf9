/** The record types of the IoT example. */

/** A sensor's report, as it arrives (faulty sensors send null or 999). */
export interface SensorReading {
  sensor_id: string;
  /** Epoch milliseconds. */
  ts: number;
  temp_c: number | null;
  humidity: number | null;
  battery_v: number;
}

/** A reading that passed validation. */
export interface Reading {
  sensor_id: string;
  ts: number;
  temp_c: number;
  humidity: number;
  battery_v: number;
}

/** Temperature statistics of one sensor over one tumbling minute. */
export interface WindowStat {
  /** `<sensor_id>:<window_start>` */
  window_id: string;
  sensor_id: string;
  window_start: number;
  /** Exclusive. */
  window_end: number;
  count: number;
  mean: number;
  /** Population standard deviation. */
  stddev: number;
  min: number;
  max: number;
}

/** A reading far from its sensor's previous minute. */
export interface Alert {
  /** `<sensor_id>:<ts>` */
  alert_id: string;
  sensor_id: string;
  ts: number;
  temp_c: number;
  baseline_mean: number;
  baseline_stddev: number;
  /** (temp_c - baseline_mean) / max(baseline_stddev, 0.2), rounded to 2 decimals. */
  z: number;
}
