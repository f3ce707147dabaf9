import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../stores/open-store.js';
import { loadSeed } from './run-stores.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'wf-seed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What loading `text` as a seed of `key` puts in a fresh memory store, read either way. */
async function loaded(text: string, blocking: boolean): Promise<Array<[string, unknown]>> {
  const file = path.join(dir, `seed-${blocking}.jsonl`);
  writeFileSync(file, text);
  const store = await openStore('profiles', { kind: 'memory' });
  try {
    const count = await loadSeed(
      store,
      { type: 'P', store: 'profiles', key: 'id', file },
      { blocking },
    );
    const keys = Array.from({ length: 3000 }, (_, i) => `k${i}`).concat(['last', 'crlf']);
    const found: Array<[string, unknown]> = [];
    for (const key of keys) {
      const value = await store.get('type/P', key);
      if (value !== undefined) found.push([key, value]);
    }
    expect(found).toHaveLength(count);
    return found;
  } finally {
    await store.close();
  }
}

describe('loadSeed', () => {
  it('reads the same records with blocking reads as streamed: multi-byte text across pieces, CRLF, blanks, no final newline', async () => {
    const lines: string[] = [];
    // ~190 KB: three 64 KiB pieces, with multi-byte characters wherever the pieces end.
    for (let i = 0; i < 2600; i++)
      lines.push(JSON.stringify({ id: `k${i}`, name: `Zoë ✓ 東京 ${'é'.repeat(i % 17)}`, n: i }));
    lines.splice(10, 0, '', '   ');
    lines.push(JSON.stringify({ name: 'no key' }));
    lines.push(`${JSON.stringify({ id: 'crlf', n: -1 })}\r`);
    lines.push(JSON.stringify({ id: 'last', n: -2 }));
    const text = lines.join('\n'); // no newline after the last record
    const streamed = await loaded(text, false);
    const blocking = await loaded(text, true);
    expect(blocking).toEqual(streamed);
    expect(blocking).toHaveLength(2602);
    expect(blocking.find(([k]) => k === 'k2599')?.[1]).toMatchObject({ n: 2599 });
  });

  it('fails on a malformed line, as streamed, and on a missing file', async () => {
    await expect(loaded('{"id":"k1"}\n{"id":\n', true)).rejects.toThrow(SyntaxError);
    await expect(loaded('{"id":"k1"}\n{"id":\n', false)).rejects.toThrow(SyntaxError);
    const store = await openStore('profiles', { kind: 'memory' });
    await expect(
      loadSeed(
        store,
        { type: 'P', store: 'profiles', key: 'id', file: path.join(dir, 'none.jsonl') },
        { blocking: true },
      ),
    ).rejects.toThrow(/ENOENT/);
    await store.close();
  });
});
