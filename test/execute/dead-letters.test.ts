import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CompletionStatus } from '../../src/execute/completion-status.js';
import { runCli } from '../helpers/cli.js';
import { scratchDir } from '../helpers/scratch.js';

const require = createRequire(import.meta.url);
// vega-datasets exports only its JS entry; its data folder sits next to it in the package.
const vega = join(dirname(dirname(require.resolve('vega-datasets'))), 'data');
const dir = scratchDir('warmflow-dead-letters-');
const movies = JSON.parse(readFileSync(join(vega, 'movies.json'), 'utf8')) as unknown[];
writeFileSync(join(dir, 'movies.jsonl'), movies.map((m) => JSON.stringify(m)).join('\n') + '\n');

/** A flow over movies.jsonl whose one function has `body`; returns the flow file. */
function flowWith(name: string, body: string, extra = ''): string {
  writeFileSync(join(dir, `${name}.mjs`), `export function ${name}(m) {\n${body}\n}\n`);
  const flow = join(dir, `${name}.yaml`);
  writeFileSync(
    flow,
    `name: ${name}
streams:
  movies: { type: Movie, source: ./movies.jsonl }
functions:
  - name: ${name}
    module: ./${name}.mjs
    input: [Movie]
    output: [Out]
${extra}`,
  );
  return flow;
}

describe('dead letters decide the outcome', () => {
  it('a function that throws on every record fails the run (exit 1), saying where', async () => {
    const flow = flowWith('explode', "  throw new RangeError('no budget for ' + m.Title);");
    const out = join(dir, 'explode-out');
    const result = await runCli('run', flow, '--json', '--no-history', '--out', out);
    expect(result.code).toBe(1);
    const status = JSON.parse(result.stdout) as CompletionStatus;
    expect(status.outcome).toBe('failed');
    expect(status.error?.code).toBe('E_DEAD_LETTERS');
    expect(status.error?.node_id).toBe('explode');
    expect(status.error?.message).toMatch(
      /dead-lettered 3201 of 3201 records \(100 %, all of its input\)/,
    );
    const node = status.nodes.find((n) => n.node_id === 'explode')!;
    expect(node.first_error?.type).toBe('RangeError');
    expect(node.first_error?.location).toBe(`${join(dir, 'explode.mjs')}:2:9`);
    const letter = JSON.parse(
      readFileSync(join(out, 'dead-letters.jsonl'), 'utf8').split('\n')[0],
    ) as {
      error: { stack: string; location: string };
    };
    expect(letter.error.stack).toMatch(/RangeError: no budget for/);
    expect(letter.error.location).toBe(`${join(dir, 'explode.mjs')}:2:9`);
  });

  it('the text summary shows the first error with its file:line:column', async () => {
    const flow = flowWith('explode2', "  throw new RangeError('no budget');");
    const result = await runCli('run', flow, '--no-history', '--out', join(dir, 'explode2-out'));
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/FAILED/);
    expect(result.stdout).toMatch(
      /explode2: 3,201 — RangeError: no budget \(at .*explode2\.mjs:2:9\)/,
    );
  });

  it('a few failures stay under the default ratio; max_dead_letter_ratio in the flow or the request tightens it', async () => {
    // Nine movies have numeric titles: toUpperCase fails on them only.
    const flow = flowWith('upper', '  return { title: m.Title.toUpperCase() };');
    const ok = await runCli('run', flow, '--json', '--no-history', '--out', join(dir, 'upper-out'));
    expect(ok.code, ok.stderr).toBe(0);
    const status = JSON.parse(ok.stdout) as CompletionStatus;
    expect(status.outcome).toBe('succeeded');
    const dead = status.nodes.find((n) => n.node_id === 'upper')!.dead_lettered;
    expect(dead).toBeGreaterThan(0);
    expect(dead).toBeLessThan(50);
    // The summary says where every output went, with its count.
    expect(status.outputs).toEqual([
      {
        type: 'Out',
        node_id: 'write:Out',
        records: movies.length - dead,
        file: join(dir, 'upper-out', 'Out.jsonl'),
      },
    ]);
    const strict = await runCli(
      'run',
      flow,
      '--json',
      '--no-history',
      '--max-dead-letter-ratio',
      '0',
      '--out',
      join(dir, 'upper-strict'),
    );
    expect(strict.code).toBe(1);
    expect((JSON.parse(strict.stdout) as CompletionStatus).error?.message).toMatch(
      /above max_dead_letter_ratio 0/,
    );
    const strictFlow = flowWith(
      'upper2',
      '  return { title: m.Title.toUpperCase() };',
      'max_dead_letter_ratio: 0.001\n',
    );
    const fromFlow = await runCli(
      'run',
      strictFlow,
      '--json',
      '--no-history',
      '--out',
      join(dir, 'upper2-out'),
    );
    expect(fromFlow.code).toBe(1);
  });

  it('a record without the key of its store type is a dead letter of the write, not an entry keyed "null"', async () => {
    // 'Distributor' is null for 232 of the 3,201 movies: those cannot be keyed by it.
    const flow = flowWith(
      'keyed',
      '  return { title: m.Title, distributor: m.Distributor };',
      `stores:
  db: { kind: sqlite, path: ./keyed.db }
types:
  Out: { store: db, key: distributor }
`,
    );
    const keyless = (movies as Array<Record<string, unknown>>).filter(
      (m) => m.Distributor === null || m.Distributor === undefined,
    ).length;
    expect(keyless).toBeGreaterThan(0);
    const result = await runCli('run', flow, '--json', '--no-history', '--out', join(dir, 'k-out'));
    expect(result.code, result.stderr).toBe(0);
    const status = JSON.parse(result.stdout) as CompletionStatus;
    const write = status.nodes.find((n) => n.node_id === 'write:Out')!;
    expect(write.dead_lettered).toBe(keyless);
    expect(write.records_in).toBe(movies.length);
    expect(write.records_out).toBe(movies.length - keyless);
    expect(write.first_error?.message).toMatch(/record has no key field "distributor"/);
    expect(status.records.out).toBe(movies.length - keyless);
    expect(status.outputs?.[0]).toMatchObject({ type: 'Out', records: movies.length - keyless });
    const Database = require('better-sqlite3') as typeof import('better-sqlite3');
    const db = new Database(join(dir, 'keyed.db'), { readonly: true });
    try {
      const keys = db.prepare("SELECT key FROM warmflow_kv WHERE ns = 'type/Out'").all() as Array<{
        key: string;
      }>;
      expect(keys.map((k) => k.key)).not.toContain('null');
      expect(keys.map((k) => k.key)).not.toContain('undefined');
    } finally {
      db.close();
    }
  });
});
