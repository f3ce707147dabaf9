import os from 'node:os';
import { WarmflowError } from '../../errors.js';
import type { DataPlane, DataPlaneContext, WorkerConnection } from '../dataplane-contract.js';
import type { DataPlaneMessage } from '../protocol.js';
import { ResourceRun } from './resource-run.js';
import { RunStores } from './run-stores.js';
import { ThreadPool } from './thread-pool.js';
import { WarmUp } from './warm-up.js';

/** How many threads a resource of `cpuCores` runs: one per core, at least one. */
export function threadCount(cpuCores: number): number {
  return Math.max(1, Math.min(Math.round(cpuCores) || 1, os.availableParallelism()));
}

/**
 * The worker's data plane. While the worker warms it starts one worker_thread per core,
 * each importing every function module and opening the persistent stores; afterwards a
 * `df.run` request deploys a run onto those threads and records start moving at once.
 *
 * Wire messages (all prefixed `df.`): `run` (request; answered with the run's figures when
 * it is over), `batch` / `end` (pushed source records), `out-ack`, `cancel` from the
 * orchestrator; `deployed`, `ack`, `out` (sink records and dead letters, JSONL payload),
 * `first-write` to it.
 */
export async function createWarmflowDataPlane(context: DataPlaneContext): Promise<DataPlane> {
  const pool = await ThreadPool.start(
    threadCount(context.cpuCores),
    context.warm,
    context.memoryGb,
  );
  context.log.info(
    { threads: pool.threads.length, nodes: context.warm.functions.map((f) => f.node_id) },
    'data plane warm',
  );
  let current: ResourceRun | null = null;
  // The main thread's own store connections, for the epoch commits of checkpointed runs.
  const stores = new RunStores();
  const runs = { started: 0 };
  // A warm pool's resource warms its data plane up before any request (`WarmSpec.warm_up`).
  let warmUp: WarmUp | null = null;
  if (context.warm.warm_up === true) {
    const started = new WarmUp({
      pool,
      stores,
      log: context.log,
      resourceId: context.resourceId,
    });
    warmUp = started;
    void started.start().finally(() => {
      if (warmUp === started) warmUp = null;
    });
  }
  return {
    handle(
      message: DataPlaneMessage,
      payload: Buffer | undefined,
      connection: WorkerConnection,
    ): void {
      if (message.type === 'df.run') {
        if (current !== null && !current.done) {
          throw new WarmflowError(
            'E_BUSY',
            `resource ${context.resourceId} is already running a dataflow`,
          );
        }
        const run = new ResourceRun({
          pool,
          connection,
          request: message,
          spec: message.spec,
          stores,
          // A warm-up still going stops first (the run waits a chunk's time at most).
          ...(warmUp !== null ? { before: warmUp.stop() } : {}),
          ...(payload !== undefined ? { payload } : {}),
          onEnd: () => {
            if (current === run) current = null;
          },
        });
        current = run;
        runs.started++;
        connection.onClose(() =>
          run.fail(new WarmflowError('E_CONNECTION_CLOSED', 'the orchestrator went away')),
        );
        void run.start().catch((error: unknown) => run.fail(error));
        return;
      }
      if (message.type === 'df.template') {
        // Kept by the worker (which checked its id); the threads compile its routing now.
        pool.preload(message.template_id, message.template);
        connection.reply(message, {});
        return;
      }
      // A wake-up is for a thread's output channel; the main thread has nothing to wake.
      if (message.type === 'df.wake') return;
      if (current === null) {
        if (message.type === 'df.out-ack' || message.type === 'df.cancel') return;
        throw new WarmflowError(
          'E_NO_RUN',
          `no run is active on resource ${context.resourceId} for "${message.type}"`,
        );
      }
      current.handle(message, payload);
    },
    openChannels: (host, token, identity, grant) => pool.openChannels(host, token, identity, grant),
    stats: () => ({ threads: pool.threads.length, running: current !== null, runs: runs.started }),
    close: async () => {
      await warmUp?.stop();
      await pool.close();
      await stores.close();
    },
  };
}
