import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { executeDataflow } from '../../src/execute/execution-manager.js';
import { planGroups } from '../../src/execute/plan.js';
import { formatStatus } from '../../src/flow/format-run.js';
import type { Rpr } from '../../src/predictor/rpr.js';
import { LocalProvider } from '../../src/provision/local/local-provider.js';
import { PreProvisioningService } from '../../src/provision/pool/pre-provisioning-service.js';
import { flowProvisionRequests } from '../../src/provision/kubernetes/flow-requests.js';
import { loadFlow } from '../../src/template/load-flow.js';
import { WorkerClient } from '../../src/worker/client.js';
import type { LoadedFlow } from '../../src/template/load-flow.js';

const repo = path.resolve(import.meta.dirname, '../..');

/** RPRs as a hand-written `--rpr` file gives them: the functions only. */
function functionRprs(flow: LoadedFlow): Rpr[] {
  return flow.template.nodes
    .filter((n) => n.kind === 'function')
    .map((n) => ({
      node_id: n.id,
      resource_type: 'CPU',
      cpu_cores: 0.25,
      memory_gb: 0.25,
      gpu_enabled: false,
      data_store_instance: null,
    }));
}

describe('a warm pool made by any front door is claimed by the next execution', () => {
  let scratch: string;
  let provider: LocalProvider;
  let flow: LoadedFlow;

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), 'wf-pool-claim-'));
    provider = new LocalProvider({
      root: path.join(scratch, 'workers'),
      capacity: { cpu_cores: 16, memory_gb: 16, gpus: 0 },
    });
    flow = await loadFlow(path.join(repo, 'examples/orders/flow.yaml'));
  });
  afterAll(async () => {
    await provider.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  const request = (name: string) => ({
    flow,
    rprs: functionRprs(flow),
    tenant: 'claims',
    out_dir: path.join(scratch, name),
    stores: { ledger: { kind: 'sqlite' as const, path: path.join(scratch, `${name}.db`) } },
  });

  it('plans pools, executions and manifests by the same placement groups', () => {
    const groups = planGroups(flow.template);
    const manifests = flowProvisionRequests(flow, functionRprs(flow), 'claims');
    expect(manifests.map((r) => r.node_ids)).toEqual(groups);
  });

  it('a pool made without naming groups (pool up, POST /v1/pools) is claimed warm', async () => {
    const service = new PreProvisioningService({ provider });
    try {
      // What `warmflow pool up` (the control socket) and a server's pools call: no groups.
      const racs = await service.preProvision({
        flow,
        rprs: functionRprs(flow),
        tenant: 'claims',
      });
      const status = await executeDataflow(request('warm'), { provider, pool: service });
      expect(status.error).toBeUndefined();
      expect(status.provisioning).toBe('warm');
      expect(status.pool_note).toBeUndefined();
      const used = new Set(status.nodes.map((n) => n.resource_id).filter((id) => id !== null));
      expect([...used].every((id) => racs.some((r) => r.resource_id === id))).toBe(true);
      expect(formatStatus(status)).toContain('(warm pool)');
    } finally {
      await service.close();
    }
  });

  it("a warm set holds its groups' deploy templates before the request: the first df.run sends its run part only", async () => {
    const service = new PreProvisioningService({ provider });
    const sent = vi.spyOn(WorkerClient.prototype, 'request');
    try {
      const racs = await service.preProvision({ flow, rprs: functionRprs(flow), tenant: 'claims' });
      const templates = sent.mock.calls.filter(([m]) => m.type === 'df.template');
      expect(templates).toHaveLength(racs.length);
      // Answered (the pool does not wait for it: a run sent before would carry its spec whole).
      await Promise.all(
        sent.mock.calls.flatMap(([m], i) =>
          m.type === 'df.template' ? [sent.mock.results[i].value as Promise<unknown>] : [],
        ),
      );
      const status = await executeDataflow(request('ahead'), { provider, pool: service });
      expect(status.error).toBeUndefined();
      expect(status.provisioning).toBe('warm');
      const runs = sent.mock.calls.flatMap(([m]) =>
        m.type === 'df.run' ? [m as { spec: { template_id?: string } }] : [],
      );
      expect(runs).toHaveLength(racs.length);
      // Each resource got only the run part, naming the template it was sent at connect.
      const ids = templates.map(([m]) => (m as { template_id: string }).template_id);
      for (const run of runs) {
        expect('template' in run.spec).toBe(false);
        expect(ids).toContain(run.spec.template_id);
      }
      // And ran what a cold run of the same request runs.
      const cold = await executeDataflow(request('ahead-cold'), {
        provider,
        pool: service,
        cold: true,
      });
      expect(status.records).toEqual(cold.records);
      expect(status.records.out).toBeGreaterThan(0);
    } finally {
      sent.mockRestore();
      await service.close();
    }
  });

  it('a request that finds its pool still warming runs on that set once ready, and says how long it waited', async () => {
    // No refill behind the claim: one set is all this needs (the next run finds it released).
    const service = new PreProvisioningService({ provider, refillDelayMs: 600_000 });
    const provisioned = vi.spyOn(provider, 'provision');
    try {
      // The request comes while the pool is being filled (a policy's pre-warm not yet done).
      const filling = service.preProvision({ flow, rprs: functionRprs(flow), tenant: 'claims' });
      const status = await executeDataflow(request('warming'), { provider, pool: service });
      const racs = await filling;
      expect(status.error).toBeUndefined();
      expect(status.provisioning).toBe('warm');
      expect(status.timings.pool_wait_ms).toBeGreaterThan(0);
      expect(formatStatus(status)).toMatch(/waited [\d.,]+ ms for the warm set/);
      expect(status.timings.request_to_ready_ms).toBeGreaterThanOrEqual(
        status.timings.pool_wait_ms!,
      );
      // Only the pool's set was provisioned: nothing on demand beside it.
      expect(provisioned).toHaveBeenCalledTimes(racs.length);
      for (const [asked] of provisioned.mock.calls) expect(asked.warm?.warm_up).toBe(true);
      const used = new Set(status.nodes.map((n) => n.resource_id).filter((id) => id !== null));
      expect([...used].every((id) => racs.some((r) => r.resource_id === id))).toBe(true);
      // A request that finds a ready set does not wait.
      const again = await executeDataflow(request('warming-again'), { provider, pool: service });
      expect(again.provisioning).toBe('warm');
      expect(again.timings.pool_wait_ms).toBeUndefined();
    } finally {
      provisioned.mockRestore();
      await service.close();
    }
  });

  it('a claimed set the execution cannot place on is reported, not silently replaced', async () => {
    const service = new PreProvisioningService({ provider });
    try {
      // A pool planned on two resources that cut the flow in halves (not the placement rule):
      // two worker processes, where one per node started eleven at once beside other suites.
      const ids = flow.template.nodes.map((n) => n.id);
      const half = Math.ceil(ids.length / 2);
      await service.preProvision({
        flow,
        rprs: ids.map((id) => ({ ...functionRprs(flow)[0], node_id: id })),
        tenant: 'claims',
        groups: [ids.slice(0, half), ids.slice(half)],
      });
      expect(service.status({ tenant: 'claims' })[0].held.resources).toBe(2);
      const status = await executeDataflow(request('cold'), { provider, pool: service });
      expect(status.outcome).toBe('succeeded');
      expect(status.provisioning).toBe('on_demand');
      expect(status.pool_note).toMatch(/warm pool's set was not used/);
      expect(formatStatus(status)).toContain(`note: ${status.pool_note}`);
    } finally {
      await service.close();
    }
  });
});
