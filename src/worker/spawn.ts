import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WarmflowError } from '../errors.js';
import type { WarmSpec } from './worker-contract.js';
import { fromWireError } from './protocol.js';
import { isWireError } from './wire-messages.js';
import { confineCommand, type SandboxSpec } from '../tenancy/sandbox.js';
import { killProcessTree } from '../process-tree.js';
import { SPEC_ENV, TOKEN_ENV, type StartMessage } from './main.js';

/**
 * The command that starts a worker from this installation: the compiled entry under `dist/`, or the
 * TypeScript entry through tsx when warmflow itself runs from sources (vitest, `tsx src/...`).
 * tsx is given as an absolute URL because workers run in per-tenant folders where a bare
 * `--import tsx` would not resolve.
 */
export function workerCommand(): { command: string; args: string[] } {
  const fromSources = import.meta.url.endsWith('.ts');
  const entry = fileURLToPath(new URL(fromSources ? './entry.ts' : './entry.js', import.meta.url));
  if (!fromSources) return { command: process.execPath, args: [entry] };
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return { command: process.execPath, args: ['--import', tsx, entry] };
}

/** V8 old-space limit for a worker bounded to `memoryGb`: 3/4 of it, leaving room for code, stacks and buffers. */
export function heapLimitMb(memoryGb: number): number {
  return Math.max(64, Math.floor(memoryGb * 1024 * 0.75));
}

/** What {@link spawnWorker} needs. */
export interface SpawnWorkerOptions {
  resourceId: string;
  nodeIds: string[];
  cpuCores: number;
  memoryGb: number;
  token: string;
  warm: WarmSpec;
  cwd: string;
  /** Replaces the inherited environment (the provider builds a per-tenant one). */
  env: Record<string, string>;
  orchestratorPid?: number;
  orphanGraceMs?: number;
  watchTimeoutMs?: number;
  /** File descriptor receiving the worker's stdout and stderr (its log); default: ignored. */
  logFd?: number;
  /** Confinement (servers): the worker runs inside it and listens on `listen`. */
  sandbox?: SandboxSpec;
  /** `unix:/path` to listen on instead of a loopback port (a confined worker has no network). */
  listen?: string;
  /** Wraps the final command (after confinement), e.g. to start it on some CPUs only. */
  wrap?: (command: string, args: string[]) => { command: string; args: string[] };
}

/**
 * V8 flags of a worker process (its data-plane threads share them). Allocation-site
 * pretenuring is off: when a scavenge finds many objects of one allocation site alive — a
 * chunk's freshly parsed records are, while the chunk runs — V8 may decide to allocate every
 * later object of that site in the old generation, where the records of a stream, which die
 * young, then cost mark-compact collections and write barriers. The decision fell at random
 * from one process to the next: the thread model ran at 0.32–0.36 µs a record in 6 of 10
 * fresh processes and at 0.44–0.48 in 4 (GC a quarter of its time instead of an eighth);
 * with pretenuring off, 10 of 10 at 0.33–0.36.
 */
export const DATA_PLANE_V8_FLAGS: readonly string[] = ['--no-allocation-site-pretenuring'];

/** Workers started inside a bubblewrap sandbox: the child is bwrap, the worker runs under it. */
const sandboxed = new WeakSet<ChildProcess>();

/**
 * Kills a worker started by {@link spawnWorker} at once. A sandboxed one is killed with the
 * whole sandbox ({@link killProcessTree}): a SIGKILL of bwrap alone, early in its start, can
 * leave the sandbox running with no parent.
 */
export function killWorker(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  if (sandboxed.has(child) && child.pid !== undefined) void killProcessTree(child.pid);
  else child.kill('SIGKILL');
}

/**
 * Asks a worker to end (SIGTERM) — except a sandboxed one, which is killed with its sandbox:
 * bwrap does not pass the signal on, and ends the sandbox abruptly either way.
 */
