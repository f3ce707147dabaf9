import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readCsvRows } from './csv-lines.js';
import { loadTrace, median } from './load-trace.js';

const dir = mkdtempSync(join(tmpdir(), 'warmflow-trace-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
const samples = fileURLToPath(
  new URL('../../../bench/data/azure-functions-2019/', import.meta.url),
);

describe('loadTrace', () => {
  it('matches columns by header name and orders minute columns by their number', async () => {
    const inv = file(
      'inv.csv',
      'Trigger,minute_3,HashFunction,minute_1,HashApp,minute_2\n' +
        'http,5,fa,1,appA,0\n' +
        'timer,0,fb,0,appB,2\n' +
        'queue,1,fc,0,appZ,0\n',
    );
    // Per application (no HashFunction column): fa and fb get their app's MB; fc has none → median.
    const mem = file(
      'mem.csv',
      'HashApp,AverageAllocatedMb,Other\nappA,100,x\nappB,300.5,y\nappC,50,z\n',
    );
    const trace = await loadTrace(inv, mem);
    expect(trace.minutes).toBe(3);
    expect(trace.minuteLabels).toEqual(['minute_1', 'minute_2', 'minute_3']);
    const [fa, fb, fc] = trace.functions;
    expect([...fa.minutes]).toEqual([0, 2]);
    expect([...fa.counts]).toEqual([1, 5]);
    expect(fa).toMatchObject({
      id: 'fa',
      app: 'appA',
      trigger: 'http',
      memoryMb: 100,
      memorySource: 'app',
    });
    expect(fb).toMatchObject({ memoryMb: 300.5, memorySource: 'app' });
    expect([...fb.minutes]).toEqual([1]);
    expect(fc).toMatchObject({ memoryMb: 100, memorySource: 'median' });
  });

  it('prefers memory per HashFunction and sums rows repeating a function', async () => {
    const inv = file('inv2.csv', 'HashFunction,2,1\nf,1,0\ng,0,3\nf,2,4\n');
    const mem = file(
      'mem2.csv',
      'HashFunction,HashApp,AverageAllocatedMb\nf,a,10\ng,a,20\nh,a,40\nk,a,70\n',
    );
    const trace = await loadTrace(inv, mem);
    expect(trace.functions).toHaveLength(2);
    expect([...trace.functions[0].minutes]).toEqual([0, 1]);
    expect([...trace.functions[0].counts]).toEqual([4, 3]);
    expect(trace.functions[1].memoryMb).toBe(20);
    expect(trace.medianMemoryMb).toBe(30);
    expect(median([3, 1, 2])).toBe(2);
  });

  it('refuses bad input with the file, line and what to do', async () => {
    const mem = file('mem3.csv', 'HashFunction,AverageAllocatedMb\nf,1\n');
    await expect(loadTrace(file('a.csv', 'HashApp,1,2\nx,1,2\n'), mem)).rejects.toThrow(
      /a\.csv:1: no HashFunction/,
    );
    await expect(loadTrace(file('b.csv', 'HashFunction,Trigger\nf,http\n'), mem)).rejects.toThrow(
      /no minute columns/,
    );
    await expect(loadTrace(file('c.csv', 'HashFunction,1,2\nf,1,x\n'), mem)).rejects.toThrow(
      /c\.csv:2:3: minute "2" holds "x"/,
    );
    await expect(loadTrace(file('d.csv', 'HashFunction,1,2\nf,1\n'), mem)).rejects.toThrow(
      /d\.csv:2: row has 2 cells/,
    );
    await expect(loadTrace(file('e.csv', 'HashFunction,1,minute_1\nf,1,1\n'), mem)).rejects.toThrow(
      /minute 1 appears twice/,
    );
    await expect(
      loadTrace(
        file('f.csv', 'HashFunction,1\nf,1\n'),
        file('m.csv', 'HashFunction,AverageAllocatedMb\nf,-3\n'),
      ),
    ).rejects.toThrow(/m\.csv:2:2: AverageAllocatedMb is "-3"/);
  });

  it('bounds the line length instead of buffering a file without newlines', async () => {
    const big = file('big.csv', 'HashFunction,1\n' + 'x'.repeat(5000));
    const read = async () => {
      for await (const row of readCsvRows(big, 1000)) void row;
    };
    await expect(read()).rejects.toThrow(/big\.csv:2: line longer than 1000 bytes/);
  });

  it('reads the shipped samples of the public dataset', async () => {
    const example = await loadTrace(
      join(samples, 'example-4/invocations.csv'),
      join(samples, 'example-4/memory.csv'),
    );
    expect(example.minutes).toBe(1440);
    expect(example.functions).toHaveLength(4);
    expect(example.functions.every((f) => f.memorySource === 'function')).toBe(true);
    const s500 = await loadTrace(
      join(samples, 'sample-500-8h/invocations.csv'),
      join(samples, 'sample-500-8h/memory.csv'),
    );
    expect(s500.minutes).toBe(480);
    expect(s500.minuteLabels[0]).toBe('480');
    expect(s500.functions).toHaveLength(500);
    const total = s500.functions.reduce((sum, f) => sum + f.counts.reduce((a, b) => a + b, 0), 0);
    expect(total).toBe(3_037_902);
  });
});
