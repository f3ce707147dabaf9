import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Rpr } from '../../src/predictor/rpr.js';
import {
  CpuPinning,
  cpusOf,
  findTaskset,
  formatCpuList,
  parseCpuList,
} from '../../src/provision/local/cpu-pinning.js';
import { LocalProvider } from '../../src/provision/local/local-provider.js';
import { scratchDir } from '../helpers/scratch.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../worker/fixtures');

describe('CPU lists', () => {
  it('reads and writes the kernel CPU list format', () => {
    expect(parseCpuList('0-3,8,10-11\n')).toEqual([0, 1, 2, 3, 8, 10, 11]);
    expect(parseCpuList('5')).toEqual([5]);
    expect(formatCpuList([11, 0, 1, 2, 3, 8, 10])).toEqual('0-3,8,10-11');
    expect(formatCpuList([1])).toEqual('1');
    for (const bad of ['a', '3-1', '1-', '0,,x'])
      expect(() => parseCpuList(bad)).toThrow(/not a CPU list/);
  });
});

const own = cpusOf('self');
const canPin = process.platform === 'linux' && findTaskset() !== null && (own?.length ?? 0) >= 2;

describe('the CPU ledger', () => {
  it.runIf(canPin)('gives whole cores only, and always leaves one CPU shared', () => {
    const pinning = new CpuPinning();
    const all = pinning.cpus.length;
    expect(pinning.give('half', 0.5)).toBeNull();
    expect(pinning.give('all', all)).toBeNull();
    const one = pinning.give('one', 1)!;
    expect(one).toEqual([pinning.cpus[all - 1]]);
    expect(pinning.shared).not.toContain(one[0]);
    expect(pinning.shared.length).toBe(all - 1);
    pinning.forget('one');
    expect(pinning.shared.length).toBe(all);
  });
});

// The threads of a process, each with the CPUs it may run on.
function threadCpus(pid: number): number[][] {
  return readdirSync(`/proc/${pid}/task`).flatMap((tid) => {
    const cpus = cpusOf(`${pid}/task/${tid}`);
    return cpus === null ? [] : [cpus];
  });
}

describe.runIf(canPin)('a local provider with exclusive CPU pinning', () => {
  const provider = new LocalProvider({
    root: scratchDir('warmflow-pinning-'),
    // Room for three resources on a machine of two cores: the CPUs given are the physical ones.
    capacity: { cpu_cores: 4, memory_gb: 4 },
    cpuPinning: 'exclusive',
  });
  afterAll(() => provider.close());
  const rpr = (cpu_cores: number): Rpr => ({
    node_id: 'double',
    resource_type: 'CPU',
    cpu_cores,
    memory_gb: 0.25,
    gpu_enabled: false,
    data_store_instance: null,
  });
  const request = (cpu_cores: number) => ({
    tenant: 'default',
    template: 'pinned',
    node_ids: ['double'],
    token: 't'.repeat(32),
    rpr: rpr(cpu_cores),
    warm: {
      functions: [
        { node_id: 'double', module: path.join(fixtures, 'double.ts'), export: 'double' },
      ],
      stores: {},
    },
  });

  it('runs a resource of one core on a CPU of its own, and the rest elsewhere', async () => {
    const all = own!;
    const first = await provider.provision(request(1));
    const mine = first.cpus!;
    expect(mine).toHaveLength(1);
    // Every thread of the worker (its data-plane threads included) may run there only...
    for (const cpus of threadCpus(first.process_id!)) expect(cpus).toEqual(mine);
    // ...and nothing of this process may.
    for (const cpus of threadCpus(process.pid)) expect(cpus).not.toContain(mine[0]);
    // On a machine of two CPUs the next one-core resource shares what is left with this
    // process; on a larger one it has a CPU of its own too.
    const second = await provider.provision(request(1));
    const secondCpus = threadCpus(second.process_id!);
    if (second.cpus === undefined)
      for (const cpus of secondCpus) expect(cpus).toEqual(all.filter((c) => c !== mine[0]));
    else for (const cpus of secondCpus) expect(cpus).toEqual(second.cpus);
    // A resource of a fraction of a core never has CPUs of its own.
    const shared = await provider.provision(request(0.5));
    expect(shared.cpus).toBeUndefined();
    for (const cpus of threadCpus(shared.process_id!)) expect(cpus).not.toContain(mine[0]);

    // Released, its CPU is everyone's again.
    await provider.release(first.resource_id);
    for (const cpus of threadCpus(shared.process_id!)) expect(cpus).toContain(mine[0]);
    for (const cpus of threadCpus(process.pid)) expect(cpus).toContain(mine[0]);
    await provider.release(second.resource_id);
    await provider.release(shared.resource_id);
    expect(cpusOf('self')).toEqual(all);
  }, 60_000);
});
