import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { warmflowHome } from '../../src/home.js';
import { startServer, type RunningServer } from '../../src/server/start-server.js';
import { StoreCatalogue } from '../../src/stores/store-catalogue.js';
import { bwrapAvailable } from '../../src/tenancy/sandbox.js';
import { SERVICES, serviceAvailable } from '../helpers/services.js';

const ADMIN = 'store-attacks-admin-key-0123456789';
const hasRedis = await serviceAvailable('redis');
const hasPostgres = await serviceAvailable('postgres');
const sandbox = bwrapAvailable() || process.env.CI === 'true' ? 'bwrap' : 'none';
const pgModule = pathToFileURL(createRequire(import.meta.url).resolve('pg')).href;

/** Counts hits per user in keyed state kept in both instances. */
const COUNT = `
export async function count(hit, ctx) {
  const n = ((await ctx.state.get('n')) ?? 0) + 1;
  await ctx.state.set('n', n);
  return { user: hit.user, n, by: hit.by };
}
`;

const countFlow = (instance: string, kind: string) => `name: hits
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

/**
 * A tenant function that speaks raw Redis and Postgres protocol through the sockets in its area
 * and tries to be the instances' superuser: every reply is kept as it came.
 */
const ATTACK = `
import net from 'node:net';
const redis = (socket, payload) => new Promise((resolve) => {
  const c = net.connect(socket);
  let got = '';
  c.on('data', (d) => { got += d.toString('latin1'); });
  c.on('error', (e) => resolve(got + '|error:' + e.code));
  c.on('close', () => resolve(got + '|closed'));
  c.on('connect', () => c.write(payload));
  setTimeout(() => { c.destroy(); resolve(got + '|timeout'); }, 1500);
});
const resp = (...args) => '*' + args.length + '\\r\\n' + args.map((a) => '$' + Buffer.byteLength(a) + '\\r\\n' + a + '\\r\\n').join('');
export async function attack(r) {
  const other = r.otherKey;
  const probes = {
    own: resp('SET', r.ownKey, 'mine') + resp('GET', r.ownKey),
    auth: resp('AUTH', 'default', 'x') + resp('GET', other),
    authInline: 'AUTH default x\\r\\nGET ' + other + '\\r\\n',
    hello: resp('HELLO', '3', 'AUTH', 'default', 'x') + resp('GET', other),
    reset: resp('RESET') + resp('GET', other),
    keys: resp('KEYS', '*'),
    scan: resp('SCAN', '0', 'COUNT', '1000'),
    randomkey: resp('RANDOMKEY'),
    get: resp('GET', other) + resp('HGETALL', other) + resp('TYPE', other),
    set: resp('SET', other, 'pwned') + resp('HSET', other, 'n', 'pwned') + resp('DEL', other),
    config: resp('CONFIG', 'GET', '*'),
    flushall: resp('FLUSHALL'),
    flushdb: resp('FLUSHDB'),
    select: resp('SELECT', '1') + resp('SET', 'pwned', '1'),
    acl: resp('ACL', 'SETUSER', 'pwn', 'on', 'nopass', '~*', '+@all'),
    eval: resp('EVAL', "return redis.call('GET', KEYS[1])", '1', other),
    tracking: resp('CLIENT', 'TRACKING', 'ON', 'BCAST'),
    info: resp('INFO'),
    scriptFlush: resp('SCRIPT', 'FLUSH'),
    functionFlush: resp('FUNCTION', 'FLUSH'),
  };
  const replies = {};
  for (const [name, payload] of Object.entries(probes)) replies[name] = await redis(r.redisSocket, payload);

  const { default: pg } = await import(r.pgModule);
  const sql = {};
  const asPostgres = new pg.Client({ host: r.pgDir, port: r.pgPort, user: 'postgres', database: 'postgres' });
  sql.connect = await asPostgres.connect().then(() => 'connected', (e) => 'error:' + e.message);
  const q = async (name, text) => {
    sql[name] = await asPostgres.query(text).then((res) => JSON.stringify(res.rows), (e) => 'error:' + (e.code ?? e.message));
  };
  await q('whoami', 'SELECT current_user AS u, session_user AS s, current_database() AS d');
  await q('readOther', 'SELECT * FROM ' + r.otherSchema + '.warmflow_kv');
  await q('writeOther', "INSERT INTO " + r.otherSchema + ".warmflow_kv VALUES ('pwned', 'pwned')");
  await q('dropOther', 'DROP SCHEMA ' + r.otherSchema + ' CASCADE');
  await q('setRole', 'SET ROLE postgres');
  await q('sessionAuth', 'SET SESSION AUTHORIZATION postgres');
  await q('createPublic', 'CREATE TABLE public.' + r.pwned + ' (a int)');
  await q('createSchema', 'CREATE SCHEMA ' + r.pwned);
  await q('createRole', 'CREATE ROLE ' + r.pwned + ' SUPERUSER LOGIN');
  await q('alterSelf', 'ALTER ROLE CURRENT_USER SUPERUSER');
  await q('readFile', "SELECT pg_read_file('/etc/passwd')");
  await q('program', "COPY (SELECT 1) TO PROGRAM 'id'");
  await asPostgres.end().catch(() => undefined);
  const replication = new pg.Client({ host: r.pgDir, port: r.pgPort, user: 'postgres', replication: 'database' });
  sql.replication = await replication.connect().then(() => 'connected', (e) => 'error:' + e.message);
  await replication.end().catch(() => undefined);
  return { id: r.id, replies: JSON.stringify(replies), sql: JSON.stringify(sql) };
}
`;

const attackFlow = (cache: string, db: string) => `name: attack
streams:
  input: { type: Probe }
