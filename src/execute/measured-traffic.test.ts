import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { templateOf } from '../../test/helpers/template-of.js';
import type { Rpr } from '../predictor/rpr.js';
import type { LoadedFlow } from '../template/load-flow.js';
import type { NodeCompletion } from './completion-status.js';
import { measureTraffic } from './measured-traffic.js';
import { SinkFiles } from './sinks.js';

const template = templateOf(
  't',
  ['source:items -Item-> count', 'count -Counted-> write:Counted', 'count -Audit-> write:Audit'],
  { count: { key: 'user' }, 'write:Audit': { data_store: 'cache' } },
);
const flow = {
  template,
  spec: { stores: { cache: { kind: 'redis' }, db: { kind: 'sqlite', path: 'x.db' } } },
} as unknown as LoadedFlow;

function node(node_id: string, kind: NodeCompletion['kind'], records: number, size: number) {
  const rpr: Rpr = {
    node_id,
    resource_type: 'CPU',
    cpu_cores: 1,
    memory_gb: 1,
    gpu_enabled: false,
    data_store_instance: null,
    reasoning: { basis: 'rule', inputs: { avg_record_size: size } },
  };
  const completion: NodeCompletion = {
    node_id,
    kind,
    records_in: records,
    records_out: records,
    dead_lettered: 0,
    cpu_seconds: 0,
    cpu_us_per_record: 0,
    peak_memory_bytes: 0,
    records_per_s: 0,
    rpr,
    resource_id: null,
    warm: false,
  };
  return completion;
}

describe('measureTraffic', () => {
  it('measures what crossed a boundary over the run, with the bytes the sinks really wrote', async () => {
    const sinks = new SinkFiles(mkdtempSync(path.join(os.tmpdir(), 'wf-traffic-')));
    // 1,000 records of 50 bytes written (the RPR said 80).
    await sinks.write('Counted', 1000, Buffer.alloc(50_000, 0x61));
    await sinks.close();
    const nodes = [
      node('source:items', 'source', 1000, 200),
      node('count', 'function', 1000, 200),
      node('write:Counted', 'write', 1000, 80),
      node('write:Audit', 'write', 1000, 100),
    ];
    const measure = (stateStore?: string) =>
      measureTraffic(nodes, {
        flow,
        rprs: nodes.map((n) => n.rpr!),
        groups: [['source:items', 'count', 'write:Counted', 'write:Audit']],
        sinks,
        totalMs: 2000,
        ...(stateStore !== undefined ? { stateStore } : {}),
      });
    measure();
    // 500 records/s over 2 s: the source's 200-byte records in (0.8 Mbit/s), the sink's 50
    // bytes out (0.2), the Redis writes' 100 (0.4); the function on the same resource: 0.
    expect(nodes.map((n) => n.network_bandwidth_mbps)).toEqual([0.8, 0, 0.2, 0.4]);
    expect(nodes.map((n) => n.storage_type)).toEqual([
      'memory',
      'memory',
      'local_disk',
      'network_store',
    ]);
    // A state store named for the run: the keyed node's state lived there.
    measure('db');
    expect(nodes[1].storage_type).toBe('local_disk');
  });
});
