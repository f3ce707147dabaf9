import net from 'node:net';
import { WarmflowError } from '../../errors.js';
import { fromWireError } from '../../worker/protocol.js';
import {
  controlSocketPath,
  type ControlRequest,
  type ControlResponse,
} from './control-protocol.js';

/**
 * A connection to the `warmflow serve` owning the pools: requests answered one after the other.
 * It stays open for as long as its caller holds something from the owner (a claim is released
 * by the owner when the connection that took it closes).
 */
export class ControlConnection {
  readonly #socket: net.Socket;
  #buffered = '';
  #waiting: Array<{
    resolve: (response: ControlResponse) => void;
    reject: (error: Error) => void;
  }> = [];
  #closed: Error | undefined;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.#buffered += chunk;
      let newline: number;
      while ((newline = this.#buffered.indexOf('\n')) >= 0) {
        const line = this.#buffered.slice(0, newline);
        this.#buffered = this.#buffered.slice(newline + 1);
        this.#waiting.shift()?.resolve(JSON.parse(line) as ControlResponse);
      }
    });
    const fail = (error: Error) => {
      this.#closed ??= error;
      for (const waiter of this.#waiting.splice(0)) waiter.reject(this.#closed);
    };
    socket.on('error', fail);
    socket.on('close', () =>
      fail(new WarmflowError('E_CONTROL', 'warmflow serve closed the control connection')),
    );
  }

  /**
   * Connects to the owner's control socket. Rejects with `E_NO_SERVE` (and a hint to start it)
   * when nothing listens.
   */
  static open(socketPath = controlSocketPath()): Promise<ControlConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(socketPath);
      const refused = (cause: NodeJS.ErrnoException) =>
        reject(
          cause.code === 'ENOENT' || cause.code === 'ECONNREFUSED'
            ? new WarmflowError(
                'E_NO_SERVE',
                'no warmflow serve owns pools in this WARMFLOW_HOME',
                {
                  cause,
                  hint: 'start one with `warmflow serve --no-http` (it keeps the pools alive), then retry',
                },
              )
            : new WarmflowError('E_CONTROL', `control socket ${socketPath}: ${cause.message}`, {
                cause,
              }),
        );
      socket.once('error', refused);
      socket.once('connect', () => {
        socket.off('error', refused);
        resolve(new ControlConnection(socket));
      });
    });
  }

  /** Sends one request; resolves with the answer's fields, rejects with the owner's error. */
  async request(request: ControlRequest, timeoutMs = 300_000): Promise<Record<string, unknown>> {
    if (this.#closed !== undefined) throw this.#closed;
    let timer: NodeJS.Timeout | undefined;
    const answered = new Promise<ControlResponse>((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      timer = setTimeout(() => {
        reject(
          new WarmflowError(
            'E_CONTROL_TIMEOUT',
            `warmflow serve did not answer "${request.op}" within ${timeoutMs} ms`,
          ),
        );
        this.close();
      }, timeoutMs);
    });
    this.#socket.write(JSON.stringify(request) + '\n');
    try {
      const response = await answered;
      if (!response.ok) throw fromWireError(response.error, 'warmflow serve');
      return response;
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.#socket.end();
    this.#socket.destroy();
  }
}

/**
 * Sends one request to the `warmflow serve` owning the pools and resolves with its answer.
 * Rejects with `E_NO_SERVE` (and a hint to start it) when nothing listens.
 */
export async function sendControl(
  request: ControlRequest,
  options: { socketPath?: string; timeoutMs?: number } = {},
): Promise<Record<string, unknown>> {
  const connection = await ControlConnection.open(options.socketPath ?? controlSocketPath());
  try {
    return await connection.request(request, options.timeoutMs ?? 300_000);
  } finally {
    connection.close();
  }
}
