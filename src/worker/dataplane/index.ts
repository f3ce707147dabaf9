import { WarmflowError } from '../../errors.js';
import type { UserFunction } from '../../template/function-api.js';
import type { DataPlane, DataPlaneContext, WorkerConnection } from '../dataplane-contract.js';
import { loadFunction } from '../load-function.js';
import type { WireMessage } from '../protocol.js';

/**
 * The worker's data plane. This first version warms what can be warmed without the execution
 * engine — every function module of the WarmSpec is imported and checked while the worker starts
 * — and refuses data messages with a clear error. The execution manager replaces it with the real
 * record-moving implementation (same factory, same contract).
 */
export async function createDataPlane(context: DataPlaneContext): Promise<DataPlane> {
  const functions = new Map<string, UserFunction>();
  for (const spec of context.warm.functions) {
    functions.set(spec.node_id, await loadFunction(spec));
  }
  context.log.info({ nodes: [...functions.keys()] }, 'function modules loaded');
  return {
    handle(message: WireMessage, _payload: Buffer | undefined, connection: WorkerConnection): void {
      const error = new WarmflowError(
        'E_UNSUPPORTED',
        `worker ${context.resourceId} has no data plane for message "${message.type}" yet`,
        {
          hint: 'this build only warms function modules; record processing comes with the execution manager',
        },
      );
      if (message.id !== undefined) connection.fail(message, error);
      else throw error;
    },
    stats: () => ({ functions_loaded: functions.size }),
    close: async () => {
      functions.clear();
    },
  };
}
