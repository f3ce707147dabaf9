import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, isErrorCode } from '../../src/errors.js';

const root = path.resolve(import.meta.dirname, '../..');
const catalogue = path.join(root, 'src/error-codes.ts');

/** Every file under `dir` whose name passes `keep`. */
function files(dir: string, keep: (name: string) => boolean): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? files(path.join(dir, entry.name), keep)
      : keep(entry.name)
        ? [path.join(dir, entry.name)]
        : [],
  );
}

const sources = files(path.join(root, 'src'), (n) => n.endsWith('.ts') && !n.endsWith('.test.ts'));

/** Codes written as string literals in a source file (`'E_X'`, `"E_X"`, or a template start). */
function codesIn(text: string): string[] {
  return [...text.matchAll(/['"`](E_[A-Z0-9_]+)(['"`]|\$\{)/g)].map((m) =>
    m[2] === '${' ? `${m[1]}\${…}` : m[1],
  );
}

/** Codes a Markdown file names in backticks. */
function codesNamedIn(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/`(E_[A-Z0-9_]+)`/g)].map((m) => m[1]);
}

describe('error codes are a closed, documented set', () => {
  it('every code written in src/ is in ERROR_CODES (no code built at run time)', () => {
    const unknown = sources
      .filter((file) => file !== catalogue)
      .flatMap((file) =>
        codesIn(readFileSync(file, 'utf8'))
          .filter((code) => !isErrorCode(code))
          .map((code) => `${path.relative(root, file)}: ${code}`),
      );
    expect(unknown).toEqual([]);
  });

  it('every code in ERROR_CODES is used somewhere in src/', () => {
    const used = new Set(
      sources.filter((file) => file !== catalogue).flatMap((f) => codesIn(readFileSync(f, 'utf8'))),
    );
    expect(Object.keys(ERROR_CODES).filter((code) => !used.has(code))).toEqual([]);
  });

  it('docs/errors.md lists every code once, with its meaning', () => {
    const text = readFileSync(path.join(root, 'docs/errors.md'), 'utf8');
    const rows = [...text.matchAll(/^\| `(E_[A-Z0-9_]+)` \| (.+) \|$/gm)];
    const listed = rows.map((m) => m[1]);
    expect(listed.filter((code, i) => listed.indexOf(code) !== i)).toEqual([]);
    expect([...listed].sort()).toEqual(Object.keys(ERROR_CODES).sort());
    for (const [, code, meaning] of rows)
      expect(meaning, code).toBe(ERROR_CODES[code as keyof typeof ERROR_CODES]);
  });

  it('the README and docs name no code that does not exist', () => {
    const docs = [
      path.join(root, 'README.md'),
      ...files(path.join(root, 'docs'), (n) => n.endsWith('.md')),
    ];
    const unknown = docs.flatMap((file) =>
      codesNamedIn(file)
        .filter((code) => !isErrorCode(code))
        .map((code) => `${path.relative(root, file)}: ${code}`),
    );
    expect(unknown).toEqual([]);
  });
});
