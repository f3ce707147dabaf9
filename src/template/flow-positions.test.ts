import { LineCounter, parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { FlowPositions, pathToString } from './flow-positions.js';

describe('FlowPositions', () => {
  const text = [
    'name: x',
    'types:',
    '  "Odd.Name": { store: db }',
    'functions:',
    '  - name: f',
    '    input:',
    '      - A',
    '',
  ].join('\n');
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const positions = FlowPositions.fromYaml(doc.contents, lineCounter, 'f.yaml');

  it('knows where values, keys and list items are', () => {
    expect(positions.at('name')).toEqual({ file: 'f.yaml', line: 1, column: 7 });
    expect(positions.keyAt('functions[0].input')).toEqual({ file: 'f.yaml', line: 6, column: 5 });
    expect(positions.at('functions[0].input[0]')).toEqual({ file: 'f.yaml', line: 7, column: 9 });
    expect(positions.at(pathToString(['types', 'Odd.Name', 'store']))).toEqual({
      file: 'f.yaml',
      line: 3,
      column: 24,
    });
  });

  it('falls back to the nearest enclosing part, then to the file', () => {
    expect(positions.at('functions[0].output')).toEqual({ file: 'f.yaml', line: 5, column: 5 });
    expect(new FlowPositions('g.ts').at('functions[3].name')).toEqual({ file: 'g.ts' });
    expect(new FlowPositions().at('name')).toBeUndefined();
  });

  it('prints paths as problems show them', () => {
    expect(pathToString(['functions', 2, 'input', 0])).toBe('functions[2].input[0]');
    expect(pathToString(['types', 'a b', 'store'])).toBe('types["a b"].store');
  });
});
