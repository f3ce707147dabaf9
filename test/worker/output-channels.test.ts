import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDeploySpec } from '../../src/execute/deploy-plan.js';
import { loadFlow, type LoadedFlow } from '../../src/template/load-flow.js';
import { WorkerClient } from '../../src/worker/client.js';
import { FrameDecoder } from '../../src/worker/frame-decoder.js';
import {
  PROTOCOL_VERSION,
  encodeFrameBuffer,
  type EventMessage,
  type Frame,
} from '../../src/worker/protocol.js';
import { parseToWorker } from '../../src/worker/wire-messages.js';
import { WorkerServer } from '../../src/worker/worker-server.js';
import { spawnWorker, waitForReady } from '../../src/worker/spawn.js';
import { runnableOver } from '../helpers/process-runnable.js';

const token = 'channel-token-0123456789abcdef';
const RECORDS = 3000;

/**
 * A data-plane thread's own output channel: the run's output comes straight from each thread
 * over it, and it is guarded like the worker's server (token, version, size, what it accepts).
 */
describe('output channels of the data-plane threads', () => {
  let dir: string;
  let flow: LoadedFlow;
  let child: ChildProcess;
  let address: string;
  let threads: string[];
  let runs = 0;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'warmflow-channels-'));
    writeFileSync(
      path.join(dir, 'fns.mjs'),
      'export function double(r) { return { n: r.n * 2 }; }\n',
    );
    writeFileSync(
      path.join(dir, 'flow.yaml'),
      'name: channels\nstreams:\n  items: { type: Item, source: ./items.jsonl }\nfunctions:\n  - { name: double, module: ./fns.mjs, input: [Item], output: [Out] }\n',
    );
    const lines = Array.from({ length: RECORDS }, (_, n) => JSON.stringify({ n }));
    writeFileSync(path.join(dir, 'items.jsonl'), lines.join('\n') + '\n');
    flow = await loadFlow(path.join(dir, 'flow.yaml'));
    child = spawnWorker({
      resourceId: 'w-channels',
      nodeIds: flow.template.nodes.map((n) => n.id),
      cpuCores: 2,
      memoryGb: 0.5,
      token,
      warm: {
        functions: [{ node_id: 'double', module: path.join(dir, 'fns.mjs'), export: 'double' }],
        stores: {},
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
  });

  /** A spec running the whole flow on the worker, small batches (many `df.out` per thread). */
  function spec(execution: string) {
    const source = flow.template.nodes.find((n) => n.kind === 'source')!;
    return {
      ...buildDeploySpec({
        executionId: execution,
        flow,
        nodeIds: flow.template.nodes.map((n) => n.id),
        rprs: [],
        sources: [
          {
            node_id: source.id,
            stream: 'items',
            type: 'Item',
            input: path.join(dir, 'items.jsonl'),
            live: false,
            mode: 'file',
          },
        ],
        chunkBytes: 4096,
        stores: {},
      }),
      batch_size: 50,
    };
  }

  /** Opens an output channel named `name` to every thread. */
  async function openChannels(name: string): Promise<WorkerClient[]> {
    return Promise.all(threads.map((t) => WorkerClient.connect(t, token, { channel: name })));
  }

  it('lists one channel per thread, and a client asked to opens them', async () => {
    expect(threads).toHaveLength(2);
    const client = await WorkerClient.connect(address, token, { channels: true });
    expect(client.hello?.threads).toEqual(threads);
    expect(client.outChannel).toMatch(/^[0-9a-f]{32}$/);
    client.close();
    // A client not asking for them (a control connection) opens none.
    const control = await WorkerClient.connect(address, token);
    expect(control.outChannel).toBeUndefined();
    control.close();
  });

  it('sends a run’s output over the threads’ channels, acknowledged there, nothing through the worker’s connection', async () => {
    const main = await WorkerClient.connect(address, token);
    const channels = await openChannels('mine');
    const execution = `e${++runs}`;
    let onMain = 0;
    main.on('message', ({ message }) => {
      if (message.type === 'df.out') onMain++;
    });
    const values: number[] = [];
    channels.forEach((channel, i) =>
      channel.on('message', ({ message, payload }: Frame<EventMessage>) => {
        if (message.type !== 'df.out') return;
        expect(message.thread).toBe(i);
        expect(message.execution_id).toBe(execution);
        for (const line of payload!.toString('utf8').split('\n'))
          if (line !== '') values.push((JSON.parse(line) as { n: number }).n);
        channel.send({ type: 'df.out-ack', thread: i, execution_id: execution });
      }),
    );
    const { message } = await main.request({ type: 'df.run', spec: spec(execution), out: 'mine' });
    expect(message.result.threads).toBe(2);
    expect(onMain).toBe(0);
    expect(values.sort((a, b) => a - b)).toEqual(Array.from({ length: RECORDS }, (_, n) => n * 2));
    for (const channel of [...channels, main]) channel.close();
  });

  it('fails the run when its channel closes mid-run, and refuses a run naming a channel that is not open', async () => {
    const main = await WorkerClient.connect(address, token);
    const channels = await openChannels('closing');
    // Nothing is acknowledged: the threads stop at their credits, then a channel goes away.
    const first = new Promise<void>((resolve) =>
      channels[0].once('message', () => {
        resolve();
      }),
    );
    const run = main.request({ type: 'df.run', spec: spec(`e${++runs}`), out: 'closing' });
    await first;
    channels[0].close();
    await expect(run).rejects.toThrow(/output channel of thread 0 closed/);
    channels[1].close();
    await expect(
      main.request({ type: 'df.run', spec: spec(`e${++runs}`), out: 'nobody' }),
    ).rejects.toThrow(/no output channel "nobody"/);
    main.close();
  });

  it('refuses a wrong token, a nameless or taken channel, anything but acknowledgements, and a large frame before hello', async () => {
    const thread = threads[0];
    await expect(
      WorkerClient.connect(thread, 'wrong-token-0123456789abcdef', { channel: 'x' }),
    ).rejects.toThrow(/authentication failed/);
    await expect(WorkerClient.connect(thread, token)).rejects.toThrow(/names its channel/);
    const taken = await WorkerClient.connect(thread, token, { channel: 'taken' });
    await expect(WorkerClient.connect(thread, token, { channel: 'taken' })).rejects.toThrow(
      /already open/,
    );
    // After hello, a request of the worker's own (or a run) ends the connection.
    const closed = new Promise((resolve) => taken.once('close', resolve));
    await expect(taken.request({ type: 'ping' })).rejects.toThrow();
    await closed;
    // A stranger announcing a 1 MiB frame is cut off before sending it.
    const [host, port] = [
      thread.slice(0, thread.lastIndexOf(':')),
      thread.slice(thread.lastIndexOf(':') + 1),
    ];
    const socket = net.connect({ host, port: Number(port) });
    await new Promise((resolve) => socket.once('connect', resolve));
    const prefix = Buffer.alloc(9);
    prefix.writeUInt32BE(1024 * 1024, 0);
    prefix.writeUInt8(1, 4);
    prefix.writeUInt32BE(100, 5);
    socket.write(prefix);
    await new Promise((resolve) => socket.once('close', resolve));
    // The worker still serves runs afterwards.
    const client = await WorkerClient.connect(address, token, { channels: true });
    client.close();
  });

  it.skipIf(!existsSync('/proc/self/task'))(
    'keeps the threads awake on a wake-up, for at most its bound, and refuses one past the bound',
    async () => {
      const client = await WorkerClient.connect(address, token, { channels: true });
      const idle = (during?: () => Promise<void>): Promise<number> =>
        runnableOver(child.pid!, 100, during);
      // Woken again and again for 5 ms, every ~4 ms for ~40 ms (each wake-up extends the
      // last), each thread polls its loop for those ~40 ms; before and after, the threads
      // sleep (a loop that went on polling would take the whole window). Measured as the time
      // the threads are runnable, which a loaded machine does not cut short as it does their
      // CPU time: polling, 103–342 ms over the window here, with or without three busy loops
      // beside; threads that ignore wake-ups, 5–36 ms.
      const asleep = await idle();
      const awake = await idle(async () => {
        for (const until = performance.now() + 40; performance.now() < until;) {
          client.wake(5);
          await new Promise((resolve) => setTimeout(resolve, 4));
        }
      });
      const after = await idle();
      expect(awake).toBeGreaterThan(50);
      expect(asleep).toBeLessThan(awake / 4);
      expect(after).toBeLessThan(awake / 4);
      client.close();
      // Past the bound (the wire check): the channel is closed, the worker goes on.
      const [channel] = await openChannels('greedy');
      const closed = new Promise((resolve) => channel.once('close', resolve));
      channel.send({ type: 'df.wake', ms: 60_000 });
      await closed;
      expect(await idle()).toBeLessThan(awake / 4);
      const again = await WorkerClient.connect(address, token, { channels: true });
      again.close();
    },
  );
});

