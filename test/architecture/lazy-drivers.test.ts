import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '../..');

/** Drivers and heavy clients that must load only when used. */
const DRIVERS = [
  'better-sqlite3',
  'pg',
  'ioredis',
  '@kubernetes/client-node',
  'kubernetes-models',
  'prom-client',
  '@nats-io',
  'hono',
  '@hono',
];

/**
 * Imports `specifier` in a fresh `node` (the built package, as a user's `import` would) and
 * returns the packages it loaded: every URL the ESM loader resolved, and every CommonJS
 * module in require.cache (native drivers are CommonJS).
 */
function packagesLoadedBy(specifier: string): Set<string> {
  if (!existsSync(path.join(repo, 'dist/src/index.js')))
    throw new Error('dist/ is missing: run `npm run build` before this test');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warmflow-loads-'));
  const log = path.join(dir, 'loads.txt');
  try {
    const cjs = execFileSync(
      process.execPath,
      [
        '--import',
        path.join(repo, 'test/architecture/record-loads.mjs'),
        '--input-type=module',
        '-e',
        `await import(${JSON.stringify(specifier)});
         const { createRequire } = await import('node:module');
         process.stdout.write(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));`,
      ],
      { cwd: repo, env: { ...process.env, WARMFLOW_LOAD_LOG: log }, encoding: 'utf8' },
    );
    const loaded = [
      ...(JSON.parse(cjs) as string[]),
      ...(existsSync(log) ? readFileSync(log, 'utf8').split('\n') : []),
    ];
    const packages = new Set<string>();
    for (const entry of loaded) {
      const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(entry);
      if (m !== null) packages.add(m[1]);
    }
    return packages;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const drivers = (packages: Set<string>) =>
  [...packages].filter((p) => DRIVERS.some((d) => p === d || p.startsWith(`${d}/`))).sort();

describe('drivers stay optional', () => {
  it("import('warmflow') loads no database driver, Kubernetes client, metrics or HTTP library", () => {
    expect(drivers(packagesLoadedBy('warmflow'))).toEqual([]);
  });

  it('the subpath exports load them (the measure sees a driver when one is loaded)', () => {
    expect(drivers(packagesLoadedBy('warmflow/server'))).toEqual(
      expect.arrayContaining(['prom-client', 'hono']),
    );
    expect(drivers(packagesLoadedBy('warmflow/kubernetes'))).toContain('kubernetes-models');
  });
});
