import type { LiveStreamFigures } from '../execute/live-monitor.js';
import type { LiveResize, LiveSpares } from '../execute/live-resizer.js';
import type { DriftEvent } from '../profiler/drift.js';
import type { LiveDcp } from '../profiler/live-window.js';

/** Points of rate and lag kept per stream (one a second: the last five minutes). */
export const SERIES_POINTS = 300;
/** Drift events kept in the state (the completion status has them all). */
export const DRIFT_KEPT = 50;

/** One stream of a live execution as `GET /v1/executions/{id}` shows it. */
export interface LiveStreamState extends LiveStreamFigures {
  /** Messages its group has not acknowledged (pending + unread); null if unknown. */
  lag: number | null;
  /** The sliding-window and cumulative DCP of what the run read. */
  dcp: LiveDcp | null;
  /** Rate and lag over time, oldest first, one point per report (about a second). */
  series: Array<{ at: string; records_per_second: number; lag: number | null }>;
}

/** What an execution on live streams shows while it runs (updated about once a second). */
export interface LiveExecutionState {
  /** `DELETE` asked it to drain: it reads no more and ends once what it read is written and acknowledged. */
  draining: boolean;
  updated_at: string;
  /** Messages acknowledged to their groups so far (their outputs written first). */
  acknowledged: number;
  /** Read but not acknowledged yet (acknowledged at the next commit, about once a second). */
  unacknowledged: number;
  streams: Record<string, LiveStreamState>;
  /** Drift away from the DCP the RPRs were made from, newest last (at most {@link DRIFT_KEPT}). */
  drift: DriftEvent[];
  /** A run resized while it runs: its cores now, the forecast rate, every resize so far. */
  resize?: LiveResizeState;
}

/** The size of a resized live run, as the execution manager reports it. */
export interface LiveResizeState {
  cpu_cores: number;
  forecast_records_per_second: number;
  resizes: LiveResize[];
  /** Resources warmed ahead of a grow so far (see `CompletionStatus.live.spares`). */
  spares?: LiveSpares;
}

/** What the execution manager reports about once a second (`onEvent('live', …)`). */
export interface LiveReport {
  streams: Record<string, LiveStreamFigures>;
  drift: DriftEvent[];
  dcps: Record<string, LiveDcp>;
  lags: Record<string, number | null>;
  acknowledged: number;
  unacknowledged: number;
  resize?: LiveResizeState;
}

/** The state after one more report (the series and the drift list stay bounded). */
export function applyLiveReport(
  previous: LiveExecutionState | undefined,
  report: LiveReport,
  now = new Date(),
): LiveExecutionState {
  const at = now.toISOString();
  const streams: Record<string, LiveStreamState> = {};
  for (const [stream, figures] of Object.entries(report.streams)) {
    const lag = report.lags[stream] ?? null;
    const series = [
      ...(previous?.streams[stream]?.series ?? []),
      { at, records_per_second: figures.records_per_second, lag },
    ].slice(-SERIES_POINTS);
    streams[stream] = { ...figures, lag, dcp: report.dcps[stream] ?? null, series };
  }
  return {
    draining: previous?.draining ?? false,
    updated_at: at,
    acknowledged: report.acknowledged,
    unacknowledged: report.unacknowledged,
    streams,
    drift: [...(previous?.drift ?? []), ...report.drift].slice(-DRIFT_KEPT),
    ...(report.resize !== undefined ? { resize: report.resize } : {}),
  };
}

/** The state once `DELETE` asked the run to drain (before its first report: an empty one). */
export function drainingState(previous: LiveExecutionState | undefined): LiveExecutionState {
  return {
    ...(previous ?? {
      updated_at: new Date().toISOString(),
      acknowledged: 0,
      unacknowledged: 0,
      streams: {},
      drift: [],
    }),
    draining: true,
  };
}
