import net from 'node:net';
import { WarmflowError } from '../../errors.js';
import { fromWireError } from '../../worker/protocol.js';
import {
  controlSocketPath,
  type ControlRequest,
  type ControlResponse,
} from './control-protocol.js';

/**
 * Sends one request to the `warmflow serve` owning the pools and resolves with its answer.
 * Rejects with `E_NO_SERVE` (and a hint to start it) when nothing listens.
 */
export function sendControl(
  request: ControlRequest,
  options: { socketPath?: string; timeoutMs?: number } = {},
): Promise<Record<string, unknown>> {
  const socketPath = options.socketPath ?? controlSocketPath();
  const timeoutMs = options.timeoutMs ?? 300_000;
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let buffered = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new WarmflowError(
          'E_CONTROL_TIMEOUT',
          `warmflow serve did not answer "${request.op}" within ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(JSON.stringify(request) + '\n'));
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const newline = buffered.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      socket.end();
      const response = JSON.parse(buffered.slice(0, newline)) as ControlResponse;
      if (response.ok) resolve(response);
      else reject(fromWireError(response.error, 'warmflow serve'));
    });
    socket.on('error', (cause: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        cause.code === 'ENOENT' || cause.code === 'ECONNREFUSED'
          ? new WarmflowError('E_NO_SERVE', 'no warmflow serve owns pools in this WARMFLOW_HOME', {
              cause,
              hint: 'start one with `warmflow serve --no-http` (it keeps the pools alive), then retry',
            })
          : new WarmflowError('E_CONTROL', `control socket ${socketPath}: ${cause.message}`, {
              cause,
            }),
      );
    });
  });
}
