import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/server/start-server.js';
import { StoreCatalogue } from '../../src/stores/store-catalogue.js';
import { bwrapAvailable } from '../../src/tenancy/sandbox.js';
import { SERVICES, serviceAvailable } from '../helpers/services.js';

const ADMIN = 'store-namespaces-admin-key-0123456789';
const hasRedis = await serviceAvailable('redis');
const hasPostgres = await serviceAvailable('postgres');
const sandbox = bwrapAvailable() || process.env.CI === 'true' ? 'bwrap' : 'none';

/** Counts hits per user in keyed state and writes each user's count to the flow's store. */
const COUNT = `
export async function count(hit, ctx) {
  const n = ((await ctx.state.get('n')) ?? 0) + 1;
  await ctx.state.set('n', n);
  return { user: hit.user, n, by: hit.by };
}
`;

const flowFor = (kind: 'redis' | 'postgres', instance: string) => `name: hits
streams:
  input: { type: Hit }
stores:
  ${instance}: { kind: ${kind} }
types:
  Count: { store: ${instance}, key: user }
functions:
  - name: count
    module: ./count.mjs
    input: [Hit]
    output: [Count]
    key: user
`;

describe.skipIf(!hasRedis || !hasPostgres)(
  "tenants' store data never mixes (catalogue instances, per-tenant namespaces)",
  () => {
    let server: RunningServer;
    const keys: Record<string, string> = {};
    const ids: Record<string, string> = {};
    const suffix = randomBytes(4).toString('hex');
    const cache = `cache${suffix}`;
    const pg = `pg${suffix}`;

    async function api(key: string, method: string, route: string, body?: unknown, type?: string) {
      const res = await fetch(`${server.url}${route}`, {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          ...(body === undefined ? {} : { 'content-type': type ?? 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, text, json: JSON.parse(text) };
    }

    beforeAll(async () => {
      const catalogue = new StoreCatalogue({
        [cache]: { kind: 'redis', url: SERVICES.redis.url, tenants: ['*'] },
        [pg]: { kind: 'postgres', url: SERVICES.postgres.url, tenants: ['*'] },
        closed: { kind: 'redis', url: 'redis://127.0.0.1:1/0', tenants: ['*'] },
        onlyCarol: { kind: 'redis', url: SERVICES.redis.url, tenants: ['carol'] },
      });
      server = await startServer({ port: 0, adminKey: ADMIN, fileRoots: [], sandbox, catalogue });
      for (const name of ['alice', 'bob']) {
        const created = await api(ADMIN, 'POST', '/v1/tenants', { name });
        keys[name] = created.json.api_key;
        ids[name] = created.json.id;
      }
    });

    afterAll(async () => {
      await server?.close();
    });

    async function run(tenant: string, flow: string, hits: number) {
      const registered = await api(
        keys[tenant],
        'POST',
        '/v1/flows',
        { flow, files: { 'count.mjs': COUNT } },
        'application/vnd.warmflow.bundle+json',
      );
      expect(registered.status, registered.text).toBe(201);
      const records = Array.from({ length: hits }, () => ({ user: 'u1', by: tenant }));
      const result = await api(keys[tenant], 'POST', '/v1/executions?wait=true', {
        flow_id: registered.json.id,
        records,
      });
      expect(result.json.status, result.text).toBe('succeeded');
    }

    it('two tenants running the same flow on one Redis instance see only their own keys', async () => {
      await run('alice', flowFor('redis', cache), 3);
      await run('bob', flowFor('redis', cache), 5);
      const { Redis } = await import('ioredis');
      const redis = new Redis(SERVICES.redis.url);
      try {
        const dump = async (tenant: string) => {
          const found = await redis.keys(`wf:${ids[tenant]}:*`);
          // Keyed state is hashes; epoch markers beside them are plain strings.
          const hashes = [];
          for (const k of found) if ((await redis.type(k)) === 'hash') hashes.push(k);
          const values = await Promise.all(hashes.map((k) => redis.hgetall(k)));
          return JSON.stringify(values);
        };
        const alice = await dump('alice');
        const bob = await dump('bob');
        expect(alice).toContain('\\"n\\":3');
        expect(alice).not.toContain('bob');
        expect(bob).toContain('\\"n\\":5');
        expect(bob).not.toContain('alice');
      } finally {
        for (const tenant of ['alice', 'bob']) {
          const found = await redis.keys(`wf:${ids[tenant]}:*`);
          if (found.length > 0) await redis.del(...found);
        }
        redis.disconnect();
      }
    });

    it('two tenants appending to Redis Streams on one instance write only under their own prefix', async () => {
      const flow = `name: tagged
streams:
  input: { type: Hit }
stores:
  ${cache}: { kind: redis-stream }
types:
  Tagged: { store: ${cache} }
functions:
  - name: tag
    module: ./tag.mjs
    input: [Hit]
    output: [Tagged]
`;
      const TAG = 'export function tag(hit) { return { user: hit.user, by: hit.by }; }\n';
      for (const [tenant, hits] of [
        ['alice', 2],
        ['bob', 3],
      ] as const) {
        const registered = await api(
          keys[tenant],
          'POST',
          '/v1/flows',
          { flow, files: { 'tag.mjs': TAG } },
          'application/vnd.warmflow.bundle+json',
        );
        expect(registered.status, registered.text).toBe(201);
        const result = await api(keys[tenant], 'POST', '/v1/executions?wait=true', {
          flow_id: registered.json.id,
          records: Array.from({ length: hits }, () => ({ user: 'u1', by: tenant })),
        });
        expect(result.json.status, result.text).toBe('succeeded');
      }
      const { Redis } = await import('ioredis');
      const redis = new Redis(SERVICES.redis.url);
      try {
        const entries = async (tenant: string) =>
          JSON.stringify(await redis.xrange(`wf:${ids[tenant]}:Tagged`, '-', '+'));
        const alice = await entries('alice');
        const bob = await entries('bob');
        expect(alice.match(/alice/g)?.length).toBe(2);
        expect(alice).not.toContain('bob');
        expect(bob.match(/bob/g)?.length).toBe(3);
        expect(bob).not.toContain('alice');
        expect(await redis.exists('Tagged')).toBe(0);
      } finally {
        for (const tenant of ['alice', 'bob']) {
          const found = await redis.keys(`wf:${ids[tenant]}:*`);
          if (found.length > 0) await redis.del(...found);
        }
        redis.disconnect();
      }
    });

    it('two tenants running the same flow on one Postgres instance write to their own schemas', async () => {
      await run('alice', flowFor('postgres', pg), 2);
      await run('bob', flowFor('postgres', pg), 4);
      const { default: pgLib } = await import('pg');
      const client = new pgLib.Client({ connectionString: SERVICES.postgres.url });
      await client.connect();
      try {
        const rows = async (tenant: string) =>
          JSON.stringify(
            (await client.query(`SELECT value FROM wf_${ids[tenant]}.warmflow_kv`)).rows,
          );
        const alice = await rows('alice');
        const bob = await rows('bob');
        expect(alice).toContain('"n":2');
        expect(alice).not.toContain('bob');
        expect(bob).toContain('"n":4');
        expect(bob).not.toContain('alice');
      } finally {
        for (const tenant of ['alice', 'bob'])
          await client.query(`DROP SCHEMA IF EXISTS wf_${ids[tenant]} CASCADE`);
        await client.end();
      }
    });

    it('a tenant names instances, not URLs: no URL, no ungranted instance, no port told', async () => {
      const withUrl = await api(
        keys.alice,
        'POST',
        '/v1/flows',
        {
          flow: flowFor('redis', cache).replace(
            `${cache}: { kind: redis }`,
            `${cache}: { kind: redis, url: "redis://127.0.0.1:5432" }`,
          ),
          files: { 'count.mjs': COUNT },
        },
        'application/vnd.warmflow.bundle+json',
      );
      expect(withUrl.status).toBe(400);
      const ungranted = await api(
        keys.alice,
        'POST',
        '/v1/flows',
        { flow: flowFor('redis', 'onlyCarol'), files: { 'count.mjs': COUNT } },
        'application/vnd.warmflow.bundle+json',
      );
      expect(ungranted.status).toBe(400);
      expect(ungranted.text).toContain('unavailable');
      const closed = await api(
        keys.alice,
        'POST',
        '/v1/flows',
        { flow: flowFor('redis', 'closed'), files: { 'count.mjs': COUNT } },
        'application/vnd.warmflow.bundle+json',
      );
      expect(closed.status, closed.text).toBe(201);
      const result = await api(keys.alice, 'POST', '/v1/executions?wait=true', {
        flow_id: closed.json.id,
        records: [{ user: 'u1', by: 'alice' }],
      });
      expect(result.json.status).not.toBe('succeeded');
      const said = JSON.stringify(result.json);
      expect(said).toContain('store closed unavailable');
      expect(said).not.toContain('127.0.0.1:1');
      expect(said).not.toContain('ECONNREFUSED');
    });
  },
);
