import { describe, expect, it } from 'vitest';
import * as warmflow from '../../src/index.js';
import * as template from '../../src/template/index.js';

describe('public API', () => {
  it('exports the template functions from the package barrel', () => {
    for (const name of [
      'parseFlow',
      'loadFlow',
      'inferTemplate',
      'topologicalStages',
      'defineFlow',
      'defineFunction',
    ]) {
      expect(typeof (warmflow as Record<string, unknown>)[name], name).toBe('function');
      expect((warmflow as Record<string, unknown>)[name]).toBe(
        (template as Record<string, unknown>)[name],
      );
    }
  });
});
