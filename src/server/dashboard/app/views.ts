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
