import { spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '../..');
const ADMIN = 'serve-process-admin-key-0123456789';

/** A real `warmflow serve` (from dist/: `npm run build` first) over its own home folder. */
async function startServe(
  home: string,
  root: string,
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [path.join(repo, 'bin/warmflow.js'), 'serve', '--port', '0', '--json', '--root', root],
    {
      env: { ...process.env, WARMFLOW_HOME: home, WARMFLOW_ADMIN_KEY: ADMIN, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: root,
    },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      try {
        const ready = JSON.parse(line) as { type?: string; url?: string };
        if (ready.type === 'ready' && ready.url) resolve(ready.url);
      } catch {
        // not the ready line
      }
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
  });
  return { child, url };
}

async function api(
  url: string,
  key: string,
  method: string,
  route: string,
  body?: unknown,
  type = 'application/json',
) {
  const res = await fetch(url + route, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': type }),
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });

  return { status: res.status, json: await res.json() };
}

/** Every path under `dir` whose mode lets a user other than the owner read, write or enter it. */
function openToOthers(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const file = path.join(entry.parentPath, entry.name);
    const mode = statSync(file).mode & 0o777;
    if ((mode & 0o077) !== 0) found.push(`${file} ${mode.toString(8)}`);
  }
  const own = statSync(dir).mode & 0o777;
  if ((own & 0o077) !== 0) found.push(`${dir} ${own.toString(8)}`);
  return found;
}

