import type { NatsConnection } from '@nats-io/transport-node';
import type { JetStreamManager } from '@nats-io/jetstream';
import { WarmflowError } from '../../errors.js';
import { hideSecret } from '../live/live-url.js';

/** A connection with its JetStream manager; the driver is imported only when a NATS URL is used. */
export interface NatsHandle {
  nc: NatsConnection;
  jsm: JetStreamManager;
  jetstream: typeof import('@nats-io/jetstream');
}

/**
 * Connects to `server` (`nats://[user:pass@]HOST:PORT`) and checks JetStream is enabled,
 * so a wrong URL or a server without `-js` fails here with what to do.
 */
export async function connectNats(server: string): Promise<NatsHandle> {
  const [{ connect }, jetstream] = await Promise.all([
    import('@nats-io/transport-node'),
    import('@nats-io/jetstream'),
  ]);
  let nc: NatsConnection;
  try {
    nc = await connect({ servers: server, timeout: 5000, maxReconnectAttempts: 10 });
  } catch (cause) {
    throw new WarmflowError(
      'E_SOURCE_UNREACHABLE',
      `cannot connect to NATS at ${hideSecret(server)}: ${(cause as Error).message}`,
      { cause, hint: 'is nats-server running (with -js for JetStream) and the host:port right?' },
    );
  }
  try {
    const jsm = await jetstream.jetstreamManager(nc, { timeout: 5000 });
    return { nc, jsm, jetstream };
  } catch (cause) {
    await nc.close();
    throw new WarmflowError(
      'E_SOURCE_UNREACHABLE',
      `NATS at ${hideSecret(server)} has no JetStream: ${(cause as Error).message}`,
      { cause, hint: 'start nats-server with -js' },
    );
  }
}

/** Fails with a clear error when `stream` does not exist on the server. */
export async function requireStream(handle: NatsHandle, stream: string, label: string) {
  try {
    return await handle.jsm.streams.info(stream);
  } catch (cause) {
    throw new WarmflowError(
      'E_SOURCE_NOT_FOUND',
      `${label}: JetStream stream "${stream}" not found (${(cause as Error).message})`,
      {
        cause,
        hint: `create it first, e.g. \`nats stream add ${stream} --subjects '${stream.toLowerCase()}.>'\``,
      },
    );
  }
}
