import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalProvider } from '../../src/provision/local/local-provider.js';
import { openStore } from '../../src/stores/open-store.js';
import type { StoreSpec } from '../../src/template/types.js';
import { loadFlow, type LoadedFlow } from '../../src/template/load-flow.js';
import { referenceRun } from '../execute/reference-run.js';
import type { CompletionStatus } from '../../src/execute/completion-status.js';
import { outputLines, repo, runOnEngine, storeTable, tempDir } from '../execute/run-helpers.js';
import { runCli } from '../helpers/cli.js';
import { formatStatus } from '../../src/flow/format-run.js';
import { natsStream, redisStreams, uniqueName } from '../helpers/live-streams.js';
import { SERVICES, serviceAvailable } from '../helpers/services.js';
import { chaosFlow, killWorkers } from './chaos-helpers.js';

const hasRedis = await serviceAvailable('redis');
const hasPostgres = await serviceAvailable('postgres');
const hasNats = await serviceAvailable('nats');

let provider: LocalProvider;
beforeAll(() => {
  process.env.WARMFLOW_HOME ??= tempDir('warmflow-home-');
  provider = new LocalProvider();
});
afterAll(async () => provider.close());

/** Every record of a stream-sink type, read back through its store, as JSON text. */
async function sinkRecords(spec: StoreSpec, type: string): Promise<string[]> {
  const store = await openStore('sink', spec);
  try {
    const out: string[] = [];
    for await (const record of store.readAll(type)) out.push(JSON.stringify(record));
    return out;
  } finally {
    await store.close();
  }
}

const sorted = (lines: string[]): string[] => [...lines].sort();

/**
 * What a chaos run left equals the reference interpreter's failure-free run: the keyed
 * store, the state in it, the JSONL sink, the dead letters and the stream sink, each record
 * once; and the figures are the whole run's.
 */
async function expectReference(run: {
  flow: LoadedFlow;
  status: CompletionStatus;
  outDir: string;
  out: StoreSpec;
  sink: StoreSpec | undefined;
  id: string;
  items: number;
}): Promise<void> {
  const { flow, status, outDir, out, sink, id } = run;
  const expected = await referenceRun(flow);
  // The keyed store: one Total per user, the last one a failure-free run puts.
  const totals = await storeTable('out', out, 'Total');
  expect(totals).toEqual(expected.stores.get('Total'));
  // The keyed state in the store is the reference's final state.
  const store = await openStore('out', out);
  try {
    expect(await store.count(`state/${id}/tally`)).toBe(2 * expected.keys.get('tally')!.size);
  } finally {
    await store.close();
  }
  // JSONL sink and dead letters: every line once.
  expect(sorted(outputLines(path.join(outDir, 'Line.jsonl')))).toEqual(
    sorted(expected.sinks.get('Line')!),
  );
  expect(outputLines(status.dead_letter_file!)).toHaveLength(expected.dead);
  expect(status.records.dead_lettered).toBe(expected.dead);
  // The stream sink: every event once, none doubled by a replay.
  const events =
    sink === undefined
      ? outputLines(path.join(outDir, 'Event.jsonl'))
      : await sinkRecords(sink, 'Event');
  expect(events).toHaveLength(expected.sinks.get('Event')!.length);
  expect(sorted(events)).toEqual(sorted(expected.sinks.get('Event')!));
  // Figures are the whole run's, not the last resource's.
  expect(status.nodes.find((n) => n.node_id === 'tally')?.records_in).toBe(
    run.items - expected.dead,
  );
}

interface Case {
  name: string;
  run: boolean;
  out: (id: string) => StoreSpec;
  sink: 'redis-stream' | 'nats' | null;
  seed: number;
}

const cases: Case[] = [
  {
    name: 'sqlite store, Redis Stream sink',
    run: true,
    out: (id) => ({ kind: 'sqlite', path: path.join(tempDir(), `${id}.db`) }),
    sink: hasRedis ? 'redis-stream' : null,
    seed: 11,
  },
  {
    name: 'redis store, JetStream sink',
    run: hasRedis,
    out: (id) => ({ kind: 'redis', url: SERVICES.redis.url, prefix: `${id}:` }),
    sink: hasNats ? 'nats' : null,
    seed: 23,
  },
  {
    name: 'postgres store, Redis Stream sink',
    run: hasPostgres,
    out: (id) => ({ kind: 'postgres', url: SERVICES.postgres.url, schema: id }),
    sink: hasRedis ? 'redis-stream' : null,
    seed: 37,
  },
];

