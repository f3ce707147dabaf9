import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FramedSocket } from './framed-socket.js';
import { parseFromWorker } from './wire-messages.js';

describe('FramedSocket.drain', () => {
  const cleanup: Array<() => void> = [];
  afterEach(() => {
    for (const close of cleanup.splice(0)) close();
  });

  it('leaves no listener behind after many waits for a full socket to drain', async () => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as net.AddressInfo;
    const accepted = once(server, 'connection');
    const client = net.connect(port, '127.0.0.1');
    await once(client, 'connect');
    const [peer] = (await accepted) as [net.Socket];
    peer.pause();
    cleanup.push(() => {
      client.destroy();
      peer.destroy();
      server.close();
    });
    const framed = new FramedSocket(client, { parse: parseFromWorker });
    const closeListeners = client.listenerCount('close');
    const payload = Buffer.alloc(256 * 1024, 1);
    const message = { type: 'df.out', run: 'r', node: 'n', count: 1 } as never;
    for (let wait = 0; wait < 25; wait++) {
      while (framed.send(message, payload));
      expect(framed.writableNeedDrain).toBe(true);
      const drained = framed.drain();
      peer.resume();
      await drained;
      peer.pause();
    }
    expect(client.listenerCount('close')).toBe(closeListeners);
    expect(client.listenerCount('drain')).toBe(0);
  });
});
