import { TenancyStore } from '../../src/tenancy/tenancy-store.js';
import type { Quotas } from '../../src/tenancy/quotas.js';
import { createApp } from '../../src/server/create-app.js';
import { templatePort } from '../../src/server/wiring.js';
import type { ProfilerPort } from '../../src/server/ports.js';
import { FakeExecutor, FakeHistory, FakePools, FakePredictor, FakeProfiler } from './fakes.js';

export const ADMIN_KEY = 'test-admin-key-0123456789abcdef';

export const FLOW_YAML = `name: clicks
streams:
  clicks: { type: Click }
functions:
  - name: enrich
    input: [Click]
    output: [Enriched]
  - name: count
    input: [Enriched]
    output: [Count]
`;

/** An app over a real tenancy store (in memory), the real template part and fakes for the rest. */
export function makeHarness(
  options: { cores?: number; memoryGb?: number; profiler?: ProfilerPort } = {},
) {
  const tenancy = new TenancyStore({ path: ':memory:', adminKey: ADMIN_KEY });
  const executor = new FakeExecutor();
  const pools = new FakePools();
  const { app, state } = createApp(
    {
      tenancy,
      template: templatePort(),
      profiler: options.profiler ?? new FakeProfiler(),
      predictor: new FakePredictor(options.cores, options.memoryGb),
      pools,
      executor,
      history: new FakeHistory(executor),
    },
    { log: () => {}, shedDelayMs: 0 },
  );

  async function call(
    method: string,
    path: string,
    key: string | undefined,
    body?: unknown,
    type = 'application/json',
  ) {
    const headers: Record<string, string> = {};
    if (key !== undefined) headers.authorization = `Bearer ${key}`;
    let payload: string | undefined;
    if (body !== undefined) {
      headers['content-type'] = type;
      payload = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const res = await app.request(path, { method, headers, body: payload });
    const text = await res.text();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary answer shapes
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, json, text, headers: res.headers };
  }

  async function tenant(
    name: string,
    quotas?: Partial<Quotas>,
  ): Promise<{ id: string; key: string }> {
    // The default quotas follow the machine; tests size their fakes for 8 cores and 16 GB.
    const res = await call('POST', '/v1/tenants', ADMIN_KEY, {
      name,
      quotas: { cores: 8, memory_gb: 16, ...quotas },
    });
    if (res.status !== 201) throw new Error(`tenant create failed: ${res.text}`);
    return { id: res.json.id, key: res.json.api_key };
  }

  async function flow(key: string, yaml = FLOW_YAML): Promise<string> {
    const res = await call('POST', '/v1/flows', key, yaml, 'application/yaml');
    if (res.status !== 201) throw new Error(`flow create failed: ${res.text}`);
    return res.json.id as string;
  }

  return { app, state, tenancy, executor, pools, call, tenant, flow };
}
