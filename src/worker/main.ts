import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { WarmflowError } from '../errors.js';
import type { WarmSpec } from './worker-contract.js';
import { createDataPlane } from './dataplane/index.js';
import type { WorkerLog } from './dataplane-contract.js';
import { exitIfOrphanedWhileStarting, OrphanWatch } from './orphan-watch.js';
import { WorkerServer } from './worker-server.js';

/** Environment variable carrying the pool's token (never argv: other users can read argv). */
export const TOKEN_ENV = 'WARMFLOW_WORKER_TOKEN';
/** Environment variable carrying the WarmSpec as JSON (alternative: `--spec FILE`). */
export const SPEC_ENV = 'WARMFLOW_WARM_SPEC';

/** Placeholder token of a worker whose parent sends the real one over IPC ({@link receiveStart}). */
export const PARENT_TOKEN = '<from the parent over IPC>';

/** What a parent sends a child worker first, over the IPC channel (never in env or argv). */
export interface StartMessage {
  type: 'start';
  token: string;
  warm: WarmSpec;
}

/** Waits for the parent's {@link StartMessage} (10 s at most). */
export function receiveStart(timeoutMs = 10_000): Promise<StartMessage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      process.off('message', onMessage);
      reject(new WarmflowError('E_INVALID_WORKER', 'no start message from the parent'));
    }, timeoutMs);
    const onMessage = (message: Partial<StartMessage>) => {
      if (message?.type !== 'start') return;
      clearTimeout(timer);
      process.off('message', onMessage);
      if (typeof message.token !== 'string' || message.token.length < 16)
        reject(new WarmflowError('E_INVALID_WORKER', 'the start message holds no valid token'));
      else resolve(message as StartMessage);
    };
    process.on('message', onMessage);
  });
}

/** Everything `warmflow worker` needs; see {@link parseWorkerArgs}. */
export interface WorkerOptions {
  resourceId: string;
  nodeIds: string[];
  cpuCores: number;
  memoryGb: number;
  host: string;
  port: number;
  token: string;
  warm: WarmSpec;
  /** Exit when this process is gone (checked every 500 ms). */
  orchestratorPid?: number;
  /** After the orchestrator is lost, wait this long for another one to adopt (watch) before exiting. */
  orphanGraceMs: number;
  /** Exit when no orchestrator has watched heartbeats for this long (0: never). For workers that are not children. */
  watchTimeoutMs: number;
}

/** A JSON-lines logger on stderr: cheap to start, readable by the provider's log file. */
export function stderrLog(resourceId: string): WorkerLog {
  const write = (level: string) => (fields: object, message?: string) => {
    process.stderr.write(
      JSON.stringify({
        level,
        time: new Date().toISOString(),
        resource: resourceId,
        msg: message,
        ...fields,
      }) + '\n',
    );
  };
  return { info: write('info'), warn: write('warn'), error: write('error') };
}

/** Parses worker argv + environment. The token and spec come from the environment. */
export function parseWorkerArgs(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): WorkerOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      'resource-id': { type: 'string' },
      nodes: { type: 'string', default: '' },
      'cpu-cores': { type: 'string', default: '1' },
      'memory-gb': { type: 'string', default: '0.5' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
      /** `host:port` in one flag (what pods use), or `unix:/path` (confined local workers); overrides --host/--port. */
      listen: { type: 'string' },
      spec: { type: 'string' },
      'orchestrator-pid': { type: 'string' },
      'orphan-grace-ms': { type: 'string', default: '0' },
      'watch-timeout-ms': { type: 'string', default: '0' },
    },
    strict: true,
  });
  // A child with an IPC channel gets its token and spec from its parent (see receiveStart):
  // never from the environment, where /proc/<pid>/environ would show them.
  const fromParent = env[TOKEN_ENV] === undefined && process.channel !== undefined;
  const token = fromParent ? PARENT_TOKEN : env[TOKEN_ENV];
  if (token === undefined || token.length < 16) {
    throw new WarmflowError(
      'E_INVALID_WORKER',
      `${TOKEN_ENV} must hold the pool token (at least 16 characters)`,
      {
        hint: 'the token is passed in the environment, never on the command line',
      },
    );
  }
  const specText = values.spec !== undefined ? readFileSync(values.spec, 'utf8') : env[SPEC_ENV];
  const warm = (
    specText === undefined ? { functions: [], stores: {} } : JSON.parse(specText)
  ) as WarmSpec;
  let host = values.host;
  let port = Number(values.port);
  if (values.listen?.startsWith('unix:') === true) {
    host = values.listen;
    port = 0;
  } else if (values.listen !== undefined) {
    const at = values.listen.lastIndexOf(':');
    host = values.listen.slice(0, at).replace(/^\[|\]$/g, '') || host;
    port = Number(values.listen.slice(at + 1));
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new WarmflowError('E_INVALID_WORKER', `not a port: ${values.listen ?? values.port}`);
  }
  const options: WorkerOptions = {
    resourceId: values['resource-id'] ?? `worker-${process.pid}`,
    nodeIds: values.nodes.split(',').filter((id) => id.length > 0),
    cpuCores: Number(values['cpu-cores']),
    memoryGb: Number(values['memory-gb']),
    host,
    port,
    token,
    warm,
    orphanGraceMs: Number(values['orphan-grace-ms']),
    watchTimeoutMs: Number(values['watch-timeout-ms']),
  };
  if (values['orchestrator-pid'] !== undefined)
    options.orchestratorPid = Number(values['orchestrator-pid']);
  return options;
}

/**
 * Runs a worker: warms (data plane creation loads the function modules and opens stores), listens,
 * then announces readiness — an IPC message `{type:'ready', address}` when it is a child with an
 * IPC channel, else one JSON line on stdout. Resolves when the worker has shut down.
 */
export async function runWorker(options: WorkerOptions): Promise<void> {
  const log = stderrLog(options.resourceId);
  const starting = exitIfOrphanedWhileStarting(options.orchestratorPid, (reason) => {
    log.error({ reason }, 'worker exiting: its orchestrator is gone');
    process.exit(1);
  });
  const dataPlane = await createDataPlane({
    warm: options.warm,
    cpuCores: options.cpuCores,
    memoryGb: options.memoryGb,
    resourceId: options.resourceId,
    log,
  });
  const server = new WorkerServer({
    token: options.token,
    resourceId: options.resourceId,
    nodeIds: options.nodeIds,
    dataPlane,
    log,
    host: options.host,
    port: options.port,
    ...(options.warm.grant !== undefined ? { grant: options.warm.grant } : {}),
  });
  const address = await server.listen();
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  let stopping = false;
  const stop = (reason: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ reason }, 'worker stopping');
    watch.stop();
    // Never hang on a stuck data plane: the orchestrator counts on the process going away.
    setTimeout(() => process.exit(0), 2_000).unref();
    void Promise.allSettled([server.close(), dataPlane.close()]).then(() => {
      if (process.connected) process.disconnect();
      resolveDone();
    });
  };
  starting();
  const watch = new OrphanWatch({
    server,
    orchestratorPid: options.orchestratorPid,
    graceMs: options.orphanGraceMs,
    watchTimeoutMs: options.watchTimeoutMs,
    onOrphaned: stop,
  });
  server.on('shutdown', stop);
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  const ready = { type: 'ready', address, pid: process.pid, resource_id: options.resourceId };
  if (process.send !== undefined) process.send(ready);
  else process.stdout.write(JSON.stringify(ready) + '\n');
  log.info({ address }, 'worker ready');
  await done;
}
