import type { RunRecord } from '../../src/history/history-store.js';
import type { NodeCompletion } from '../../src/execute/completion-status.js';
import type { Rpr } from '../../src/predictor/rpr.js';

/** A node of a CompletionStatus with plausible measurements. */
export function node(
  id: string,
  kind: NodeCompletion['kind'],
  over: Partial<NodeCompletion> = {},
): NodeCompletion {
  const rpr: Rpr | null =
    kind === 'function'
      ? {
          node_id: id,
          resource_type: 'CPU',
          cpu_cores: 1,
          memory_gb: 0.5,
          gpu_enabled: false,
          data_store_instance: null,
        }
      : null;
  return {
    node_id: id,
    kind,
    records_in: 1000,
    records_out: 900,
    dead_lettered: 0,
    cpu_seconds: 0.25,
    cpu_us_per_record: 250,
    peak_memory_bytes: 64 * 2 ** 20,
    records_per_s: 4000,
    rpr,
    resource_id: kind === 'function' ? `res-${id}` : null,
    warm: true,
    ...over,
  };
}

/** A run of template `template` recorded at `recordedAt`, with a source, two functions and a sink. */
export function makeRun(
  executionId: string,
  tenant: string,
  template: string,
  recordedAt: string,
): RunRecord {
  const nodes = [
    node('source:clicks', 'source'),
    node('parse', 'function'),
    node('count', 'function', { state_keys: 42 }),
    node('write:Count', 'write'),
  ];
  return {
    execution_id: executionId,
    tenant,
    template,
    template_fingerprint: `fp-${template}`,
    recorded_at: recordedAt,
    dcp: {
      dataTypeDistribution: { string: 0.5, integer: 0.5 },
      cardinality: { user_id: 42 },
      volume: {
        avg_record_size: 120,
        records_per_second: 1000,
        rate_source: 'arrival',
        records: 1000,
        bytes: 120000,
      },
      schema_evolution_probability: 0,
      data_quality_score: 1,
      fields: {},
    },
    rprs: nodes.flatMap((n) => (n.rpr === null ? [] : [n.rpr])),
    status: {
      execution_id: executionId,
      template,
      tenant,
      outcome: 'succeeded',
      provisioning: 'warm',
      started_at: recordedAt,
      finished_at: recordedAt,
      timings: { request_to_first_record_ms: 3, request_to_ready_ms: 1, total_ms: 250 },
      records: { in: 1000, out: 900, dead_lettered: 0 },
      dead_letter_file: null,
      nodes,
    },
  };
}
