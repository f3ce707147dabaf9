import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { FlowCompiler } from '../../src/server/compile-thread.js';
import { compileFlowText } from '../../src/server/flow-compile.js';
import { FLOW_YAML } from './harness.js';

describe('server: flow files are compiled on a thread of their own', () => {
  it('answers what compiling on the event loop answers: the spec and template, or the same problems', async () => {
    const compiler = new FlowCompiler();
    try {
      const there = await compiler.compile(FLOW_YAML, 'flow.yaml');
      const here = compileFlowText(FLOW_YAML, 'flow.yaml');
      expect(there).toEqual(JSON.parse(JSON.stringify(here)));

      const broken = FLOW_YAML.replace('output: [Count]', 'output: [Count]\n    bogus: 1');
      const error = await compiler.compile(broken, 'flow.yaml').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      let local: unknown;
      try {
        compileFlowText(broken, 'flow.yaml');
      } catch (e) {
        local = e;
      }
      expect((error as ValidationError).problems).toEqual((local as ValidationError).problems);
      expect((error as ValidationError).message).toBe((local as ValidationError).message);
    } finally {
      await compiler.close();
    }
  });

  it('a thread that dies fails only the requests it held, with a 400 problem; the next request gets a new thread', async () => {
    const compiler = new FlowCompiler();
    try {
      await compiler.compile(FLOW_YAML, undefined);
      // Large enough to take the parser a while: still being parsed when the thread ends.
      const slow =
        FLOW_YAML +
        'x:\n' +
        Array.from({ length: 30_000 }, (_, i) => `  k${i}: v${i}`).join('\n') +
        '\n';
      const held = compiler.compile(slow, undefined);
      await compiler.close(); // the thread ends under the request
      const error = await held.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).problems[0].code).toBe('E_LIMIT');
      expect((await compiler.compile(FLOW_YAML, undefined)).template.name).toBe('clicks');
    } finally {
      await compiler.close();
    }
  });

  it('tenants take turns: one posting many large documents does not hold back another’s flow', async () => {
    const compiler = new FlowCompiler();
    try {
      const large =
        FLOW_YAML +
        'x:\n' +
        Array.from({ length: 5_000 }, (_, i) => `  k${i}: v${i}`).join('\n') +
        '\n';
      const done: string[] = [];
      const track = (name: string, p: Promise<unknown>) =>
        p.then(
          () => done.push(name),
          () => done.push(name),
        );
      const all = [
        ...Array.from({ length: 5 }, (_, i) =>
          track(`a${i}`, compiler.compile(large, undefined, 'a')),
        ),
        track('b', compiler.compile(FLOW_YAML, undefined, 'b')),
      ];
      await Promise.all(all);
      // a0 was on the thread already; b goes next, before the rest of a's.
      expect(done).toEqual(['a0', 'b', 'a1', 'a2', 'a3', 'a4']);
    } finally {
      await compiler.close();
    }
  });
});
