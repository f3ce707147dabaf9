/**
 * bench:predict, engine mode: every run is a real `warmflow run` (runFlow: profile,
 * predict, pre-provision, execute on local worker processes) whose CompletionStatus
 * gives the measured CPU per node (the resource's CPU apportioned by busy time) and
 * peak memory (the RSS of the resource that ran the node: the engine runs a connected
 * group of nodes in one worker, so every node of the group reports the group's peak).
 */
import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { writeExampleData } from '../examples/generate.js';
import { runFlow } from '../src/flow/run-flow.js';
import type { CompletionStatus } from '../src/execute/completion-status.js';
import type { HistoryStore } from '../src/history/history-store.js';
import type { LoadedFlow } from '../src/template/load-flow.js';

/** A generated data set of an example: its folder and the input file per stream. */
export interface GeneratedInput {
  dir: string;
  inputs: Record<string, string>;
}

/** Writes `records` of an example's data into a fresh folder under `root`. */
export async function generate(
  flow: LoadedFlow,
  example: string,
  records: number,
  root: string,
): Promise<GeneratedInput> {
  const dir = await mkdtemp(path.join(root, `${example}-${records}-`));
  await writeExampleData(example, path.join(dir, 'data'), records);
  const inputs: Record<string, string> = {};
  for (const [name, stream] of Object.entries(flow.spec.streams ?? {}))
    inputs[name] = path.resolve(dir, stream.source!);
  return { dir, inputs };
}

/** Runs the flow on `input` with the engine; with `history`, the run is recorded there (and learned from). */
export async function engineRun(
  flow: LoadedFlow,
  input: GeneratedInput,
  history?: HistoryStore,
): Promise<CompletionStatus> {
  const result = await runFlow(flow.file, {
    inputs: input.inputs,
    outDir: path.join(input.dir, 'out'),
    tenant: 'bench',
    ...(history ? { history } : {}),
  });
  if (result.status.outcome !== 'succeeded') {
    throw new Error(
      `run of ${flow.template.name} ${result.status.outcome}: ${result.status.error?.message ?? ''}`,
    );
  }
  return result.status;
}
