import { describe, expect, it } from 'vitest';
import { WarmflowError } from '../errors.js';
import { parseFromWorker, parseToWorker } from './wire-messages.js';

const usage = {
  cpu_user_us: 1,
  cpu_system_us: 2,
  rss_bytes: 3,
  heap_used_bytes: 4,
  event_loop_utilization: 0.5,
  at: '2026-01-01T00:00:00.000Z',
};

const result = {
  nodes: { f: { records_in: 3, records_out: 3, dead_lettered: 0, busy_ms: 1.5 } },
  cpu_seconds: 0.1,
  peak_rss_bytes: 1e8,
  elapsed_ms: 12.5,
  threads: 2,
  first_store_write_at: null,
};

function protocolError(parse: () => unknown): string {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(WarmflowError);
    expect((error as WarmflowError).code).toBe('E_PROTOCOL');
    return (error as Error).message;
  }
  throw new Error('parsed without an error');
}

describe('parseToWorker', () => {
  it('returns valid requests and notices as they are', () => {
    const messages = [
      { type: 'hello', id: 1, version: 1, token: 't' },
      { type: 'watch', id: 2, interval_ms: 100 },
      { type: 'df.commit', id: 3, counts: { s: 4 } },
      { type: 'df.batch', source: 's', seq: 0 },
      { type: 'df.out-ack', thread: 1 },
      { type: 'df.cancel' },
      { type: 'df.wake', ms: 3 },
      { type: 'df.wake', ms: 0.5 },
    ];
    for (const message of messages) expect(parseToWorker(message)).toBe(message);
  });

  it.each([
    [{ type: 'df.batch', source: 's', seq: -1 }, /"seq" holds -1, expected a non-negative integer/],
    [{ type: 'df.batch', seq: 1 }, /"source" holds nothing, expected a string/],
    [{ type: 'df.end', counts: { s: 'many' } }, /"counts.s" holds "many"/],
    [{ type: 'ping' }, /malformed "ping" request: field "id" holds nothing/],
    // A wake-up keeps a thread busy: never longer than the bound, never an unbounded value.
    [{ type: 'df.wake', ms: 6 }, /"ms" holds 6, expected a number of milliseconds from 0 to 5/],
    [{ type: 'df.wake', ms: -1 }, /"ms" holds -1/],
    [{ type: 'df.wake', ms: '3' }, /"ms" holds "3"/],
    [{ type: 'df.wake', ms: Number.POSITIVE_INFINITY }, /"ms" holds/],
    [{ type: 'df.wake' }, /"ms" holds nothing/],
    [{ type: 'df.run', id: 1, spec: {} }, /field "spec.execution_id" holds nothing/],
    [{ type: 'df.template', id: 1, template_id: 'a' }, /field "template" holds nothing/],
    [
      {
        type: 'df.template',
        id: 1,
        template_id: 'a',
        template: {
          template: { nodes: [] },
          node_ids: 'f',
          type_keys: {},
          type_stores: {},
          seeds: [],
        },
      },
      /field "template.node_ids" holds "f"/,
    ],
    [{ type: 'launch', id: 1 }, /unknown message type "launch" to a worker/],
    [{ type: '__proto__' }, /unknown message type "__proto__"/],
    [{ type: 'heartbeat', ...usage }, /unknown message type "heartbeat" to a worker/],
    [[{ type: 'ping' }], /not an object with a string "type"/],
    [{ type: 7 }, /not an object with a string "type"/],
  ])('refuses %j', (message, expected) => {
    expect(protocolError(() => parseToWorker(message))).toMatch(expected);
  });

  it('names the failing source of a DeploySpec by its index', () => {
    const spec = {
      execution_id: 'x',
      template: { nodes: [{ id: 'f', kind: 'function' }] },
      node_ids: ['f'],
      stores: {},
      type_keys: {},
      type_stores: {},
      state_stores: {},
      seeds: [],
      sources: [
        { mode: 'push', node_id: 'source:a', type: 'A' },
        { mode: 'tape', node_id: 'source:b', type: 'B' },
      ],
    };
    expect(protocolError(() => parseToWorker({ type: 'df.run', id: 1, spec }))).toMatch(
      /field "spec.sources.1.mode" holds "tape", expected "file" or "push"/,
    );
    spec.sources[1].mode = 'file';
    expect(protocolError(() => parseToWorker({ type: 'df.run', id: 1, spec }))).toMatch(
      /field "spec.sources.1.path" holds nothing, expected a string/,
    );
    (spec.sources[1] as { path?: string }).path = '/data/b.jsonl';
    expect(parseToWorker({ type: 'df.run', id: 1, spec }).type).toBe('df.run');
  });
});

describe('parseFromWorker', () => {
  it('returns valid answers and events as they are', () => {
    const messages = [
      { type: 'df.run', re: 1, ok: true, result },
      { type: 'df.commit', re: 2, ok: true, committed: true },
      { type: 'df.run', re: 3, ok: false, error: { code: 'E_THREAD', message: 'died' } },
      { type: 'usage', re: 4, ok: true, usage },
      { type: 'df.out', node: 'f', data_type: 'T', count: 2, thread: 0 },
      { type: 'df.progress', progress: 10, chunks: 2 },
    ];
    for (const message of messages) expect(parseFromWorker(message)).toBe(message);
  });

  it.each([
    [{ type: 'df.out', node: 'f', data_type: 'T', count: '2', thread: 0 }, /"count" holds "2"/],
    [{ type: 'df.run', re: 1, ok: true }, /answer to "df.run": field "result" holds nothing/],
    [
      { type: 'df.run', re: 1, ok: true, result: { ...result, nodes: { f: { records_in: 1 } } } },
      /field "result.nodes.f.records_out" holds nothing, expected a non-negative integer/,
    ],
    [{ type: 'df.commit', re: 1, ok: true, committed: 'yes' }, /"committed" holds "yes"/],
    [{ type: 'df.run', re: 1, ok: false }, /field "error" holds nothing, expected an object/],
    [{ type: 'df.run', re: 1, ok: 'no' }, /field "ok" holds "no", expected a boolean/],
    [{ type: 'df.batch', re: 1, ok: true }, /unknown message type "df.batch" answered by a worker/],
    [{ type: 'heartbeat', status: 'ready' }, /malformed "heartbeat" event: field "resource_id"/],
  ])('refuses %j', (message, expected) => {
    expect(protocolError(() => parseFromWorker(message))).toMatch(expected);
  });

  it('keeps a long offending value short in the message', () => {
    const message = protocolError(() =>
      parseFromWorker({ type: 'df.deployed', execution_id: 'x'.repeat(500).split('') }),
    );
    expect(message.length).toBeLessThan(200);
  });
});
