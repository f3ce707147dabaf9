/**
 * The worker process entry: what a provider spawns (`node dist/src/worker/entry.js`, or with
 * `--import tsx` from sources). It loads only the worker, not the CLI, to keep the cold start short.
 */
import { toWireError } from './protocol.js';
import {
  PARENT_TOKEN,
  SPEC_ENV,
  TOKEN_ENV,
  parseWorkerArgs,
  receiveStart,
  runWorker,
} from './main.js';

try {
  const options = parseWorkerArgs(process.argv.slice(2));
  if (options.token === PARENT_TOKEN) {
    const start = await receiveStart();
    options.token = start.token;
    options.warm = start.warm;
  }
  // User functions run in this process: they must not find the pool token in their environment.
  delete process.env[TOKEN_ENV];
  delete process.env[SPEC_ENV];
  await runWorker(options);
  process.exit(0);
} catch (error) {
  const failed = { type: 'failed', error: toWireError(error) };
  if (process.send !== undefined) process.send(failed, () => process.exit(1));
  else {
    process.stdout.write(JSON.stringify(failed) + '\n');
    process.exit(1);
  }
}
