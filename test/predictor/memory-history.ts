import type {
  FunctionObservation,
  HistoryStore,
  RunRecord,
} from '../../src/history/history-store.js';

/**
 * A HistoryStore in memory for the predictor's tests: the contract's semantics
 * (newest first, filters) without a database, so these tests do not depend on the
 * history package's progress.
 */
export class MemoryHistory implements HistoryStore {
  readonly #runs: RunRecord[] = [];
  readonly #observations: FunctionObservation[] = [];

  async record(run: RunRecord, observations: FunctionObservation[]): Promise<void> {
    this.#runs.push(run);
    this.#observations.push(...observations);
  }

  async runs(
    filter: { tenant?: string; template?: string; limit?: number } = {},
  ): Promise<RunRecord[]> {
    return this.#runs
      .filter(
        (r) =>
          (filter.tenant === undefined || r.tenant === filter.tenant) &&
          (filter.template === undefined || r.template === filter.template),
      )
      .sort((a, b) => b.recorded_at.localeCompare(a.recorded_at))
      .slice(0, filter.limit ?? Infinity);
  }

  async run(executionId: string): Promise<RunRecord | undefined> {
    return this.#runs.find((r) => r.execution_id === executionId);
  }

  async observations(filter: {
    tenant?: string;
    template?: string;
    node_id?: string;
    function_fingerprint?: string;
    limit?: number;
  }): Promise<FunctionObservation[]> {
    const tenantOf = new Map(this.#runs.map((r) => [r.execution_id, r.tenant]));
    return this.#observations
      .filter(
        (o) =>
          (filter.tenant === undefined || tenantOf.get(o.execution_id) === filter.tenant) &&
          (filter.template === undefined || o.template === filter.template) &&
          (filter.node_id === undefined || o.node_id === filter.node_id) &&
          (filter.function_fingerprint === undefined ||
            o.function_fingerprint === filter.function_fingerprint),
      )
      .sort((a, b) => b.recorded_at.localeCompare(a.recorded_at))
      .slice(0, filter.limit ?? Infinity);
  }

  async close(): Promise<void> {}
}
