import { WorkerServer } from '../../src/worker/worker-server.js';

const silent = { info: () => {}, warn: () => {}, error: () => {} };

/**
 * A real worker server (real TCP, real token check and heartbeats) standing in for the
 * worker inside every fake pod: the fake API server gives pods the IP 127.0.0.1 and the
 * provider is told this port, so the provider's link to "the pod" is a real connection.
 */
export async function startInProcessWorker(
  token: string,
): Promise<{ port: number; server: WorkerServer; close(): Promise<void> }> {
  const server = new WorkerServer({
    token,
    resourceId: 'in-process',
    nodeIds: [],
    dataPlane: { handle: () => {}, close: async () => {} },
    log: silent,
  });
  const address = await server.listen();
  return {
    port: Number(address.slice(address.lastIndexOf(':') + 1)),
    server,
    close: () => server.close(),
  };
}
