import { EventEmitter } from 'node:events';
import net from 'node:net';
import { WarmflowError } from '../errors.js';
import type { DataPlane, WorkerConnection, WorkerLog } from './dataplane-contract.js';
import type { WorkerGrant } from '../template/types.js';
import { checkDeploySpec } from './deploy-guard.js';
import { DeployTemplates } from './deploy-templates.js';
import { FramedSocket } from './framed-socket.js';
import { listenOn } from './listen.js';
import {
  DEFAULT_MAX_FRAME_BYTES,
  PRE_AUTH_MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  tokenMatches,
  type DataPlaneMessage,
  type Frame,
  type ToWorker,
  type WorkerHealth,
} from './protocol.js';
import { UsageMeter } from './usage-meter.js';
import { parseToWorker, requestOf } from './wire-messages.js';

/** Addresses the threads' output channels are opened beside (anything else is reachable from elsewhere). */
const LOOPBACK = new Set(['127.0.0.1', '::1']);

/** Configuration of a {@link WorkerServer}. */
export interface WorkerServerConfig {
  token: string;
  resourceId: string;
  nodeIds: string[];
  dataPlane: DataPlane;
  log: WorkerLog;
  /** Listen host (loopback unless a provider needs the worker reachable from elsewhere: pods), or `unix:/path`. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** A connection that has not said a valid `hello` by then is dropped. */
  authTimeoutMs?: number;
  /** What deployments may ask for (servers); absent: anything (the local CLI's own workers). */
  grant?: WorkerGrant;
}

/**
 * The worker's TCP server. Every connection must authenticate first (`hello` with the pool's token,
 * compared in constant time); anything else before that, a wrong token or silence past the auth
 * timeout drops the connection. Authenticated connections get `ping`, `health`, `usage`, `watch`
 * (heartbeats every `interval_ms`) and `shutdown` from the worker; every other message goes to the
 * data plane.
 *
 * Events: `shutdown` (reason) when asked to stop; `control` (count of connections watching
 * heartbeats, i.e. orchestrators) whenever it changes.
 */
export class WorkerServer extends EventEmitter<{ shutdown: [string]; control: [number] }> {
  readonly #config: Readonly<WorkerServerConfig>;
  readonly #server: net.Server;
  readonly #meter = new UsageMeter();
  /** Deploy templates of earlier runs: a `df.run` naming one carries only its run part. */
  readonly #templates = new DeployTemplates();
  readonly #connections = new Set<FramedSocket<ToWorker>>();
  /** The threads' output channels (`hello` answers list them). */
  #threads: string[] | undefined;
  #watchers = 0;
  #nextConnectionId = 1;
  readonly startedAt = Date.now();

  constructor(config: WorkerServerConfig) {
    super();
    this.#config = Object.freeze({ ...config });
    this.#server = net.createServer((socket) => this.#accept(socket));
  }

  /** Starts listening; resolves with `host:port` (or `unix:/path`). */
  async listen(): Promise<string> {
    // A confined worker has no network of its own: it listens on a socket file in its area.
    const host = this.#config.host ?? '127.0.0.1';
    const { address, bound } = await listenOn(this.#server, host, this.#config.port ?? 0);
    if (bound.startsWith('unix:') || LOOPBACK.has(bound)) await this.#openChannels(bound);
    return address;
  }

  /**
   * Opens the data plane's thread output channels on `host` (only beside a server on loopback
   * or a socket file: elsewhere, such as a pod's address, output goes through the server's
   * connections).
   */
  async #openChannels(host: string): Promise<void> {
    const plane = this.#config.dataPlane;
    if (plane.openChannels === undefined) return;
    this.#threads = await plane.openChannels(
      host,
      this.#config.token,
      { resource_id: this.#config.resourceId, node_ids: this.#config.nodeIds },
      this.#config.grant,
    );
  }

  /** Orchestrator connections currently watching heartbeats. */
  get watchers(): number {
    return this.#watchers;
  }

  /** Health as reported to `health` and on heartbeats. */
  health(): WorkerHealth {
    return {
      status: 'ready',
      resource_id: this.#config.resourceId,
      node_ids: this.#config.nodeIds,
      pid: process.pid,
      uptime_ms: Date.now() - this.startedAt,
      connections: this.#connections.size,
      usage: this.#meter.sample(),
      data_plane: this.#config.dataPlane.stats?.(),
    };
  }

