import { WarmflowError } from '../../errors.js';
import type { ProvisionRequest } from '../provider.js';
import type { MachineCapacity } from './machine-capacity.js';

/** Cores, memory and GPUs held by (or asked for) a resource. */
export interface Allocation {
  cpu_cores: number;
  memory_gb: number;
  gpus: number;
}

const round2 = (value: number) => Math.round(value * 100) / 100;

/**
 * Throws `E_CAPACITY` naming every dimension that is short when `want` does not fit in what is
 * left of `machine` after `allocated`. Nothing is ever over-committed silently.
 */
export function checkCapacity(
  want: Allocation,
  machine: Pick<MachineCapacity, 'cpu_cores' | 'memory_gb' | 'gpus'>,
  allocated: Allocation,
  request: Pick<ProvisionRequest, 'tenant' | 'template' | 'node_ids'>,
): void {
  const short: string[] = [];
  const free = {
    cpu_cores: round2(machine.cpu_cores - allocated.cpu_cores),
    memory_gb: round2(machine.memory_gb - allocated.memory_gb),
    gpus: machine.gpus - allocated.gpus,
  };
  if (want.cpu_cores > free.cpu_cores + 1e-9) {
    short.push(
      `cpu: needs ${want.cpu_cores} cores, ${free.cpu_cores} of ${machine.cpu_cores} free`,
    );
  }
  if (want.memory_gb > free.memory_gb + 1e-9) {
    short.push(
      `memory: needs ${want.memory_gb} GB, ${free.memory_gb} of ${machine.memory_gb} GB free`,
    );
  }
  if (want.gpus > free.gpus) {
    short.push(
      machine.gpus === 0
        ? 'gpu: needs a GPU, this machine has none (nvidia-smi -L found no GPU)'
        : `gpu: needs ${want.gpus}, ${free.gpus} of ${machine.gpus} free`,
    );
  }
  if (short.length === 0) return;
  throw new WarmflowError(
    'E_CAPACITY',
    `cannot provision node ${request.node_ids.join('+')} of "${request.template}" for tenant "${request.tenant}" on this machine: ${short.join('; ')}`,
    {
      hint: 'lower the RPR (cpu_cores / memory_gb / gpu_enabled), fewer warm sets, or free resources with `warmflow pool down`',
    },
  );
}
