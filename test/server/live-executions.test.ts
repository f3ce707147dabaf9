import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/server/start-server.js';
import { StoreCatalogue, namespaceOf } from '../../src/stores/store-catalogue.js';
import { connectNats, type NatsHandle } from '../../src/sources/nats/nats-connection.js';
import { bwrapAvailable } from '../../src/tenancy/sandbox.js';
import { SERVICES, serviceAvailable } from '../helpers/services.js';
import { addStream, uniqueName } from '../helpers/live-streams.js';
import { connectRedisCommands } from '../../src/sources/redis/redis-source.js';

const ADMIN = 'live-executions-admin-key-0123456789';
const hasNats = await serviceAvailable('nats');
const hasRedis = await serviceAvailable('redis');
const sandbox = bwrapAvailable() || process.env.CI === 'true' ? 'bwrap' : 'none';

const FNS =
  'export function tag(o) { return { id: o.id, user: o.user, doubled: o.amount * 2 }; }\n';
const flowOf = (name: string, source: string) => `name: ${name}
streams:
  orders: { type: Order, source: "${source}" }
functions:
  - { name: tag, module: ./fns.mjs, input: [Order], output: [Tagged] }
`;

describe.skipIf(!hasNats || !hasRedis)(
  'live executions through the server API (real NATS JetStream, Redis Streams)',
  () => {
    let server: RunningServer;
    let nats: NatsHandle;
    let key = '';
    let namespace = '';
    const stream = uniqueName('WFSRV');

    async function api(
      method: string,
      route: string,
      body?: unknown,
      type = 'application/json',
      as = key,
    ) {
      const res = await fetch(`${server.url}${route}`, {
        method,
        headers: {
          authorization: `Bearer ${as}`,
          ...(body === undefined ? {} : { 'content-type': type }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      let json: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- answers of many shapes
      try {
        json = JSON.parse(text);
      } catch {
        json = text;
      }
      return { status: res.status, text, json };
    }

    async function register(flow: string): Promise<string> {
      const res = await api(
        'POST',
        '/v1/flows',
        { flow, files: { 'fns.mjs': FNS } },
        'application/vnd.warmflow.bundle+json',
      );
      expect(res.status, res.text).toBe(201);
      return res.json.id as string;
    }

    /** Polls the execution until `until` holds (or 60 s pass). */
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- an execution record, read loosely
    async function follow(id: string, until: (record: any) => boolean) {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const res = await api('GET', `/v1/executions/${id}`);
        expect(res.status, res.text).toBe(200);
        if (until(res.json) || Date.now() > deadline) return res.json;
        await new Promise((r) => setTimeout(r, 200));
      }
    }

    beforeAll(async () => {
      const catalogue = new StoreCatalogue({
        events: { kind: 'nats', url: SERVICES.nats.url, tenants: ['*'] },
        cache: { kind: 'redis', url: SERVICES.redis.url, tenants: ['*'] },
      });
      server = await startServer({ port: 0, adminKey: ADMIN, fileRoots: [], sandbox, catalogue });
      key = ADMIN;
      const created = await api('POST', '/v1/tenants', { name: 'streamer' });
      key = created.json.api_key as string;
      namespace = namespaceOf(created.json.id as string);
      nats = await connectNats(SERVICES.nats.url);
      // The admin's stream captures the tenant's subject namespace.
      await addStream(nats, { name: stream, subjects: [`wf.${namespace}.>`] });
    });

    afterAll(async () => {
      await server?.close();
      await nats?.jsm.streams.delete(stream).catch(() => undefined);
      await nats?.nc.close();
    });

    it('runs until DELETE drains it, shows rate, lag and the real-time DCP while it runs, and per-stream metrics only while it runs', async () => {
      const flowId = await register(
        flowOf('orders_live', `nats://events/${stream}?subject=orders`),
      );
      const js = nats.jetstream.jetstream(nats.nc);
      const subject = `wf.${namespace}.orders`;
      const n = 300;
      for (let i = 0; i < n; i++)
        await js.publish(subject, JSON.stringify({ id: i, user: `u${i % 5}`, amount: i }));
      const badSeq = (await js.publish(subject, '{"id": oops')).seq;

      const started = await api('POST', '/v1/executions', { flow_id: flowId });
      expect(started.status, started.text).toBe(202);
      const id = started.json.id as string;

      // Running: every message read and acknowledged, the live state shown.
      const running = await follow(
        id,
        (r) => r.status !== 'running' || r.live?.acknowledged >= n + 1,
      );
      expect(running.status).toBe('running');
      const orders = running.live.streams.orders;
      expect(orders.records).toBe(n + 1);
      expect(orders.series.length).toBeGreaterThan(0);
      expect(orders.dcp.cumulative.volume.records).toBe(n + 1);
      expect(orders.dcp.window.cardinality.user).toBe(5);
      const lagged = await follow(id, (r) => r.live?.streams.orders.lag === 0);
      expect(lagged.live.streams.orders.lag).toBe(0);

      const metrics = await api('GET', '/metrics', undefined, undefined, ADMIN);
      expect(metrics.text).toMatch(
        new RegExp(`warmflow_live_records_per_second\\{[^}]*execution="${id}",stream="orders"\\}`),
      );
      expect(metrics.text).toMatch(
        new RegExp(`warmflow_live_lag_messages\\{[^}]*execution="${id}",stream="orders"\\} 0`),
      );

      // The dashboard charts this state (rate and lag over time, beside the DCP).
      const page = await (await fetch(`${server.url}/dashboard/`)).text();
      expect(page).toContain('id="live-chart"');
      const charts = await fetch(`${server.url}/dashboard/app/charts.js`);
      expect(charts.status).toBe(200);
      expect(await charts.text()).toContain('lag (messages)');

      // Still running with nothing to read: it ends only when drained.
      const drained = await api('DELETE', `/v1/executions/${id}`);
      expect(drained.status, drained.text).toBe(202);
      expect(drained.json.live.draining).toBe(true);
      const done = await follow(id, (r) => r.status !== 'running');
      expect(done.status, JSON.stringify(done.completion?.error ?? done.error)).toBe('succeeded');
      expect(done.completion.live).toMatchObject({
        acknowledged: n + 1,
        unacknowledged: 0,
        sources: {
          orders: {
            messages: n + 1,
            malformed: 1,
            stopped_by: 'signal',
            lag: 0,
            first_malformed: [{ sequence: badSeq, error: expect.any(String) }],
          },
        },
      });
      expect(done.completion.outputs).toEqual(
        expect.arrayContaining([expect.objectContaining({ type: 'Tagged', records: n })]),
      );
      const after = await api('GET', '/metrics', undefined, undefined, ADMIN);
      expect(after.text).not.toContain(`execution="${id}"`);
      expect((await api('DELETE', `/v1/executions/${id}`)).status).toBe(409);
    });

    it('ends by itself at max_records', async () => {
      const flowId = await register(
        flowOf('orders_max', `nats://events/${stream}?subject=orders&group=capped`),
      );
      const started = await api('POST', '/v1/executions', {
        flow_id: flowId,
        live: { max_records: 100 },
      });
      expect(started.status, started.text).toBe(202);
      const done = await follow(started.json.id as string, (r) => r.status !== 'running');
      expect(done.status).toBe('succeeded');
      expect(done.completion.live.sources.orders).toMatchObject({
        messages: 100,
        stopped_by: 'max_records',
      });
    });

    it('reads a Redis Stream of the catalogue in the tenant’s key space until drained', async () => {
      const key = uniqueName('orders');
      const flowId = await register(flowOf('orders_redis', `redis://cache/?stream=${key}`));
      const redis = await connectRedisCommands(SERVICES.redis.url, 'test');
      const stored = `wf:${namespace}:${key}`;
      try {
        const n = 120;
        for (let i = 0; i < n; i++)
          await redis.call(
            'XADD',
            stored,
            '*',
            'data',
            JSON.stringify({ id: i, user: 'u', amount: i }),
          );
        const started = await api('POST', '/v1/executions', { flow_id: flowId });
        expect(started.status, started.text).toBe(202);
        const id = started.json.id as string;
        const running = await follow(
          id,
          (r) => r.status !== 'running' || r.live?.acknowledged >= n,
        );
        expect(running.live.streams.orders.records).toBe(n);
        expect((await api('DELETE', `/v1/executions/${id}`)).status).toBe(202);
        const done = await follow(id, (r) => r.status !== 'running');
        expect(done.status).toBe('succeeded');
        expect(done.completion.live.sources.orders).toMatchObject({ messages: n, lag: 0 });
        expect(done.completion.outputs).toEqual(
          expect.arrayContaining([expect.objectContaining({ type: 'Tagged', records: n })]),
        );
      } finally {
        await redis.call('DEL', stored);
        await redis.quit();
      }
    });

    it('refuses a live source that names a host instead of a catalogue instance, or an instance not granted', async () => {
      const byHost = await api(
        'POST',
        '/v1/flows',
        {
          flow: flowOf('orders_host', `${SERVICES.nats.url}/${stream}`),
          files: { 'fns.mjs': FNS },
        },
        'application/vnd.warmflow.bundle+json',
      );
      expect(byHost.status, byHost.text).toBe(400);
      expect(byHost.json.error.problems[0].code).toBe('E_SOURCE_URL');
      expect(byHost.text).toContain('names a stream instance of its catalogue');
      const plainFlow = await register(flowOf('orders_plain', `nats://events/${stream}`));
      const bySource = await api('POST', '/v1/executions', {
        flow_id: plainFlow,
        source: `${SERVICES.nats.url}/${stream}`,
      });
      expect(bySource.status, bySource.text).toBe(400);
      expect(bySource.json.error.code).toBe('E_SOURCE_URL');
      const unknown = await api('POST', '/v1/executions', {
        flow_id: plainFlow,
        source: `nats://elsewhere/${stream}`,
      });
      expect(unknown.status, unknown.text).toBe(400);
      expect(unknown.json.error.message).toContain('"elsewhere" unavailable to you');
    });
  },
);
