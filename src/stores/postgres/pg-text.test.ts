import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { escapePgText, unescapePgText } from './pg-text.js';

describe('escapePgText', () => {
  it('removes every NUL and round-trips', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', '\\', '0', '\u0000', 'é') }), (s) => {
        const escaped = escapePgText(s);
        expect(escaped.includes('\u0000')).toBe(false);
        expect(unescapePgText(escaped)).toBe(s);
      }),
    );
  });

  it('is injective on tricky neighbours', () => {
    const inputs = ['\\0', '\u0000', '\\\u0000', '\\\\0', '0'];
    expect(new Set(inputs.map(escapePgText)).size).toBe(inputs.length);
  });
});
