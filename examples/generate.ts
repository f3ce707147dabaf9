/**
 * Generates the examples' data, deterministically (seeded PRNG): the same command
 * writes the same bytes on every machine.
 *
 * ```sh
 * npx tsx examples/generate.ts --help
 * npx tsx examples/generate.ts --example clickstream --out examples/clickstream/data   # regenerate the committed files
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

const USAGE = `Usage: npx tsx examples/generate.ts --out DIR [--example NAME] [--records N]

Writes an example's data (seeded: the same bytes on every machine) into DIR.

  --out DIR        where to write (required: nothing is written without it, so the
                   committed data in examples/<name>/data/ is never overwritten by accident;
                   give --out examples/<name>/data to regenerate it on purpose)
  --example NAME   ${Object.keys(EXAMPLES).join(', ')} (default: all, each in DIR/<name>)
  --records N      records of the main stream (default: the committed count)
  --help           this text
`;

/** The command line; returns the exit code (0 written, 2 bad arguments). */
export async function generateCli(
  argv: string[],
  out: (text: string) => void = (text) => process.stdout.write(text),
  err: (text: string) => void = (text) => process.stderr.write(text),
): Promise<number> {
  let values: { example?: string; records?: string; out?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        example: { type: 'string' },
        records: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    err(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help === true) {
    out(USAGE);
    return 0;
  }
  const fail = (message: string) => {
    err(`${message}\n\n${USAGE}`);
    return 2;
  };
  if (values.out === undefined) return fail('--out DIR is required');
  if (values.example !== undefined && EXAMPLES[values.example] === undefined)
    return fail(`unknown example "${values.example}"`);
  const examples = values.example === undefined ? Object.keys(EXAMPLES) : [values.example];
  const records = values.records === undefined ? undefined : Number(values.records);
  if (records !== undefined && !(Number.isInteger(records) && records > 0))
    return fail(`--records must be a positive integer, got "${values.records}"`);
  for (const example of examples) {
    const dir = examples.length > 1 ? path.join(values.out, example) : values.out;
    for (const file of await writeExampleData(example, dir, records)) out(`wrote ${file}\n`);
  }
  return 0;
}

if (
  process.argv[1] !== undefined &&
  path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)
) {
  process.exitCode = await generateCli(process.argv.slice(2));
}
