import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalProvider } from '../src/provision/local/local-provider.js';
import { itemFlow as makeItemFlow, outputLines, runOnEngine } from './execute/run-helpers.js';

let provider: LocalProvider;
beforeAll(() => {
  provider = new LocalProvider();
});
afterAll(async () => provider.close());

const FUNCTIONS = `
export async function stuck(item) {
  await new Promise(() => {});
}
export function pass(item) {
  return { id: item.id };
}
export async function slowDrop(item) {
  await new Promise((resolve) => setTimeout(resolve, 4));
  return null;
}
`;

const itemFlow = (fn: string, lines: string[]) => makeItemFlow(fn, lines, FUNCTIONS);

describe('the stall watchdog', () => {
  it('fails a run whose function never returns, names the node, and releases the resources', async () => {
    const lines = Array.from({ length: 100 }, (_, id) => JSON.stringify({ id }));
    const { flowFile } = itemFlow('stuck', lines);
    const { status } = await runOnEngine(flowFile, provider, { stall_timeout_ms: 1500 });
    expect(status.outcome).toBe('failed');
    expect(status.error?.code).toBe('E_STALLED');
    expect(status.error?.node_id).toBe('stuck');
    expect(status.error?.message).toMatch(/running node "stuck" made no progress for 1\.5 s/);
    // Promptly: this test's 30 s limit is far below the default 120 s watchdog (no wall-clock
    // ceiling here, which a busy machine could break; the message above names the 1.5 s).
    expect(await provider.list()).toEqual([]);
  }, 30_000);

  it('lets a slow but progressing pushed run (replayed at a rate for ~3 s) finish', async () => {
    const lines = Array.from({ length: 300 }, (_, id) => JSON.stringify({ id }));
    const { flowFile } = itemFlow('pass', lines);
    const started = performance.now();
    const { status, outDir } = await runOnEngine(flowFile, provider, {
      rate: 100,
      stall_timeout_ms: 1500,
    });
    expect(status.error).toBeUndefined();
    expect(status.outcome).toBe('succeeded');
    expect(performance.now() - started).toBeGreaterThan(2500);
    expect(outputLines(path.join(outDir, 'Out.jsonl'))).toHaveLength(300);
    expect(await provider.list()).toEqual([]);
  }, 30_000);

  it('does not count the time a resource waits for input: a replay slower than the timeout finishes', async () => {
    // One record every 2 s against a 1.5 s timeout: the resource is idle, not stuck.
    const lines = Array.from({ length: 2 }, (_, id) => JSON.stringify({ id }));
    const { flowFile } = itemFlow('pass', lines);
    const { status, outDir } = await runOnEngine(flowFile, provider, {
      rate: 0.5,
      stall_timeout_ms: 1500,
    });
    expect(status.error).toBeUndefined();
    expect(status.outcome).toBe('succeeded');
    expect(outputLines(path.join(outDir, 'Out.jsonl'))).toHaveLength(2);
  }, 30_000);

  it('sees a run that outputs nothing advance (the worker reports progress) and lets it finish', async () => {
    // ~4 ms per record, 1,000 records on two threads: ~2-3 s with no output batch at all;
    // only the worker's df.progress frames show the chunks being taken.
    const pad = 'x'.repeat(200);
    const lines = Array.from({ length: 1000 }, (_, id) => JSON.stringify({ id, pad }));
    const { flowFile } = itemFlow('slowDrop', lines);
    const started = performance.now();
    const { status } = await runOnEngine(flowFile, provider, { stall_timeout_ms: 1500 });
    expect(status.error).toBeUndefined();
    expect(status.outcome).toBe('succeeded');
    expect(performance.now() - started).toBeGreaterThan(2000);
    expect(status.nodes.find((n) => n.node_id === 'slowDrop')?.records_in).toBe(1000);
  }, 30_000);
});
