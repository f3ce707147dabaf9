import net from 'node:net';

/**
 * Services the integration suites use, with where to find them. Override with
 * WARMFLOW_TEST_REDIS_URL / WARMFLOW_TEST_POSTGRES_URL / WARMFLOW_TEST_NATS_URL.
 */
export const SERVICES = {
  redis: {
    url: process.env.WARMFLOW_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0',
    start: "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save ''",
  },
  postgres: {
    url: process.env.WARMFLOW_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    start: 'pg_ctlcluster <version> main start',
  },
  nats: {
    url: process.env.WARMFLOW_TEST_NATS_URL ?? 'nats://127.0.0.1:4222',
    start: 'nats-server -js',
  },
} as const;

export type ServiceName = keyof typeof SERVICES;

function reachable(url: string, timeoutMs = 1000): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Whether a suite that needs `name` should run. Under CI=true an unreachable service
 * throws (a failure, not a skip); elsewhere it returns false and says what to start.
 *
 * ```ts
 * const hasRedis = await serviceAvailable('redis');
 * describe.skipIf(!hasRedis)('redis store', () => { ... });
 * ```
 */
export async function serviceAvailable(name: ServiceName): Promise<boolean> {
  const service = SERVICES[name];
  if (await reachable(service.url)) return true;
  const message = `${name} is not reachable at ${service.url}; start it (e.g. \`${service.start}\`) to run these tests`;
  if (process.env.CI === 'true') throw new Error(`CI=true: ${message}`);
  console.warn(`skipping: ${message}`);
  return false;
}