stores:
  ${cache}: { kind: redis }
  ${db}: { kind: postgres }
functions:
  - name: attack
    module: ./attack.mjs
    input: [Probe]
    output: [Finding]
`;

describe.skipIf(!hasRedis || !hasPostgres)(
  'tenant code speaking raw store protocol gets only its own namespace (sandbox: ' + sandbox + ')',
  () => {
    let server: RunningServer;
    const keys: Record<string, string> = {};
    const ids: Record<string, string> = {};
    const suffix = randomBytes(4).toString('hex');
    const cache = `cache${suffix}`;
    const db = `pg${suffix}`;
    const pgPort = Number(new URL(SERVICES.postgres.url).port || 5432);

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

    async function execute(
      tenant: string,
      flow: string,
      files: Record<string, string>,
      records: unknown[],
    ) {
      const registered = await api(
        keys[tenant],
        'POST',
        '/v1/flows',
        { flow, files },
        'application/vnd.warmflow.bundle+json',
      );
      expect(registered.status, registered.text).toBe(201);
      const result = await api(keys[tenant], 'POST', '/v1/executions?wait=true', {
        flow_id: registered.json.id,
        records,
      });
      expect(result.json.status, result.text).toBe('succeeded');
      return result.json.id as string;
    }

    beforeAll(async () => {
      const catalogue = new StoreCatalogue({
        [cache]: { kind: 'redis', url: SERVICES.redis.url, tenants: ['*'] },
        [db]: { kind: 'postgres', url: SERVICES.postgres.url, tenants: ['*'] },
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
      const { Redis } = await import('ioredis');
      const redis = new Redis(SERVICES.redis.url);
      const { default: pg } = await import('pg');
      const admin = new pg.Client({ connectionString: SERVICES.postgres.url });
      await admin.connect();
      try {
        for (const id of Object.values(ids)) {
          const found = await redis.keys(`wf:${id}:*`);
          if (found.length > 0) await redis.del(...found);
          await redis.call('ACL', 'DELUSER', `wf_${id}`);
          await admin.query(`DROP SCHEMA IF EXISTS wf_${id} CASCADE`);
          await admin.query(`DROP ROLE IF EXISTS wf_${id}`);
        }
        await admin.query(`DROP TABLE IF EXISTS public.pwned_${suffix}`);
      } finally {
        redis.disconnect();
        await admin.end();
      }
    });

    it("AUTH, KEYS, another tenant's keys, CONFIG, FLUSHALL; postgres as superuser, another schema, SET ROLE, public: all get nothing", async () => {
      // bob keeps state in both instances.
      await execute('bob', countFlow(cache, 'redis'), { 'count.mjs': COUNT }, [
        { user: 'u1', by: 'bob' },
      ]);
      await execute('bob', countFlow(db, 'postgres'), { 'count.mjs': COUNT }, [
        { user: 'u1', by: 'bob' },
      ]);
      const { Redis } = await import('ioredis');
      const redis = new Redis(SERVICES.redis.url);
      const { default: pg } = await import('pg');
      const admin = new pg.Client({ connectionString: SERVICES.postgres.url });
      await admin.connect();
      try {
        const bobKeys = await redis.keys(`wf:${ids.bob}:*`);
        const bobHashes = [];
        for (const k of bobKeys) if ((await redis.type(k)) === 'hash') bobHashes.push(k);
        expect(bobHashes.length).toBeGreaterThan(0);
        const bobKey = bobHashes[0];
        const bobValue = JSON.stringify(await redis.hgetall(bobKey));
        const bobRows = async () =>
          JSON.stringify(
            (await admin.query(`SELECT * FROM wf_${ids.bob}.warmflow_kv ORDER BY 1`)).rows,
          );
        const rowsBefore = await bobRows();
        expect(rowsBefore).toContain('bob');
        const area = server.server.state.areas.area(ids.alice).work;
        const run = await execute('alice', attackFlow(cache, db), { 'attack.mjs': ATTACK }, [
          {
            id: 1,
            redisSocket: path.join(area, 'stores', cache, 'redis.sock'),
            pgDir: path.join(area, 'stores', db),
            pgPort,
            pgModule,
            ownKey: `wf:${ids.alice}:own`,
            otherKey: bobKey,
            otherSchema: `wf_${ids.bob}`,
            pwned: `pwned_${suffix}`,
          },
        ]);
        const out = path.join(
          warmflowHome(),
          'tenants',
          ids.alice,
          'data',
          'runs',
          run,
          'Finding.jsonl',
        );
        const finding = JSON.parse(readFileSync(out, 'utf8').trim().split('\n')[0]);
        const replies = JSON.parse(finding.replies) as Record<string, string>;
        const sql = JSON.parse(finding.sql) as Record<string, string>;
        // The relay works for what the tenant may do…
        expect(replies.own).toMatch(/^\+OK\r\n\$4\r\nmine\r\n/);
        // …and nothing else: refused before Redis (connection closed) or by the tenant's ACL user.
        for (const name of [
          'auth',
          'authInline',
          'hello',
          'reset',
          'select',
          'config',
          'flushall',
          'flushdb',
          'keys',
          'scan',
          'randomkey',
          'acl',
          'info',
          'scriptFlush',
          'functionFlush',
        ])
          expect(replies[name], name).toBe('|closed');
        for (const name of ['get', 'set', 'eval', 'tracking'])
          expect(replies[name], name).not.toMatch(/^[+$*:]/m);
        expect(replies.get).toContain('NOPERM');
        expect(replies.set).toContain('NOPERM');
        expect(replies.eval).toContain('NOPERM');
        const all = JSON.stringify(replies);
        expect(all).not.toContain('bob');
        expect(all).not.toContain(ids.bob.slice(2));
        // bob's data is as he left it, and nothing was written outside alice's prefix.
        expect(JSON.stringify(await redis.hgetall(bobKey))).toBe(bobValue);
        expect(await redis.exists('pwned')).toBe(0);
        expect(await redis.call('ACL', 'GETUSER', 'pwn')).toBeNull();

        // Postgres: logged in as alice's role whatever the client said.
        expect(sql.connect).toBe('connected');
        expect(JSON.parse(sql.whoami)[0]).toMatchObject({
          u: `wf_${ids.alice}`,
          s: `wf_${ids.alice}`,
          d: new URL(SERVICES.postgres.url).pathname.slice(1),
        });
        for (const name of [
          'readOther',
          'writeOther',
          'dropOther',
          'setRole',
          'sessionAuth',
          'createPublic',
          'createSchema',
          'createRole',
          'alterSelf',
          'readFile',
          'program',
        ])
          expect(sql[name], name).toMatch(/^error:42501$/);
        expect(sql.replication).toMatch(/^error:.*replication/);
        expect(await bobRows()).toBe(rowsBefore);
        const made = await admin.query(
          `SELECT 1 FROM pg_class WHERE relname = $1 UNION ALL SELECT 1 FROM pg_namespace WHERE nspname = $1 UNION ALL SELECT 1 FROM pg_roles WHERE rolname = $1`,
          [`pwned_${suffix}`],
        );
        expect(made.rowCount).toBe(0);
        const role = await admin.query(
          'SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls FROM pg_roles WHERE rolname = $1',
          [`wf_${ids.alice}`],
        );
        expect(role.rows[0]).toEqual({
          rolsuper: false,
          rolcreatedb: false,
          rolcreaterole: false,
          rolreplication: false,
          rolbypassrls: false,
        });
      } finally {
        redis.disconnect();
        await admin.end();
      }
    });
  },
);
