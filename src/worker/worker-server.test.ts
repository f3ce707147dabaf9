import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WorkerClient } from './client.js';
import type { DataPlane } from './dataplane-contract.js';
import { FramedSocket } from './framed-socket.js';
import {
  PROTOCOL_VERSION,
  encodeFrameBuffer,
  type EventMessage,
  type Frame,
  type FromWorker,
  type WireMessage,
} from './protocol.js';
import { parseFromWorker } from './wire-messages.js';
import { WorkerServer } from './worker-server.js';

const silent = { info: () => {}, warn: () => {}, error: () => {} };

/**
 * A data plane that sends every pushed batch back as output with its payload (so the test sees
 * bytes pass untouched), fails every run and commits at once.
 */
const echo: DataPlane = {
  handle(message, payload, connection) {
    if (message.type === 'df.run') throw new Error('exploded');
    if (message.type === 'df.commit') connection.reply(message, { committed: true });
    if (message.type === 'df.batch')
      connection.send(
        { type: 'df.out', node: message.source, data_type: 'T', count: message.seq, thread: 0 },
        payload,
      );
  },
  close: async () => {},
};

function rawConnect(address: string): Promise<FramedSocket<FromWorker>> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port: Number(port) }, () =>
      resolve(new FramedSocket(socket, { parse: parseFromWorker })),
    );
    socket.once('error', reject);
  });
}

function closed(framed: FramedSocket<FromWorker>): Promise<Array<Frame<FromWorker>>> {
  const frames: Array<Frame<FromWorker>> = [];
  framed.on('frame', (f) => frames.push(f));
  return new Promise((resolve) => framed.on('close', () => resolve(frames)));
}

describe('WorkerServer', () => {
  let server: WorkerServer;
  let address: string;
  beforeAll(async () => {
    server = new WorkerServer({
      token: 'right',
      resourceId: 'r1',
      nodeIds: ['a'],
      dataPlane: echo,
      log: silent,
      authTimeoutMs: 300,
    });
    address = await server.listen();
  });
  afterAll(() => server.close());

  it('answers an authenticated client and passes payloads through the data plane', async () => {
    const client = await WorkerClient.connect(address, 'right');
    expect(client.hello?.resource_id).toBe('r1');
    await client.ping();
    const payload = Buffer.from([1, 2, 3, 250]);
    const out = new Promise<Frame<EventMessage>>((resolve) => client.once('message', resolve));
    client.send({ type: 'df.batch', source: 'src', seq: 7 }, payload);
    const { message, payload: back } = await out;
    expect(message).toMatchObject({ type: 'df.out', node: 'src', count: 7 });
    expect(back).toEqual(payload);
    await expect(client.request({ type: 'df.commit', counts: {} })).resolves.toMatchObject({
      message: { committed: true },
    });
    const hungUp = new Promise((resolve) => client.once('close', resolve));
    await expect(client.request({ type: 'df.run', spec: undefined as never })).rejects.toThrow(
      'malformed "df.run" request: field "spec" holds nothing, expected an object',
    );
    await hungUp;
    expect(client.closed).toBe(true);
  });

  it('answers a data-plane failure with its error and keeps serving', async () => {
    const client = await WorkerClient.connect(address, 'right');
    const spec = {
      execution_id: 'x',
      template: { nodes: [] },
      node_ids: [],
      stores: {},
      type_keys: {},
      type_stores: {},
      state_stores: {},
      seeds: [],
      sources: [],
    } as unknown as Parameters<typeof client.request<'df.run'>>[0]['spec'];
    await expect(client.request({ type: 'df.run', spec })).rejects.toThrow(/exploded/);
    const health = await client.request({ type: 'health' });
    expect(health.message.status).toBe('ready');
    client.close();
  });

  it('drops a connection that sends a malformed message after authenticating', async () => {
    const warnings: string[] = [];
    const server = new WorkerServer({
      token: 'right',
      resourceId: 'r3',
      nodeIds: [],
      dataPlane: echo,
      log: { ...silent, warn: (_fields, message) => warnings.push(String(message)) },
    });
    const address = await server.listen();
    try {
      const framed = await rawConnect(address);
      const done = closed(framed);
      framed.send({ type: 'hello', id: 1, version: PROTOCOL_VERSION, token: 'right' });
      framed.send({ type: 'df.out-ack', thread: 'zero' } as unknown as WireMessage);
      const frames = await done;
      expect(frames.map((f) => f.message.type)).toEqual(['hello']);
      // The worker's side of the connection closes after the orchestrator's.
      await vi.waitFor(() => expect(warnings).toEqual(['connection dropped: protocol error']));
    } finally {
      await server.close();
    }
  });

  it('refuses a wrong token', async () => {
    await expect(WorkerClient.connect(address, 'wrong')).rejects.toThrow(/authentication failed/);
  });

  it('drops a connection whose first message is not hello, without serving it', async () => {
    const framed = await rawConnect(address);
    const done = closed(framed);
    framed.send({ type: 'ping', id: 1 });
    const frames = await done;
    expect(frames.every((f) => 'ok' in f.message && !f.message.ok)).toBe(true);
  });

  it('drops a connection that stays silent past the auth timeout', async () => {
    const framed = await rawConnect(address);
    const frames = await closed(framed);
    expect(frames).toEqual([]);
  });

  it('drops a hello without token', async () => {
    const framed = await rawConnect(address);
    const done = closed(framed);
    framed.send({ type: 'hello', id: 1, version: PROTOCOL_VERSION });
    const frames = await done;
    const answer = frames[0]?.message;
    expect(answer !== undefined && 'error' in answer && answer.error.code).toBe('E_AUTH');
  });

  it('pushes heartbeats to a watching connection', async () => {
    const client = await WorkerClient.connect(address, 'right');
    const beat = new Promise<Frame>((resolve) => client.once('message', resolve));
    await client.request({ type: 'watch', interval_ms: 50 });
    const { message } = await beat;
    expect(message.type).toBe('heartbeat');
    expect(message.type === 'heartbeat' && message.usage.rss_bytes).toBeGreaterThan(0);
    expect(server.watchers).toBe(1);
    client.close();
  });
});