describe('a real `warmflow serve` process', () => {
  let scratch: string;
  let home: string;
  let flowDir: string;
  const children: ChildProcess[] = [];

  beforeAll(() => {
    scratch = mkdtempSync(path.join(os.tmpdir(), 'wf-serve-process-'));
    home = path.join(scratch, 'home');
    // A home an older version made world-readable is tightened at start.
    mkdirSync(home, { mode: 0o755 });
    chmodSync(home, 0o755);
    flowDir = path.join(scratch, 'flow');
    mkdirSync(flowDir);
    writeFileSync(
      path.join(flowDir, 'fns.mjs'),
      'export async function slow(item) { const end = Date.now() + Number(item.spin ?? 0); while (Date.now() < end); await new Promise((r) => setTimeout(r, Number(item.wait ?? 0))); return { n: item.n * 2 }; }\n',
    );
    writeFileSync(
      path.join(flowDir, 'flow.yaml'),
      'name: modes\nstreams:\n  items: { type: Item }\nfunctions:\n  - { name: slow, module: ./fns.mjs, input: [Item], output: [Out] }\n',
    );
  });
  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(scratch, { recursive: true, force: true });
  });

  it('no file in the home folder is readable by another user (databases, per-run inputs and outputs)', async () => {
    const { child, url } = await startServe(home, scratch);
    children.push(child);
    const tenant = await api(url, ADMIN, 'POST', '/v1/tenants', { name: 'modes' });
    expect(tenant.status).toBe(201);
    const key = tenant.json.api_key as string;
    const flow = await api(
      url,
      key,
      'POST',
      `/v1/flows?file=${encodeURIComponent(path.join(flowDir, 'flow.yaml'))}`,
      'name: modes\nstreams:\n  items: { type: Item }\nfunctions:\n  - { name: slow, module: ./fns.mjs, input: [Item], output: [Out] }\n',
      'application/yaml',
    );
    expect(flow.status).toBe(201);
    const run = await api(url, key, 'POST', '/v1/executions?wait=true', {
      flow_id: flow.json.id,
      records: [{ n: 1 }, { n: 2 }],
    });
    expect([run.status, run.json.status]).toEqual([200, 'succeeded']);
    const files = readdirSync(home, { recursive: true }).map(String);
    expect(files).toContain('warmflow.db');
    expect(files.some((f) => f.endsWith('input.jsonl'))).toBe(true);
    expect(openToOthers(home)).toEqual([]);
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  });

  /** A new tenant (its key) with the test's flow posted. */
  async function tenantWithFlow(url: string, name: string) {
    const tenant = await api(url, ADMIN, 'POST', '/v1/tenants', { name });
    const key = tenant.json.api_key as string;
    const flow = await api(
      url,
      key,
      'POST',
      `/v1/flows?file=${encodeURIComponent(path.join(flowDir, 'flow.yaml'))}`,
      readFileSync(path.join(flowDir, 'flow.yaml'), 'utf8'),
      'application/yaml',
    );
    expect(flow.status).toBe(201);
    return { key, flow };
  }

  it('after kill -9 a restart keeps flows, profiles and runs; a run in flight without checkpoints is interrupted, with what it had done', async () => {
    // Checkpoints off: the run in flight cannot be resumed.
    const first = await startServe(home, scratch, { WARMFLOW_CHECKPOINT_INTERVAL_MS: '0' });
    children.push(first.child);
    const { key, flow } = await tenantWithFlow(first.url, 'restart');
    const profile = await api(first.url, key, 'POST', '/v1/profiles', {
      flow_id: flow.json.id,
      records: [{ n: 1 }, { n: 2 }],
    });
    expect(profile.status).toBe(201);
    const done = await api(first.url, key, 'POST', '/v1/executions?wait=true', {
      flow_id: flow.json.id,
      records: [{ n: 3 }],
    });
    expect(done.json.status).toBe('succeeded');
    const inFlight = await api(first.url, key, 'POST', '/v1/executions', {
      flow_id: flow.json.id,
      records: [{ n: 1 }, { n: 2, wait: 15_000 }],
    });
    expect(inFlight.status).toBe(202);
    // Let it start, then kill the server without any chance to clean up.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));

    const second = await startServe(home, scratch);
    children.push(second.child);
    expect((await api(second.url, key, 'GET', `/v1/flows/${flow.json.id}`)).status).toBe(200);
    const kept = await api(second.url, key, 'GET', `/v1/profiles/${profile.json.id}`);
    expect([kept.status, kept.json.dcp.volume.records]).toEqual([200, 2]);
    const after = await api(second.url, key, 'GET', `/v1/executions/${inFlight.json.id}`);
    expect([after.status, after.json.status, after.json.error?.code]).toEqual([
      200,
      'interrupted',
      'E_INTERRUPTED',
    ]);
    expect(after.json.nodes.length).toBeGreaterThan(0);
    expect((await api(second.url, key, 'GET', `/v1/executions/${done.json.id}`)).json.status).toBe(
      'succeeded',
    );
    const history = await api(second.url, key, 'GET', '/v1/history');
    expect(history.json.interrupted.map((e: { id: string }) => e.id)).toEqual([inFlight.json.id]);
    // The flow still runs after the restart.
    const again = await api(second.url, key, 'POST', '/v1/executions?wait=true', {
      flow_id: flow.json.id,
      records: [{ n: 4 }],
    });
    expect(again.json.status).toBe('succeeded');
    second.child.kill('SIGTERM');
    await new Promise((resolve) => second.child.once('exit', resolve));
  });

  it('after kill -9 a restart resumes a checkpointed run from its checkpoint: it ends succeeded with every output once', async () => {
    const first = await startServe(home, scratch, { WARMFLOW_CHECKPOINT_INTERVAL_MS: '200' });
    children.push(first.child);
    const { key, flow } = await tenantWithFlow(first.url, 'resume');
    // 120 records of 50 ms of CPU each: about 6 s of work, checkpointed every 200 ms.
    const records = Array.from({ length: 120 }, (_, n) => ({ n, spin: 50 }));
    const inFlight = await api(first.url, key, 'POST', '/v1/executions', {
      flow_id: flow.json.id,
      records,
    });
    expect(inFlight.status).toBe(202);
    const id = inFlight.json.id as string;
    // Kill the server once the run's resource is deployed and some checkpoints are taken.
    for (let i = 0; i < 100; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const seen = await api(first.url, key, 'GET', `/v1/executions/${id}`);
      if (seen.json.nodes.some((n: { state: string }) => n.state !== 'pending')) break;
    }
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const before = await api(first.url, key, 'GET', `/v1/executions/${id}`);
    expect(before.json.status).toBe('running');
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));

    const second = await startServe(home, scratch);
    children.push(second.child);
    let after = await api(second.url, key, 'GET', `/v1/executions/${id}`);
    for (let i = 0; i < 300 && after.json.status === 'running'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      after = await api(second.url, key, 'GET', `/v1/executions/${id}`);
    }
    expect([after.json.status, after.json.resumed?.times, after.json.error]).toEqual([
      'succeeded',
      1,
      undefined,
    ]);
    expect(after.json.completion.records).toMatchObject({ in: 120, out: 120, dead_lettered: 0 });
    // Every output once: the sink was rolled back to the checkpoint, not appended to twice.
    const output = after.json.completion.outputs.find((o: { type: string }) => o.type === 'Out');
    const lines = readFileSync(output.file, 'utf8').trim().split('\n');
    const doubled = lines
      .map((line) => (JSON.parse(line) as { n: number }).n)
      .sort((a, b) => a - b);
    expect(doubled).toEqual(records.map((r) => r.n * 2));
    const history = await api(second.url, key, 'GET', '/v1/history');
    expect(history.json.interrupted).toEqual([]);
    second.child.kill('SIGTERM');
    await new Promise((resolve) => second.child.once('exit', resolve));
  });
});
