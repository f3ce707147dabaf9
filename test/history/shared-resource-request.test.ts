import { describe, expect, it } from 'vitest';
import { runReport } from '../../src/history/history-report.js';
import { formatStatus } from '../../src/flow/format-run.js';
import { resourceMemoryRequestGb } from '../../src/execute/resource-request.js';
import { makeRun, node } from './fixtures.js';

/** A run whose two functions shared one resource of 0.5 + 0.5 GiB that peaked at 768 MiB. */
function sharedRun() {
  const run = makeRun('x-shared', 'default', 'shared', '2026-01-01T00:00:00.000Z');
  const peak = 768 * 2 ** 20;
  run.status.nodes = [
    node('source:clicks', 'source'),
    node('parse', 'function', { resource_id: 'res-1', peak_memory_bytes: peak }),
    node('count', 'function', { resource_id: 'res-1', peak_memory_bytes: peak }),
    node('alone', 'function', { resource_id: 'res-2', peak_memory_bytes: 256 * 2 ** 20 }),
  ];
  return run;
}

describe("a shared resource's measured peak is compared with the resource's request", () => {
  it('sums the RPRs of the nodes on the resource', () => {
    const { nodes } = sharedRun().status;
    expect(resourceMemoryRequestGb(nodes, nodes[1])).toBe(1);
    expect(resourceMemoryRequestGb(nodes, nodes[3])).toBe(0.5);
    expect(resourceMemoryRequestGb(nodes, nodes[0])).toBeNull();
  });

  it('history: memory_ratio is peak over the resource request, not one node’s', () => {
    const report = runReport(sharedRun());
    const ratio = (id: string) => report.nodes.find((n) => n.node_id === id)!.memory_ratio;
    expect(ratio('parse')).toBeCloseTo(0.75);
    expect(ratio('count')).toBeCloseTo(0.75);
    expect(ratio('alone')).toBeCloseTo(0.5);
  });

  it('the run report shows the peak against the resource request', () => {
    const text = formatStatus(sharedRun().status);
    expect(text).toContain('peak MiB/request');
    expect(text).toMatch(/parse .* 768\/1,024 /);
    expect(text).toMatch(/alone .* 256\/512 /);
  });
});