describe('WorkerClient.request timeout', () => {
  it('rejects a request the data plane never answers', async () => {
    const server = new WorkerServer({
      token: 'right',
      resourceId: 'r2',
      nodeIds: [],
      dataPlane: { handle: () => {}, close: async () => {} },
      log: silent,
    });
    const address = await server.listen();
    const client = await WorkerClient.connect(address, 'right');
    await expect(
      client.request({ type: 'df.commit', counts: {} }, undefined, { timeoutMs: 50 }),
    ).rejects.toThrow(/did not answer "df.commit" within 50 ms/);
    await client.ping(); // the connection stays usable
    client.close();
    await server.close();
  });
});

describe('WorkerClient: what a worker sends is validated', () => {
  /** A fake worker that answers hello with `answer` (its fields after type, re and ok). */
  async function fakeWorker(
    answer: Record<string, unknown>,
  ): Promise<{ address: string; close: () => void }> {
    const server = net.createServer((socket) => {
      socket.once('data', () =>
        socket.write(
          encodeFrameBuffer({
            type: 'hello',
            re: 1,
            ok: true,
            ...answer,
          } as unknown as WireMessage),
        ),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    return { address: `127.0.0.1:${port}`, close: () => server.close() };
  }

  it('refuses a hello answer with a field of the wrong type, naming it', async () => {
    const worker = await fakeWorker({ resource_id: 'r', node_ids: 'a,b', pid: 1, version: 1 });
    try {
      await expect(WorkerClient.connect(worker.address, 'right')).rejects.toThrow(
        'malformed answer to "hello": field "node_ids" holds "a,b", expected an array',
      );
    } finally {
      worker.close();
    }
  });

  it('accepts a well-formed one', async () => {
    const worker = await fakeWorker({ resource_id: 'r', node_ids: ['a'], pid: 1, version: 1 });
    try {
      const client = await WorkerClient.connect(worker.address, 'right');
      expect(client.hello).toEqual({ resource_id: 'r', node_ids: ['a'], pid: 1, version: 1 });
      client.close();
    } finally {
      worker.close();
    }
  });
});
