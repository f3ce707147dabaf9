import { describe, expect, it } from 'vitest';
import { spinnerAllowed } from './spinner.js';

describe('progress spinner', () => {
  it('draws only on a terminal that reports a width', () => {
    expect(spinnerAllowed({ isTTY: true, columns: 120 })).toBe(true);
    expect(spinnerAllowed({ isTTY: true, columns: 0 })).toBe(false);
    expect(spinnerAllowed({ isTTY: true })).toBe(false);
    expect(spinnerAllowed({ isTTY: false, columns: 80 })).toBe(false);
    expect(spinnerAllowed({})).toBe(false);
  });
});
