/// <reference lib="dom" />
import type UPlot from 'uplot';
import { timeLabel, type ExecutionView, type PoolSampleView } from './views.js';

/**
 * The x axis of the time charts: local wall-clock times (HH:MM:SS, 24 h) with room
 * between ticks, instead of uPlot's mixed date/12-hour stacks.
 */
const TIME_AXIS: UPlot.Axis = {
  label: 'local time',
  space: 90,
  values: (_u: UPlot, splits: number[]) => splits.map((s) => timeLabel(s)),
};

type UPlotClass = typeof UPlot;

/**
 * The dashboard's uPlot charts. Each is created once and fed new data on every
 * poll; the container carries `data-points` and `data-last` so a test (or a
 * curious user) can read what is plotted without parsing a canvas.
 */
export class Charts {
  readonly #uPlot: UPlotClass;
  readonly #charts = new Map<string, UPlot>();

  constructor(uPlot: UPlotClass) {
    this.#uPlot = uPlot;
  }

  /** Ready / claimed / cold fallbacks over time. */
  pool(container: HTMLElement, samples: PoolSampleView[]): void {
    const xs = samples.map((s) => Date.parse(s.at) / 1000);
    const data: UPlot.AlignedData = [
      xs,
      samples.map((s) => s.ready),
      samples.map((s) => s.claimed),
      samples.map((s) => s.cold_fallbacks),
    ];
    this.#draw(container, 'pool', data, () => ({
      series: [
        {},
        { label: 'ready', stroke: '#16a34a', width: 2 },
        { label: 'claimed', stroke: '#2563eb', width: 2 },
        { label: 'cold fallbacks', stroke: '#dc2626', width: 2, dash: [6, 4] },
      ],
      axes: [TIME_AXIS, { label: 'resources' }],
      scales: { y: { range: (_u: UPlot, _min: number, max: number) => [0, Math.max(2, max + 1)] } },
    }));
    const last = samples.at(-1);
    container.dataset.last =
      last === undefined
        ? ''
        : JSON.stringify({
            ready: last.ready,
            claimed: last.claimed,
            cold_fallbacks: last.cold_fallbacks,
          });
  }

  /** Request → first record (ms) and records/s of recent finished runs, oldest first. */
  runs(container: HTMLElement, executions: ExecutionView[]): void {
    const done = executions.filter((e) => e.completion !== null).reverse();
    const xs = done.map((e) => Date.parse(e.submitted_at) / 1000);
    const latency = done.map((e) => e.completion!.timings.request_to_first_record_ms);
    const throughput = done.map((e) => {
      const c = e.completion!;
      return c.timings.total_ms > 0 ? c.records.in / (c.timings.total_ms / 1000) : null;
    });
    this.#draw(container, 'runs', [xs, latency, throughput], () => ({
      series: [
        {},
        {
          label: 'request → first record (ms)',
          stroke: '#7c3aed',
          width: 2,
          scale: 'ms',
          points: { show: true, size: 7 },
        },
        {
          label: 'records/s',
          stroke: '#0891b2',
          width: 2,
          scale: 'rps',
          points: { show: true, size: 7 },
        },
      ],
      axes: [
        TIME_AXIS,
        { scale: 'ms', label: 'ms' },
        { scale: 'rps', side: 1, label: 'records/s', grid: { show: false } },
      ],
    }));
    const last = done.at(-1);
    container.dataset.last =
      last === undefined
        ? ''
        : JSON.stringify({
            execution: last.id,
            first_record_ms: latency.at(-1),
            records_per_s: throughput.at(-1),
          });
  }

  /**
   * A live run's first stream: records/s (from the stream's stored times, last 60 s) and
   * its group's lag, one point a second; empty for a run that reads no live stream.
   */
  live(container: HTMLElement, execution: ExecutionView | undefined): void {
    const streams = Object.entries(execution?.live?.streams ?? {}).sort(([a], [b]) =>
      a.localeCompare(b),
    );
    const [name, stream] = streams[0] ?? ['', undefined];
    const series = stream?.series ?? [];
    const data: UPlot.AlignedData = [
      series.map((p) => Date.parse(p.at) / 1000),
      series.map((p) => p.records_per_second),
      series.map((p) => p.lag),
    ];
    this.#draw(container, 'live', data, () => ({
      series: [
        {},
        { label: 'records/s', stroke: '#0891b2', width: 2, scale: 'rps' },
        { label: 'lag (messages)', stroke: '#dc2626', width: 2, scale: 'lag', dash: [6, 4] },
      ],
      axes: [
        TIME_AXIS,
        { scale: 'rps', label: 'records/s' },
        { scale: 'lag', side: 1, label: 'lag', grid: { show: false } },
      ],
      scales: { lag: { range: (_u: UPlot, _min: number, max: number) => [0, Math.max(10, max)] } },
    }));
    container.dataset.last =
      stream === undefined
        ? ''
        : JSON.stringify({
            stream: name,
            records: stream.records,
            records_per_second: stream.records_per_second,
            lag: stream.lag,
            drift: execution?.live?.drift.length ?? 0,
            draining: execution?.live?.draining ?? false,
          });
  }

  /** Predicted against measured per node, as side-by-side bars (`which`: cpu cores or memory GB). */
  nodes(
    container: HTMLElement,
    execution: ExecutionView | undefined,
    which: 'cpu' | 'memory',
  ): void {
    const nodes = (execution?.completion?.nodes ?? []).filter((n) => n.rpr !== null);
    const seconds = Math.max((execution?.completion?.timings.total_ms ?? 0) / 1000, 1e-3);
    const predicted = nodes.map((n) => (which === 'cpu' ? n.rpr!.cpu_cores : n.rpr!.memory_gb));
    const measured = nodes.map((n) =>
      which === 'cpu' ? n.cpu_seconds / seconds : n.peak_memory_bytes / 1024 ** 3,
    );
    const xs = nodes.map((_, i) => i);
    const bars = this.#uPlot.paths.bars!;
    const names = nodes.map((n) => n.node_id);
    this.#draw(
      container,
      `nodes-${which}`,
      [xs, predicted, measured],
      () => ({
        series: [
          { value: (_u: UPlot, v: number) => names[v] ?? '' },
          {
            label: 'predicted',
            fill: '#93c5fd',
            stroke: '#2563eb',
            paths: bars({ size: [0.35, 60], align: -1 }),
            points: { show: false },
          },
          {
            label: 'measured',
            fill: '#fdba74',
            stroke: '#ea580c',
            paths: bars({ size: [0.35, 60], align: 1 }),
            points: { show: false },
          },
        ],
        scales: {
          x: {
            time: false,
            range: (_u: UPlot, min: number, max: number) => [min - 0.6, max + 0.6],
          },
          y: { range: (_u: UPlot, _min: number, max: number) => [0, max * 1.15 || 1] },
        },
        axes: [
          {
            values: (_u: UPlot, splits: number[]) =>
              splits.map((s) => (Number.isInteger(s) ? (names[s] ?? '') : '')),
            space: 40,
          },
          { label: which === 'cpu' ? 'cores' : 'GB' },
        ],
      }),
      true,
    );
    container.dataset.last = JSON.stringify(
      Object.fromEntries(
        names.map((n, i) => [n, { predicted: predicted[i], measured: measured[i] }]),
      ),
    );
  }

  #draw(
    container: HTMLElement,
    name: string,
    data: UPlot.AlignedData,
    options: () => Partial<UPlot.Options>,
    rebuild = false,
  ): void {
    container.dataset.points = String(data[0].length);
    const width = Math.max(280, container.clientWidth || 480);
    let chart = this.#charts.get(name);
    // Bar charts rebuild: their x labels are the node names captured in the options.
    if (chart !== undefined && rebuild) {
      chart.destroy();
      chart = undefined;
    }
    if (chart === undefined) {
      chart = new this.#uPlot(
        { width, height: 220, ...options() } as UPlot.Options,
        data,
        container,
      );
      this.#charts.set(name, chart);
    } else {
      chart.setData(data);
    }
    // A time axis over one instant (one run, one sample) would span years; show a minute either side.
    const xs = data[0] as ArrayLike<number>;
    if (xs.length > 0 && chart.scales.x?.time !== false && xs[xs.length - 1] - xs[0] < 60) {
      chart.setScale('x', { min: xs[0] - 60, max: xs[xs.length - 1] + 60 });
    }
  }
}
