import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startServer, type RunningServer } from '../../src/server/start-server.js';

const repo = path.resolve(import.meta.dirname, '../..');

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { code, stdout, stderr } = await runCli(...args);
  return { code, out: stdout, err: stderr };
}

describe('the CLI against a running server (--server, WARMFLOW_API_KEY)', () => {
  let server: RunningServer;
  let scratch: string;
  beforeAll(async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), 'wf-remote-cli-'));
    server = await startServer({
      port: 0,
      adminKey: 'remote-cli-admin-key-0123456789',
      fileRoots: [repo, scratch],
    });
    const created = await fetch(`${server.url}/v1/tenants`, {
      method: 'POST',
      headers: {
        authorization: 'Bearer remote-cli-admin-key-0123456789',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ name: 'remote' }),
    });
    process.env.WARMFLOW_API_KEY = ((await created.json()) as { api_key: string }).api_key;
  });
  afterAll(async () => {
    delete process.env.WARMFLOW_API_KEY;
    await server.close();
    const { rmSync } = await import('node:fs');
    rmSync(scratch, { recursive: true, force: true });
  });

  it('template: the server infers the same template the local command prints', async () => {
    const flow = path.join(repo, 'examples/orders/flow.yaml');
    const remote = await cli('template', flow, '--json', '--server', server.url);
    const local = await cli('template', flow, '--json');
    expect(remote.code).toBe(0);
    expect(JSON.parse(remote.out)).toEqual(JSON.parse(local.out));
  });

  it('template: an invalid flow is refused with its problems and exit code 2, as locally', async () => {
    const bad = path.join(scratch, 'bad.yaml');
    writeFileSync(bad, 'name: bad\nfunctions:\n  - name: a\n    input: [X]\n    output: [Y]\n');
    const remote = await cli('template', bad, '--server', server.url);
    expect(remote.code).toBe(2);
    expect(remote.err).toContain('bad.yaml:4');
    expect(remote.err).toContain('"a" needs type "X"');
  });

  it('run and history: the server runs the flow from its warm pool and keeps the run', async () => {
    const flow = path.join(repo, 'examples/clickstream/flow.yaml');
    const run = await cli('run', flow, '--json', '--server', server.url);
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    const status = JSON.parse(run.out) as {
      outcome: string;
      provisioning: string;
      records: { in: number; dead_lettered: number };
    };
    expect(status.outcome).toBe('succeeded');
    expect(status.provisioning).toBe('warm');
    expect(status.records.dead_lettered).toBe(6);
    const history = await cli('history', '--json', '--server', server.url);
    expect(history.code).toBe(0);
    const runs = JSON.parse(history.out) as Array<{ template: string }>;
    expect(runs.map((r) => r.template)).toContain('clickstream');
  });

  it('pool up --server (POST /v1/pools) makes the pool the next execution claims', async () => {
    const flow = path.join(repo, 'examples/clickstream/flow.yaml');
    await cli('pool', 'down', flow, '--server', server.url);
    // A hand-written RPR file sizing the functions only, as a user would write it.
    const rprFile = path.join(scratch, 'clickstream-rprs.json');
    writeFileSync(
      rprFile,
      JSON.stringify(
        ['parse', 'enrich', 'sessionize'].map((node_id) => ({
          node_id,
          resource_type: 'CPU',
          cpu_cores: 0.25,
          memory_gb: 0.25,
          gpu_enabled: false,
          data_store_instance: null,
        })),
      ),
    );
    const up = await cli('pool', 'up', flow, '--rpr', rprFile, '--json', '--server', server.url);
    expect(up.err).toBe('');
    expect(up.code).toBe(0);
    const racs = JSON.parse(up.out) as Array<{ resource_id: string; node_ids: string[] }>;
    expect(racs).toHaveLength(1);
    const pools = JSON.parse((await cli('pool', 'status', '--json', '--server', server.url)).out);
    const flowId = (pools as Array<{ template: string; flow_id: string }>).find(
      (p) => p.template === 'clickstream',
    )!.flow_id;
    // The execution as POST /v1/executions takes it (run --server would first re-size the
    // pool from its own prediction).
    const response = await fetch(`${server.url}/v1/executions?wait=true`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${process.env.WARMFLOW_API_KEY}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ flow_id: flowId }),
    });
    expect(response.status).toBe(200);
    const status = ((await response.json()) as { completion: unknown }).completion as {
      provisioning: string;
      pool_note?: string;
      nodes: Array<{ resource_id: string | null }>;
    };
    expect(status.provisioning).toBe('warm');
    expect(status.pool_note).toBeUndefined();
    const used = new Set(status.nodes.map((n) => n.resource_id).filter((id) => id !== null));
    expect([...used]).toEqual([racs[0].resource_id]);

    // run --server claims the same pool as it is: no re-sizing from its own prediction.
    const before = (
      JSON.parse((await cli('pool', 'status', '--json', '--server', server.url)).out) as Array<{
        template: string;
        resources: Array<{ resource_id: string; rpr: { cpu_cores: number; memory_gb: number } }>;
      }>
    ).find((p) => p.template === 'clickstream')!;
    const run = await cli('run', flow, '--json', '--server', server.url);
    expect(run.code).toBe(0);
    const ran = JSON.parse(run.out) as typeof status;
    expect(ran.provisioning).toBe('warm');
    expect(ran.pool_note).toBeUndefined();
    const ranOn = ran.nodes.map((n) => n.resource_id).filter((id) => id !== null);
    const warmed = before.resources.map((r) => r.resource_id);
    for (const id of ranOn) expect(warmed).toContain(id);
    const after = (
      JSON.parse((await cli('pool', 'status', '--json', '--server', server.url)).out) as Array<{
        template: string;
        resources: Array<{ rpr: { cpu_cores: number; memory_gb: number } }>;
      }>
    ).find((p) => p.template === 'clickstream')!;
    expect(after.resources.map((r) => r.rpr)).toEqual(before.resources.map((r) => r.rpr));

    // --cold on the server: on demand, the pool untouched.
    const cold = await cli('run', flow, '--json', '--cold', '--server', server.url);
    expect(cold.code).toBe(0);
    expect((JSON.parse(cold.out) as typeof status).provisioning).toBe('on_demand');
  });

  it('run --server --max-dead-letter-ratio reaches the execution request and is honoured', async () => {
    const flow = path.join(repo, 'examples/clickstream/flow.yaml');
    // The clickstream data dead-letters 6 records: a ratio of 0 fails the run.
    const strict = await cli(
      'run',
      flow,
      '--json',
      '--max-dead-letter-ratio',
      '0',
      '--server',
      server.url,
    );
    expect(strict.code).toBe(1);
    const status = JSON.parse(strict.out) as { outcome: string; error?: { code: string } };
    expect(status.outcome).toBe('failed');
    expect(status.error?.code).toBe('E_DEAD_LETTERS');
    const refused = await fetch(`${server.url}/v1/executions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${process.env.WARMFLOW_API_KEY}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ flow_id: 'f_none', max_dead_letter_ratio: 2 }),
    });
    expect(refused.status).toBe(400);
  });

  it("pool status and pool down --server see and release the key tenant's pools", async () => {
    const flow = path.join(repo, 'examples/clickstream/flow.yaml');
    const run = await cli('run', flow, '--json', '--server', server.url);
    expect(run.code).toBe(0);
    const status = await cli('pool', 'status', '--json', '--server', server.url);
    expect(status.code).toBe(0);
    const pools = JSON.parse(status.out) as Array<{ template: string; tenant: string }>;
    expect(pools.map((p) => p.template)).toContain('clickstream');
    const down = await cli('pool', 'down', flow, '--json', '--server', server.url);
    expect([down.code, JSON.parse(down.out).released]).toEqual([0, 1]);
    const after = await cli('pool', 'status', '--json', '--server', server.url);
    expect(JSON.parse(after.out)).toEqual([]);
  });

  it('refuses --server without a key, and flags that only work locally', async () => {
    const key = process.env.WARMFLOW_API_KEY;
    delete process.env.WARMFLOW_API_KEY;
    const noKey = await cli('history', '--server', server.url);
    process.env.WARMFLOW_API_KEY = key;
    expect(noKey.code).toBe(2);
    expect(noKey.err).toContain('WARMFLOW_API_KEY');
    const rate = await cli(
      'run',
      path.join(repo, 'examples/clickstream/flow.yaml'),
      '--rate',
      '100',
      '--server',
      server.url,
    );
    expect(rate.code).toBe(2);
    expect(rate.err).toContain('--rate');
  });
});
