import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread running the module `name` (without extension) next to the module
 * `here` (the caller's `import.meta.url`). Compiled (dist) the entry is a `.js` file Node runs
 * directly; from source (tests, tsx) it is `.ts`, and the thread first registers tsx's loader,
 * then imports it.
 */
export function moduleThread(here: string, name: string, options: WorkerOptions = {}): Worker {
  if (here.endsWith('.js')) return new Worker(new URL(`./${name}.js`, here), options);
  const entry = new URL(`./${name}.ts`, here).href;
  // Absolute, because threads may run in per-tenant folders where a bare `tsx` does not resolve.
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(code, { ...options, eval: true });
}
