import type { Dcp, FieldProfile } from './dcp.js';

const int = new Intl.NumberFormat('en-US');

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

function num(x: number): string {
  if (Number.isInteger(x)) return int.format(x);
  const a = Math.abs(x);
  return a !== 0 && (a < 0.01 || a >= 1e7)
    ? x.toExponential(2)
    : String(Math.round(x * 1000) / 1000);
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

function clip(s: string, width: number): string {
  return s.length <= width ? s : s.slice(0, width - 1) + '…';
}

function distinct(f: FieldProfile): string {
  return f.distinct.exact
    ? int.format(f.distinct.estimate)
    : `~${int.format(f.distinct.estimate)} ±${(f.distinct.relative_error * 100).toFixed(2)}%`;
}

function range(f: FieldProfile): string {
  if (f.numeric)
    return `${num(f.numeric.min)} / ${num(f.numeric.quantiles.p50 ?? NaN)} / ${num(f.numeric.max)}`;
  if (f.dates) return `${f.dates.min.slice(0, 19)} .. ${f.dates.max.slice(0, 19)}`;
  if (f.string_length) return `len ${f.string_length.min}..${f.string_length.max}`;
  return '';
}

function top(f: FieldProfile): string {
  const values = (f.frequent ?? [])
    .slice(0, 3)
    .map((v) => `${clip(v.value, 16)} (${int.format(v.count)})`);
  return values.join(', ');
}

/** A readable summary of a DCP for the terminal (`warmflow profile` without `--json`). */
export function formatDcp(dcp: Dcp, source: string): string {
  const v = dcp.volume;
  const lines: string[] = [];
  lines.push(
    `${source}: ${int.format(v.records)} records, ${bytes(v.bytes)}, avg record ${num(v.avg_record_size)} B`,
  );
  lines.push(
    v.rate_source === 'none'
      ? `rate: unknown${v.time_field ? ` (field "${v.time_field}" has no usable times)` : ' (no clear event-time field; give --time-field)'}`
      : `rate: ${num(v.records_per_second)} records/s (${v.rate_source === 'arrival' ? 'arrival times' : `event time "${v.time_field}"`})`,
  );
  const s = dcp.schema;
  lines.push(
    `schema evolution probability: ${num(dcp.schema_evolution_probability)}` +
      (s
        ? ` (${s.windows} windows of ${int.format(s.window_size)} records, ${s.changes} changes)`
        : ''),
  );
  const q = dcp.quality;
  lines.push(
    `data quality score: ${dcp.data_quality_score.toFixed(3)}` +
      (q
        ? ` (completeness ${q.completeness.toFixed(3)}, validity ${q.validity.toFixed(3)}, consistency ${q.consistency.toFixed(3)})`
        : ''),
  );
  lines.push(
    `types: ${Object.entries(dcp.dataTypeDistribution)
      .sort((a, b) => b[1] - a[1])
      .map(([t, share]) => `${t} ${pct(share)}`)
      .join(', ')}`,
  );
  lines.push('');
  const rows = [['field', 'type', 'present', 'nulls', 'distinct', 'min / p50 / max', 'top values']];
  for (const f of Object.values(dcp.fields)) {
    rows.push([
      clip(f.path, 32),
      f.inferred_type,
      int.format(f.present),
      int.format(f.nulls),
      distinct(f),
      range(f),
      top(f),
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const row of rows)
    lines.push(
      row
        .map((cell, c) => cell.padEnd(widths[c]))
        .join('  ')
        .trimEnd(),
    );
  if (dcp.overflow_values)
    lines.push(
      '',
      `${int.format(dcp.overflow_values)} values of fields past the field limit were not profiled`,
    );
  if (dcp.malformed) {
    lines.push('', `malformed: ${int.format(dcp.malformed.count)} lines skipped`);
    for (const m of dcp.malformed.examples) lines.push(`  line ${m.line}: ${clip(m.error, 100)}`);
  }
  return lines.join('\n') + '\n';
}
