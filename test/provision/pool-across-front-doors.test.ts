import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { ControlConnection, sendControl } from '../../src/provision/control/control-client.js';
import type { ControlClaim } from '../../src/provision/control/control-protocol.js';
import { startPoolOwner, type PoolOwner } from '../../src/provision/control/pool-owner.js';
import type { PoolStatus } from '../../src/provision/pool/warm-pool.js';
import type { Rac } from '../../src/provision/rac.js';

interface Status {
  outcome: string;
  provisioning: string;
  pool_note?: string;
  records: { in: number; out: number };
  nodes: Array<{ resource_id: string | null }>;
}

const capacity = { capacity: { cpu_cores: 2, memory_gb: 4, gpus: 0 } };

async function pools(): Promise<PoolStatus[]> {
  return ((await sendControl({ op: 'status' })) as unknown as { pools: PoolStatus[] }).pools;
}

describe('a pool made by `warmflow pool up` (owned by `warmflow serve`) is claimed by `warmflow run`', () => {
  const previousHome = process.env.WARMFLOW_HOME;
  let owner: PoolOwner;
  let dir: string;
  let flowFile: string;
  let rprFile: string;
  let moduleFile: string;
  const writeModule = (factor: number) =>
    writeFileSync(
      moduleFile,
      `export function scale(r) { return { n: r.n * ${factor} }; }\n` +
        `export function label(r) { return { s: 'n=' + r.n }; }\n`,
    );

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wf-front-doors-'));
    process.env.WARMFLOW_HOME = path.join(dir, 'home');
    writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}\n');
    moduleFile = path.join(dir, 'fns.js');
    writeModule(2);
    writeFileSync(
      path.join(dir, 'numbers.jsonl'),
      Array.from({ length: 200 }, (_, n) => JSON.stringify({ n })).join('\n') + '\n',
    );
    flowFile = path.join(dir, 'flow.yaml');
    writeFileSync(
      flowFile,
      [
        'name: front-doors',
        'streams:',
        '  numbers: { type: N, source: numbers.jsonl }',
        'functions:',
        '  - { name: scale, module: fns.js, input: [N], output: [M] }',
        '  - { name: label, module: fns.js, input: [M], output: [L] }',
        '',
      ].join('\n'),
    );
    rprFile = path.join(dir, 'rprs.json');
    writeFileSync(
      rprFile,
      JSON.stringify(
        ['scale', 'label'].map((node_id) => ({
          node_id,
          resource_type: 'CPU',
          cpu_cores: 0.25,
          memory_gb: 0.25,
          gpu_enabled: false,
          data_store_instance: null,
        })),
      ),
    );
    owner = await startPoolOwner({ provider: capacity });
  });
  afterAll(async () => {
    await owner?.close();
    if (previousHome === undefined) delete process.env.WARMFLOW_HOME;
    else process.env.WARMFLOW_HOME = previousHome;
    rmSync(dir, { recursive: true, force: true });
  });

  it('run takes the warm set from the owner, which keeps the pool and counts the claim', async () => {
    const up = await runCli('pool', 'up', flowFile, '--rpr', rprFile, '--json');
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    const racs = JSON.parse(up.stdout) as Rac[];
    expect(racs).toHaveLength(1);

    const out = path.join(dir, 'out-warm');
    const run = await runCli('run', flowFile, '--json', '--no-history', '--out', out);
    expect(run.code).toBe(0);
    const status = JSON.parse(run.stdout) as Status;
    expect(status).toMatchObject({
      outcome: 'succeeded',
      provisioning: 'warm',
      records: { in: 200, out: 200 },
    });
    expect(status.pool_note).toBeUndefined();
    // The very resource `pool up` warmed ran the flow.
    const used = new Set(status.nodes.map((n) => n.resource_id).filter((id) => id !== null));
    expect([...used]).toEqual([racs[0].resource_id]);

    // Given back: the owner still holds the pool, nothing claimed.
    const [pool] = await pools();
    expect(pool).toMatchObject({ template: 'front-doors', claimed_sets: 0 });
    expect(pool.ready_sets + pool.warming_sets).toBeGreaterThanOrEqual(1);

    // The text report says where the set came from.
    const text = await runCli('run', flowFile, '--no-history', '--out', out);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/claimed from the pool of warmflow serve \(pid \d+\)/);
    expect(text.stdout).toContain('SUCCEEDED (warm pool)');
  });

  it('a claim whose connection closes unreleased is retired by the owner', async () => {
    // Wait for a ready set (the pool refills behind claims).
    for (let i = 0; i < 100 && (await pools())[0]?.ready_sets !== 1; i++)
      await new Promise((r) => setTimeout(r, 100));
    const connection = await ControlConnection.open();
    const answer = (await connection.request({
      op: 'claim',
      template: 'front-doors',
    })) as unknown as ControlClaim;
    expect(answer.claim).not.toBeNull();
    expect((await pools())[0].claimed_sets).toBe(1);
    connection.close();
    for (let i = 0; i < 50 && (await pools())[0].claimed_sets !== 0; i++)
      await new Promise((r) => setTimeout(r, 100));
    const after = await pools();
    expect(after[0].claimed_sets).toBe(0);
    const held = after[0].sets.flatMap((s) => s.resources.map((r) => r.resource_id));
    expect(held).not.toContain(answer.claim!.racs[0].resource_id);
    await expect(
      sendControl({ op: 'release', claim_id: answer.claim!.claim_id }),
    ).rejects.toMatchObject({ code: 'E_NO_CLAIM' });
  });

  it('a run that finds the owner’s only other set still warming waits for it and runs warm on it', async () => {
    // Its own flow and module: the first worker to load the module after the marker file is
    // made (the pool's refill behind the claim below) stays warming until the test says go —
    // once the run is waiting at the owner. It removes the marker, so nothing else waits.
    const marker = path.join(dir, 'hold-once');
    const go = path.join(dir, 'go');
    writeFileSync(
      path.join(dir, 'held.js'),
      `import { existsSync, unlinkSync } from 'node:fs';\n` +
        `if (existsSync(${JSON.stringify(marker)})) {\n` +
        `  unlinkSync(${JSON.stringify(marker)});\n` +
        `  for (let i = 0; i < 600 && !existsSync(${JSON.stringify(go)}); i++)\n` +
        `    await new Promise((resolve) => setTimeout(resolve, 50));\n` +
        `}\n` +
        `export function scale(r) { return { n: r.n * 2 }; }\n`,
    );
    const heldFlow = path.join(dir, 'held-flow.yaml');
    writeFileSync(
      heldFlow,
      [
        'name: front-doors-wait',
        'streams:',
        '  numbers: { type: N, source: numbers.jsonl }',
        'functions:',
        '  - { name: scale, module: held.js, input: [N], output: [M] }',
        '',
      ].join('\n'),
    );
    const heldRprs = path.join(dir, 'held-rprs.json');
    writeFileSync(
      heldRprs,
      JSON.stringify([
        {
          node_id: 'scale',
          resource_type: 'CPU',
          cpu_cores: 0.25,
          memory_gb: 0.25,
          gpu_enabled: false,
          data_store_instance: null,
        },
      ]),
    );
    expect((await runCli('pool', 'up', heldFlow, '--rpr', heldRprs)).code).toBe(0);
    const poolOf = async () => (await pools()).find((p) => p.template === 'front-doors-wait')!;
    // The owner lets the warming set finish once the run waits for it.
    const service = owner.service;
    const claimWarming = service.claimWarming.bind(service);
    service.claimWarming = (...args) => {
      writeFileSync(go, '');
      return claimWarming(...args);
    };
    // Another client holds the ready set; the refill behind its claim stays warming.
    writeFileSync(marker, '');
    const holder = await ControlConnection.open();
    try {
      const held = (await holder.request({
        op: 'claim',
        template: 'front-doors-wait',
      })) as unknown as ControlClaim;
      expect(held.claim).not.toBeNull();
      for (let i = 0; i < 100 && (await poolOf()).warming_sets !== 1; i++)
        await new Promise((r) => setTimeout(r, 20));
      // The refill's worker has taken the marker: it waits, and no other worker will.
      for (let i = 0; i < 300 && existsSync(marker); i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(existsSync(marker)).toBe(false);
      expect(await poolOf()).toMatchObject({ ready_sets: 0, warming_sets: 1, claimed_sets: 1 });
      const heldIds = held.claim!.racs.map((r) => r.resource_id);

      const run = await runCli(
        'run',
        heldFlow,
        '--json',
        '--no-history',
        '--out',
        path.join(dir, 'out-wait'),
      );
      expect(run.code, run.stderr).toBe(0);
      const status = JSON.parse(run.stdout) as Status & { timings: { pool_wait_ms?: number } };
      expect(status).toMatchObject({
        outcome: 'succeeded',
        provisioning: 'warm',
        records: { in: 200, out: 200 },
      });
      expect(status.pool_note).toBeUndefined();
      expect(status.timings.pool_wait_ms ?? -1).toBeGreaterThan(0);
      // The set that was warming ran it, not the held one.
      const used = status.nodes.map((n) => n.resource_id).filter((id) => id !== null);
      expect(used.length).toBeGreaterThan(0);
      for (const id of used) expect(heldIds).not.toContain(id);
      // Given back ready: the owner counts only the held claim.
      expect(await poolOf()).toMatchObject({ ready_sets: 1, claimed_sets: 1 });

      const text = await runCli(
        'run',
        heldFlow,
        '--no-history',
        '--out',
        path.join(dir, 'out-wait'),
      );
      expect(text.code).toBe(0);
      expect(text.stdout).toContain('SUCCEEDED (warm pool)');
    } finally {
      service.claimWarming = claimWarming;
      holder.close();
      await runCli('pool', 'down', heldFlow);
    }
  }, 60_000);

  it('a pool made for another version of the flow is reported, not silently skipped', async () => {
    writeModule(3);
    const run = await runCli(
      'run',
      flowFile,
      '--json',
      '--no-history',
      '--out',
      path.join(dir, 'out-stale'),
    );
    expect(run.code).toBe(0);
    const status = JSON.parse(run.stdout) as Status;
    expect(status.outcome).toBe('succeeded');
    expect(status.records.out).toBe(200);
    expect(status.pool_note).toMatch(
      /warmflow serve \(pid \d+\) had a warm pool of "front-doors" made for another version of the flow; it retired it; this run warmed its own resources/,
    );
    expect(await pools()).toEqual([]);
  });

  it('--cold does not touch the owner’s pool', async () => {
    writeModule(2);
    await runCli('pool', 'up', flowFile, '--rpr', rprFile);
    const run = await runCli(
      'run',
      flowFile,
      '--json',
      '--cold',
      '--no-history',
      '--out',
      path.join(dir, 'out-cold'),
    );
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as Status).provisioning).toBe('on_demand');
    const [pool] = await pools();
    expect(pool.claimed_sets).toBe(0);
    expect(pool.sets).toHaveLength(1);
  });
});
