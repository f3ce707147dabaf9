import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { flowJsonSchema } from '../../src/template/flow-schema.js';
import { loadFlow } from '../../src/template/load-flow.js';
import { topologicalStages } from '../../src/template/topological-stages.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const EXAMPLES = ['clickstream', 'iot', 'orders'];

const run = (...args: string[]) => runCli('template', ...args);

afterEach(() => {
  process.exitCode = undefined;
});

describe('warmflow template', () => {
  for (const example of EXAMPLES) {
    const file = path.join(root, 'examples', example, 'flow.yaml');

    it(`${example}: prints stages in topological order with I/O nodes marked`, async () => {
      const { code, stdout, stderr } = await run(file);
      expect(code).toBe(0);
      expect(stderr).toBe('');
      const { template } = await loadFlow(file);
      const stages = topologicalStages(template);
      // Every node appears under its stage's heading, in order.
      let at = 0;
      stages.forEach((stage, i) => {
        at = stdout.indexOf(`stage ${i + 1}\n`, at);
        expect(at).toBeGreaterThanOrEqual(0);
        for (const id of stage) expect(stdout.indexOf(` ${id} `, at)).toBeGreaterThan(at);
      });
      for (const node of template.nodes.filter((n) => n.kind !== 'function')) {
        expect(stdout).toMatch(new RegExp(`\\[${node.kind}\\] +${node.id} `));
      }
    });

    it(`${example}: --json prints exactly { name, nodes, edges, transactions }`, async () => {
      const { code, stdout } = await run(file, '--json');
      expect(code).toBe(0);
      const printed = JSON.parse(stdout) as Record<string, unknown>;
      expect(Object.keys(printed)).toEqual(['name', 'nodes', 'edges', 'transactions']);
      expect(printed).toEqual((await loadFlow(file)).template);
    });

    it(`${example}: --dot prints a digraph with every node and edge`, async () => {
      const { code, stdout } = await run(file, '--dot');
      expect(code).toBe(0);
      const { template } = await loadFlow(file);
      expect(stdout.startsWith(`digraph "${template.name}" {`)).toBe(true);
      expect(stdout.trimEnd().endsWith('}')).toBe(true);
      expect(stdout.match(/ -> /g)).toHaveLength(template.edges.length);
      for (const e of template.edges) {
        expect(stdout).toContain(`"${e.from}" -> "${e.to}" [label="${e.type}"]`);
      }
    });
  }

  it('the orders example has two producers of Order and a diamond', async () => {
    const { stdout } = await run(path.join(root, 'examples/orders/flow.yaml'), '--json');
    const { edges } = JSON.parse(stdout) as {
      edges: Array<{ from: string; to: string; type: string }>;
    };
    const into = (to: string, type: string) =>
      edges.filter((e) => e.to === to && e.type === type).map((e) => e.from);
    expect(into('revenue', 'Order').sort()).toEqual(['from_pos', 'from_web']);
    expect(into('tax', 'Order').sort()).toEqual(['from_pos', 'from_web']);
    expect(into('post', 'LedgerEntry').sort()).toEqual(['revenue', 'tax']);
  });

  it('exits 2 on an invalid flow, every problem on stderr and nothing on stdout', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'warmflow-cli-'));
    try {
      const file = path.join(dir, 'flow.yaml');
      await writeFile(
        file,
        'name: bad\nstreams: { s: { type: A } }\nfunctions:\n  - { name: f, input: [A, Nope], output: [B] }\n  - { name: f, input: [B], output: [] }\n',
      );
      const { code, stdout, stderr } = await run(file, '--json');
      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toContain('3 problems');
      expect(stderr).toMatch(/flow\.yaml:4:\d+: function "f" needs type "Nope"/);
      expect(stderr).toMatch(/flow\.yaml:5:\d+: function "f" is defined twice/);
      expect(stderr).toMatch(/flow\.yaml:5:\d+: function "f" has no outputs/);
      expect(stderr).not.toContain('    at '); // no stack trace without --verbose
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('exits 2 with a hint for a missing flow file and for --json with --dot', async () => {
    const missing = await run(path.join(root, 'no/such/flow.yaml'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read flow file');
    const none = await run();
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('hint: warmflow template examples/clickstream/flow.yaml');
    const both = await run(path.join(root, 'examples/iot/flow.yaml'), '--json', '--dot');
    expect(both.code).toBe(2);
  });

  it('--schema prints the committed JSON Schema', async () => {
    const { code, stdout } = await run('--schema');
    expect(code).toBe(0);
    const committed = JSON.parse(
      await readFile(path.join(root, 'schema/flow.schema.json'), 'utf8'),
    ) as unknown;
    expect(JSON.parse(stdout)).toEqual(committed);
    expect(committed).toEqual(flowJsonSchema());
  });
});
