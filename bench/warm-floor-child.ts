/**
 * The floor `bench:warm` compares an on-demand start with: a child process that does nothing
 * but load the function modules given as arguments, the way a worker loads them
 * (`importModule`: JavaScript by `import()`, TypeScript through tsx), and say so over IPC.
 */
import { importModule } from '../src/worker/load-function.js';

for (const module of process.argv.slice(2)) await importModule(module);
process.send?.({ type: 'ready' });
