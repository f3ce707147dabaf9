import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkerClient } from '../../src/worker/client.js';
import { spawnWorker, waitForReady, type SpawnWorkerOptions } from '../../src/worker/spawn.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const token = 'test-token-0123456789abcdef';
const started: ChildProcess[] = [];

function start(overrides: Partial<SpawnWorkerOptions> = {}): ChildProcess {
  const child = spawnWorker({
    resourceId: 'w-test',
    nodeIds: ['double'],
    cpuCores: 1,
    memoryGb: 0.25,
    token,
    warm: {
      functions: [
        { node_id: 'double', module: path.join(fixtures, 'double.ts'), export: 'double' },
      ],
      stores: {},
    },
    cwd: mkdtempSync(path.join(os.tmpdir(), 'warmflow-worker-')),
    env: { PATH: process.env.PATH ?? '' },
    ...overrides,
  });
  started.push(child);
  return child;
}

function exited(child: ChildProcess): Promise<unknown> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : once(child, 'exit');
}

afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

describe('worker process', () => {
  it('warms its function module, serves an authenticated client and exits on shutdown', async () => {
    const child = start();
    const { address, pid } = await waitForReady(child);
    expect(pid).toBe(child.pid);
    const client = await WorkerClient.connect(address, token);
    expect(client.hello?.node_ids).toEqual(['double']);
    const { message } = await client.request({ type: 'health' });
    expect(message.status).toBe('ready');
    expect(message.node_ids).toEqual(['double']);
    expect(message.usage.rss_bytes).toBeGreaterThan(0);
    await expect(WorkerClient.connect(address, 'wrong-token-0123456789')).rejects.toThrow(
      /authentication failed/,
    );
    const exit = exited(child);
    await client.request({ type: 'shutdown' });
    await exit;
    expect(child.exitCode).toBe(0);
  });

  it('reports a module that cannot be warmed instead of becoming ready', async () => {
    const child = start({
      warm: {
        functions: [{ node_id: 'x', module: path.join(fixtures, 'nope.ts'), export: 'x' }],
        stores: {},
      },
    });
    await expect(waitForReady(child)).rejects.toThrow(/cannot load function module .*nope\.ts/);
  });

  it('exits when its IPC parent lets go', async () => {
    const child = start();
    await waitForReady(child);
    const exit = exited(child);
    child.disconnect();
    await exit;
    expect(child.exitCode).toBe(0);
  });

  it('exits when the orchestrator pid it was given is gone', async () => {
    const orchestrator = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    started.push(orchestrator);
    const child = start({ orchestratorPid: orchestrator.pid! });
    await waitForReady(child);
    const exit = exited(child);
    orchestrator.kill('SIGKILL');
    await exit;
    expect(child.exitCode).toBe(0);
  });

  it('exits when its orchestrator goes while it is still starting (a module that never loads)', async () => {
    const neverLoads = {
      functions: [
        { node_id: 'never', module: path.join(fixtures, 'never-loads.ts'), export: 'never' },
      ],
      stores: {},
    };
    // Its IPC parent lets go.
    const child = start({ nodeIds: ['never'], warm: neverLoads });
    child.on('message', () => {}); // nothing comes: it never gets ready
    await new Promise((r) => setTimeout(r, 1500));
    expect(child.exitCode).toBeNull();
    const exit = exited(child);
    child.disconnect();
    await exit;
    expect(child.exitCode).toBe(1);
    // The orchestrator pid it was given is gone.
    const orchestrator = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    started.push(orchestrator);
    const second = start({
      nodeIds: ['never'],
      warm: neverLoads,
      orchestratorPid: orchestrator.pid!,
    });
    await new Promise((r) => setTimeout(r, 1500));
    expect(second.exitCode).toBeNull();
    const secondExit = exited(second);
    orchestrator.kill('SIGKILL');
    await secondExit;
    expect(second.exitCode).toBe(1);
  });

  it('exits when nobody watches its heartbeat, stays while someone does', async () => {
    const child = start({ watchTimeoutMs: 400 });
    const { address } = await waitForReady(child);
    const client = await WorkerClient.connect(address, token);
    await client.request({ type: 'watch', interval_ms: 100 });
    const beats: unknown[] = [];
    client.on('message', ({ message }) => beats.push(message));
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(child.exitCode).toBeNull();
    expect(beats.length).toBeGreaterThan(0);
    const exit = exited(child);
    client.close();
    await exit;
    expect(child.exitCode).toBe(0);
  });
});
