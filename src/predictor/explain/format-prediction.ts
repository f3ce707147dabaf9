import type { NodePrediction, PredictionResult } from '../prediction.js';
import { formatBytes } from '../placement/choose-store.js';

/**
 * The human view of a prediction: per node the RPR's spec fields, then why — the
 * inputs (rate, record size, key cardinality), per-record costs and where they came
 * from, the confidence interval, the store and GPU decision, the hourly cost.
 */
export function formatPrediction(result: PredictionResult): string {
  const c = result.prices.currency;
  const lines: string[] = [
    `prediction for template "${result.template}" (${result.rprs.length} nodes)`,
    '',
  ];
  for (const node of result.nodes) lines.push(...formatNode(node, c), '');
  lines.push(
    `total: ${money(result.total_hourly_cost, c)}/hour ` +
      `(prices: ${result.prices.cpu_core_hour} per core-hour, ${result.prices.memory_gib_hour} per GiB-hour, ` +
      `${result.prices.gpu_hour} per GPU-hour)`,
  );
  return lines.join('\n') + '\n';
}

function formatNode(node: NodePrediction, currency: string): string[] {
  const { rpr, rates, model } = node;
  const why = rpr.reasoning!;
  const basis =
    model.basis === 'history'
      ? `history of ${model.history_runs} run${model.history_runs === 1 ? '' : 's'}`
      : model.basis === 'calibration'
        ? `calibration on ${model.calibration?.records ?? 0} sample records`
        : 'defaults';
  const out = [
    `${rpr.node_id}  [${node.kind}]`,
    `  ${rpr.resource_type}  cpu_cores=${rpr.cpu_cores}  memory_gb=${rpr.memory_gb}  gpu_enabled=${rpr.gpu_enabled}  ` +
      `data_store_instance=${rpr.data_store_instance ?? '-'}`,
    `  inputs: ${fixed(rates.input_rate)} records/s${rates.read_mode ? ` (${rates.read_mode}s)` : ''}, ` +
      `${fixed(rates.input_record_size)} B/record` +
      (node.key ? `, key ${node.key.field}: ${node.key.keys} distinct (${node.key.source})` : ''),
    `  per record: ${node.cpu_us_per_record.toFixed(2)} µs CPU ` +
      `(${model.cpu_us_base.toFixed(2)} + ${model.cpu_us_per_byte.toFixed(4)}×bytes), ` +
      `selectivity ${model.selectivity.toFixed(3)} — from ${basis}`,
    `  cores: ${sig(node.cores_needed)} needed at the target utilisation, ` +
      `interval ${why.confidence!.cpu_cores.map(sig).join('–')}`,
    `  memory: ${formatBytes(node.memory.total)} peak = base ${formatBytes(node.memory.base)} + buffers ` +
      `${formatBytes(node.memory.buffers)} + state ${formatBytes(node.memory.state)}` +
      (node.memory.retained > 0 ? ` + retained ${formatBytes(node.memory.retained)}` : '') +
      `, interval ${why.confidence!.memory_gb.map(sig).join('–')} GiB`,
    `  store: ${why.data_store_reason ?? '-'}`,
  ];
  if (why.gpu_reason && why.gpu_reason !== 'no GPU use declared')
    out.push(`  gpu: ${why.gpu_reason}`);
  for (const note of why.notes ?? []) out.push(`  note: ${note}`);
  out.push(`  cost: ${money(why.hourly_cost ?? 0, currency)}/hour`);
  return out;
}

function sig(value: number): string {
  return value === 0 ? '0' : String(Number(value.toPrecision(3)));
}

function fixed(value: number): string {
  return value >= 100 ? Math.round(value).toString() : value.toFixed(1);
}

function money(value: number, currency: string): string {
  return `${value.toFixed(4)} ${currency}`;
}
