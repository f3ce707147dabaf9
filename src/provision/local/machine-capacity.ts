import { execFile } from 'node:child_process';
import os from 'node:os';

/** What this machine has, before anything is allocated. */
export interface MachineCapacity {
  cpu_cores: number;
  memory_gb: number;
  gpus: number;
  /** GPU names as `nvidia-smi -L` lists them. */
  gpu_names: string[];
}

/** Lists NVIDIA GPUs with `nvidia-smi -L`; none when the tool is missing or fails. */
export function detectGpus(timeoutMs = 3_000): Promise<string[]> {
  return new Promise((resolve) => {
    execFile('nvidia-smi', ['-L'], { timeout: timeoutMs }, (error, stdout) => {
      if (error !== null) {
        resolve([]);
        return;
      }
      resolve(
        stdout
          .split('\n')
          .map((line) => line.trim())
          .filter((line) => line.startsWith('GPU ')),
      );
    });
  });
}

/**
 * Measures this machine: cores from `os.availableParallelism()` (respects CPU affinity), memory
 * from `os.totalmem()` (whole GiB, two decimals), GPUs from `nvidia-smi -L`.
 */
export async function detectMachineCapacity(): Promise<MachineCapacity> {
  const gpuNames = await detectGpus();
  return {
    cpu_cores: os.availableParallelism(),
    memory_gb: Math.floor((os.totalmem() / 2 ** 30) * 100) / 100,
    gpus: gpuNames.length,
    gpu_names: gpuNames,
  };
}

/** The local provider allocates cores in quarters (a worker is one process sharing the cores). */
export const CORE_STEP = 0.25;

/** Rounds a core request up to the local step (never below one step). */
export function roundCores(cores: number): number {
  return Math.max(CORE_STEP, Math.ceil(cores / CORE_STEP - 1e-9) * CORE_STEP);
}