describe('chaos: workers killed with SIGKILL at random moments, the run recovers from checkpoints', () => {
  for (const c of cases) {
    it.skipIf(!c.run)(
      `${c.name}: stores, sinks and JSONL outputs equal a failure-free reference run`,
      async () => {
        const id = uniqueName('chaos');
        const { flowFile } = chaosFlow({
          name: id,
          items: 48_000,
          users: 300,
          seed: c.seed,
          sink: c.sink !== null,
        });
        const flow = await loadFlow(flowFile);
        const out = c.out(id);
        let sink: StoreSpec | undefined;
        let nats: Awaited<ReturnType<typeof natsStream>> | undefined;
        if (c.sink === 'redis-stream')
          sink = { kind: 'redis-stream', url: SERVICES.redis.url, stream: `${id}:{type}` };
        if (c.sink === 'nats') {
          nats = await natsStream(id);
          sink = { kind: 'nats', url: SERVICES.nats.url, subject: `${id}.{type}` };
        }
        let armed = false;
        const killer = killWorkers(provider, id, {
          seed: c.seed,
          minMs: 50,
          maxMs: 400,
          max: Number(process.env.CHAOS_KILLS ?? 8),
        });
        try {
          const { status, outDir } = await runOnEngine(
            flow,
            provider,
            {
              stores: { out, ...(sink !== undefined ? { sink } : {}) },
              state_store: 'out',
              chunk_bytes: 16 * 1024,
              checkpoint_interval_ms: 100,
              max_recoveries: 20,
            },
            {
              // One kill per resource, at a random moment after its first checkpoint.
              onEvent: (event) => {
                if (event === 'provisioned' || event === 'recovered') armed = false;
                if (event === 'checkpoint' && !armed) {
                  armed = true;
                  killer.arm();
                }
              },
            },
          ).finally(() => killer.stop());
          expect(status.outcome, JSON.stringify(status.error)).toBe('succeeded');
          // Each kill before the run ended is a recovery in the status, and it survived several.
          const recoveries = status.checkpoints?.recoveries ?? [];
          // Each kill is a recovery, but for a last one that may hit the worker after it
          // answered (the run's end is short: one small epoch).
          expect(recoveries.length).toBeLessThanOrEqual(killer.kills.length);
          expect(recoveries.length).toBeGreaterThanOrEqual(killer.kills.length - 1);
          expect(recoveries.length).toBeGreaterThanOrEqual(3);
          console.log(
            `${c.name}: ${recoveries.length} recoveries, epochs ${status.checkpoints?.epochs}`,
            JSON.stringify(
              recoveries.map((r) => [r.checkpoint_epoch, r.records_replayed, r.resumed_after_ms]),
            ),
          );
          for (const r of recoveries) {
            expect(r.code).toBe('E_RESOURCE_DIED');
            expect(r.replacement_resource_id).not.toBe(r.resource_id);
            expect(r.records_replayed).toBeGreaterThanOrEqual(0);
          }
          expect(recoveries.some((r) => r.checkpoint_epoch >= 0)).toBe(true);
          // The text report says so too.
          expect(formatStatus(status)).toContain(`${recoveries.length} recoveries`);

          await expectReference({ flow, status, outDir, out, sink, id, items: 48_000 });
        } finally {
          killer.stop();
          await nats?.cleanup();
          if (c.sink === 'redis-stream') {
            const store = await openStore('sink', sink!);
            await store.drop('Event').finally(() => store.close());
          }
        }
      },
      120_000,
    );
  }
});

/** Live sources: each chaos item is one message of a JetStream stream or a Redis Stream. */
interface LiveCase {
  name: string;
  run: boolean;
  source: 'nats' | 'redis';
  out: (id: string) => StoreSpec;
  sink: (id: string) => StoreSpec;
  seed: number;
}

