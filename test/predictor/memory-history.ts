import { WarmflowError } from '../../src/errors.js';
import type {
  FunctionObservation,
  HistoryStore,
  ObservationFilter,
  RunFilter,
  RunRecord,
} from '../../src/history/history-store.js';

/** What a {@link MemoryHistory} holds; share it to "reopen" the same history. */
export interface MemoryHistoryData {
  /** Runs in the order they were recorded, each with its observations. */
  runs: Array<{ run: RunRecord; observations: FunctionObservation[]; seq: number }>;
  seq: number;
}

/**
 * A HistoryStore in memory for the predictor's tests, held to the same conformance suite as
 * SQLite and PostgreSQL (test/history/conformance.test.ts): newest first by instant (not by
 * string), equal instants later-recorded first, runs and observations scoped by tenant, a
 * run recorded again replaces the old one, and a closed store refuses work.
 */
export class MemoryHistory implements HistoryStore {
  readonly #data: MemoryHistoryData;
  #closed = false;

  constructor(data: MemoryHistoryData = { runs: [], seq: 0 }) {
    this.#data = data;
  }

  /** A second handle on the same data, as reopening a database file would give. */
  reopen(): MemoryHistory {
    return new MemoryHistory(this.#data);
  }

  #open(): void {
    if (this.#closed) throw new WarmflowError('E_HISTORY_CLOSED', 'the history is closed');
  }

  /** Newest first by instant; equal instants, the later recorded first. */
  #sorted(): MemoryHistoryData['runs'] {
    return [...this.#data.runs].sort(
      (a, b) => Date.parse(b.run.recorded_at) - Date.parse(a.run.recorded_at) || b.seq - a.seq,
    );
  }

  async record(run: RunRecord, observations: FunctionObservation[]): Promise<void> {
    this.#open();
    const runs = this.#data.runs.filter(
      (r) => !(r.run.tenant === run.tenant && r.run.execution_id === run.execution_id),
    );
    runs.push({
      run: structuredClone(run),
      observations: structuredClone(observations),
      seq: this.#data.seq++,
    });
    this.#data.runs = runs;
  }

  async runs(filter: RunFilter = {}): Promise<RunRecord[]> {
    this.#open();
    return this.#sorted()
      .filter(
        ({ run }) =>
          (filter.tenant === undefined || run.tenant === filter.tenant) &&
          (filter.template === undefined || run.template === filter.template) &&
          (filter.template_fingerprint === undefined ||
            run.template_fingerprint === filter.template_fingerprint),
      )
      .slice(0, filter.limit ?? Infinity)
      .map(({ run }) => structuredClone(run));
  }

  async run(executionId: string, tenant?: string): Promise<RunRecord | undefined> {
    this.#open();
    const found = this.#sorted().find(
      ({ run }) =>
        run.execution_id === executionId && (tenant === undefined || run.tenant === tenant),
    );
    return found === undefined ? undefined : structuredClone(found.run);
  }

  async observations(filter: ObservationFilter): Promise<FunctionObservation[]> {
    this.#open();
    return this.#sorted()
      .filter(({ run }) => filter.tenant === undefined || run.tenant === filter.tenant)
      .filter(
        ({ run }) =>
          filter.template_fingerprint === undefined ||
          run.template_fingerprint === filter.template_fingerprint,
      )
      .flatMap(({ observations }) => observations)
      .filter(
        (o) =>
          (filter.template === undefined || o.template === filter.template) &&
          (filter.node_id === undefined || o.node_id === filter.node_id) &&
          (filter.function_fingerprint === undefined ||
            o.function_fingerprint === filter.function_fingerprint),
      )
      .slice(0, filter.limit ?? Infinity)
      .map((o) => structuredClone(o));
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
