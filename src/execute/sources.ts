import { statSync } from 'node:fs';
import path from 'node:path';
import { WarmflowError } from '../errors.js';
import type { LoadedFlow } from '../template/load-flow.js';
import { isLiveUrl, parseLiveUrl } from '../sources/live/live-url.js';

/** Where one source node of a run reads from. */
export interface ResolvedSource {
  node_id: string;
  stream: string;
  type: string;
  /** A file path, `-` (standard input) or a live stream URL (`nats://…`, `redis://…`). */
  input: string;
  /** A live stream: read until the run is stopped or a limit is reached. */
  live: boolean;
  /** `file`: the resource's threads read it themselves; `push`: the orchestrator reads and sends batches. */
  mode: 'file' | 'push';
}

/**
 * Resolves every source node's input: `inputs[stream]` (or, for a flow with one stream,
 * `inputs['*']`), else the stream's `source` in the flow file. A plain local JSONL file
 * without `rate` is read by the resource itself, in parallel chunks; anything else (gzip,
 * CSV, a JSON array, stdin, replay at a rate) is read here and pushed in batches.
 */
export function resolveSources(
  flow: LoadedFlow,
  inputs: Record<string, string>,
  rate: number | undefined,
): ResolvedSource[] {
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
              : `pass --input ${stream}=FILE for each stream`,
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
    const resolved = input === '-' ? input : path.resolve(input);
    if (resolved !== '-') {
      try {
        if (!statSync(resolved).isFile()) throw new Error('not a file');
      } catch {
        throw new WarmflowError(
          'E_INVALID_INPUT',
          `input of stream "${stream}" is not a readable file: ${resolved}`,
          {
            hint: 'give a JSON Lines, CSV/TSV or JSON file (optionally .gz), - for standard input, or a live stream URL (nats://HOST:PORT/STREAM, redis://HOST:PORT/DB?stream=KEY)',
          },
        );
      }
    }
    const jsonl = /\.(jsonl|ndjson)$/i.test(resolved);
    return {
      node_id: node.id,
      stream,
      type: node.type ?? stream,
      input: resolved,
      live: false,
      mode: jsonl && rate === undefined && resolved !== '-' ? 'file' : 'push',
    };
  });
}

/** Parses `--input` values: `FILE` (the only stream) or `STREAM=FILE`. */
export function parseInputs(values: readonly string[]): Record<string, string> {
  const inputs: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq > 0 && !value.slice(0, eq).includes('/'))
      inputs[value.slice(0, eq)] = value.slice(eq + 1);
    else inputs['*'] = value;
  }
  return inputs;
}
