import type { CompletionStatus } from '../execute/completion-status.js';
import type { RunFlowResult } from './run-flow.js';
import { resourceMemoryRequestGb } from '../execute/resource-request.js';

const MiB = 1024 * 1024;

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map(
      (r) =>
        '  ' +
        r
          .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
          .join('  '),
    )
    .join('\n');
}

/** How a profile's rate was found, with the records' own rate beside a replay's. */
function rateSource(volume: RunFlowResult['dcps'][string]['volume']): string {
  const own =
    volume.event_time_records_per_second === undefined
      ? ''
      : `; the records' own times: ${num(volume.event_time_records_per_second, 1)} records/s`;
  switch (volume.rate_source) {
    case 'replay_rate':
      return `the replay rate, --rate${own}`;
    case 'calibrated_throughput':
      return `replayed as fast as the flow goes: its calibrated throughput${own}`;
    default:
      return volume.rate_source;
  }
}

/** The memory requested for a node's resource, in MiB ("—" without an RPR). */
function memoryRequest(status: CompletionStatus, node: CompletionStatus['nodes'][number]): string {
  const gb = resourceMemoryRequestGb(status.nodes, node);
  return gb === null ? '—' : num(gb * 1024);
}

const num = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** The run part of the report: outcome, timings, records, and each node's measured usage next to its RPR. */
export function formatStatus(status: CompletionStatus): string {
  const t = status.timings;
  const lines = [
    `Run ${status.execution_id} — ${status.outcome.toUpperCase()} (${status.provisioning === 'warm' ? 'warm pool' : status.provisioning === 'on_demand' ? 'on-demand, cold' : 'mixed'})`,
    `  request -> ready ${num(t.request_to_ready_ms, 1)} ms, -> first output record ${t.request_to_first_record_ms === null ? '—' : num(t.request_to_first_record_ms, 1) + ' ms'}, total ${num(t.total_ms, 0)} ms`,
    `  records in ${num(status.records.in)}, out ${num(status.records.out)}, dead-lettered ${num(status.records.dead_lettered)}${status.dead_letter_file ? ` (${status.dead_letter_file})` : ''}`,
  ];
  if (status.pool_note !== undefined) lines.push(`  note: ${status.pool_note}`);
  if (t.pool_wait_ms !== undefined)
    lines.push(
      `  waited ${num(t.pool_wait_ms, 1)} ms for the warm set (still warming at the request)`,
    );
  if (status.checkpoints !== undefined) {
    const c = status.checkpoints;
    lines.push(
      `  checkpoints every ${num(c.interval_ms)} ms: ${num(c.epochs)} taken, ${c.recoveries.length} ${c.recoveries.length === 1 ? 'recovery' : 'recoveries'}`,
    );
    for (const r of c.recoveries)
      lines.push(
        `    ${r.at} ${r.resource_id} died (${r.reason}); continued on ${r.replacement_resource_id} (${r.warm ? 'warm' : 'on demand'}) from checkpoint ${r.checkpoint_epoch}, ${num(r.records_replayed)} records read again${r.resumed_after_ms === null ? '' : `, reading again after ${num(r.resumed_after_ms)} ms`}`,
      );
  }
  if (status.error)
    lines.push(
      `  error ${status.error.code}${status.error.node_id ? ` at node "${status.error.node_id}"` : ''}: ${status.error.message}`,
    );
  if (status.live !== undefined) {
    const live = status.live;
    lines.push(
      `  live: ${num(live.acknowledged)} messages acknowledged in ${num(live.commits)} commits${live.unacknowledged > 0 ? `, ${num(live.unacknowledged)} left unacknowledged (redelivered to the next run of the group)` : ''}`,
    );
    lines.push(
      live.delivery.guarantee === 'exactly_once'
        ? '    delivery: exactly-once (checkpointed)'
        : `    delivery: at-least-once, a redelivered message's outputs may be written twice (${live.delivery.why})`,
    );
    for (const [stream, s] of Object.entries(live.sources))
      lines.push(
        `    ${stream}: ${s.url} group ${s.group}: ${num(s.messages)} read (${num(s.malformed)} malformed), stopped by ${s.stopped_by}, lag ${s.lag === null ? '—' : num(s.lag)}` +
          (s.dcp === undefined
            ? ''
            : `; last ${num(s.dcp.window_ms / 1000)} s: ${num(s.dcp.window.volume.records_per_second, 1)} records/s, ${num(s.dcp.window.volume.avg_record_size)} B/record`),
      );
    for (const d of live.drift)
      lines.push(
        `    drift ${d.stream} ${d.kind}${d.field !== undefined ? ` (${d.field})` : ''}: ${JSON.stringify(d.baseline)} -> ${JSON.stringify(d.live)} at ${d.at}`,
      );
    for (const r of live.resizes ?? [])
      lines.push(
        `    resize ${r.direction} ${r.from.cpu_cores} -> ${r.to.cpu_cores} cores at ${r.at}: forecast ${num(r.forecast_records_per_second, 1)} records/s, lag ${num(r.lag)}` +
          (r.error !== undefined
            ? `; not done: ${r.error}`
            : `; warm in ${num(r.warm_ms ?? 0)} ms${r.prewarmed_ms !== undefined ? ` (started ${num(r.prewarmed_ms)} ms before the decision)` : ''}, moved with a ${num(r.pause_ms ?? 0)} ms pause`),
      );
    if (live.spares !== undefined && live.spares.started > 0)
      lines.push(
        `    spares warmed ahead of a grow: ${num(live.spares.started)} (${num(live.spares.used)} used, ${num(live.spares.released)} released unused${live.spares.failed > 0 ? `, ${num(live.spares.failed)} not had` : ''})`,
      );
    if (live.resize_note !== undefined) lines.push(`    ${live.resize_note}`);
  }
  const totalS = Math.max(t.total_ms / 1000, 1e-9);
  const rows = [
    ['node', 'in', 'out', 'dead', 'cpu s', 'µs/rec', 'cores used/RPR', 'peak MiB/request', 'rec/s'],
  ];
  for (const n of status.nodes) {
    rows.push([
      n.node_id,
      num(n.records_in),
      num(n.records_out),
      num(n.dead_lettered),
      num(n.cpu_seconds, 3),
      num(n.cpu_us_per_record, 1),
      `${num(n.cpu_seconds / totalS, 2)}/${n.rpr ? num(n.rpr.cpu_cores, 2) : '—'}`,
      `${n.peak_memory_bytes > 0 ? num(n.peak_memory_bytes / MiB) : '—'}/${memoryRequest(status, n)}`,
      num(n.records_per_s),
    ]);
  }
  lines.push('', table(rows));
  if (status.outputs !== undefined && status.outputs.length > 0) {
    lines.push('', '  outputs:');
    for (const o of status.outputs)
      lines.push(
        `    ${o.type}: ${num(o.records)} records -> ` +
          (o.file !== undefined
            ? o.file
            : `store "${o.store}"${o.store_kind !== undefined ? ` (${o.store_kind})` : ''}, key space ${o.key_space}`),
      );
  }
  const failing = status.nodes.filter((n) => n.first_error !== undefined);
  if (failing.length > 0) {
    lines.push('', '  dead letters, first error per node:');
    for (const n of failing) {
      const e = n.first_error!;
      lines.push(
        `    ${n.node_id}: ${num(n.dead_lettered)} — ${e.type}: ${e.message}${e.location !== undefined ? ` (at ${e.location})` : ''}`,
      );
      // The user's frames: the first lines of the stack below the message.
      const frames = (e.stack ?? '')
        .split('\n')
        .filter((l) => l.trim().startsWith('at ') && !/[/\\]src[/\\]worker[/\\]/.test(l));
      for (const frame of frames.slice(0, 3)) lines.push(`      ${frame.trim()}`);
    }
  }
  lines.push(
    '',
    '  cpu s: CPU seconds measured on the resource, split over its nodes by the time its threads spent in each;',
    '  peak MiB: peak RSS of the resource, against the memory requested for the whole resource (the sum of',
    '  the RPRs of the nodes sharing it); —: ran in the orchestrator.',
  );
  return lines.join('\n');
}

