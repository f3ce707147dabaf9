import { mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/**
 * Unix sockets in tenants' areas that lead to the admin's network store instances. A confined
 * worker has no network of its own (its own network namespace); the only stores it can reach are
 * the ones whose socket the server put in its area — the instances granted to its tenant —
 * and never a host or port it names itself.
 */
export class StoreForwarders {
  readonly #servers = new Map<string, net.Server>();

  /**
   * The socket (created on first use) in `dir` leading to `url`'s host and port. Postgres clients
   * find a server's socket by folder and port (`<dir>/.s.PGSQL.<port>`), so that is its name.
   */
  socketFor(dir: string, url: string): string {
    const parsed = new URL(url);
    const postgres = parsed.protocol.startsWith('postgres');
    const port = Number(parsed.port || (postgres ? 5432 : 6379));
    const host = parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
    const socket = path.join(dir, postgres ? `.s.PGSQL.${port}` : 'redis.sock');
    if (this.#servers.has(socket)) return socket;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    rmSync(socket, { force: true });
    const server = net.createServer((inbound) => {
      const outbound = net.connect({ host, port });
      // Whatever fails on the way out only closes the tenant's connection: no address, no reason.
      outbound.on('error', () => inbound.destroy());
      inbound.on('error', () => outbound.destroy());
      inbound.pipe(outbound).pipe(inbound);
    });
    server.listen(socket);
    server.unref();
    this.#servers.set(socket, server);
    return socket;
  }

  /** Stops every forwarder and removes its socket. */
  async close(): Promise<void> {
    await Promise.all(
      [...this.#servers].map(
        ([socket, server]) =>
          new Promise<void>((resolve) =>
            server.close(() => {
              rmSync(socket, { force: true });
              resolve();
            }),
          ),
      ),
    );
    this.#servers.clear();
  }
}
