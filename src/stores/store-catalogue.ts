import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { WarmflowError } from '../errors.js';
import type { StoreSpec } from '../template/types.js';
import { StoreForwarders } from './store-forwarder.js';

/** One network store instance the admin offers (`serve --stores stores.yaml`). */
export interface CatalogueEntry {
  /** `nats`: a JetStream server tenants' live sources read from (`nats://INSTANCE/STREAM`). */
  kind: 'redis' | 'postgres' | 'nats';
  url: string;
  /** Tenant ids (or names) granted this instance; `*` grants it to every tenant. */
  tenants: string[];
}

/** A granted store, or why not. */
export type StoreGrant = { spec: StoreSpec } | { problem: string };

/** A tenant's name as a Postgres identifier / Redis key segment / NATS subject token. */
export function namespaceOf(tenant: string): string {
  return tenant
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 40);
}

/**
 * The admin's catalogue of network stores and who may use them. A tenant's flow names an
 * instance (`stores: { cache: { kind: redis } }`), never a URL; the server hands its workers the
 * instance's URL with the tenant's namespace: a Redis key prefix `wf:<tenant>:`, a Postgres
 * schema `wf_<tenant>`. Failures name the instance only ("store cache unavailable"), never
 * the host or port.
 *
 * ```yaml
 * # stores.yaml
 * stores:
 *   cache: { kind: redis, url: "redis://127.0.0.1:6379/0", tenants: ["*"] }
 *   warehouse: { kind: postgres, url: "postgres://warmflow@127.0.0.1/app", tenants: [t_ab12] }
 * ```
 */
export class StoreCatalogue {
  readonly #entries: ReadonlyMap<string, CatalogueEntry>;
  readonly #forwarders = new StoreForwarders();

  constructor(entries: Record<string, CatalogueEntry> = {}) {
    this.#entries = new Map(Object.entries(entries));
  }

  /** Reads a catalogue file; every problem is reported with the file name. */
  static load(file: string): StoreCatalogue {
    let parsed: unknown;
    try {
      parsed = parseYaml(readFileSync(file, 'utf8'));
    } catch (cause) {
      throw new WarmflowError('E_STORE_CATALOGUE', `cannot read the store catalogue ${file}`, {
        cause,
        hint: 'a YAML file with `stores: { NAME: { kind, url, tenants } }`',
      });
    }
    const stores = (parsed as { stores?: unknown } | null)?.stores;
    if (stores === null || typeof stores !== 'object' || Array.isArray(stores)) {
      throw new WarmflowError('E_STORE_CATALOGUE', `${file}: no \`stores\` map`, {
        hint: 'stores: { cache: { kind: redis, url: "redis://127.0.0.1:6379/0", tenants: ["*"] } }',
      });
    }
    const entries: Record<string, CatalogueEntry> = {};
    for (const [name, raw] of Object.entries(stores as Record<string, unknown>)) {
      const entry = raw as Partial<CatalogueEntry> | null;
      const kind = entry?.kind;
      if (kind !== 'redis' && kind !== 'postgres' && kind !== 'nats')
        throw new WarmflowError(
          'E_STORE_CATALOGUE',
          `${file}: store "${name}": kind must be redis, postgres or nats`,
        );
      if (typeof entry?.url !== 'string')
        throw new WarmflowError('E_STORE_CATALOGUE', `${file}: store "${name}": needs a url`);
      const tenants = entry.tenants ?? [];
      if (!Array.isArray(tenants) || tenants.some((t) => typeof t !== 'string'))
        throw new WarmflowError(
          'E_STORE_CATALOGUE',
          `${file}: store "${name}": tenants must be a list of tenant ids or "*"`,
        );
      entries[name] = { kind, url: entry.url, tenants };
    }
    return new StoreCatalogue(entries);
  }

  /** Instance names granted to `tenant` (given by id and, optionally, name). */
  granted(tenant: string, tenantName?: string): string[] {
    return [...this.#entries]
      .filter(([, e]) => e.tenants.some((t) => t === '*' || t === tenant || t === tenantName))
      .map(([name]) => name);
  }

  /** The instance `name` when it is of `kind` and granted to `tenant`. */
  instance(tenant: string, name: string, kind: CatalogueEntry['kind']): CatalogueEntry | undefined {
    const entry = this.#entries.get(name);
    return entry !== undefined &&
      entry.kind === kind &&
      entry.tenants.some((t) => t === '*' || t === tenant)
      ? entry
      : undefined;
  }

  /**
   * The store a tenant's flow gets for its store `name` (`requested` as the flow wrote it): the
   * catalogue instance of that name with the tenant's namespace, reached through a socket in
   * `socketDir`, or why not. A flow that gives a URL is refused: tenants name instances, the
   * admin holds the addresses.
   */
  grant(tenant: string, name: string, requested: StoreSpec, socketDir?: string): StoreGrant {
    if (requested.url !== undefined)
      return {
        problem: `store "${name}": name a store instance of this server without a url (the server's catalogue holds the addresses)`,
      };
    const entry = this.#entries.get(name);
    // A Redis instance also serves Redis Streams (append-only), under the same user and prefix.
    const streams = requested.kind === 'redis-stream' && entry?.kind === 'redis';
    if (
      entry === undefined ||
      entry.kind === 'nats' ||
      (entry.kind !== requested.kind && !streams) ||
      !entry.tenants.some((t) => t === '*' || t === tenant)
    )
      return { problem: `store "${name}" unavailable to you on this server` };
    const ns = namespaceOf(tenant);
    const streamOptions = {
      ...(requested.stream !== undefined ? { stream: requested.stream } : {}),
      ...(requested.maxlen !== undefined ? { maxlen: requested.maxlen } : {}),
    };
    if (streams) {
      const spec: StoreSpec = {
        kind: 'redis-stream',
        url: socketDir === undefined ? entry.url : 'redis://relay/',
        instance: name,
        prefix: `wf:${ns}:`,
        ...streamOptions,
      };
      if (socketDir !== undefined)
        spec.socket = this.#forwarders.socketFor(
          path.join(socketDir, name),
          { name, kind: 'redis', url: entry.url },
          ns,
        );
      return { spec };
    }
    if (socketDir === undefined) {
      // Pods on Kubernetes reach the instance over the network their namespace's egress policy
      // allows, with the catalogue's URL: the relays below are the local provider's.
      const spec: StoreSpec =
        entry.kind === 'redis'
          ? { kind: 'redis', url: entry.url, instance: name, prefix: `wf:${ns}:` }
          : { kind: 'postgres', url: entry.url, instance: name, schema: `wf_${ns}` };
      return { spec };
    }
    // Local workers have no network of their own and never the admin's address or password:
    // they reach the instance through a socket in their area, behind which the server logs in
    // as the tenant's own user (see StoreForwarders). Their URL names the instance, no more.
    const socket = this.#forwarders.socketFor(
      path.join(socketDir, name),
      { name, kind: entry.kind, url: entry.url },
      ns,
    );
    const spec: StoreSpec =
      entry.kind === 'redis'
        ? { kind: 'redis', url: 'redis://relay/', instance: name, prefix: `wf:${ns}:`, socket }
        : {
            kind: 'postgres',
            url: `postgres://wf_${ns}@relay/`,
            instance: name,
            schema: `wf_${ns}`,
            socket,
          };
    return { spec };
  }

  /** Stops the forwarders to the instances. */
  close(): Promise<void> {
    return this.#forwarders.close();
  }
}
