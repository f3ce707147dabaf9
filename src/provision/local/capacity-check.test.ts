import { describe, expect, it } from 'vitest';
import { checkCapacity } from './capacity-check.js';
import { roundCores } from './machine-capacity.js';

const machine = { cpu_cores: 2, memory_gb: 8, gpus: 0 };
const request = { tenant: 't', template: 'flow', node_ids: ['parse'] };
const none = { cpu_cores: 0, memory_gb: 0, gpus: 0 };

describe('checkCapacity', () => {
  it('accepts what fits exactly', () => {
    expect(() =>
      checkCapacity(
        { cpu_cores: 1.5, memory_gb: 6, gpus: 0 },
        machine,
        { cpu_cores: 0.5, memory_gb: 2, gpus: 0 },
        request,
      ),
    ).not.toThrow();
  });

  it('names every short dimension with what is free', () => {
    let message = '';
    try {
      checkCapacity(
        { cpu_cores: 1, memory_gb: 7, gpus: 1 },
        machine,
        { cpu_cores: 1.5, memory_gb: 2, gpus: 0 },
        request,
      );
    } catch (error) {
      message = (error as Error).message;
      expect((error as { code: string }).code).toBe('E_CAPACITY');
    }
    expect(message).toContain('cpu: needs 1 cores, 0.5 of 2 free');
    expect(message).toContain('memory: needs 7 GB, 6 of 8 GB free');
    expect(message).toContain('gpu: needs a GPU, this machine has none');
    expect(message).toContain('node parse of "flow" for tenant "t"');
  });

  it('never passes a request over the free cores, whatever was allocated before', () => {
    for (let allocated = 0; allocated <= 2; allocated += 0.25) {
      for (let want = 0.25; want <= 3; want += 0.25) {
        const fits = allocated + want <= 2 + 1e-9;
        const attempt = () =>
          checkCapacity(
            { cpu_cores: want, memory_gb: 0, gpus: 0 },
            machine,
            { ...none, cpu_cores: allocated },
            request,
          );
        if (fits) expect(attempt).not.toThrow();
        else expect(attempt).toThrow(/cpu: needs/);
      }
    }
  });
});

describe('roundCores', () => {
  it('rounds up to quarters, never below one quarter', () => {
    expect(roundCores(0)).toBe(0.25);
    expect(roundCores(0.1)).toBe(0.25);
    expect(roundCores(0.25)).toBe(0.25);
    expect(roundCores(1.3)).toBe(1.5);
    expect(roundCores(2)).toBe(2);
  });
});
