import type { FunctionModel } from './function-model.js';

const MiB = 1024 * 1024;

/**
 * Coefficients used when neither calibration nor history says anything. They come
 * from `shared/PERFORMANCE.md`: an idle forked worker holds ~41.5 MiB RSS, JSON
 * parse + stringify of a ~90-byte record costs ~2 µs; a parsed JS object takes
 * roughly 3-4× its JSON size. The wide error (±100 %) says how little they know.
 */
export function defaultFunctionModel(): FunctionModel {
  return {
    cpu_us_base: 4,
    cpu_us_per_byte: 0.02,
    cpu_fixed_us: 0,
    selectivity: 1,
    output_size_ratio: 1,
    memory_base_bytes: 48 * MiB,
    memory_record_factor: 4,
    memory_per_key_bytes: 512,
    memory_retained_per_record_bytes: 0,
    cpu_rel_error: 1,
    mem_rel_error: 1,
    basis: 'defaults',
    history_runs: 0,
    notes: ['no calibration or history: default coefficients'],
  };
}

/**
 * Model of a read, write or source node: moving and (de)serializing records, no user
 * code. Reads and writes also pay a store round trip, amortised over batches.
 */
export function ioNodeModel(kind: 'read' | 'write' | 'source'): FunctionModel {
  const model = defaultFunctionModel();
  model.cpu_us_base = kind === 'source' ? 1.5 : 3;
  model.cpu_us_per_byte = 0.012;
  model.memory_base_bytes = 40 * MiB;
  model.notes = [`${kind} node: serialization and store I/O defaults`];
  return model;
}
