import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { BackgroundThread } from '../../src/server/background-thread.js';
import { compileFlowText } from '../../src/server/flow-compile.js';
import { profile } from '../../src/profiler/profile.js';
import { FLOW_YAML } from './harness.js';

describe('server: flow files are compiled on a thread of their own', () => {
  it('answers what compiling on the event loop answers: the spec and template, or the same problems', async () => {
    const compiler = new BackgroundThread();
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
    const compiler = new BackgroundThread();
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
    const compiler = new BackgroundThread();
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

  it('profiles records as profiling on the event loop does, and an empty input fails the same way', async () => {
    const thread = new BackgroundThread();
    try {
      const records = Array.from({ length: 500 }, (_, i) => ({
        user: `u${i % 17}`,
        amount: i * 1.5,
        ok: i % 3 === 0,
      }));
      const there = await thread.profile(records, { sample: 20_000 }, 'a');
      const here = await profile(records, { sample: 20_000 });
      expect(there.volume.records).toBe(500);
      expect(there).toEqual(JSON.parse(JSON.stringify(here)));
      const error = await thread.profile([], { sample: 20_000 }, 'a').catch((e: unknown) => e);
      expect((error as { code?: string }).code).toBe('E_SOURCE_EMPTY');
    } finally {
      await thread.close();
    }
  });

  it('a job whose request is abandoned before its turn leaves the queue unrun', async () => {
    const thread = new BackgroundThread();
    try {
      const slow =
        FLOW_YAML +
        'x:\n' +
        Array.from({ length: 5_000 }, (_, i) => `  k${i}: v${i}`).join('\n') +
        '\n';
      const first = thread.compile(slow, undefined, 'a').catch(() => undefined);
      const abandon = new AbortController();
      const dropped = thread.compile(FLOW_YAML, undefined, 'a', abandon.signal);
      expect(thread.waiting).toBe(1);
      abandon.abort();
      const error = await dropped.catch((e: unknown) => e);
      expect((error as { code?: string }).code).toBe('E_ABORTED');
      expect(thread.waiting).toBe(0);
      await first;
      expect((await thread.compile(FLOW_YAML, undefined, 'b')).template.name).toBe('clicks');
    } finally {
      await thread.close();
    }
  });
});
