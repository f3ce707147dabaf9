/// <reference lib="dom" />
import { el, fmt, runProblems, type DcpView, type ExecutionView } from './views.js';

function figure(label: string, value: string, id?: string): HTMLElement {
  const box = el('div', undefined, { class: 'figure' });
  box.appendChild(el('b', value, id === undefined ? {} : { id }));
  box.appendChild(el('span', label));
  return box;
}

/** The DCP at a glance: volume, rate, quality, schema drift, type mix, top cardinalities. */
export function renderDcp(container: HTMLElement, dcp: DcpView | null): void {
  if (dcp === null) {
    container.replaceChildren(
      el('span', 'no profile yet: POST /v1/profiles with this flow', { class: 'muted' }),
    );
    return;
  }
  const figures = el('div', undefined, { class: 'figures' });
  figures.append(
    figure('records profiled', fmt(dcp.volume.records ?? null, 0), 'dcp-records'),
    figure('avg record bytes', fmt(dcp.volume.avg_record_size, 1)),
    figure('records/s', fmt(dcp.volume.records_per_second, 1)),
    figure('quality score', fmt(dcp.data_quality_score, 3)),
    figure('schema evolution p', fmt(dcp.schema_evolution_probability, 3)),
  );
  const types = Object.entries(dcp.dataTypeDistribution)
    .sort((a, b) => b[1] - a[1])
    .map(([t, share]) => `${t} ${fmt(share * 100, 0)}%`)
    .join(' · ');
  const cardinality = Object.entries(dcp.cardinality)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([f, n]) => `${f}: ${fmt(n, 0)}`)
    .join(' · ');
  container.replaceChildren(
    figures,
    el('div', `types: ${types || '–'}`),
    el('div', `distinct: ${cardinality || '–'}`, { class: 'muted' }),
  );
}

/** The run at a glance: status, provisioning, request → first record, records, total. */
export function renderRun(container: HTMLElement, execution: ExecutionView | undefined): void {
  if (execution === undefined) {
    container.replaceChildren(el('span', 'no run yet: POST /v1/executions', { class: 'muted' }));
    return;
  }
  const c = execution.completion;
  const figures = el('div', undefined, { class: 'figures' });
  figures.append(
    figure('status', execution.status, 'run-status'),
    figure('provisioning', c?.provisioning ?? '…', 'run-provisioning'),
    figure(
      'request → first record ms',
      fmt(c?.timings.request_to_first_record_ms ?? null, 1),
      'run-first-record',
    ),
    figure('request → ready ms', fmt(c?.timings.request_to_ready_ms ?? null, 1)),
    figure(
      'records in',
      fmt(c?.records.in ?? execution.nodes.reduce((s, n) => Math.max(s, n.records_in), 0), 0),
      'run-records-in',
    ),
    figure('records out', fmt(c?.records.out ?? null, 0), 'run-records-out'),
    figure('total ms', fmt(c?.timings.total_ms ?? null, 0), 'run-total'),
  );
  const problems = runProblems(execution);
  const why = el('div', undefined, { id: 'run-problems' });
  for (const line of problems) why.appendChild(el('div', line, { class: 'problem' }));
  container.replaceChildren(
    figures,
    ...(problems.length > 0 ? [why] : []),
    el('div', execution.id, { class: 'muted', id: 'run-id' }),
  );
}

/** Per node: predicted against measured CPU and memory, records, warm or on demand. */
export function renderNodes(table: HTMLElement, execution: ExecutionView | undefined): void {
  const head = el('tr');
  for (const h of [
    'node',
    'state',
    'records in',
    'records out',
    'cores predicted',
    'cores measured',
    'GB predicted',
    'peak MB measured',
    'records/s',
    'resource',
  ]) {
    head.appendChild(el('th', h));
  }
  const rows: HTMLElement[] = [head];
  const seconds = Math.max((execution?.completion?.timings.total_ms ?? 0) / 1000, 1e-3);
  const completed = new Map((execution?.completion?.nodes ?? []).map((n) => [n.node_id, n]));
  for (const p of execution?.nodes ?? []) {
    const n = completed.get(p.node_id);
    const row = el('tr', undefined, { 'data-node-id': p.node_id });
    const cells = [
      p.node_id,
      p.state,
      fmt(n?.records_in ?? p.records_in, 0),
      fmt(n?.records_out ?? p.records_out, 0),
      fmt(n?.rpr?.cpu_cores ?? null),
      n === undefined ? '–' : fmt(n.cpu_seconds / seconds, 3),
      fmt(n?.rpr?.memory_gb ?? null),
      n === undefined ? '–' : fmt(n.peak_memory_bytes / 1024 ** 2, 1),
      fmt(n?.records_per_s ?? null, 0),
      n?.resource_id === null || n === undefined ? '–' : n.warm ? 'warm' : 'on demand',
    ];
    for (const text of cells) row.appendChild(el('td', text));
    rows.push(row);
  }
  table.replaceChildren(...rows);
}
