import { describe, expect, it } from 'vitest';
import { ValidationError, type Problem } from '../../src/errors.js';
import { inferTemplate } from '../../src/template/infer-template.js';
import { parseFlow } from '../../src/template/parse-flow.js';

/** Parses and infers `yaml` as file `flow.yaml`; returns the problems it is refused with. */
function problemsOf(yaml: string): { problems: readonly Problem[]; message: string } {
  try {
    inferTemplate(parseFlow(yaml, 'flow.yaml'));
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    const { problems, message } = error as ValidationError;
    return { problems, message };
  }
  throw new Error('the flow was accepted');
}

/** The one problem with `code`, checked to name every one of `names` and to sit at `line`. */
function expectProblem(
  problems: readonly Problem[],
  code: string,
  line: number,
  names: string[],
): Problem {
  const found = problems.filter((p) => p.code === code);
  expect(found, `one ${code} in ${JSON.stringify(problems)}`).toHaveLength(1);
  const problem = found[0];
  expect(problem.position?.file).toBe('flow.yaml');
  expect(problem.position?.line).toBe(line);
  for (const name of names) {
    expect(problem.message).toContain(`"${name}"`);
    expect(problem.involves ?? []).toContain(name);
  }
  return problem;
}

const lines = (...text: string[]) => text.join('\n') + '\n';

