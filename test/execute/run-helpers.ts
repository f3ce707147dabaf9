import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  executeDataflow,
  type ExecutionEnvironment,
  type ExecutionRequest,
} from '../../src/execute/execution-manager.js';
import { fitGroupRprs, planGroups } from '../../src/execute/plan.js';
import { ruleRprs } from '../../src/predictor/rule-rprs.js';
import type { CompletionStatus } from '../../src/execute/completion-status.js';
import type { Provider } from '../../src/provision/provider.js';
import { openStore } from '../../src/stores/open-store.js';
import type { StoreSpec } from '../../src/template/types.js';
import { loadFlow, type LoadedFlow } from '../../src/template/load-flow.js';
import { scratchDir } from '../helpers/scratch.js';

export const repo = path.resolve(import.meta.dirname, '../..');

/** A fresh temporary folder, removed once the test file is done. */
export function tempDir(prefix = 'warmflow-exec-'): string {
  return scratchDir(prefix);
}

/** Runs a flow on the engine with rule RPRs fitted to two cores (two threads: exchanges and ordering are exercised). */
export async function runOnEngine(
  flowOrFile: LoadedFlow | string,
  provider: Provider,
  request: Partial<ExecutionRequest> = {},
  env: Partial<ExecutionEnvironment> = {},
): Promise<{ flow: LoadedFlow; status: CompletionStatus; outDir: string }> {
  const flow = typeof flowOrFile === 'string' ? await loadFlow(flowOrFile) : flowOrFile;
  const groups = planGroups(flow.template);
  const rprs = fitGroupRprs(ruleRprs(flow.template, 100), groups, 2);
  const outDir = request.out_dir ?? tempDir('warmflow-out-');
  const status = await executeDataflow(
    { flow, rprs, groups, out_dir: outDir, ...request },
    { provider, cold: true, ...env },
  );
  return { flow, status, outDir };
}

/** Every entry of `type/<T>` in a store, as a Map. */
export async function storeTable(
  name: string,
  spec: StoreSpec,
  type: string,
): Promise<Map<string, unknown>> {
  const store = await openStore(name, spec);
  try {
    const table = new Map<string, unknown>();
    for await (const [key, value] of store.entries(`type/${type}`)) table.set(key, value);
    return table;
  } finally {
    await store.close();
  }
}

/** Lines of a JSONL output file (none when the file does not exist). */
export function outputLines(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
}

/** A one-function flow in a temp folder: items -> `fn` (exported by `functions`) -> a JSONL sink. */
export function itemFlow(
  fn: string,
  lines: string[],
  functions: string,
): { flowFile: string; input: string } {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'fns.mjs'), functions);
  const flowFile = path.join(dir, 'flow.yaml');
  writeFileSync(
    flowFile,
    `name: ${fn}_flow\nstreams:\n  items: { type: Item, source: ./items.jsonl }\nfunctions:\n  - { name: ${fn}, module: ./fns.mjs, input: [Item], output: [Out] }\n`,
  );
  const input = path.join(dir, 'items.jsonl');
  writeFileSync(input, lines.join('\n') + '\n');
  return { flowFile, input };
}

/**
 * A flow of one keyed function in `dir`: items -> `tally` (per `user`, a count in
 * `ctx.state`, each record out as `{user, n, …fields of out}`) -> a JSONL sink `Tally`, over
 * `items` lines `{id, user: "u<(id * 7919) % users>", …pad}`. Returns the flow file.
 */
export function tallyFlow(
  dir: string,
  options: {
    name: string;
    items: number;
    users: number;
    pad?: (id: number) => string;
    keepId?: boolean;
  },
): string {
  writeFileSync(
    path.join(dir, 'fns.mjs'),
    'export async function tally(item, ctx) {\n' +
      "  const n = ((await ctx.state.get('n')) ?? 0) + 1;\n" +
      "  await ctx.state.set('n', n);\n" +
      `  return { user: item.user, ${options.keepId === true ? 'id: item.id, ' : ''}n };\n` +
      '}\n',
  );
  const flowFile = path.join(dir, 'flow.yaml');
  writeFileSync(
    flowFile,
    `name: ${options.name}\nstreams:\n  items: { type: Item, source: ./items.jsonl }\n` +
      'functions:\n  - { name: tally, module: ./fns.mjs, input: [Item], output: [Tally], key: user }\n',
  );
  const lines = Array.from({ length: options.items }, (_, id) =>
    JSON.stringify({
      id,
      user: `u${(id * 7919) % options.users}`,
      ...(options.pad !== undefined ? { pad: options.pad(id) } : {}),
    }),
  );
  writeFileSync(path.join(dir, 'items.jsonl'), lines.join('\n') + '\n');
  return flowFile;
}
