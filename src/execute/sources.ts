import { statSync } from 'node:fs';
import path from 'node:path';
import { WarmflowError } from '../errors.js';
import { isLiveUrl, parseLiveUrl } from '../sources/live/live-url.js';
import { uriScheme } from '../sources/open.js';
import type { DeclaredFieldType, Source } from '../sources/source.js';
import type { LoadedFlow } from '../template/load-flow.js';

/** Where one source node of a run reads from. */
export interface ResolvedSource {
  node_id: string;
  stream: string;
  type: string;
  /** A file path, `-` (standard input), a live stream URL (`nats://…`, `redis://…`) or another registered source URI. */
  input: string;
  /** A live stream: read until the run is stopped or a limit is reached. */
  live: boolean;
  /** `file`: the resource's threads read it themselves; `push`: the orchestrator reads and sends batches. */
  mode: 'file' | 'push';
  /** Field types the flow declares for the stream's type (`types.T.fields`): readers and the profiler honour them. */
  fields?: Record<string, DeclaredFieldType>;
  /** The source already open for this stream (the tee of a one-pass input), which the run reads instead of `input`. */
  opened?: Source;
}

/** The field types a flow declares for `type`, if any (validated when the flow was parsed). */
export function declaredFields(
  flow: LoadedFlow,
  type: string,
): Record<string, DeclaredFieldType> | undefined {
  const fields = flow.spec.types?.[type]?.fields;
  return fields === undefined || Object.keys(fields).length === 0
    ? undefined
    : (fields as Record<string, DeclaredFieldType>);
}

/** The flow's streams, for messages: `orders (Order), clicks (Click)`. */
function streamList(flow: LoadedFlow): string {
  const streams = flow.template.nodes
    .filter((n) => n.kind === 'source')
    .map((n) => `${n.id.slice('source:'.length)} (${n.type ?? '?'})`);
  return streams.length === 0 ? 'none' : streams.join(', ');
}

/**
 * Checks the inputs given for a run against the flow's streams: every `STREAM=` must
 * name one of them, and a bare path (`*`) is only for a flow with exactly one stream.
 * An input that no stream would read is an error, never silently ignored.
 */
export function checkInputs(flow: LoadedFlow, inputs: Record<string, string>): void {
  const streams = flow.template.nodes
    .filter((n) => n.kind === 'source')
    .map((n) => n.id.slice('source:'.length));
  const problems: string[] = [];
  for (const name of Object.keys(inputs)) {
    if (name === '*') {
      if (streams.length !== 1)
        problems.push(
          `--input ${inputs['*']} names no stream, and flow "${flow.template.name}" has ${streams.length === 0 ? 'no streams' : `${streams.length} streams`}`,
        );
      else if (inputs[streams[0]] !== undefined)
        problems.push(`stream "${streams[0]}" is given two inputs`);
    } else if (!streams.includes(name)) {
      problems.push(`--input ${name}=… names no stream of flow "${flow.template.name}"`);
    }
  }
  if (problems.length > 0)
    throw new WarmflowError('E_INVALID_INPUT', problems.join('; '), {
      hint: `the flow's streams: ${streamList(flow)}; pass --input STREAM=FILE for each stream to read from a file other than its source`,
    });
}

/**
 * Resolves every source node's input: `inputs[stream]` (or, for a flow with one stream,
 * `inputs['*']`), else the stream's `source` in the flow file, after {@link checkInputs}.
 * A plain local JSONL file without `rate` is read by the resource itself, in parallel
 * chunks; anything else (gzip, CSV, a JSON array, Parquet, stdin, a live stream, replay at
 * a rate) is read here and pushed in batches. `opened` holds sources the caller already
 * opened, by stream (a one-pass input the profiler read a tee of).
 */