  /** Stops accepting and closes every connection. */
  async close(): Promise<void> {
    for (const connection of this.#connections) connection.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(socket: net.Socket): void {
    const framed: FramedSocket<ToWorker> = new FramedSocket(socket, {
      parse: (header) => {
        try {
          return parseToWorker(header);
        } catch (error) {
          // A request gets the reason before the connection is dropped.
          const request = requestOf(header);
          if (request !== undefined) framed.fail(request, error);
          throw error;
        }
      },
      maxFrameBytes: PRE_AUTH_MAX_FRAME_BYTES,
    });
    const id = this.#nextConnectionId++;
    const closeListeners: Array<() => void> = [];
    let authenticated = false;
    let heartbeat: NodeJS.Timeout | undefined;
    this.#connections.add(framed);
    const authTimer = setTimeout(() => {
      if (!authenticated)
        framed.destroy(new WarmflowError('E_AUTH', 'no hello before the auth timeout'));
    }, this.#config.authTimeoutMs ?? 5_000);
    const connection: WorkerConnection = {
      id,
      get remoteAddress() {
        return framed.remoteAddress;
      },
      get closed() {
        return framed.closed;
      },
      get writableNeedDrain() {
        return framed.writableNeedDrain;
      },
      send: (message, payload) => framed.send(message, payload),
      // An answer to a request whose connection has closed has nobody to reach: drop it
      // rather than throw inside whatever noticed the close (that crashed the worker).
      reply: (request, body, payload) =>
        framed.closed ? false : framed.reply(request, body, payload),
      fail: (request, error) => (framed.closed ? false : framed.fail(request, error)),
      drain: () => framed.drain(),
      onClose: (listener) => closeListeners.push(listener),
    };
    framed.on('close', (error) => {
      clearTimeout(authTimer);
      if (error instanceof WarmflowError && error.code === 'E_PROTOCOL')
        this.#config.log.warn(
          { remote: framed.remoteAddress, error: error.message },
          'connection dropped: protocol error',
        );
      this.#connections.delete(framed);
      if (heartbeat !== undefined) {
        clearInterval(heartbeat);
        this.#watchers--;
        this.emit('control', this.#watchers);
      }
      for (const listener of closeListeners) listener();
    });
    framed.on('frame', (frame: Frame<ToWorker>) => {
      const { message, payload } = frame;
      if (!authenticated) {
        // The only thing a stranger may say is a valid hello; anything else ends the connection
        // without an answer that could help guess.
        if (message.type !== 'hello' || !tokenMatches(message.token, this.#config.token)) {
          this.#config.log.warn(
            { remote: framed.remoteAddress, type: message.type },
            'connection refused: not authenticated',
          );
          if ('id' in message)
            framed.fail(message, new WarmflowError('E_AUTH', 'authentication failed'));
          framed.end();
          framed.destroy();
          return;
        }
        if (message.version !== PROTOCOL_VERSION) {
          framed.fail(
            message,
            new WarmflowError(
              'E_PROTOCOL_VERSION',
              `worker speaks protocol ${PROTOCOL_VERSION}, not ${String(message.version)}`,
            ),
          );
          framed.end();
          return;
        }
        authenticated = true;
        clearTimeout(authTimer);
        framed.maxFrameBytes = DEFAULT_MAX_FRAME_BYTES;
        framed.reply(message, {
          resource_id: this.#config.resourceId,
          node_ids: this.#config.nodeIds,
          pid: process.pid,
          version: PROTOCOL_VERSION,
          ...(this.#threads !== undefined ? { threads: this.#threads } : {}),
        });
        return;
      }
      switch (message.type) {
        case 'hello':
          framed.fail(message, new WarmflowError('E_PROTOCOL', 'already authenticated'));
          return;
        case 'ping':
          framed.reply(message, {});
          return;
        case 'health':
          framed.reply(message, this.health());
          return;
        case 'usage':
          framed.reply(message, { usage: this.#meter.sample() });
          return;
        case 'watch': {
          const interval = Math.max(50, message.interval_ms ?? 1000);
          if (heartbeat === undefined) {
            this.#watchers++;
            this.emit('control', this.#watchers);
          } else clearInterval(heartbeat);
          heartbeat = setInterval(() => {
            if (!framed.closed) framed.send({ type: 'heartbeat', ...this.health() });
          }, interval);
          heartbeat.unref();
          framed.reply(message, { interval_ms: interval });
          return;
        }
        case 'shutdown':
          framed.reply(message, {});
          this.emit('shutdown', message.reason ?? 'shutdown requested');
          return;
        default:
          this.#dispatch(connection, message, payload);
      }
    });
  }

  #dispatch(
    connection: WorkerConnection,
    message: Extract<ToWorker, { type: `df.${string}` }>,
    payload: Buffer | undefined,
  ): void {
    const fail = (error: unknown) => {
      if ('id' in message && !connection.closed) connection.fail(message, error);
      else
        this.#config.log.error({ type: message.type, error: String(error) }, 'data plane failed');
    };
    try {
      let deploy: DataPlaneMessage;
      if (message.type === 'df.template') {
        // Held like the template part of a whole spec, and checked the same way: a part that
        // does not hash to its id is never kept. The grant is checked when a run names it.
        if (!this.#templates.hold(message.template_id, message.template))
          throw new WarmflowError(
            'E_DEPLOY',
            `deploy template ${message.template_id} does not hash to its id`,
          );
        deploy = message;
      } else if (message.type === 'df.run') {
        const spec = this.#templates.resolve(message.spec);
        if (this.#config.grant !== undefined)
          checkDeploySpec(spec, this.#config.grant, this.#config.nodeIds);
        this.#templates.keep(spec);
        deploy = { ...message, spec };
      } else deploy = message;
      const result = this.#config.dataPlane.handle(deploy, payload, connection);
      if (result instanceof Promise) result.catch(fail);
    } catch (error) {
      fail(error);
    }
  }
}
