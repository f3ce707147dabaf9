import { fork, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { WarmflowError } from '../../errors.js';
import { killProcessTree } from '../../process-tree.js';
import { confineCommand, type SandboxSpec } from '../../tenancy/sandbox.js';
import type { CalibrateRequest, CalibrateResult, SandboxReply } from './sandbox-protocol.js';

/**
 * The runner script next to this file: `.js` once compiled, `.ts` when warmflow runs
 * from source (tests, tsx), which then needs the tsx loader too.
 */
function runnerPath(): { path: string; typescript: boolean } {
  const js = fileURLToPath(new URL('./sandbox-runner.js', import.meta.url));
  if (existsSync(js)) return { path: js, typescript: false };
  return { path: fileURLToPath(new URL('./sandbox-runner.ts', import.meta.url)), typescript: true };
}

/** Spawns the runner confined, with an IPC channel, in the sandbox's folder and environment only. */
function spawnConfined(runner: string, execArgv: string[], sandbox: CalibrationSandbox) {
  const { command, args } = confineCommand(
    process.execPath,
    [...execArgv, runner, '--confined'],
    sandbox.spec,
  );
  return spawn(command, args, {
    cwd: sandbox.cwd,
    env: sandbox.env,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
}

/** Options of {@link runInSandbox}. */
export interface SandboxOptions {
  /** Kill the child after this long (ms). */
  timeoutMs: number;
  /** V8 heap limit of the child in MiB, so a runaway function cannot take the machine. */
  maxOldSpaceMb?: number;
  /** Servers: where and how the child runs tenant code (default: the caller's cwd and environment). */
  sandbox?: CalibrationSandbox;
}

/**
 * Where a calibration child runs tenant code on a server: its working directory (in the tenant's
 * area), its whole environment (nothing of the server's) and its confinement.
 */
export interface CalibrationSandbox {
  cwd: string;
  env: Record<string, string>;
  spec: SandboxSpec;
}

/**
 * Runs one calibration in a fresh child process (`--expose-gc`; `--import tsx` when the
 * runner or the user module is TypeScript) and resolves to its result. The child is
 * killed on timeout; a crash or an error inside it rejects with E_CALIBRATION.
 */
export function runInSandbox(
  request: CalibrateRequest,
  options: SandboxOptions,
): Promise<CalibrateResult> {
  const runner = runnerPath();
  const execArgv = ['--expose-gc', `--max-old-space-size=${options.maxOldSpaceMb ?? 1024}`];
  if (runner.typescript || /\.[cm]?tsx?$/.test(request.module)) {
    execArgv.push('--import', import.meta.resolve('tsx'));
  }
  return new Promise((resolve, reject) => {
    const sandbox = options.sandbox;
    const child =
      sandbox === undefined
        ? fork(runner.path, [], { execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
        : spawnConfined(runner.path, execArgv, sandbox);
    let stderr = '';
    let settled = false;
    child.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < 4000) stderr += chunk.toString();
    });
    const fail = (message: string, cause?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // A confined child is bwrap: killed alone early in its start, it can leave the sandbox running.
      if (sandbox !== undefined && child.pid !== undefined && child.exitCode === null)
        void killProcessTree(child.pid);
      else child.kill('SIGKILL');
      reject(
        new WarmflowError('E_CALIBRATION', `calibrating "${request.node}": ${message}`, {
          cause,
          hint: 'run with --no-calibrate to predict from history and defaults only',
        }),
      );
    };
    const timer = setTimeout(
      () => fail(`no result within ${options.timeoutMs} ms`),
      options.timeoutMs,
    );
    child.once('message', (reply: SandboxReply<CalibrateResult>) => {
      if (settled) return;
      if (!reply.ok) return fail(reply.error);
      settled = true;
      clearTimeout(timer);
      resolve(reply.result);
    });
    child.once('error', (error) => fail(error.message, error));
    child.once('exit', (code, signal) => {
      if (!settled)
        fail(
          // A confined child's stderr is the tenant's (it may quote a file): not echoed.
          `sandbox exited (${signal ?? code}) before replying${stderr && sandbox === undefined ? `: ${stderr.trim()}` : ''}`,
        );
    });
    child.send(request, (error) => {
      if (error) fail(`could not send the sample: ${error.message}`, error);
    });
  });
}
