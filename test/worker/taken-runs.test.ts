import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDeploySpec } from '../../src/execute/deploy-plan.js';
import { loadFlow, type LoadedFlow } from '../../src/template/load-flow.js';
import { WorkerClient } from '../../src/worker/client.js';
import { deployTemplateId, splitDeploySpec } from '../../src/worker/dataplane/deploy-spec.js';
import type { EventMessage, Frame } from '../../src/worker/protocol.js';
import { spawnWorker, waitForReady } from '../../src/worker/spawn.js';

const token = 'taken-token-0123456789abcdef';
const RECORDS = 3000;

/**
 * A checkpointed run the orchestrator sends to each data-plane thread's channel as well as to
 * the worker: a thread starts it before the worker's main thread hands it over, reads only its
 * first chunk until the main thread deploys the same run, and never takes what the worker
 * would refuse or a run it has already dropped.
 */
describe('runs a data-plane thread takes from its channel', () => {
  let dir: string;
  let outside: string;
  let flow: LoadedFlow;
  let child: ChildProcess;
  let address: string;
  let threads: string[];
  let runs = 0;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'warmflow-taken-'));
    outside = mkdtempSync(path.join(os.tmpdir(), 'warmflow-taken-outside-'));
    writeFileSync(
      path.join(dir, 'fns.mjs'),
      'export function double(r) { return { n: r.n * 2 }; }\n',
    );
    writeFileSync(
      path.join(dir, 'flow.yaml'),
      'name: taken\nstreams:\n  items: { type: Item, source: ./items.jsonl }\nfunctions:\n  - { name: double, module: ./fns.mjs, input: [Item], output: [Out] }\n',
    );
    const lines = Array.from({ length: RECORDS }, (_, n) => JSON.stringify({ n }));
    writeFileSync(path.join(dir, 'items.jsonl'), lines.join('\n') + '\n');
    writeFileSync(path.join(outside, 'secret.jsonl'), '{"n":424242}\n');
    flow = await loadFlow(path.join(dir, 'flow.yaml'));
    child = spawnWorker({
      resourceId: 'w-taken',
      nodeIds: flow.template.nodes.map((n) => n.id),
      cpuCores: 2,
      memoryGb: 0.5,
      token,
      warm: {
        functions: [{ node_id: 'double', module: path.join(dir, 'fns.mjs'), export: 'double' }],
        stores: {},
        grant: { tenant: 'acme', version: 'v1', read: [dir], stores: {} },
      },
      cwd: dir,
      env: { PATH: process.env.PATH ?? '' },
    });
    address = (await waitForReady(child)).address;
    const probe = await WorkerClient.connect(address, token);
    threads = probe.hello?.threads ?? [];
    probe.close();
  });

  afterAll(() => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  /** A checkpointed spec of the whole flow reading `input` in 4 KiB chunks, small batches. */
  function spec(execution: string, input = path.join(dir, 'items.jsonl')) {
    const source = flow.template.nodes.find((n) => n.kind === 'source')!;
    const whole = {
      ...buildDeploySpec({
        executionId: execution,
        flow,
        nodeIds: flow.template.nodes.map((n) => n.id),
        rprs: [],
        sources: [
          { node_id: source.id, stream: 'items', type: 'Item', input, live: false, mode: 'file' },
        ],
        chunkBytes: 4096,
        stores: {},
        tenant: 'acme',
        version: 'v1',
      }),
      batch_size: 50,
      checkpoint: { writer: `${execution}/0`, interval_ms: 60_000 },
    };
    const { template, run } = splitDeploySpec(whole);
    const id = deployTemplateId(template);
    return { template, id, run: { ...run, template_id: id } };
  }

  /**
   * The worker's connection (the template sent ahead, as a pool does) and a channel to every
   * thread named `name`; the values output on the channels, acknowledged as they come.
   */
  async function connect(name: string) {
    const main = await WorkerClient.connect(address, token);
    const { template, id } = spec('template');
    await main.request({ type: 'df.template', template_id: id, template });
    // Each checkpoint is recorded at once (an orchestrator records it in its store first).
    main.on('message', ({ message }: Frame<EventMessage>) => {
      if (message.type === 'df.checkpoint')
        main.send({ type: 'df.checkpointed', epoch: message.epoch });
    });
    const channels = await Promise.all(
      threads.map((t) => WorkerClient.connect(t, token, { channel: name })),
    );
    const values = new Map<string, number[]>();
    channels.forEach((channel, i) =>
      channel.on('message', ({ message, payload }: Frame<EventMessage>) => {
        if (message.type !== 'df.out') return;
        const run = message.execution_id!;
        if (!values.has(run)) values.set(run, []);
        for (const line of payload!.toString('utf8').split('\n'))
          if (line !== '') values.get(run)!.push((JSON.parse(line) as { n: number }).n);
        channel.send({ type: 'df.out-ack', thread: i, execution_id: run });
      }),
    );
    /** Sends a run part to the threads' channels only (no answer comes there). */
    const toChannels = (run: ReturnType<typeof spec>['run']): void => {
      for (const channel of channels)
        void channel.request({ type: 'df.run', spec: run, out: name }).catch(() => undefined);
    };
    const close = () => {
      for (const client of [...channels, main]) client.close();
    };
    return { main, values, toChannels, close };
  }

  const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const doubled = Array.from({ length: RECORDS }, (_, n) => n * 2);

  it('starts a run sent to its channel, reads only the first chunk until the worker deploys the same run, then finishes it once', async () => {
    const { main, values, toChannels, close } = await connect('first');
    const execution = `e${++runs}`;
    toChannels(spec(execution).run);
    for (let waited = 0; !values.has(execution) && waited < 5000; waited += 20) await settle(20);
    await settle(300);
    // The first chunk (4 KiB: a few hundred records), and nothing after it.
    const early = values.get(execution)!.length;
    expect(early).toBeGreaterThan(0);
    expect(early).toBeLessThan(RECORDS / 4);
    const { message } = await main.request({
      type: 'df.run',
      spec: spec(execution).run,
      out: 'first',
    });
    expect(message.result.threads).toBe(2);
    expect(values.get(execution)!.sort((a, b) => a - b)).toEqual(doubled);
    close();
  });

  it('does not take a run the worker’s grant refuses, nor one of another tenant', async () => {
    const { main, values, toChannels, close } = await connect('grant');
    const stolen = `e${++runs}`;
    toChannels(spec(stolen, path.join(outside, 'secret.jsonl')).run);
    await settle(500);
    expect(values.has(stolen)).toBe(false);
    await expect(
      main.request({
        type: 'df.run',
        spec: spec(stolen, path.join(outside, 'secret.jsonl')).run,
        out: 'grant',
      }),
    ).rejects.toThrow(/outside what the tenant may read/);
    // A run of the same template and files but of another tenant is not taken either.
    const foreign = { ...spec(`e${++runs}`).run, tenant: 'intruder' };
    toChannels(foreign);
    await settle(500);
    expect(values.has(foreign.execution_id)).toBe(false);
    const other = `e${++runs}`;
    toChannels(spec(other).run);
    await expect(main.request({ type: 'df.run', spec: foreign, out: 'grant' })).rejects.toThrow(
      /another tenant/,
    );
    expect(values.has(foreign.execution_id)).toBe(false);
    // The worker still runs what it may.
    await main.request({ type: 'df.run', spec: spec(other).run, out: 'grant' });
    expect(values.get(other)!.sort((a, b) => a - b)).toEqual(doubled);
    close();
  });

  it('drops a taken run another run displaces, runs the other whole, and refuses the dropped one afterwards', async () => {
    const { main, values, toChannels, close } = await connect('dropped');
    const dropped = `e${++runs}`;
    toChannels(spec(dropped).run);
    for (let waited = 0; !values.has(dropped) && waited < 5000; waited += 20) await settle(20);
    expect(values.get(dropped)!.length).toBeGreaterThan(0);
    // Another run comes to the worker first: the taken one is dropped, and the other reads
    // every chunk (the counters the dropped run read from are not its counters).
    const other = `e${++runs}`;
    await main.request({ type: 'df.run', spec: spec(other).run, out: 'dropped' });
    expect(values.get(other)!.sort((a, b) => a - b)).toEqual(doubled);
    // Its first records went out already: it is not run again from the start.
    await expect(
      main.request({ type: 'df.run', spec: spec(dropped).run, out: 'dropped' }),
    ).rejects.toThrow(/dropped it/);
    close();
  });
});
