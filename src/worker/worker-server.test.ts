import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerClient } from './client.js';
import type { DataPlane } from './dataplane-contract.js';
import { FramedSocket } from './framed-socket.js';
import { PROTOCOL_VERSION, type Frame } from './protocol.js';
import { WorkerServer } from './worker-server.js';

const silent = { info: () => {}, warn: () => {}, error: () => {} };

/** A data plane that echoes requests with their payload, so the test sees bytes pass untouched. */
const echo: DataPlane = {
  handle(message, payload, connection) {
    if (message.type === 'boom') throw new Error('exploded');
    connection.reply(message, { echoed: message.type }, payload);
  },
  close: async () => {},
};

function rawConnect(address: string): Promise<FramedSocket> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port: Number(port) }, () =>
      resolve(new FramedSocket(socket)),
    );
    socket.once('error', reject);
  });
}

function closed(framed: FramedSocket): Promise<Frame[]> {
  const frames: Frame[] = [];
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
    const { message, payload: back } = await client.request({ type: 'batch' }, payload);
    expect(message.echoed).toBe('batch');
    expect(back).toEqual(payload);
    await expect(client.request({ type: 'boom' })).rejects.toThrow(/exploded/);
    const health = await client.request({ type: 'health' });
    expect(health.message.status).toBe('ready');
    client.close();
  });

  it('refuses a wrong token', async () => {
    await expect(WorkerClient.connect(address, 'wrong')).rejects.toThrow(/authentication failed/);
  });

  it('drops a connection whose first message is not hello, without serving it', async () => {
    const framed = await rawConnect(address);
    const done = closed(framed);
    framed.send({ type: 'ping', id: 1 });
    const frames = await done;
    expect(frames.every((f) => f.message.ok === false)).toBe(true);
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
    expect(frames[0]?.message.error?.code).toBe('E_AUTH');
  });

  it('pushes heartbeats to a watching connection', async () => {
    const client = await WorkerClient.connect(address, 'right');
    const beat = new Promise<Frame>((resolve) => client.once('message', resolve));
    await client.request({ type: 'watch', interval_ms: 50 });
    const { message } = await beat;
    expect(message.type).toBe('heartbeat');
    expect((message.usage as { rss_bytes: number }).rss_bytes).toBeGreaterThan(0);
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
    await expect(client.request({ type: 'never' }, undefined, { timeoutMs: 50 })).rejects.toThrow(
      /did not answer "never" within 50 ms/,
    );
    await client.ping(); // the connection stays usable
    client.close();
    await server.close();
  });
});
