import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRprs } from '../../src/predictor/rpr-validation.js';
import { ruleRprs } from '../../src/predictor/rule-rprs.js';
import { loadFlow } from '../../src/template/load-flow.js';
import { makeHarness } from '../server/harness.js';

const repo = path.resolve(import.meta.dirname, '../..');
const flowFile = path.join(repo, 'examples/clickstream/flow.yaml');

describe('the one RPR validator', () => {
  it('accepts predict --json output, a bare list and one RPR, and fills the optional fields', async () => {
    const flow = await loadFlow(flowFile);
    const predicted = ruleRprs(flow.template);
    expect(parseRprs({ rprs: predicted }, 'f', flow.template)).toEqual(predicted);
    expect(parseRprs(predicted, 'f')).toEqual(predicted);
    expect(
      parseRprs({ node_id: 'parse', cpu_cores: 2, memory_gb: 1, gpu_enabled: true }, 'f'),
    ).toEqual([
      {
        node_id: 'parse',
        resource_type: 'GPU',
        cpu_cores: 2,
        memory_gb: 1,
        gpu_enabled: true,
        data_store_instance: null,
      },
    ]);
  });

  it('accepts the bandwidth and storage fields, and refuses a storage type it does not know', () => {
    const rpr = { node_id: 'parse', cpu_cores: 1, memory_gb: 1 };
    expect(
      parseRprs({ ...rpr, network_bandwidth_mbps: 4.8, storage_type: 'network_store' }, 'f')[0],
    ).toMatchObject({ network_bandwidth_mbps: 4.8, storage_type: 'network_store' });
    expect(() => parseRprs({ ...rpr, storage_type: 'tape' }, 'f')).toThrow(/storage_type/);
    expect(() => parseRprs({ ...rpr, network_bandwidth_mbps: -1 }, 'f')).toThrow(
      /network_bandwidth_mbps/,
    );
  });

  it('refuses with where, which RPR and which field', async () => {
    const flow = await loadFlow(flowFile);
    const bad = (value: unknown) => () => parseRprs(value, 'rprs.json', flow.template);
    expect(bad([])).toThrow(/rprs\.json: no RPRs/);
    expect(bad([{ node_id: 'parse', cpu_cores: 0, memory_gb: 1 }])).toThrow(
      /rprs\.json: RPR 0 \(node "parse"\) field "cpu_cores"/,
    );
    expect(bad([{ node_id: 'parse', cpu_core: 1, cpu_cores: 1, memory_gb: 1 }])).toThrow(
      /cpu_core/,
    );
    expect(
      bad([
        { node_id: 'parse', cpu_cores: 1, memory_gb: 1, resource_type: 'GPU', gpu_enabled: false },
      ]),
    ).toThrow(/resource_type "GPU" goes with gpu_enabled true/);
    expect(bad([{ node_id: 'prase', cpu_cores: 1, memory_gb: 1 }])).toThrow(
      /RPR for "prase", which is not a node of flow "clickstream"/,
    );
    const one = { node_id: 'parse', cpu_cores: 1, memory_gb: 1 };
    expect(bad([one, one])).toThrow(/two RPRs for node "parse"/);
    try {
      bad([one, one])();
    } catch (error) {
      expect((error as { code: string }).code).toBe('E_INVALID_RPR');
    }
  });

  it('the server refuses a pool whose RPRs do not fit the flow, with a 400 saying why', async () => {
    const h = makeHarness();
    const a = await h.tenant('a');
    const flow = await h.flow(a.key);
    const res = await h.call('POST', '/v1/pools', a.key, {
      flow_id: flow,
      rprs: [{ node_id: 'nope', cpu_cores: 1, memory_gb: 1 }],
    });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('E_INVALID_RPR');
    expect(res.json.error.message).toContain('"nope", which is not a node of flow "clicks"');
    const zero = await h.call('POST', '/v1/pools', a.key, {
      flow_id: flow,
      rprs: [{ node_id: 'enrich', cpu_cores: 0, memory_gb: 1 }],
    });
    expect(zero.status).toBe(400);
  });
});
