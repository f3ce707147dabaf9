import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Rpr } from '../../src/predictor/rpr.js';
import { LocalProvider } from '../../src/provision/local/local-provider.js';
import type { ResourceEvent } from '../../src/provision/provider.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../worker/fixtures');
const provider = new LocalProvider({
  root: mkdtempSync(path.join(os.tmpdir(), 'warmflow-memory-')),
  capacity: { cpu_cores: 2, memory_gb: 4, gpus: 0 },
  heartbeatMs: 100,
});
const rpr = (memory_gb: number): Rpr => ({
  node_id: 'hog',
  resource_type: 'CPU',
  cpu_cores: 0.25,
  memory_gb,
  gpu_enabled: false,
  data_store_instance: null,
});
const request = (module: string, exportName: string, memory_gb: number) => ({
  tenant: 'default',
  template: 'hogs',
  node_ids: ['hog'],
  token: 't'.repeat(32),
  rpr: rpr(memory_gb),
  warm: {
    functions: [{ node_id: 'hog', module: path.join(fixtures, module), export: exportName }],
    stores: {},
  },
});

afterAll(() => provider.close());

describe('memory bounds of local workers', () => {
  it('the V8 heap limit stops a worker that outgrows memory_gb while warming', async () => {
    await expect(provider.provision(request('heap-hog.ts', 'hog', 0.1))).rejects.toThrow(
      // The process aborts on its heap limit, or the data plane's thread hits its share of it.
      /exited before ready.*(SIGABRT|code 134)|memory limit|out of memory/i,
    );
    expect((await provider.capacity()).allocated.memory_gb).toBe(0);
  });

  it('the RSS watchdog kills a warm worker that grows off-heap past memory_gb', async () => {
    const events: ResourceEvent[] = [];
    provider.watch((event) => events.push(event));
    const rac = await provider.provision(request('rss-hog.ts', 'rssHog', 0.25));
    const exited = await new Promise<Extract<ResourceEvent, { type: 'exited' }>>((resolve) => {
      const timer = setInterval(() => {
        const found = events.find(
          (e): e is Extract<ResourceEvent, { type: 'exited' }> =>
            e.type === 'exited' && e.resource_id === rac.resource_id,
        );
        if (found !== undefined) {
          clearInterval(timer);
          resolve(found);
        }
      }, 20);
    });
    expect(exited.oom_killed).toBe(true);
    expect(exited.reason).toMatch(/memory limit of 0.25 GB exceeded/);
    const usage = events.filter((e) => e.type === 'usage' && e.resource_id === rac.resource_id);
    expect(usage.length).toBeGreaterThan(0);
  });
});
