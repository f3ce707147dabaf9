import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExecutionRecord } from '../../src/server/app-state.js';
import { createApp } from '../../src/server/create-app.js';
import type { ExecutionInput } from '../../src/server/ports.js';
import { RecordStore } from '../../src/server/record-store.js';
import { resumeInterruptedExecutions } from '../../src/server/routes/executions.js';
import { templatePort } from '../../src/server/wiring.js';
import { TenancyStore } from '../../src/tenancy/tenancy-store.js';
import { FakeExecutor, FakeHistory, FakePools, FakePredictor, FakeProfiler } from './fakes.js';
import { ADMIN_KEY, FLOW_YAML } from './harness.js';

/** An executor with checkpointed runs left by a server that died (as the real one reports them). */
class ResumingExecutor extends FakeExecutor {
  left: Array<{ execution_id: string; tenant: string }> = [];
  readonly forgotten: string[] = [];
  readonly resumed: string[] = [];
  async interrupted() {
    return this.left;
  }
  async forget(id: string) {
    this.forgotten.push(id);
  }
  override async execute(input: ExecutionInput) {
    if (input.resume === true) this.resumed.push(input.execution_id);
    return super.execute(input);
  }
}

/** An app over the database files in `dir`: what a server process holds, started again. */
function serverOver(dir: string, executor = new ResumingExecutor()) {
  const tenancy = new TenancyStore({ path: path.join(dir, 'home.db'), adminKey: ADMIN_KEY });
  const records = new RecordStore(path.join(dir, 'home.db'));
  const { app, state } = createApp(
    {
      tenancy,
      template: templatePort(),
      profiler: new FakeProfiler(),
      predictor: new FakePredictor(),
      pools: new FakePools(),
      executor,
      history: new FakeHistory(executor),
    },
    { log: () => {}, shedDelayMs: 0, records },
  );
  const call = async (
    method: string,
    route: string,
    key: string,
    body?: string,
    type = 'application/yaml',
  ) => {
    const res = await app.request(route, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': type }),
      },
      body,
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  const close = async () => {
    await Promise.allSettled([...state.running]);
    await records.close();
    tenancy.close();
  };
  return { state, executor, call, close };
}

describe('runs a stopped server was running, at its next start', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('resumes a checkpointed one; one whose flow is gone or that was resumed 3 times stays interrupted, says why, and is forgotten', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wf-resume-'));
    dirs.push(dir);
    // The first server: a tenant, two flows, and three runs in flight when it "dies".
    const first = serverOver(dir);
    const tenant = await first.call(
      'POST',
      '/v1/tenants',
      ADMIN_KEY,
      JSON.stringify({ name: 'a', quotas: { cores: 8, memory_gb: 16 } }),
      'application/json',
    );
    const key = tenant.json.api_key as string;
    const tenantId = tenant.json.id as string;
    const kept = (await first.call('POST', '/v1/flows', key, FLOW_YAML)).json.id as string;
    const gone = (await first.call('POST', '/v1/flows', key, FLOW_YAML.replace('clicks', 'other')))
      .json.id as string;
    const inFlight = (id: string, flowId: string, times?: number): ExecutionRecord => ({
      id,
      tenant: tenantId,
      flow_id: flowId,
      template: 'clicks',
      status: 'running',
      submitted_at: new Date().toISOString(),
      nodes: [],
      rprs: [],
      dcp: null,
      completion: null,
      ...(times !== undefined ? { resumed: { times, at: new Date().toISOString() } } : {}),
    });
    await first.state.executions.set(tenantId, 'x_resumable', inFlight('x_resumable', kept));
    await first.state.executions.set(tenantId, 'x_flow_gone', inFlight('x_flow_gone', gone));
    await first.state.executions.set(tenantId, 'x_thrice', inFlight('x_thrice', kept, 3));
    await first.state.executions.set(
      tenantId,
      'x_no_checkpoint',
      inFlight('x_no_checkpoint', kept),
    );
    expect((await first.call('DELETE', `/v1/flows/${gone}`, key)).status).toBe(200);
    await first.close();

    // The next start: the executor names the checkpointed ones (not x_no_checkpoint), plus a
    // run of another orchestrator on the same home that no server record names.
    const executor = new ResumingExecutor();
    executor.left = ['x_resumable', 'x_flow_gone', 'x_thrice', 'x_cli_run'].map((id) => ({
      execution_id: id,
      tenant: tenantId,
    }));
    const second = serverOver(dir, executor);
    await resumeInterruptedExecutions(second.state);
    await Promise.allSettled([...second.state.running]);

    expect(executor.resumed).toEqual(['x_resumable']);
    const resumed = (await second.call('GET', '/v1/executions/x_resumable', key)).json;
    expect(resumed.status).toBe('succeeded');
    expect((resumed.resumed as { times: number }).times).toBe(1);
    expect(resumed.error).toBeUndefined();
    for (const [id, why] of [
      ['x_flow_gone', 'not found'],
      ['x_thrice', '3 times'],
    ]) {
      const shown = (await second.call('GET', `/v1/executions/${id}`, key)).json;
      expect(shown.status).toBe('interrupted');
      const error = shown.error as { code: string; message: string };
      expect(error.code).toBe('E_INTERRUPTED');
      expect(error.message).toContain('could not be resumed');
      expect(error.message).toContain(why);
    }
    const plain = (await second.call('GET', '/v1/executions/x_no_checkpoint', key)).json;
    expect([plain.status, (plain.error as { message: string }).message]).toEqual([
      'interrupted',
      expect.not.stringContaining('could not be resumed'),
    ]);
    // Neither refused run is tried by a later restart; another orchestrator's run is left alone.
    expect(executor.forgotten.sort()).toEqual(['x_flow_gone', 'x_thrice']);
    // Admission was released: the tenant's run slots are free again.
    expect(second.state.ledger.reserved(tenantId)).toMatchObject({ cores: 0 });
    await second.close();
  });
});
