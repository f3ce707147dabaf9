import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { BackgroundProcess } from '../../src/server/background-process.js';
import { compileFlowText } from '../../src/server/flow-compile.js';
import { profile } from '../../src/profiler/profile.js';
import { FLOW_YAML } from './harness.js';

/** A flow file large enough to keep the parser busy for a while. */
function slowFlow(keys: number): string {
  return (
    FLOW_YAML + 'x:\n' + Array.from({ length: keys }, (_, i) => `  k${i}: v${i}`).join('\n') + '\n'
  );
}

/** The nice value of each thread of a process (field 19 of /proc/<pid>/task/<tid>/stat). */
function threadNiceness(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    // Fields after the command name (in parentheses, which may hold spaces) start at field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[19 - 3]);
  });
}

describe('server: flow files and profiles are worked on in a process of their own', () => {
  it('answers what compiling on the event loop answers: the spec and template, or the same problems', async () => {
    const compiler = new BackgroundProcess();
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

  it('a process that is stopped fails only the requests it held, with a 400 problem; the next request gets a new process', async () => {
    const compiler = new BackgroundProcess();
    try {
      await compiler.compile(FLOW_YAML, undefined);
      // Large enough to take the parser a while: still being parsed when the process ends.
      const slow = slowFlow(30_000);
      const held = compiler.compile(slow, undefined);
      await compiler.close(); // the process ends under the request
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
    const compiler = new BackgroundProcess();
    try {
      const large = slowFlow(5_000);
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
      // a0 was in the process already; b goes next, before the rest of a's.
      expect(done).toEqual(['a0', 'b', 'a1', 'a2', 'a3', 'a4']);
    } finally {
      await compiler.close();
    }
  });

  it('profiles records as profiling on the event loop does, and an empty input fails the same way', async () => {
    const background = new BackgroundProcess();
    try {
      const records = Array.from({ length: 500 }, (_, i) => ({
        user: `u${i % 17}`,
        amount: i * 1.5,
        ok: i % 3 === 0,
      }));
      const there = await background.profile(records, { sample: 20_000 }, 'a');
      const here = await profile(records, { sample: 20_000 });
      expect(there.volume.records).toBe(500);
      expect(there).toEqual(JSON.parse(JSON.stringify(here)));
      const error = await background.profile([], { sample: 20_000 }, 'a').catch((e: unknown) => e);
      expect((error as { code?: string }).code).toBe('E_SOURCE_EMPTY');
    } finally {
      await background.close();
    }
  });

  it('a job whose request is abandoned before its turn leaves the queue unrun', async () => {
    const background = new BackgroundProcess();
    try {
      const slow = slowFlow(5_000);
      const first = background.compile(slow, undefined, 'a').catch(() => undefined);
      const abandon = new AbortController();
      const dropped = background.compile(FLOW_YAML, undefined, 'a', abandon.signal);
      expect(background.waiting).toBe(1);
      abandon.abort();
      const error = await dropped.catch((e: unknown) => e);
      expect((error as { code?: string }).code).toBe('E_ABORTED');
      expect(background.waiting).toBe(0);
      await first;
      expect((await background.compile(FLOW_YAML, undefined, 'b')).template.name).toBe('clicks');
    } finally {
      await background.close();
    }
  });

  it('runs apart from the server at the lowest CPU priority, every thread of it (GC helpers too)', async () => {
    const background = new BackgroundProcess();
    try {
      expect(background.pid).toBeUndefined(); // started by the first job
      await background.compile(FLOW_YAML, undefined);
      const pid = background.pid!;
      expect(pid).not.toBe(process.pid);
      expect(os.getPriority(pid)).toBe(19);
      if (process.platform === 'linux') {
        const niceness = threadNiceness(pid);
        expect(niceness.length).toBeGreaterThan(1);
        expect(niceness.every((nice) => nice === 19)).toBe(true);
      }
    } finally {
      await background.close();
    }
  });

  it('a process killed under a job answers that job with a 400 problem saying so; the next job starts a new process', async () => {
    const background = new BackgroundProcess();
    try {
      await background.compile(FLOW_YAML, undefined);
      const first = background.pid!;
      const held = background.profile(
        Array.from({ length: 20_000 }, (_, i) => ({ user: `u${i}`, amount: i })),
        { sample: 20_000 },
        'a',
      );
      const queued = background.compile(FLOW_YAML, undefined, 'b');
      process.kill(first, 'SIGKILL'); // the job was sent and cannot have been answered yet
      const error = await held.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ValidationError);
      const problem = (error as ValidationError).problems[0];
      expect(problem.code).toBe('E_LIMIT');
      expect(problem.message).toContain('its process was stopped by SIGKILL');
      // The job waiting behind it runs in a new process, and so does the next.
      expect((await queued).template.name).toBe('clicks');
      expect(background.pid).not.toBe(first);
      expect((await background.compile(FLOW_YAML, undefined)).template.name).toBe('clicks');
    } finally {
      await background.close();
    }
  });
});
