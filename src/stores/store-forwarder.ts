import { mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { errorFields, writeLog } from '../json-log.js';
import { postgresTarget, provisionPostgresRole, relayPostgres } from './relay/postgres-relay.js';
import { provisionRedisUser, redisTarget, relayRedis } from './relay/redis-relay.js';
import { tenantCredentials, type TenantCredentials } from './relay/tenant-credentials.js';

/** A catalogue instance as a forwarder needs it. */
export interface ForwardedInstance {
  /** The instance's name in the catalogue. */
  name: string;
  kind: 'redis' | 'postgres';
  /** The admin's URL: where the instance is and how the server logs in to it. */
  url: string;
}

/**
 * Unix sockets in tenants' areas that lead to the admin's network store instances. A confined
 * worker has no network of its own (its own network namespace); the only stores it can reach are
 * the ones whose socket the server put in its area — the instances granted to its tenant —
 * and never a host or port it names itself.
 *
 * A socket is not a blind pipe: behind it the server logs in as the tenant's own user of the
 * instance — a Redis ACL user limited to the keys `wf:<tenant>:*`, a Postgres role that owns the
 * schema `wf_<tenant>` and nothing else — created or updated on first use, with a password only
 * the server knows. What the tenant's code sends cannot change that: the Redis relay refuses
 * AUTH, HELLO … AUTH, RESET, SELECT and the administration commands before Redis sees them; the
 * Postgres relay rewrites the startup message to the tenant's role and the catalogue's database
 * and refuses replication.
 */
export class StoreForwarders {
  readonly #servers = new Map<string, net.Server>();
  readonly #connections = new Set<net.Socket>();
  /** Tenant logins made on the instances (instance, tenant) → credentials once provisioned. */
  readonly #logins = new Map<string, Promise<TenantCredentials>>();

  /**
   * The socket (created on first use) in `dir` leading to `instance` as the tenant whose
   * namespace is `namespace`. Postgres clients find a server's socket by folder and port
   * (`<dir>/.s.PGSQL.<port>`), so that is its name.
   */
  socketFor(dir: string, instance: ForwardedInstance, namespace: string): string {
    const postgres = instance.kind === 'postgres';
    const socket = path.join(
      dir,
      postgres ? `.s.PGSQL.${postgresTarget(instance.url).port}` : 'redis.sock',
    );
    if (this.#servers.has(socket)) return socket;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    rmSync(socket, { force: true });
    const ready = () => this.#login(instance, namespace);
    const server = net.createServer((inbound) => {
      this.#connections.add(inbound);
      inbound.once('close', () => this.#connections.delete(inbound));
      if (postgres) relayPostgres(inbound, postgresTarget(instance.url), ready);
      else relayRedis(inbound, redisTarget(instance.url), ready);
    });
    server.listen(socket);
    server.unref();
    this.#servers.set(socket, server);
    return socket;
  }

  /** The tenant's login on the instance, provisioned once per process (again after a failure). */
  #login(instance: ForwardedInstance, namespace: string): Promise<TenantCredentials> {
    const key = `${instance.name}\0${namespace}`;
    let login = this.#logins.get(key);
    if (login === undefined) {
      const credentials = tenantCredentials(instance.url, instance.name, namespace);
      login = (
        instance.kind === 'postgres'
          ? provisionPostgresRole(instance.url, credentials)
          : provisionRedisUser(instance.url, namespace, credentials)
      ).then(() => credentials);
      this.#logins.set(key, login);
      login.catch((error: unknown) => {
        this.#logins.delete(key);
        // The tenant is told "store X unavailable"; the admin learns why here.
        writeLog({
          level: 'error',
          msg: `store ${instance.name}: cannot create the login of tenant namespace ${namespace}`,
          hint:
            instance.kind === 'redis'
              ? "is the instance up? the catalogue URL's user must be allowed ACL SETUSER (Redis 7 or later)"
              : "is the instance up? the catalogue URL's user must be allowed CREATE ROLE and CREATE SCHEMA",
          ...errorFields(error),
        });
      });
    }
    return login;
  }

  /** Stops every forwarder, ends its connections and removes its socket. */
  async close(): Promise<void> {
    for (const connection of this.#connections) connection.destroy();
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