const LIVE_ITEMS = 12_000;

const liveCases: LiveCase[] = [
  {
    name: 'JetStream source, postgres store, Redis Stream sink',
    run: hasNats && hasRedis && hasPostgres,
    source: 'nats',
    out: (id) => ({ kind: 'postgres', url: SERVICES.postgres.url, schema: id }),
    sink: (id) => ({ kind: 'redis-stream', url: SERVICES.redis.url, stream: `${id}:{type}` }),
    seed: 61,
  },
  {
    name: 'Redis Stream source, sqlite store, JetStream sink',
    run: hasNats && hasRedis,
    source: 'redis',
    out: (id) => ({ kind: 'sqlite', path: path.join(tempDir(), `${id}.db`) }),
    sink: (id) => ({ kind: 'nats', url: SERVICES.nats.url, subject: `${id}.out.{type}` }),
    seed: 79,
  },
];

describe('chaos: live sources, workers killed with SIGKILL, no message lost or doubled', () => {
  for (const c of liveCases) {
    it.skipIf(!c.run)(
      `${c.name}: stores, sinks and JSONL outputs equal a failure-free reference run`,
      async () => {
        const id = uniqueName('chaos_live');
        const { flowFile, input } = chaosFlow({
          name: id,
          items: LIVE_ITEMS,
          users: 300,
          seed: c.seed,
          sink: true,
          // Little work per record: the run's length is set by the publisher's pace below.
          spin: 10_000,
        });
        const flow = await loadFlow(flowFile);
        const lines = outputLines(input);
        const out = c.out(id);
        const sink = c.sink(id);
        // The stream holds the sink's subjects too (JetStream sink) and the source's.
        const nats = await natsStream(id);
        const redis = await redisStreams();
        const key = `${id}:items`;
        // Messages are published in order: half before the run, the rest while it runs (500
        // every `pauseMs`), so new messages arrive between the replays of killed resources
        // and the run lasts long enough to be killed several times. A short ack_wait
        // (claim_idle) makes the stream deliver held messages again during the run.
        const publish = async (from: number, to: number, pauseMs = 0) => {
          for (let at = from; at < to; at += 500) {
            if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
            const part = lines.slice(at, Math.min(to, at + 500));
            if (c.source === 'nats') await Promise.all(part.map((l) => nats.publishRaw(l)));
            else await Promise.all(part.map((l) => redis.redis.call('XADD', key, '*', 'data', l)));
          }
        };
        const half = LIVE_ITEMS / 2;
        await publish(0, half);
        const url =
          c.source === 'nats'
            ? `${nats.url}?subject=${nats.subject}&ack_wait=2s`
            : `${SERVICES.redis.url}?stream=${key}&start=0&claim_idle=1s&consumer=${id}`;
        let armed = false;
        let publishing: Promise<void> | undefined;
        const maxKills = Number(process.env.CHAOS_KILLS ?? 4);
        const killer = killWorkers(provider, id, {
          seed: c.seed,
          minMs: 50,
          maxMs: 400,
          max: maxKills,
        });
        try {
          const { status, outDir } = await runOnEngine(
            flow,
            provider,
            {
              inputs: { items: url },
              stores: { out, sink },
              state_store: 'out',
              checkpoint_interval_ms: 100,
              max_recoveries: 20,
              live: { max_records: LIVE_ITEMS },
            },
            {
              onEvent: (event) => {
                if (event === 'provisioned' || event === 'recovered') armed = false;
                if (event === 'checkpoint')
                  publishing ??= (async () => {
                    await publish(half, LIVE_ITEMS - 1000, 500);
                    // The run cannot end before its last messages: they wait for the third
                    // kill, so each of the first three kills hits a running resource.
                    while (killer.kills.length < Math.min(3, maxKills))
                      await new Promise((r) => setTimeout(r, 100));
                    await publish(LIVE_ITEMS - 1000, LIVE_ITEMS);
                  })();
                if (event === 'checkpoint' && !armed) {
                  armed = true;
                  killer.arm();
                }
              },
            },
          ).finally(() => killer.stop());
          await publishing;
          expect(status.outcome, JSON.stringify(status.error)).toBe('succeeded');
          const recoveries = status.checkpoints?.recoveries ?? [];
          // Each kill is a recovery, but for a last one that may hit the worker after it
          // answered (the run's end is short: one small epoch).
          expect(recoveries.length).toBeLessThanOrEqual(killer.kills.length);
          expect(recoveries.length).toBeGreaterThanOrEqual(killer.kills.length - 1);
          expect(recoveries.length).toBeGreaterThanOrEqual(3);
          console.log(
            `${c.name}: ${recoveries.length} recoveries, epochs ${status.checkpoints?.epochs}`,
            JSON.stringify(
              recoveries.map((r) => [r.checkpoint_epoch, r.records_replayed, r.resumed_after_ms]),
            ),
          );
          for (const r of recoveries) expect(r.code).toBe('E_RESOURCE_DIED');
          // Every message was read once, acknowledged, and the group holds none of them.
          expect(status.live?.sources.items?.messages).toBe(LIVE_ITEMS);
          expect(status.live?.acknowledged).toBe(LIVE_ITEMS);
          expect(status.live?.unacknowledged).toBe(0);
          expect(status.live?.sources.items?.lag).toBe(0);
          await expectReference({ flow, status, outDir, out, sink, id, items: LIVE_ITEMS });
        } finally {
          killer.stop();
          await publishing?.catch(() => undefined);
          await nats.cleanup();
          await redis.cleanup(key);
          if (sink.kind === 'redis-stream') {
            const store = await openStore('sink', sink);
            await store.drop('Event').finally(() => store.close());
          }
        }
      },
      120_000,
    );
  }
});

