import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { WarmflowError } from '../../errors.js';
import { toWireError } from '../../worker/protocol.js';
import { sendControl } from './control-client.js';
import type { ControlRequest, ControlResponse } from './control-protocol.js';

/** The connection a request came on: what is held for it is given back when it closes. */
export interface ControlPeer {
  onClose(callback: () => void): void;
  /** Whether the connection has closed (an answer being prepared goes nowhere). */
  readonly closed: boolean;
}

/** Answers one control request. */
export type ControlHandler = (
  request: ControlRequest,
  peer: ControlPeer,
) => Promise<Record<string, unknown>>;

/**
 * Listens on the control socket. Refuses to start when another live owner answers on it; a
 * socket file left by a crashed owner is removed.
 */
export async function listenControl(
  socketPath: string,
  handler: ControlHandler,
): Promise<net.Server> {
  if (existsSync(socketPath)) {
    const alive = await sendControl({ op: 'ping' }, { socketPath, timeoutMs: 1_000 }).then(
      () => true,
      () => false,
    );
    if (alive) {
      throw new WarmflowError(
        'E_ALREADY_SERVING',
        `another warmflow serve owns the pools of this home (${socketPath})`,
        {
          hint: 'stop it first, or use another WARMFLOW_HOME',
        },
      );
    }
    unlinkSync(socketPath);
  }
  const server = net.createServer((socket) => {
    let buffered = '';
    const closing: Array<() => void> = [];
    let closed = false;
    const peer: ControlPeer = {
      onClose: (callback) => closing.push(callback),
      get closed() {
        return closed;
      },
    };
    socket.setEncoding('utf8');
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      for (const callback of closing.splice(0)) callback();
    });
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        void answer(line, peer).then((response) => {
          if (!socket.destroyed) socket.write(JSON.stringify(response) + '\n');
        });
      }
    });
  });
  const answer = async (line: string, peer: ControlPeer): Promise<ControlResponse> => {
    try {
      const request = JSON.parse(line) as ControlRequest;
      return { ok: true, ...(await handler(request, peer)) };
    } catch (error) {
      return { ok: false, error: toWireError(error) };
    }
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  chmodSync(socketPath, 0o600);
  return server;
}