export function resolveSources(
  flow: LoadedFlow,
  inputs: Record<string, string>,
  rate: number | undefined,
  opened: Record<string, Source> = {},
): ResolvedSource[] {
  checkInputs(flow, inputs);
  const sources = flow.template.nodes.filter((n) => n.kind === 'source');
  return sources.map((node) => {
    const stream = node.id.slice('source:'.length);
    const given = inputs[stream] ?? (sources.length === 1 ? inputs['*'] : undefined);
    const fallback = flow.spec.streams?.[stream]?.source;
    const input =
      given ??
      (fallback === undefined
        ? undefined
        : isLiveUrl(fallback)
          ? fallback
          : path.resolve(flow.dir, fallback));
    if (input === undefined) {
      throw new WarmflowError(
        'E_INVALID_INPUT',
        `no input for stream "${stream}" of flow "${flow.template.name}"`,
        {
          hint:
            sources.length === 1
              ? 'pass --input FILE'
              : `pass --input ${stream}=FILE for each stream (the flow's streams: ${streamList(flow)})`,
        },
      );
    }
    if (isLiveUrl(input)) {
      parseLiveUrl(input); // a malformed URL fails here, before anything starts
      return {
        node_id: node.id,
        stream,
        type: node.type ?? stream,
        input,
        live: true,
        mode: 'push' as const,
      };
    }
    // Another registered scheme (an adapter's source) is read by the feeder like stdin.
    const uri = uriScheme(input) !== undefined && uriScheme(input) !== 'file';
    const resolved = input === '-' || uri ? input : path.resolve(input);
    if (resolved !== '-' && !uri) {
      let why: string | undefined;
      try {
        if (!statSync(resolved).isFile()) why = 'not a file';
      } catch (error) {
        why =
          (error as NodeJS.ErrnoException).code === 'ENOENT'
            ? 'no such file'
            : (error as Error).message;
      }
      if (why !== undefined)
        throw new WarmflowError(
          'E_INVALID_INPUT',
          `input of stream "${stream}" of flow "${flow.template.name}" cannot be read: ${resolved} (${why})`,
          {
            hint: 'give a JSON Lines, CSV/TSV, JSON array or Parquet file (optionally .gz), - for standard input, or a live stream URL (nats://HOST:PORT/STREAM, redis://HOST:PORT/DB?stream=KEY)',
          },
        );
    }
    const jsonl = /\.(jsonl|ndjson)$/i.test(resolved);
    const open = opened[stream];
    const fields = declaredFields(flow, node.type ?? stream);
    return {
      node_id: node.id,
      stream,
      type: node.type ?? stream,
      input: resolved,
      live: false,
      mode:
        jsonl && rate === undefined && !uri && resolved !== '-' && open === undefined
          ? 'file'
          : 'push',
      ...(open !== undefined ? { opened: open } : {}),
      ...(fields !== undefined ? { fields } : {}),
    };
  });
}

/** Parses `--input` values: `FILE` (the only stream) or `STREAM=FILE`. */
export function parseInputs(values: readonly string[]): Record<string, string> {
  const inputs: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    const key = eq > 0 && !value.slice(0, eq).includes('/') ? value.slice(0, eq) : '*';
    if (inputs[key] !== undefined)
      throw new WarmflowError(
        'E_INVALID_INPUT',
        key === '*'
          ? `two inputs name no stream: ${inputs[key]} and ${value}`
          : `stream "${key}" is given two inputs`,
        { hint: 'pass --input STREAM=FILE once per stream' },
      );
    inputs[key] = eq > 0 && key !== '*' ? value.slice(eq + 1) : value;
  }
  return inputs;
}

/**
 * Live-run options (`live`: until idle, max records, resize) given to a run that reads no
 * live stream are refused with `code`: they would be silently ignored.
 */
export function refuseLiveOptionsWithoutStreams(
  live: object | undefined,
  sources: ReadonlyArray<{ live: boolean }>,
  code: 'E_INVALID_ARGUMENTS' | 'E_INVALID_REQUEST',
): void {
  if (live === undefined || Object.keys(live).length === 0) return;
  if (sources.some((source) => source.live)) return;
  const names = Object.keys(live).join(', ');
  throw new WarmflowError(
    code,
    `live options (${names}) apply to a run reading a live stream, and this one reads none`,
    {
      hint:
        code === 'E_INVALID_ARGUMENTS'
          ? 'give a stream as an input (--input nats://HOST:PORT/STREAM or redis://HOST:PORT/DB?stream=KEY), or drop --until-idle, --max-records and --resize'
          : 'give a stream as an input (nats:// or redis://), or drop "live"',
    },
  );
}
