import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeDataflow } from '../../src/execute/execution-manager.js';
import { fitGroupRprs, planGroups } from '../../src/execute/plan.js';
import { ruleRprs } from '../../src/predictor/rule-rprs.js';
import { LocalProvider } from '../../src/provision/local/local-provider.js';
import { PreProvisioningService } from '../../src/provision/pool/pre-provisioning-service.js';
import { loadFlow, type LoadedFlow } from '../../src/template/load-flow.js';

const RECORDS = 5000;

/**
 * Warm checkpointed runs, which the resource's threads take from their channels before the
 * worker's main thread hands them over: every record once, run after run, and the status says
 * the run was ready no later than its first output record.
 */
describe('a warm run its threads take from the orchestrator', () => {
  let dir: string;
  let flow: LoadedFlow;
  let provider: LocalProvider;
  let pool: PreProvisioningService;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wf-taken-run-'));
    writeFileSync(
      path.join(dir, 'fns.mjs'),
      'export function tag(r) { return { n: r.n, t: r.n % 7 }; }\n',
    );
    writeFileSync(
      path.join(dir, 'flow.yaml'),
      'name: taken\nstreams:\n  items: { type: Item, source: ./items.jsonl }\nfunctions:\n  - { name: tag, module: ./fns.mjs, input: [Item], output: [Tagged] }\n',
    );
    const lines = Array.from({ length: RECORDS }, (_, n) => JSON.stringify({ n }));
    writeFileSync(path.join(dir, 'items.jsonl'), lines.join('\n') + '\n');
    flow = await loadFlow(path.join(dir, 'flow.yaml'));
    provider = new LocalProvider({
      root: path.join(dir, 'workers'),
      capacity: { cpu_cores: 4, memory_gb: 8, gpus: 0 },
    });
    pool = new PreProvisioningService({ provider });
  });

  afterAll(async () => {
    await pool.close();
    await provider.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes every record once, run after run, and is ready no later than its first record', async () => {
    const groups = planGroups(flow.template);
    const rprs = fitGroupRprs(ruleRprs(flow.template, 60), groups, 2);
    await pool.preProvision({ flow, rprs, tenant: 'taken', groups, sets: 1 });
    const expected = Array.from({ length: RECORDS }, (_, n) => n);
    for (let run = 0; run < 4; run++) {
      const out = path.join(dir, `out-${run % 2}`);
      const status = await executeDataflow(
        {
          tenant: 'taken',
          flow,
          rprs,
          groups,
          out_dir: out,
          inputs: { '*': path.join(dir, 'items.jsonl') },
        },
        { provider, pool },
      );
      expect(status.error).toBeUndefined();
      expect(status.outcome).toBe('succeeded');
      expect(status.provisioning).toBe('warm');
      expect(status.records.out).toBe(RECORDS);
      const written = readFileSync(path.join(out, 'Tagged.jsonl'), 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => (JSON.parse(line) as { n: number }).n)
        .sort((a, b) => a - b);
      expect(written).toEqual(expected);
      expect(status.timings.request_to_ready_ms).toBeLessThanOrEqual(
        status.timings.request_to_first_record_ms!,
      );
    }
  });
});