describe('chaos: the orchestrator killed with SIGKILL mid-run', () => {
  it('`warmflow run --resume RUN_ID` continues from the last checkpoint; outputs equal the reference run', async () => {
    const id = uniqueName('chaos_cli');
    const { flowFile, dir } = chaosFlow({
      name: id,
      items: 48_000,
      users: 300,
      seed: 53,
      sink: false,
    });
    const outDir = path.join(dir, 'out');
    // A real `warmflow run` (from dist/: `npm run build` first) in its own process.
    const child = spawn(
      process.execPath,
      [
        path.join(repo, 'bin/warmflow.js'),
        'run',
        flowFile,
        '--cold',
        '--no-history',
        '--json',
        '--out',
        outDir,
        '--state-store',
        'out',
      ],
      {
        env: { ...process.env, WARMFLOW_CHECKPOINT_INTERVAL_MS: '150' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    const runId = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const found = /continue it with: warmflow run --resume (\S+)/.exec(stderr);
        if (found !== null) resolve(found[1]);
      });
      child.once('exit', (code) => reject(new Error(`run exited ${code}: ${stderr}`)));
    });
    // Killed mid-run (it may or may not have recorded a checkpoint yet: both must resume).
    await new Promise((r) => setTimeout(r, 700));
    expect(child.exitCode).toBeNull();
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const resumed = await runCli('run', '--resume', runId, '--json');
    expect(resumed.code, resumed.stderr).toBe(0);
    const status = JSON.parse(resumed.stdout) as CompletionStatus;
    expect(status.execution_id).toBe(runId);
    expect(status.outcome).toBe('succeeded');
    const flow = await loadFlow(flowFile);
    const expected = await referenceRun(flow);
    const out: StoreSpec = { kind: 'sqlite', path: path.join(dir, 'out.db') };
    expect(await storeTable('out', out, 'Total')).toEqual(expected.stores.get('Total'));
    for (const type of ['Line', 'Event'])
      expect(sorted(outputLines(path.join(outDir, `${type}.jsonl`)))).toEqual(
        sorted(expected.sinks.get(type)!),
      );
    expect(outputLines(path.join(outDir, 'dead-letters.jsonl'))).toHaveLength(expected.dead);
    expect(status.nodes.find((n) => n.node_id === 'tally')?.records_in).toBe(
      48_000 - expected.dead,
    );
    // Resumed once: the run is forgotten, a second resume is refused.
    const again = await runCli('run', '--resume', runId);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/no unfinished checkpointed run/);
  }, 180_000);
});
