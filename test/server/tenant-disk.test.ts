import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FLOW_YAML, makeHarness } from './harness.js';

const BUNDLE_TYPE = 'application/vnd.warmflow.bundle+json';

/** A bundle whose one code file holds `bytes` bytes (`seed` makes its content, so its folder, unique). */
function bundle(bytes: number, seed: string) {
  const code = `// ${seed}\nexport const enrich = (r) => r;\n`;
  return {
    flow: FLOW_YAML.replace('    input: [Click]\n', '    module: ./fns.js\n    input: [Click]\n'),
    files: { 'fns.js': code + '/'.repeat(Math.max(0, bytes - code.length - 1)) + '\n' },
  };
}

/** Makes a finished run's folder in the tenant's area holding `bytes`, dated `ageS` seconds ago. */
function oldRun(runsDir: string, id: string, bytes: number, ageS: number): string {
  const dir = path.join(runsDir, id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'out.jsonl'), 'x'.repeat(bytes));
  const when = Date.now() / 1000 - ageS;
  utimesSync(dir, when, when);
  return dir;
}

describe('server: what a tenant keeps on disk is bounded by its disk_bytes quota', () => {
  it('a code bundle that would go over the quota is a 507 naming only the tenant’s quota; deleting the flow frees its code', async () => {
    const h = makeHarness();
    const a = await h.tenant('a', { disk_bytes: 10_000 });
    const b = await h.tenant('b', { disk_bytes: 10_000 });
    const first = await h.call('POST', '/v1/flows', a.key, bundle(6_000, 'one'), BUNDLE_TYPE);
    expect(first.status).toBe(201);
    expect(await h.state.disk.used(a.id)).toBeGreaterThanOrEqual(6_000);

    const second = await h.call('POST', '/v1/flows', a.key, bundle(6_000, 'two'), BUNDLE_TYPE);
    expect([second.status, second.json.error.code, second.json.error.quota]).toEqual([
      507,
      'E_QUOTA',
      'disk_bytes',
    ]);
    expect(second.json.error.limit).toBe(10_000);
    expect(second.json.error.message).not.toContain(b.id);
    // Nothing of the refused bundle was written.
    expect(await h.state.disk.used(a.id)).toBeLessThan(7_000);
    // Another tenant's area is its own.
    expect(
      (await h.call('POST', '/v1/flows', b.key, bundle(6_000, 'two'), BUNDLE_TYPE)).status,
    ).toBe(201);

    const code = path.join(h.state.areas.area(a.id).code);
    expect((await h.call('DELETE', `/v1/flows/${first.json.id}`, a.key)).status).toBe(200);
    expect(await h.state.disk.used(a.id)).toBe(0);
    expect(existsSync(code)).toBe(true);
    expect(
      (await h.call('POST', '/v1/flows', a.key, bundle(6_000, 'two'), BUNDLE_TYPE)).status,
    ).toBe(201);
  });

  it('a bundle two flows share stays until the last of them is deleted', async () => {
    const h = makeHarness();
    const a = await h.tenant('a', { disk_bytes: 100_000 });
    const one = await h.call('POST', '/v1/flows', a.key, bundle(3_000, 'same'), BUNDLE_TYPE);
    const two = await h.call('POST', '/v1/flows', a.key, bundle(3_000, 'same'), BUNDLE_TYPE);
    expect([one.status, two.status]).toEqual([201, 201]);
    await h.call('DELETE', `/v1/flows/${one.json.id}`, a.key);
    expect(await h.state.disk.used(a.id)).toBeGreaterThanOrEqual(3_000);
    await h.call('DELETE', `/v1/flows/${two.json.id}`, a.key);
    expect(await h.state.disk.used(a.id)).toBe(0);
  });

  it('an execution whose posted records do not fit is refused, keeping no record and freeing its run slot', async () => {
    const h = makeHarness();
    const a = await h.tenant('a', { disk_bytes: 5_000, concurrent_executions: 1 });
    const flowId = await h.flow(a.key);
    const records = Array.from({ length: 100 }, (_, i) => ({ i, pad: 'p'.repeat(60) }));
    const refused = await h.call('POST', '/v1/executions', a.key, { flow_id: flowId, records });
    expect([refused.status, refused.json.error.quota]).toEqual([507, 'disk_bytes']);
    expect((await h.call('GET', '/v1/executions', a.key)).json.executions).toEqual([]);
    const fits = await h.call('POST', '/v1/executions?wait=true', a.key, {
      flow_id: flowId,
      records: records.slice(0, 10),
    });
    expect(fits.status).toBe(200);
  });

  it('older finished run folders are deleted to make room, a run in flight’s never; what cannot be freed is refused', async () => {
    const h = makeHarness();
    const a = await h.tenant('a', { disk_bytes: 10_000 });
    const flowId = await h.flow(a.key);
    const runs = path.join(h.state.areas.area(a.id).data, 'runs');
    const oldest = oldRun(runs, 'x_oldest', 4_000, 300);
    const older = oldRun(runs, 'x_older', 4_000, 200);

    // A run in flight: its folder is never made room from, even though it is the oldest.
    h.executor.gate = new Promise(() => {});
    const busy = await h.call('POST', '/v1/executions', a.key, { flow_id: flowId });
    expect(busy.status).toBe(202);
    const busyDir = oldRun(runs, busy.json.id, 1_500, 400);

    // 9,500 bytes held: a run posting 1,000 bytes of records needs the oldest finished folder gone.
    const records = [{ pad: 'q'.repeat(990) }];
    const run = await h.call('POST', '/v1/executions', a.key, { flow_id: flowId, records });
    expect(run.status).toBe(202);
    expect([existsSync(busyDir), existsSync(oldest), existsSync(older)]).toEqual([
      true,
      false,
      true,
    ]);

    // The store files in the tenant's data folder are not run folders: never deleted to make room.
    writeFileSync(path.join(h.state.areas.area(a.id).data, 'store.sqlite'), 'd'.repeat(8_000));
    const full = await h.call('POST', '/v1/executions', a.key, { flow_id: flowId, records });
    expect([full.status, full.json.error.quota]).toEqual([507, 'disk_bytes']);
    expect(existsSync(busyDir)).toBe(true);
    expect(existsSync(path.join(h.state.areas.area(a.id).data, 'store.sqlite'))).toBe(true);
  });

  it('concurrent admissions cannot together overshoot the quota', async () => {
    const h = makeHarness();
    const a = await h.tenant('a', {
      disk_bytes: 20_000,
      concurrent_executions: 20,
      concurrent_requests: 20,
    });
    const flowId = await h.flow(a.key);
    h.executor.gate = new Promise(() => {});
    const records = [{ pad: 'r'.repeat(4_000) }];
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        h.call('POST', '/v1/executions', a.key, { flow_id: flowId, records }),
      ),
    );
    const statuses = answers.map((r) => r.status).sort();
    // Each reserves about 4 KB until its run ends: four fit in 20,000 bytes, the rest are refused.
    expect(statuses.filter((s) => s === 202)).toHaveLength(4);
    expect(statuses.filter((s) => s === 507)).toHaveLength(6);
  });
});