/** The whole newcomer's report of `warmflow run` / `warmflow demo`. */
export function formatRunReport(result: RunFlowResult): string {
  const { flow, status } = result;
  const out: string[] = [];
  const tpl = flow.template;
  out.push(`Template "${tpl.name}": ${tpl.nodes.length} nodes, ${tpl.edges.length} edges`);
  for (const node of tpl.nodes) {
    const next = tpl.edges.filter((e) => e.from === node.id).map((e) => `${e.to} (${e.type})`);
    const extra = node.key
      ? ` [keyed by ${node.key}]`
      : node.data_store
        ? ` [store ${node.data_store}]`
        : '';
    out.push(
      `  ${node.kind.padEnd(8)} ${node.id}${extra}${next.length ? ' -> ' + next.join(', ') : ''}`,
    );
  }
  out.push('');
  for (const [stream, dcp] of Object.entries(result.dcps)) {
    const top = Object.entries(dcp.cardinality)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 4)
      .map(([f, c]) => `${f} ~${num(c)}`)
      .join(', ');
    out.push(
      `Profile of "${stream}": ${num(dcp.volume.records)} records sampled, ${num(dcp.volume.avg_record_size)} B/record, ` +
        `${num(dcp.volume.records_per_second, 1)} records/s (${rateSource(dcp.volume)}), quality ${num(dcp.data_quality_score, 2)}, ` +
        `schema evolution p=${num(dcp.schema_evolution_probability, 2)}`,
    );
    if (top) out.push(`  cardinality: ${top}`);
  }
  out.push(
    '',
    `Resource requests (RPRs, from the ${result.rpr_source.basis}${result.rpr_source.reason ? `: ${result.rpr_source.reason}` : ''}):`,
  );
  out.push(
    table([
      ['node', 'cores', 'memory GiB', 'store', 'basis'],
      ...result.rprs.map((r) => [
        r.node_id,
        num(r.cpu_cores, 2),
        num(r.memory_gb, 2),
        r.data_store_instance ?? '—',
        r.reasoning?.basis ?? '—',
      ]),
    ]),
  );
  out.push(
    '',
    `Placement: ${result.groups.length} group${result.groups.length === 1 ? '' : 's'} (nodes chained on one resource, one thread per core)`,
  );
  for (const g of result.groups) out.push(`  [${g.join(', ')}]`);
  if (result.racs.length > 0) {
    out.push(
      '',
      result.pool_from !== null && result.pool_from !== 'run'
        ? `Warm pool: ${result.racs.length} resource${result.racs.length === 1 ? '' : 's'} claimed from the pool of ${result.pool_from} (\`warmflow pool up\`)`
        : `Warm pool: ${result.racs.length} resource${result.racs.length === 1 ? '' : 's'} ready in ${num(result.pool_ms ?? 0)} ms, before the request`,
    );
    for (const rac of result.racs)
      out.push(
        `  ${rac.resource_id} ${rac.status} at ${rac.network_address}: ${rac.rpr.cpu_cores} cores, ${rac.rpr.memory_gb} GiB for ${rac.node_ids.length} nodes`,
      );
  } else
    out.push(
      '',
      'Warm pool: none (--cold): resources were provisioned on demand after the request',
    );
  out.push('', formatStatus(status));
  return out.join('\n') + '\n';
}