describe('the orchestrator’s end of an output channel', () => {
  it('takes only output from a channel, and acknowledges a batch on the channel it came in on', async () => {
    // A worker whose one thread channel is played by this test: it sends a batch naming
    // another thread, then something that is not output.
    const fake = net.createServer((socket) => {
      const decoder = new FrameDecoder({ parse: parseToWorker });
      socket.on('data', (chunk) => {
        for (const { message } of decoder.push(chunk)) {
          if (message.type !== 'hello') continue;
          socket.write(
            encodeFrameBuffer({
              type: 'hello',
              re: message.id,
              ok: true,
              resource_id: 'r',
              node_ids: [],
              pid: 1,
              version: PROTOCOL_VERSION,
            }),
          );
          setTimeout(() => {
            socket.write(
              encodeFrameBuffer(
                { type: 'df.out', node: 'n', data_type: 'T', count: 1, thread: 7 },
                Buffer.from('{}\n'),
              ),
            );
            socket.write(encodeFrameBuffer({ type: 'df.deployed', execution_id: 'forged' }));
          }, 100);
        }
      });
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    const port = (fake.address() as net.AddressInfo).port;
    const server = new WorkerServer({
      token,
      resourceId: 'r',
      nodeIds: [],
      log: { info: () => {}, warn: () => {}, error: () => {} },
      dataPlane: {
        handle: () => {},
        openChannels: () => Promise.resolve([`127.0.0.1:${port}`]),
        close: () => Promise.resolve(),
      },
    });
    try {
      const client = await WorkerClient.connect(await server.listen(), token, { channels: true });
      const seen: EventMessage[] = [];
      client.on('message', ({ message }) => seen.push(message));
      const closed = new Promise<Error | undefined>((resolve) => client.once('close', resolve));
      // The forged notice closes the connection at once (5 s: it never came).
      const error = await Promise.race([
        closed,
        new Promise<string>((resolve) => setTimeout(() => resolve('still open after 5 s'), 5000)),
      ]);
      expect(seen).toEqual([expect.objectContaining({ type: 'df.out', thread: 0 })]);
      expect(error).toMatchObject({
        code: 'E_PROTOCOL',
        message: expect.stringMatching(/output channel of thread 0 sent "df.deployed"/),
      });
    } finally {
      await server.close();
      fake.close();
    }
  });
});
