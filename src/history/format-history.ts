import type { HistoryRunReport } from './history-report.js';

const num = (value: number | null, digits: number): string =>
  value === null ? '–' : value.toFixed(digits);
const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);

/**
 * The human form of `warmflow history`: per run one header line, then per node a row of
 * predicted cores and memory against measured cores used, CPU µs per record, peak
 * memory and records per second.
 */
export function formatHistoryText(runs: readonly HistoryRunReport[]): string {
  const out: string[] = [];
  for (const run of runs) {
    const first =
      run.request_to_first_record_ms === null
        ? ''
        : `, first record ${run.request_to_first_record_ms.toFixed(1)} ms`;
    out.push(
      `${run.recorded_at}  ${run.template}  ${run.execution_id}  ${run.outcome}  (${run.provisioning}, ` +
        `${run.total_ms.toFixed(0)} ms${first}; ${run.records.in} in, ${run.records.out} out, ` +
        `${run.records.dead_lettered} dead-lettered${run.tenant === 'default' ? '' : `; tenant ${run.tenant}`})`,
    );
    const rows = run.nodes.map((n) => [
      n.node_id,
      num(n.predicted.cpu_cores, 2),
      num(n.predicted.memory_gb, 2),
      n.measured.cores_used.toFixed(2),
      n.measured.cpu_us_per_record.toFixed(1),
      mib(n.measured.peak_memory_bytes),
      n.measured.records_per_s.toFixed(0),
      n.memory_ratio === null ? '–' : `${(n.memory_ratio * 100).toFixed(0)}%`,
    ]);
    out.push(
      ...table(
        ['node', 'cores', 'mem GB', 'cores used', 'cpu µs/rec', 'peak MiB', 'rec/s', 'mem used'],
        rows,
      ),
    );
    out.push('');
  }
  if (runs.length > 0) {
    out.push(
      'cores, mem GB: predicted (the RPR the node ran on); the rest: measured. mem used = peak / predicted memory.',
    );
  }
  return out.join('\n') + '\n';
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    '  ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), ...rows.map(line)];
}
