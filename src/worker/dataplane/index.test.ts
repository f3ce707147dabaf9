import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createDataPlane } from './index.js';

const fixtures = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../test/worker/fixtures',
);
const log = { info: () => {}, warn: () => {}, error: () => {} };
const context = (functions: Array<{ node_id: string; module: string; export: string }>) => ({
  warm: { functions, stores: {} },
  cpuCores: 1,
  memoryGb: 0.5,
  resourceId: 'r-test',
  log,
});

describe('createDataPlane (warming)', () => {
  it('loads TypeScript and JavaScript function modules while warming', async () => {
    const plane = await createDataPlane(
      context([
        { node_id: 'double', module: path.join(fixtures, 'double.ts'), export: 'double' },
        { node_id: 'upper', module: path.join(fixtures, 'upper.js'), export: 'upper' },
      ]),
    );
    expect(plane.stats?.()).toEqual({ threads: 1, running: false, runs: 0 });
    await plane.close();
    // Warming really imports and inspects each module: a missing export of either kind is refused.
    for (const [node, file] of [
      ['double', 'double.ts'],
      ['upper', 'upper.js'],
    ])
      await expect(
        createDataPlane(
          context([{ node_id: node, module: path.join(fixtures, file), export: 'nope' }]),
        ),
      ).rejects.toThrow(new RegExp(`node "${node}".*no exported function "nope"`));
  });

  it('names the node and export when the export is not a function', async () => {
    await expect(
      createDataPlane(
        context([
          { node_id: 'bad', module: path.join(fixtures, 'double.ts'), export: 'notAFunction' },
        ]),
      ),
    ).rejects.toThrow(/node "bad".*no exported function "notAFunction"/);
  });

  it('names the module when it cannot be loaded', async () => {
    await expect(
      createDataPlane(
        context([{ node_id: 'gone', module: path.join(fixtures, 'missing.ts'), export: 'x' }]),
      ),
    ).rejects.toThrow(/cannot load function module .*missing\.ts/);
  });

  it('refuses data messages when no run is active', async () => {
    const plane = await createDataPlane(context([]));
    const connection = {} as never;
    expect(() =>
      plane.handle({ type: 'df.batch', source: 's', seq: 0 }, undefined, connection),
    ).toThrow(/no run is active/);
    await plane.close();
  });
});
