import { SqliteCheckpointStore } from '../checkpoint/sqlite-checkpoint-store.js';
import { WarmflowError } from '../errors.js';
import { loadFlow } from '../template/load-flow.js';
import type { CompletionStatus } from './completion-status.js';
import {
  executeDataflow,
  type ExecutionEnvironment,
  type ResumableRequest,
} from './execution-manager.js';

/**
 * Continues checkpointed execution `executionId` after the orchestrator that ran it died
 * (`kill -9` of `warmflow run`): the request it was registered with in the home is run
 * again with `resume: true` — JSONL sinks rolled back to the last checkpoint, the resource
 * restoring its state and reading from its positions, stores skipping the epochs they hold.
 * Workers the dead orchestrator left behind exit by themselves (they watch its pid).
 *
 * ```ts
 * const status = await resumeExecution('3f1c…', { provider, cold: true });
 * ```
 */
export async function resumeExecution(
  executionId: string,
  env: ExecutionEnvironment,
): Promise<CompletionStatus> {
  const store = env.checkpoints ?? (await SqliteCheckpointStore.open());
  try {
    const registered = (await store.unfinished()).find((r) => r.run === executionId);
    if (registered === undefined)
      throw new WarmflowError(
        'E_RESUME',
        `no unfinished checkpointed run "${executionId}" in this home`,
        {
          hint: 'only runs whose orchestrator died are resumable (a finished run is forgotten); check WARMFLOW_HOME',
        },
      );
    const request = registered.request as ResumableRequest;
    const flow = await loadFlow(request.flow_file);
    const { flow_file: _file, ...rest } = request;
    void _file;
    return await executeDataflow({ ...rest, flow, resume: true }, { ...env, checkpoints: store });
  } finally {
    if (env.checkpoints === undefined) await store.close();
  }
}
