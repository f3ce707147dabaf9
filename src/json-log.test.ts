import { describe, expect, it } from 'vitest';
import { errorFields, writeLog } from './json-log.js';

describe('json log', () => {
  it('a newline in tenant text stays inside one JSON line', () => {
    const lines: string[] = [];
    const forged = 'parse\n{"time":"2026-01-01T00:00:00Z","level":"info","msg":"admin logged in"}';
    const error = Object.assign(new Error(`module has no export "${forged}"`), {
      code: 'E_MODULE',
    });
    writeLog({ level: 'error', msg: `execution e_1 failed`, ...errorFields(error) }, (line) =>
      lines.push(line),
    );
    const text = lines.join('');
    expect(text.split('\n').filter((l) => l !== '')).toHaveLength(1);
    const entry = JSON.parse(text) as Record<string, unknown>;
    expect(entry).toMatchObject({ level: 'error', error_code: 'E_MODULE' });
    expect(entry.error).toContain(forged);
    expect(typeof entry.time).toBe('string');
  });
});
