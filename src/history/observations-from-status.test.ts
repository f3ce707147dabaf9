import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { observationsFromStatus, sourceFingerprint } from './observations-from-status.js';
import { makeRun, node } from '../../test/history/fixtures.js';

describe('observationsFromStatus', () => {
  it('gives one observation per function node with measured and predicted figures', () => {
    const run = makeRun('x1', 't', 'clicks', '2026-02-01T00:00:00.000Z');
    run.status.nodes[1] = node('parse', 'function', {
      cpu_us_per_record: 12.5,
      peak_memory_bytes: 1234,
      records_per_s: 99,
    });
    const obs = observationsFromStatus(run);
    expect(obs.map((o) => o.node_id)).toEqual(['parse', 'count']);
    expect(obs[0]).toEqual({
      execution_id: 'x1',
      template: 'clicks',
      node_id: 'parse',
      function_fingerprint: null,
      template_fingerprint: 'fp-clicks',
      recorded_at: '2026-02-01T00:00:00.000Z',
      records_in: 1000,
      records_out: 900,
      avg_record_size: 120,
      records_per_second: 99,
      key_cardinality: null,
      cpu_us_per_record: 12.5,
      peak_memory_bytes: 1234,
      cpu_cores: 1,
      memory_gb: 0.5,
      oom_killed: false,
    });
    expect(obs[1]?.key_cardinality).toBe(42);
  });

  it('hashes module sources as sha256 of their bytes, like the predictor does from the file', () => {
    const run = makeRun('x2', 't', 'clicks', '2026-02-01T00:00:00.000Z');
    const source = 'export function parse(r) { return r; }\n';
    const [parse, count] = observationsFromStatus(run, {
      moduleSources: { parse: Buffer.from(source) },
      fingerprints: { count: 'given' },
    });
    expect(parse?.function_fingerprint).toBe(
      createHash('sha256').update(Buffer.from(source)).digest('hex'),
    );
    expect(sourceFingerprint(source)).toBe(parse?.function_fingerprint);
    expect(count?.function_fingerprint).toBe('given');
  });

  it('marks OOM-killed nodes, takes extras over defaults, and falls back to the run RPRs', () => {
    const run = makeRun('x3', 't', 'clicks', '2026-02-01T00:00:00.000Z');
    run.events = [{ node_id: 'count', event: 'oom_killed' }];
    run.dcp = null;
    run.status.nodes[1] = node('parse', 'function', { rpr: null });
    run.status.nodes[2] = node('count', 'function', { rpr: null });
    run.rprs = [
      {
        node_id: 'count',
        resource_type: 'CPU',
        cpu_cores: 2,
        memory_gb: 4,
        gpu_enabled: false,
        data_store_instance: 'redis',
      },
    ];
    const obs = observationsFromStatus(run, {
      avgRecordSize: { count: 300 },
      keyCardinality: { count: 7 },
    });
    expect(obs.find((o) => o.node_id === 'count')).toMatchObject({
      oom_killed: true,
      avg_record_size: 300,
      key_cardinality: 7,
      cpu_cores: 2,
      memory_gb: 4,
    });
    expect(obs.find((o) => o.node_id === 'parse')).toMatchObject({
      oom_killed: false,
      avg_record_size: 0,
      cpu_cores: 0,
    });
  });
});
