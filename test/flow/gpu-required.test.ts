import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectMachineCapacity } from '../../src/provision/local/machine-capacity.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'warmflow-gpu-'));
writeFileSync(join(dir, 'data.jsonl'), '{"x":1}\n{"x":2}\n');
writeFileSync(join(dir, 'embed.mjs'), 'export function embed(r) { return { v: r.x * 2 }; }\n');
const flow = join(dir, 'flow.yaml');
writeFileSync(
  flow,
  `name: gpu-required
streams:
  items: { type: Item, source: ./data.jsonl }
functions:
  - { name: embed, module: ./embed.mjs, input: [Item], output: [Vec], gpu: required }
`,
);

describe('gpu: required without a GPU', () => {
  it('run and predict refuse it with exit 2 (no silent CPU fallback)', async () => {
    if ((await detectMachineCapacity()).gpus > 0) return; // this machine has one: nothing to refuse
    const run = await runCli('run', flow, '--no-history', '--out', join(dir, 'out'));
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/"embed" requires a GPU; the provider offers 0/);
    const predict = await runCli('predict', flow, '--no-calibrate');
    expect(predict.code).toBe(2);
    expect(predict.stderr).toMatch(/requires a GPU/);
  });
});
