import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordRun } from '../../src/history/record-run.js';
import { SinkFiles } from '../../src/execute/sinks.js';
import { openHistory } from '../../src/history/open-history.js';
import { LocalProvider } from '../../src/provision/local/local-provider.js';
import { itemFlow as makeItemFlow, outputLines, runOnEngine, tempDir } from './run-helpers.js';

let provider: LocalProvider;
beforeAll(() => {
  process.env.WARMFLOW_HOME ??= tempDir('warmflow-home-');
  provider = new LocalProvider();
});
afterAll(async () => provider.close());

const FUNCTIONS = `
export function check(item) {
  if (item.bad) throw new TypeError('item ' + item.id + ' is bad');
  return { id: item.id, ok: true };
}
export function boom(item) {
  if (item.id === 3000) process.kill(process.pid, 'SIGKILL');
  return { id: item.id };
}
export function pass(item) {
  return { id: item.id, pad: item.pad };
}
const held = [];
export function hog(item) {
  // Off-heap memory the V8 heap limit does not see: only the RSS watchdog can stop it.
  if (held.length < 48) held.push(Buffer.alloc(64 * 1024 * 1024, 1));
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  return { id: item.id };
}
`;

const itemFlow = (fn: string, lines: string[]) => makeItemFlow(fn, lines, FUNCTIONS);

describe('bad input goes to dead letters and the run goes on', () => {
  it('dead-letters malformed lines and records a function throws on, with node, error and input position', async () => {
    const lines: string[] = [];
    for (let id = 0; id < 5000; id++) {
      if (id % 1000 === 7) lines.push(`{"id": ${id}, "broken`);
      else lines.push(JSON.stringify({ id, bad: id % 500 === 3 }));
    }
    const { flowFile } = itemFlow('check', lines);
    const { status, outDir } = await runOnEngine(flowFile, provider);
    expect(status.outcome).toBe('succeeded');
    const malformed = 5;
    const throwing = 10;
    expect(status.records.dead_lettered).toBe(malformed + throwing);
    expect(status.nodes.find((n) => n.node_id === 'source:items')?.dead_lettered).toBe(malformed);
    expect(status.nodes.find((n) => n.node_id === 'check')?.dead_lettered).toBe(throwing);
    const letters = outputLines(status.dead_letter_file!).map(
      (l) => JSON.parse(l) as Record<string, any>, // eslint-disable-line @typescript-eslint/no-explicit-any -- dead letters are free-form JSON,
    );
    expect(letters).toHaveLength(malformed + throwing);
    const text = lines.join('\n') + '\n';
    for (const letter of letters) {
      const offset = letter.input.offset as number;
      const line = text.slice(offset, text.indexOf('\n', offset));
      if (letter.node_id === 'check') {
        expect(letter.error).toMatchObject({
          type: 'TypeError',
          message: `item ${letter.record.id} is bad`,
        });
        expect(JSON.parse(line)).toEqual(letter.record);
      } else {
        expect(letter.node_id).toBe('source:items');
        expect(letter.raw).toBe(line);
      }
    }
    const out = outputLines(path.join(outDir, 'Out.jsonl')).map(
      (l) => (JSON.parse(l) as { id: number }).id,
    );
    expect(out.sort((a, b) => a - b)).toEqual(
      Array.from({ length: 5000 }, (_, id) => id).filter((id) => id % 1000 !== 7 && id % 500 !== 3),
    );
  });
});

describe('a worker that dies mid-run', () => {
  it('fails the run promptly with a status naming the node and why', async () => {
    const lines = Array.from({ length: 20000 }, (_, id) => JSON.stringify({ id }));
    const { flowFile } = itemFlow('boom', lines);
    // The record kills every resource it reaches: one recovery, then the run fails.
    const { status } = await runOnEngine(flowFile, provider, { max_recoveries: 1 });
    expect(status.outcome).toBe('failed');
    expect(status.checkpoints?.recoveries).toHaveLength(1);
    expect(status.error?.node_id).toBe('boom');
    expect(status.error?.code).toBe('E_RESOURCE_DIED');
    expect(status.error?.message).toMatch(/"boom" went away mid-run/);
  });
});

describe('a worker killed for exceeding its memory', () => {
  it('fails the run, says so, and records the OOM kill for the predictor to learn from', async () => {
    const lines = Array.from({ length: 20000 }, (_, id) => JSON.stringify({ id }));
    const { flowFile } = itemFlow('hog', lines);
    const { flow, status } = await runOnEngine(flowFile, provider);
    expect(status.outcome).toBe('failed');
    expect(status.error?.message).toMatch(/over its memory limit/);
    expect(status.events).toContainEqual(
      expect.objectContaining({ node_id: 'hog', event: 'oom_killed' }),
    );
    const history = await openHistory(path.join(tempDir(), 'history.db'));
    try {
      await recordRun(history, flow, null, [], status);
      const [observation] = await history.observations({ template: 'hog_flow', node_id: 'hog' });
      expect(observation.oom_killed).toBe(true);
    } finally {
      await history.close();
    }
  });
});

/** A sink that takes 15 ms per batch and records how many batches were ever waiting at once. */
class SlowSink extends SinkFiles {
  pending = 0;
  maxPending = 0;
  override async write(type: string, records: number, bytes: Buffer): Promise<void> {
    this.pending++;
    this.maxPending = Math.max(this.maxPending, this.pending);
    await new Promise((resolve) => setTimeout(resolve, 15));
    try {
      await super.write(type, records, bytes);
    } finally {
      this.pending--;
    }
  }
}

describe('backpressure', () => {
  it('a slow sink slows the run instead of piling batches up: at most the credits are ever in flight', async () => {
    const pad = 'x'.repeat(200);
    const lines = Array.from({ length: 60000 }, (_, id) => JSON.stringify({ id, pad }));
    const { flowFile } = itemFlow('pass', lines);
    let sink: SlowSink | undefined;
    const { status, outDir } = await runOnEngine(
      flowFile,
      provider,
      {},
      { sinks: (dir) => (sink = new SlowSink(dir)) },
    );
    expect(status.outcome).toBe('succeeded');
    expect(outputLines(path.join(outDir, 'Out.jsonl'))).toHaveLength(60000);
    // Two threads, four output batches of credit each: never more than 8 batches (8,000 records) waiting.
    expect(sink!.maxPending).toBeGreaterThan(1);
    expect(sink!.maxPending).toBeLessThanOrEqual(8);
  });
});

describe('a request that cannot run as asked is refused before anything starts', () => {
  it('refuses live-stream options for a run that reads no stream (E_INVALID_REQUEST), touching no provider', async () => {
    const { flowFile } = itemFlow('pass', [JSON.stringify({ id: 1, pad: 'x' })]);
    const untouchable = new Proxy({} as LocalProvider, {
      get: (_, name) => {
        throw new Error(`the provider was asked for ${String(name)}`);
      },
    });
    await expect(
      runOnEngine(flowFile, untouchable, { live: { max_records: 10, until_idle_ms: 500 } }),
    ).rejects.toMatchObject({
      code: 'E_INVALID_REQUEST',
      message: expect.stringMatching(
        /live options \(max_records, until_idle_ms\) apply to a run reading a live stream/,
      ),
    });
  });
});