describe('flow problems name the functions, types and line', () => {
  it('a cycle, printed in full', () => {
    const { problems, message } = problemsOf(
      lines(
        'name: loop',
        'streams: { in: { type: A } }',
        'functions:',
        '  - { name: start, input: [A], output: [B] }',
        '  - name: grow', // line 5
        '    input: [B, D]',
        '    output: [C]',
        '  - { name: shrink, input: [C], output: [D] }',
      ),
    );
    const problem = expectProblem(problems, 'E_CYCLE', 5, ['grow', 'shrink', 'C', 'D']);
    expect(problem.message).toContain('grow -[C]-> shrink -[D]-> grow');
    expect(message).toContain('flow.yaml:5:11');
  });

  it('a self-loop is a cycle too', () => {
    const { problems } = problemsOf(
      lines(
        'name: self',
        'streams: { in: { type: A } }',
        'functions:',
        '  - { name: again, input: [A], output: [A] }',
      ),
    );
    expect(expectProblem(problems, 'E_CYCLE', 4, ['again', 'A']).message).toContain(
      'again -[A]-> again',
    );
  });

  it('an input type nobody provides, at the input', () => {
    const { problems, message } = problemsOf(
      lines(
        'name: lookup',
        'streams: { clicks: { type: Click } }',
        'functions:',
        '  - name: enrich',
        '    input: [Click, UserProfile]', // line 5, column 20
        '    output: [EnrichedClick]',
      ),
    );
    expectProblem(problems, 'E_UNSATISFIED_INPUT', 5, ['enrich', 'UserProfile']);
    expect(message).toContain('flow.yaml:5:20');
  });

  it('an unknown store in types and as the sink', () => {
    const { problems } = problemsOf(
      lines(
        'name: stores',
        'stores: { db: { kind: memory } }',
        'streams: { s: { type: A } }',
        'types:',
        '  B: { store: warehouse }', // line 5
        'sink: elsewhere', // line 6
        'functions:',
        '  - { name: f, input: [A], output: [B] }',
      ),
    );
    const unknown = problems.filter((p) => p.code === 'E_UNKNOWN_STORE');
    expect(unknown).toHaveLength(2);
    expect(unknown[0].position?.line).toBe(5);
    expect(unknown[0].message).toContain('"B"');
    expect(unknown[0].message).toContain('"warehouse"');
    expect(unknown[0].message).toContain('"db"'); // says which stores exist
    expect(unknown[1].position?.line).toBe(6);
    expect(unknown[1].message).toContain('"elsewhere"');
  });

  it('a typo in an output type: did you mean the declared one (not a silent JSONL file)', () => {
    const { problems } = problemsOf(
      lines(
        'name: movies',
        'stores: { results: { kind: memory } }',
        'streams: { movies: { type: Movie } }',
        'types:',
        '  GenreStat: { store: results, key: genre }',
        'functions:',
        '  - name: stats',
        '    input: [Movie]',
        '    output: [GenreStats]', // line 9
      ),
    );
    const problem = expectProblem(problems, 'E_UNDECLARED_TYPE', 9, ['GenreStats', 'GenreStat']);
    expect(problem.message).toContain('did you mean "GenreStat"');
    expect(problems.filter((p) => p.code === 'E_UNUSED_TYPE')).toHaveLength(0);
  });

  it('a declared type that nothing uses, with the closest used name', () => {
    const { problems } = problemsOf(
      lines(
        'name: movies',
        'streams: { movies: { type: Movie } }',
        'types:',
        '  Movei: { key: id }', // line 4
        '  Unrelated: { key: id }', // line 5
        'functions:',
        '  - { name: f, input: [Movie], output: [Out] }',
      ),
    );
    const unused = problems.filter((p) => p.code === 'E_UNUSED_TYPE');
    expect(unused).toHaveLength(2);
    expect(unused[0].position?.line).toBe(4);
    expect(unused[0].message).toContain('did you mean "Movie"?');
    expect(unused[1].position?.line).toBe(5);
    expect(unused[1].message).not.toContain('did you mean');
  });

  it('a duplicate function name, at the second one, saying where the first is', () => {
    const { problems } = problemsOf(
      lines(
        'name: dup',
        'streams: { s: { type: A } }',
        'functions:',
        '  - { name: f, input: [A], output: [B] }',
        '  - { name: g, input: [B], output: [C] }',
        '  - { name: f, input: [C], output: [D] }', // line 6
      ),
    );
    expect(expectProblem(problems, 'E_DUPLICATE_FUNCTION', 6, ['f']).message).toContain('line 4');
  });

  it('a function with no inputs and one with no outputs (missing or empty)', () => {
    const { problems } = problemsOf(
      lines(
        'name: empty',
        'streams: { s: { type: A } }',
        'functions:',
        '  - { name: producer, input: [], output: [B] }', // line 4
        '  - name: consumer', // line 5
        '    input: [A]',
      ),
    );
    expectProblem(problems, 'E_NO_INPUTS', 4, ['producer']);
    expectProblem(problems, 'E_NO_OUTPUTS', 5, ['consumer']);
  });

  it('a stream nobody consumes and a type listed twice', () => {
    const { problems } = problemsOf(
      lines(
        'name: extra',
        'streams:',
        '  s: { type: A }',
        '  t: { type: Z }', // line 4
        'functions:',
        '  - { name: f, input: [A, A], output: [B] }', // line 6
      ),
    );
    expectProblem(problems, 'E_UNUSED_STREAM', 4, ['t', 'Z']);
    expectProblem(problems, 'E_DUPLICATE_TYPE', 6, ['f', 'A']);
  });

  it('state declared by a function without a key, and a state name twice', () => {
    const { problems } = problemsOf(
      lines(
        'name: stateful',
        'streams:',
        '  s: { type: A }',
        'functions:',
        '  - { name: f, input: [A], output: [B], state: [n] }', // line 5
        '  - { name: g, input: [B], output: [C], key: id, state: [n, m, n] }', // line 6
      ),
    );
    const found = problems.filter((p) => p.code === 'E_STATE_DECLARATION');
    expect(found.map((p) => [p.path, p.position?.line])).toEqual([
      ['functions[0].state', 5],
      ['functions[1].state[2]', 6],
    ]);
    expect(found[0].message).toBe(
      'function "f" declares state but has no key; state is per key: add `key: <field>`',
    );
    expect(found[1].message).toBe('function "g" declares state "n" twice');
  });

  it('malformed YAML, with its position', () => {
    const { problems, message } = problemsOf(
      lines('name: broken', 'functions:', '  - name: [f', '    input: [A]'),
    );
    expect(problems[0].code).toBe('E_YAML');
    expect(problems[0].position?.file).toBe('flow.yaml');
    expect(problems[0].position?.line).toBeGreaterThanOrEqual(3);
    expect(message).toMatch(/flow\.yaml:\d+:\d+: malformed YAML/);
  });

  it('duplicate keys are malformed YAML too', () => {
    const { problems } = problemsOf(lines('name: a', 'name: b', 'functions: []'));
    expect(problems[0].code).toBe('E_YAML');
    expect(problems[0].position?.line).toBe(2);
  });

  it('unknown fields and wrong shapes, naming the function and the field', () => {
    const { problems } = problemsOf(
      lines(
        'name: shape',
        'streams: { s: { type: A } }',
        'functions:',
        '  - name: f',
        '    input: [A]',
        '    output: [B]',
        '    keyed_by: user_id', // line 7
        '  - name: g',
        '    input: B', // line 9
        '    output: [C]',
      ),
    );
    const unknown = problems.find((p) => p.code === 'E_UNKNOWN_FIELD')!;
    expect(unknown.message).toBe('function "f": unknown field "keyed_by"');
    expect(unknown.position).toEqual({ file: 'flow.yaml', line: 7, column: 5 });
    expect(unknown.involves).toEqual(['f']);
    const shape = problems.find((p) => p.code === 'E_SHAPE')!;
    expect(shape.message).toContain('function "g"');
    expect(shape.message).toContain('functions[1].input');
    expect(shape.position?.line).toBe(9);
  });

  it('reports every problem of a file at once, sorted by line', () => {
    const { problems } = problemsOf(
      lines(
        'name: everything',
        'streams: { s: { type: A } }',
        'sink: nowhere',
        'functions:',
        '  - { name: a, input: [A, Missing], output: [B] }',
        '  - { name: a, input: [B], output: [C] }',
        '  - { name: x, input: [Y], output: [Y] }',
        '  - { name: quiet, input: [A], output: [] }',
        '    ',
        '  - { name: extra, input: [A], output: [Q], nope: 1 }',
      ),
    );
    expect(problems.map((p) => p.code)).toEqual([
      'E_UNKNOWN_STORE',
      'E_UNSATISFIED_INPUT',
      'E_DUPLICATE_FUNCTION',
      'E_CYCLE',
      'E_NO_OUTPUTS',
      'E_UNKNOWN_FIELD',
    ]);
    expect(problems.map((p) => p.position?.line)).toEqual([3, 5, 6, 7, 8, 10]);
  });

  it('positions fall back to the file for specs without positions', () => {
    try {
      inferTemplate(
        { name: 'ts', functions: [{ name: 'f', input: ['A'], output: ['B'] }] },
        { file: 'flow.ts' },
      );
      expect.unreachable();
    } catch (error) {
      const problem = (error as ValidationError).problems[0];
      expect(problem.position).toEqual({ file: 'flow.ts' });
      expect((error as ValidationError).message).toContain('flow.ts: function "f" needs type "A"');
    }
  });
});
