import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const src = path.resolve(import.meta.dirname, '../../src');

/** Every .ts file under `dir` (tests included: a test inside src/ must respect the layers too). */
function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? files(path.join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [path.join(dir, entry.name)]
        : [],
  );
}

/** The top-level folder of src/ a file is in (files directly in src/ are their own part). */
function partOf(file: string): string {
  return path.relative(src, file).split(path.sep)[0].replace(/\.ts$/, '');
}

/** Relative specifiers a file imports or re-exports, types and dynamic imports included. */
export function specifiers(text: string): string[] {
  const found: string[] = [];
  const patterns = [
    /(?:^|[\s;])(?:import|export)\s[^'"`;]*?\sfrom\s+['"](\.[^'"]+)['"]/g,
    /(?:^|[\s;])import\s+['"](\.[^'"]+)['"]/g,
    /import\(\s*['"](\.[^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const m of text.matchAll(pattern)) found.push(m[1]);
  return found;
}

/** Edges between top-level folders, each with one file that makes it (for the message). */
function folderGraph(): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const file of files(src)) {
    const from = partOf(file);
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      const target = path.resolve(path.dirname(file), spec);
      if (!target.startsWith(src + path.sep)) continue;
      const to = partOf(target);
      if (to === from) continue;
      if (!graph.has(from)) graph.set(from, new Map());
      const edges = graph.get(from)!;
      if (!edges.has(to)) edges.set(to, `${path.relative(src, file)} → ${spec}`);
    }
  }
  return graph;
}

/** Strongly connected components of more than one folder (Tarjan): each is a cycle. */
function cycles(graph: Map<string, Map<string, string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) out.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

describe('the layers of src/', () => {
  it('no import cycle between top-level folders (type imports count: a contract lives with its owner)', () => {
    const graph = folderGraph();
    const found = cycles(graph).map((component) =>
      component
        .flatMap((from) =>
          [...(graph.get(from) ?? new Map<string, string>())]
            .filter(([to]) => component.includes(to))
            .map(([to, via]) => `${from} → ${to} (${via})`),
        )
        .join('\n'),
    );
    expect(found, `import cycles between folders of src/:\n${found.join('\n\n')}`).toEqual([]);
  });

  it('finds a cycle when there is one (the check itself can fail)', () => {
    const graph = new Map([
      ['a', new Map([['b', 'a.ts → ../b/x.js']])],
      ['b', new Map([['c', '']])],
      ['c', new Map([['a', '']])],
      ['d', new Map([['a', '']])],
    ]);
    expect(cycles(graph)).toEqual([['a', 'b', 'c']]);
    expect(
      specifiers(
        "import type { X } from '../a/x.js';\nexport { y } from './y.js';\nimport './side.js';\nconst m = await import('../b/m.js');",
      ),
    ).toEqual(['../a/x.js', './y.js', './side.js', '../b/m.js']);
  });
});
