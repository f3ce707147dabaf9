import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LookupTable } from '../src/predictor/calibration/sandbox-protocol.js';

/** Run one function over a JSONL file as a worker would, measuring what it really uses. */
export interface MeasureRequest {
  module: string;
  export: string;
  file: string;
  key?: string | undefined;
  node: string;
  template: string;
  /** Records per batch; the child keeps `inFlight` batches of parsed records alive. */
  batchSize: number;
  inFlight: number;
  /** Where to write the outputs (JSONL), for the next node; omitted: discard. */
  outputFile?: string;
  lookups?: Record<string, LookupTable>;
}

/** A measured run of one node. */
export interface MeasureResult {
  records_in: number;
  records_out: number;
  errors: number;
  avg_input_size: number;
  avg_output_size: number;
  state_keys: number;
  cpu_us_per_record: number;
  /** Peak RSS of the process over the run (getrusage maxrss). */
  peak_memory_bytes: number;
  wall_ms: number;
}

const RUNNER = fileURLToPath(new URL('./measure-runner.ts', import.meta.url));

/** Measures one node in a child of its own (`measure-runner.ts`); rejects on its error, a crash or `timeoutMs`. */
export function measureNode(request: MeasureRequest, timeoutMs: number): Promise<MeasureResult> {
  const child = fork(RUNNER, [], {
    execArgv: ['--max-old-space-size=1024', '--import', import.meta.resolve('tsx')],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    const fail = (message: string): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`measuring "${request.node}": ${message}`));
    };
    const timer = setTimeout(() => fail(`no result within ${timeoutMs} ms`), timeoutMs);
    child.once(
      'message',
      (reply: { ok: true; result: MeasureResult } | { ok: false; error: string }) => {
        clearTimeout(timer);
        if (reply.ok) resolve(reply.result);
        else fail(reply.error);
      },
    );
    child.once('exit', (code, signal) => fail(`exited (${signal ?? code}) before replying`));
    child.send(request);
  });
}