export function terminateWorker(child: ChildProcess): void {
  if (sandboxed.has(child)) killWorker(child);
  else child.kill('SIGTERM');
}

/** Starts a worker as a child process with an IPC channel (used for the ready message and to notice the parent's death). */
export function spawnWorker(options: SpawnWorkerOptions): ChildProcess {
  const { command, args } = workerCommand();
  const argv = [
    `--max-old-space-size=${heapLimitMb(options.memoryGb)}`,
    ...DATA_PLANE_V8_FLAGS,
    ...args,
    '--resource-id',
    options.resourceId,
    '--nodes',
    options.nodeIds.join(','),
    '--cpu-cores',
    String(options.cpuCores),
    '--memory-gb',
    String(options.memoryGb),
    '--orphan-grace-ms',
    String(options.orphanGraceMs ?? 0),
    '--watch-timeout-ms',
    String(options.watchTimeoutMs ?? 0),
  ];
  // In its own PID namespace a confined worker cannot see the orchestrator's pid: it notices
  // the orchestrator's death by its IPC channel closing (and bwrap's --die-with-parent).
  if (options.orchestratorPid !== undefined && options.sandbox?.mechanism !== 'bwrap')
    argv.push('--orchestrator-pid', String(options.orchestratorPid));
  if (options.listen !== undefined) argv.push('--listen', options.listen);
  const out = options.logFd ?? 'ignore';
  const confined =
    options.sandbox === undefined
      ? { command, args: argv }
      : confineCommand(command, argv, options.sandbox);
  const run = options.wrap === undefined ? confined : options.wrap(confined.command, confined.args);
  // The token and the spec go over the IPC channel, never in the environment or argv, where
  // /proc/<pid>/environ and cmdline would show them.
  const env = { ...options.env };
  delete env[TOKEN_ENV];
  delete env[SPEC_ENV];
  const child = spawn(run.command, run.args, {
    cwd: options.cwd,
    env,
    stdio: ['ignore', out, out, 'ipc'],
  });
  const start: StartMessage = { type: 'start', token: options.token, warm: options.warm };
  if (options.sandbox !== undefined && options.sandbox.mechanism !== 'none') sandboxed.add(child);
  child.send(start, (error) => {
    if (error) killWorker(child);
  });
  return child;
}

/** Resolves with the worker's address once it reports ready; rejects if it fails, exits or times out first. */
export function waitForReady(
  child: ChildProcess,
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<{ address: string; pid: number }> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      options.signal?.removeEventListener('abort', onAbort);
    };
    const fail = (error: Error) => {
      cleanup();
      killWorker(child);
      reject(error);
    };
    const onMessage = (message: unknown) => {
      const said = message as { type?: unknown; address?: unknown; pid?: unknown; error?: unknown };
      if (said?.type === 'ready') {
        if (typeof said.address !== 'string' || !Number.isSafeInteger(said.pid))
          return fail(
            new WarmflowError(
              'E_PROTOCOL',
              `worker said ready without an address and pid: ${JSON.stringify(message).slice(0, 200)}`,
            ),
          );
        cleanup();
        resolve({ address: said.address, pid: said.pid as number });
      } else if (said?.type === 'failed')
        fail(
          fromWireError(
            isWireError(said.error) ? said.error : undefined,
            'worker failed while warming',
          ),
        );
    };
    const onExit = (code: number | null, signal: string | null) =>
      fail(
        new WarmflowError(
          'E_WORKER_EXIT',
          `worker exited before ready (code ${code}, signal ${signal})`,
        ),
      );
    const onAbort = () => fail(new WarmflowError('E_ABORTED', 'provisioning aborted'));
    const timer = setTimeout(
      () => fail(new WarmflowError('E_WORKER_TIMEOUT', `worker not ready after ${timeoutMs} ms`)),
      timeoutMs,
    );
    child.on('message', onMessage);
    child.once('exit', onExit);
    if (options.signal?.aborted === true) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
