/** The worker: the process a resource runs, its wire protocol and the client to reach it. */
export * from './protocol.js';
export { FrameDecoder } from './frame-decoder.js';
export type { FrameDecoderOptions } from './frame-decoder.js';
export { parseToWorker, parseFromWorker } from './wire-messages.js';
export { FramedSocket } from './framed-socket.js';
export { WorkerClient, parseAddress } from './client.js';
export { WorkerServer } from './worker-server.js';
export type { WorkerServerConfig } from './worker-server.js';
export { UsageMeter } from './usage-meter.js';
export { loadFunction, importModule } from './load-function.js';
export type * from './dataplane-contract.js';
export { runWorker, parseWorkerArgs, TOKEN_ENV, SPEC_ENV } from './main.js';
export type { WorkerOptions } from './main.js';
export { OrphanWatch } from './orphan-watch.js';
export { spawnWorker, waitForReady, workerCommand, heapLimitMb } from './spawn.js';
export type { SpawnWorkerOptions } from './spawn.js';
