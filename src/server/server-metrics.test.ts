import { describe, expect, it } from 'vitest';
import type { CompletionStatus } from '../execute/completion-status.js';
import type { LiveResize } from '../execute/live-resizer.js';
import { ServerMetrics } from './server-metrics.js';

/** The value of one series in the scrape, 0 when it is absent. */
async function value(metrics: ServerMetrics, series: string): Promise<number> {
  const text = await metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

const grow = (switchedAt: string | null): LiveResize => ({
  at: '2026-12-07T12:00:00.000Z',
  direction: 'grow',
  from: { cpu_cores: 1, resource_id: 'r1' },
  to: { cpu_cores: 2, resource_id: 'r2' },
  reason: 'forecast needs 2 cores',
  forecast_records_per_second: 200,
  needed_records_per_second: 200,
  lead_seconds: 3,
  lag: 0,
  warm_ms: 700,
  prewarmed_ms: 1000,
  pause_ms: 270,
  switched_at: switchedAt,
});

/** The part of a completed live run's status the metrics read. */
function completion(live: Partial<NonNullable<CompletionStatus['live']>>): CompletionStatus {
  return {
    execution_id: 'e1',
    tenant: 't',
    template: 'flow',
    outcome: 'succeeded',
    provisioning: 'warm',
    timings: { request_to_first_record_ms: null, total_ms: 0 },
    records: { in: 0, out: 0 },
    nodes: [],
    live: { streams: {}, drift: [], delivery: { guarantee: 'at_least_once' }, ...live },
  } as unknown as CompletionStatus;
}

const SPARES = (outcome: string) => `warmflow_live_spares_total{tenant="t",outcome="${outcome}"}`;
const GROWN = 'warmflow_live_resizes_total{tenant="t",direction="grow",result="done"}';

describe('ServerMetrics, resized live runs', () => {
  it('counts spares and resizes once each, including what happened after the last live report', async () => {
    const metrics = new ServerMetrics();
    // While it runs: a spare warming, a grow decided but not carried out yet.
    metrics.live(
      't',
      'e1',
      {},
      {
        cpu_cores: 1,
        resizes: [grow(null)],
        spares: { started: 1, used: 0, released: 0, failed: 0 },
      },
    );
    metrics.live(
      't',
      'e1',
      {},
      {
        cpu_cores: 1,
        resizes: [grow(null)],
        spares: { started: 1, used: 0, released: 0, failed: 0 },
      },
    );
    expect(await value(metrics, SPARES('started'))).toBe(1);
    expect(await value(metrics, GROWN)).toBe(0);
    // The grow took the spare and a second spare was released at the end, after the last report.
    metrics.completed(
      completion({
        resizes: [grow('2026-12-07T12:00:01.000Z')],
        spares: { started: 2, used: 1, released: 1, failed: 0 },
      }),
    );
    expect(await value(metrics, SPARES('started'))).toBe(2);
    expect(await value(metrics, SPARES('used'))).toBe(1);
    expect(await value(metrics, SPARES('released'))).toBe(1);
    expect(await value(metrics, SPARES('failed'))).toBe(0);
    expect(await value(metrics, GROWN)).toBe(1);
    metrics.liveEnded('e1');
    // The counters stay (they are totals); the run's cores gauge goes.
    expect(await value(metrics, SPARES('used'))).toBe(1);
    expect(await value(metrics, 'warmflow_live_cores{tenant="t",execution="e1"}')).toBe(0);
  });

  it('counts a run that ended before any live report from its status alone', async () => {
    const metrics = new ServerMetrics();
    metrics.completed(
      completion({
        resizes: [grow('2026-12-07T12:00:01.000Z')],
        spares: { started: 1, used: 1, released: 0, failed: 0 },
      }),
    );
    metrics.liveEnded('e1');
    expect(await value(metrics, SPARES('used'))).toBe(1);
    expect(await value(metrics, GROWN)).toBe(1);
  });
});
