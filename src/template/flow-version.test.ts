import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { codeHash, flowVersion } from './flow-version.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'wf-flow-version-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `file` with mtime `at`, so a hash cached for older content is not reused. */
function write(file: string, text: string, at: number): void {
  mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  writeFileSync(path.join(dir, file), text);
  utimesSync(path.join(dir, file), at, at);
}

describe('flowVersion', () => {
  it("changes when a module a function imports changes, not only the function's own file", () => {
    write(
      'fn.mjs',
      "import { rate } from './lib/rate.js';\nexport const f = (r) => r * rate;\n",
      1,
    );
    write('lib/rate.ts', "export const rate = require('../rate-helper.cjs');\n", 1);
    write('rate-helper.cjs', 'module.exports = 2;\n', 1);
    const module = path.join(dir, 'fn.mjs');
    const flow = {
      template: { nodes: [], edges: [] },
      functions: [{ name: 'f', module, export: 'f' }],
    };
    const before = flowVersion(flow);
    const codeBefore = codeHash(module);
    expect(flowVersion(flow)).toBe(before);
    // A helper two imports away: fn.mjs → './lib/rate.js' (lib/rate.ts) → '../rate-helper.cjs'.
    write('rate-helper.cjs', 'module.exports = 3;\n', 2);
    expect(codeHash(module)).not.toBe(codeBefore);
    expect(flowVersion(flow)).not.toBe(before);
    // A file nothing imports changes nothing.
    const now = flowVersion(flow);
    write('unrelated.mjs', 'export const x = 1;\n', 3);
    expect(flowVersion(flow)).toBe(now);
  });

  it('does not follow type-only imports (erased when compiled), and follows value imports', () => {
    write(
      't.ts',
      [
        "import type { Api } from './api.js';",
        "import type * as Shapes from './shapes.js';",
        "export type { Row } from './rows.js';",
        "import { type Unit, scale } from './scale.js';",
        'export const t = (r: Api): Unit => scale(r as never);',
        '',
      ].join('\n'),
      1,
    );
    for (const file of ['api.ts', 'shapes.ts', 'rows.ts', 'scale.ts'])
      write(file, 'export const v = 1;\n', 1);
    const module = path.join(dir, 't.ts');
    const flow = {
      template: { nodes: [], edges: [] },
      functions: [{ name: 't', module, export: 't' }],
    };
    const before = flowVersion(flow);
    write('api.ts', 'export const v = 2;\n', 2);
    write('shapes.ts', 'export const v = 2;\n', 2);
    write('rows.ts', 'export const v = 2;\n', 2);
    expect(flowVersion(flow)).toBe(before);
    write('scale.ts', 'export const v = 2;\n', 2);
    expect(flowVersion(flow)).not.toBe(before);
  });

  it('follows an import added to a module whose version was already taken', () => {
    write('g.mjs', 'export const g = (r) => r;\n', 1);
    write('extra.mjs', 'export const k = 1;\n', 1);
    const module = path.join(dir, 'g.mjs');
    const flow = {
      template: { nodes: [], edges: [] },
      functions: [{ name: 'g', module, export: 'g' }],
    };
    const before = flowVersion(flow);
    write('g.mjs', "import { k } from './extra.mjs';\nexport const g = (r) => r * k;\n", 2);
    const withImport = flowVersion(flow);
    expect(withImport).not.toBe(before);
    expect(flowVersion(flow)).toBe(withImport);
    // The newly followed file is watched from now on.
    write('extra.mjs', 'export const k = 2;\n', 3);
    expect(flowVersion(flow)).not.toBe(withImport);
  });
});
