/**
 * Generates the examples' data, deterministically (seeded PRNG): the same command
 * writes the same bytes on every machine.
 *
 * ```sh
 * npx tsx examples/generate.ts                      # rewrite the committed files in examples/<name>/data/
 * npx tsx examples/generate.ts --example iot --records 1000000 --out /tmp/iot-1m
 *                                                   # a bigger data set for benchmarks
 * ```
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { clickstreamFiles } from './generators/clickstream.js';
import { iotFiles } from './generators/iot.js';
import { ordersFiles } from './generators/orders.js';
import type { GeneratedFile } from './generators/prng.js';

/** Each example, its generator and the record count of its committed data. */
export const EXAMPLES: Record<
  string,
  { files: (records: number) => GeneratedFile[]; records: number }
> = {
  clickstream: { files: clickstreamFiles, records: 2_500 },
  iot: { files: iotFiles, records: 3_000 },
  orders: { files: ordersFiles, records: 2_500 },
};

/** Writes an example's files into `dir`, streaming so that millions of records fit in memory. */
export async function writeExampleData(
  example: string,
  dir: string,
  records?: number,
): Promise<string[]> {
  const entry = EXAMPLES[example];
  if (entry === undefined)
    throw new Error(`unknown example "${example}" (${Object.keys(EXAMPLES).join(', ')})`);
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const file of entry.files(records ?? entry.records)) {
    const target = path.join(dir, file.name);
    const out = createWriteStream(target);
    for (const line of file.lines) {
      if (!out.write(line + '\n')) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    written.push(target);
  }
  return written;
}

async function cli(): Promise<void> {
  const { values } = parseArgs({
    options: {
      example: { type: 'string' },
      records: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const here = path.dirname(fileURLToPath(import.meta.url));
  const examples = values.example === undefined ? Object.keys(EXAMPLES) : [values.example];
  const records = values.records === undefined ? undefined : Number(values.records);
  if (records !== undefined && !(Number.isInteger(records) && records > 0)) {
    throw new Error(`--records must be a positive integer, got "${values.records}"`);
  }
  if (values.out !== undefined && examples.length > 1) throw new Error('--out needs --example');
  for (const example of examples) {
    const dir = values.out ?? path.join(here, example, 'data');
    for (const file of await writeExampleData(example, dir, records))
      process.stdout.write(`wrote ${file}\n`);
  }
}

if (
  process.argv[1] !== undefined &&
  path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)
) {
  await cli();
}
