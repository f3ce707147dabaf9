/// <reference lib="dom" />
/**
 * The shapes the dashboard reads from the API (the subset it uses; the full
 * documents are the public contracts in src/). Declared here rather than imported
 * so the page compiles without pulling server modules into the browser.
 */
export interface TemplateNodeView {
  id: string;
  kind: 'function' | 'read' | 'write' | 'source';
  type?: string;
}
export interface TemplateView {
  name: string;
  nodes: TemplateNodeView[];
  edges: Array<{ from: string; to: string; type: string }>;
}
export interface FlowSummary {
  id: string;
  name: string;
  created_at: string;
  profile_id: string | null;
}
export interface FlowDetail extends FlowSummary {
  template: TemplateView;
}
export interface RprView {
  node_id: string;
  cpu_cores: number;
  memory_gb: number;
}
export interface NodeCompletionView {
  node_id: string;
  kind: string;
  records_in: number;
  records_out: number;
  dead_lettered: number;
  cpu_seconds: number;
  peak_memory_bytes: number;
  records_per_s: number;
  rpr: RprView | null;
  resource_id: string | null;
  warm: boolean;
  first_error?: { type: string; message: string; location?: string };
}
export interface CompletionView {
  outcome: string;
  provisioning: string;
  timings: {
    request_to_first_record_ms: number | null;
    request_to_ready_ms: number;
    total_ms: number;
  };
  records: { in: number; out: number; dead_lettered: number };
  nodes: NodeCompletionView[];
  error?: { code: string; message: string; node_id?: string };
  pool_note?: string;
  dead_letter_file?: string | null;
}
export interface DcpView {
  dataTypeDistribution: Record<string, number>;
  cardinality: Record<string, number>;
  volume: { avg_record_size: number; records_per_second: number; records?: number };
  schema_evolution_probability: number;
  data_quality_score: number;
}
export interface ExecutionView {
  id: string;
  flow_id: string;
  template: string;
  status: string;
  submitted_at: string;
  nodes: Array<{ node_id: string; state: string; records_in: number; records_out: number }>;
  rprs: RprView[] | null;
  dcp: DcpView | null;
  completion: CompletionView | null;
  /** Why a run that could not start failed. */
  error?: { code: string; message: string };
  /** A run on live streams (while it runs, and its last state after). */
  live?: LiveView;
}
export interface LiveView {
  draining: boolean;
  acknowledged: number;
  streams: Record<
    string,
    {
      records: number;
      records_per_second: number;
      avg_record_size: number;
      lag: number | null;
      series: Array<{ at: string; records_per_second: number; lag: number | null }>;
    }
  >;
  drift: Array<{ kind: string; stream: string }>;
}
export interface PoolSampleView {
  at: string;
  ready: number;
  claimed: number;
  cold_fallbacks: number;
}

/** Creates an element with text and attributes. */
export function el(tag: string, text?: string, attrs: Record<string, string> = {}): HTMLElement {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  return node;
}

/** A number for people: few digits, no trailing noise. */
export function fmt(value: number | null | undefined, digits = 2): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  return String(Number(value.toFixed(digits)));
}

/**
 * What a person must read about a run besides its figures: why it failed (its error, with
 * the node), a warm set it could not use, and per node its dead letters with the first error
 * and where it was thrown. Empty for a clean run.
 */
export function runProblems(execution: ExecutionView): string[] {
  const lines: string[] = [];
  const c = execution.completion;
  const error = c?.error ?? execution.error;
  if (error !== undefined)
    lines.push(
      `failed: ${error.code}${c?.error?.node_id !== undefined ? ` at node "${c.error.node_id}"` : ''}: ${error.message}`,
    );
  if (c?.pool_note !== undefined) lines.push(`note: ${c.pool_note}`);
  for (const n of c?.nodes ?? []) {
    if (n.dead_lettered === 0) continue;
    const e = n.first_error;
    lines.push(
      `${n.node_id}: ${n.dead_lettered.toLocaleString('en-US')} dead-lettered` +
        (e === undefined
          ? ''
          : ` — first: ${e.type}: ${e.message}${e.location !== undefined ? ` (at ${e.location})` : ''}`),
    );
  }
  if (lines.length > 0 && c?.dead_letter_file) lines.push(`dead letters: ${c.dead_letter_file}`);
  return lines;
}

/** One entry of the flow selector: a flow name, its newest registration, and all of them. */
export interface FlowChoice {
  id: string;
  label: string;
  ids: string[];
}

/**
 * The flow selector's entries: one per flow name (re-registering a flow, as each
 * `run --server` does, adds no duplicate), shown by its newest registration, with the runs
 * of every registration of that name. `flows` are oldest first, as the API lists them.
 */
export function flowChoices(flows: readonly FlowSummary[]): FlowChoice[] {
  const byName = new Map<string, FlowSummary[]>();
  for (const flow of flows) byName.set(flow.name, [...(byName.get(flow.name) ?? []), flow]);
  return [...byName.entries()].map(([name, same]) => {
    const newest = same.at(-1)!;
    return {
      id: newest.id,
      label:
        same.length === 1
          ? `${name} (${newest.id})`
          : `${name} (${newest.id}, registered ${same.length} times)`,
      ids: same.map((f) => f.id),
    };
  });
}

/** A time axis tick: the local wall-clock time of `seconds` since the epoch, HH:MM:SS (24 h). */
export function timeLabel(seconds: number): string {
  const d = new Date(seconds * 1000);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}
