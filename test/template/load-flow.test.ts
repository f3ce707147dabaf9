import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError, WarmflowError } from '../../src/errors.js';
import {
  defineFlow,
  defineFunction,
  inferTemplate,
  loadFlow,
  parseFlow,
} from '../../src/template/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const defineFlowModule = path.join(root, 'src/template/define-flow.ts');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'warmflow-load-'));
  await mkdir(path.join(dir, 'functions'));
  await writeFile(
    path.join(dir, 'functions/parse.ts'),
    'export function parse(r: unknown) { return r; }\n',
  );
  await writeFile(path.join(dir, 'functions/count.js'), 'export function total(r) { return r; }\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const FLOW_BODY = `{
  name: 'from-ts',
  streams: { raw: { type: 'Raw' } },
  functions: [
    { name: 'parse', module: './functions/parse.ts', input: ['Raw'], output: ['Parsed'] },
    { name: 'count', module: './functions/count.js', export: 'total', input: ['Parsed'], output: ['Count'], key: 'id', gpu: 'optional' },
  ],
}`;

describe('loadFlow', () => {
  it('loads a TypeScript flow (defineFlow default export) and resolves modules', async () => {
    const file = path.join(dir, 'flow.ts');
    await writeFile(
      file,
      `import { defineFlow } from ${JSON.stringify(defineFlowModule)};\nexport default defineFlow(${FLOW_BODY});\n`,
    );
    const flow = await loadFlow(file);
    expect(flow.file).toBe(file);
    expect(flow.dir).toBe(dir);
    expect(flow.template.nodes.map((n) => n.id)).toEqual([
      'source:raw',
      'parse',
      'count',
      'write:Count',
    ]);
    expect(flow.functions).toEqual([
      {
        name: 'parse',
        module: path.join(dir, 'functions/parse.ts'),
        export: 'parse',
        input: ['Raw'],
        output: ['Parsed'],
        gpu: 'none',
      },
      {
        name: 'count',
        module: path.join(dir, 'functions/count.js'),
        export: 'total',
        input: ['Parsed'],
        output: ['Count'],
        key: 'id',
        gpu: 'optional',
      },
    ]);
  });

  it('loads a JavaScript flow module and a JSON flow the same way', async () => {
    await writeFile(path.join(dir, 'flow.mjs'), `export default ${FLOW_BODY};\n`);
    const fromJs = await loadFlow(path.join(dir, 'flow.mjs'));
    const spec = (await import(path.join(dir, 'flow.mjs'))) as { default: object };
    await writeFile(path.join(dir, 'flow.json'), JSON.stringify(spec.default));
    const fromJson = await loadFlow(path.join(dir, 'flow.json'));
    expect(fromJson.template).toEqual(fromJs.template);
  });

  it('refuses a TS flow of the wrong shape, naming the file', async () => {
    const file = path.join(dir, 'bad.ts');
    await writeFile(
      file,
      `export default { name: 'bad', functions: [{ name: 'f', input: ['A'], output: ['B'], retries: 3 }] };\n`,
    );
    const error = await loadFlow(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    const problems = (error as ValidationError).problems;
    expect(problems.map((p) => p.code)).toEqual(['E_UNKNOWN_FIELD', 'E_UNSATISFIED_INPUT']);
    expect(problems[0].message).toBe('function "f": unknown field "retries"');
    expect(problems[0].position?.file).toMatch(/bad\.ts$/);
  });

  it('refuses a function given inline instead of by module, saying how to give it', async () => {
    const file = path.join(dir, 'inline.ts');
    await writeFile(
      file,
      `export default { name: 'inline', streams: { s: { type: 'A' } }, functions: [{ name: 'f', input: ['A'], output: ['B'], run: (r: unknown) => r }] };\n`,
    );
    const error = await loadFlow(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    const problems = (error as ValidationError).problems;
    expect(problems.map((p) => p.code)).toEqual(['E_UNKNOWN_FIELD']);
    expect(problems[0].message).toMatch(/^function "f": unknown field "run": .*`module`/);
  });

  it('reports modules that do not exist together with inference problems', async () => {
    const file = path.join(dir, 'missing.yaml');
    await writeFile(
      file,
      [
        'name: missing',
        'streams: { s: { type: A } }',
        'functions:',
        '  - name: f',
        '    module: ./functions/nope.ts', // line 5
        '    input: [A, Lost]',
        '    output: [B]',
        '',
      ].join('\n'),
    );
    const error = (await loadFlow(file).catch((e: unknown) => e)) as ValidationError;
    expect(error.problems.map((p) => [p.code, p.position?.line])).toEqual([
      ['E_MODULE_NOT_FOUND', 5],
      ['E_UNSATISFIED_INPUT', 6],
    ]);
    expect(error.problems[0].message).toContain(
      'function "f": module "./functions/nope.ts" does not exist',
    );
  });

  it('finds a .ts module named with .js, as TS projects write it', async () => {
    const file = path.join(dir, 'jsname.yaml');
    await writeFile(
      file,
      'name: j\nstreams: { s: { type: A } }\nfunctions:\n  - { name: parse, module: ./functions/parse.js, input: [A], output: [B] }\n',
    );
    expect((await loadFlow(file)).functions[0].module).toBe(path.join(dir, 'functions/parse.ts'));
  });

  it('says what is wrong with a file it cannot read or does not know', async () => {
    const missing = await loadFlow(path.join(dir, 'absent.yaml')).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(WarmflowError);
    expect((missing as WarmflowError).code).toBe('E_INVALID_FLOW_FILE');
    await writeFile(path.join(dir, 'flow.txt'), 'name: x');
    const unknown = (await loadFlow(path.join(dir, 'flow.txt')).catch(
      (e: unknown) => e,
    )) as WarmflowError;
    expect(unknown.code).toBe('E_INVALID_FLOW_FILE');
    expect(unknown.hint).toContain('.yaml');
  });

  it('loads every example, with every module present', async () => {
    for (const example of ['clickstream', 'iot', 'orders']) {
      const flow = await loadFlow(path.join(root, 'examples', example, 'flow.yaml'));
      expect(flow.functions.length).toBeGreaterThan(2);
      for (const fn of flow.functions) {
        expect(fn.module).not.toBeNull();
        const source = await readFile(fn.module!, 'utf8');
        expect(source).toMatch(new RegExp(`export (async )?function ${fn.export}\\(`));
      }
    }
  });
});

describe('parseFlow and defineFlow', () => {
  it('examples/iot/flow.ts is the same flow as examples/iot/flow.yaml', async () => {
    const fromTs = await loadFlow(path.join(root, 'examples/iot/flow.ts'));
    const fromYaml = await loadFlow(path.join(root, 'examples/iot/flow.yaml'));
    expect(JSON.parse(JSON.stringify(fromTs.spec))).toEqual(
      JSON.parse(JSON.stringify(fromYaml.spec)),
    );
    expect(fromTs.template).toEqual(fromYaml.template);
    expect(fromTs.functions).toEqual(fromYaml.functions);
  });

  it('give the same template for the same flow, with positions only on the parsed one', () => {
    const yaml = [
      'name: same',
      'streams: { s: { type: A } }',
      'functions:',
      '  - { name: f, input: [A], output: [B] }',
      '',
    ].join('\n');
    const parsed = parseFlow(yaml, 'same.yaml');
    const defined = defineFlow({
      name: 'same',
      streams: { s: { type: 'A' } },
      functions: [defineFunction({ name: 'f', input: ['A'], output: ['B'] })],
    });
    expect(inferTemplate(parsed)).toEqual(inferTemplate(defined));
    expect(parsed.positions.at('functions[0].name')).toEqual({
      file: 'same.yaml',
      line: 4,
      column: 13,
    });
    expect(JSON.parse(JSON.stringify(parsed))).toEqual(defined); // positions stay out of JSON
  });
});
