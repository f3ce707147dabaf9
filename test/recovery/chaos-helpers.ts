import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LocalProvider } from '../../src/provision/local/local-provider.js';
import { tempDir } from '../execute/run-helpers.js';

/** A seeded generator (mulberry32): the same seed gives the same kills and input. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The flow under test: items (with malformed lines) → `tally`, keyed by user, whose state
 * counts and sums per user and which emits the user's running total (a keyed store type),
 * an event per item (a stream sink) and a line per item (the JSONL sink). Every output
 * depends on the state: a record lost or doubled, or state restored wrong, shows.
 */
export function chaosFlow(options: {
  name: string;
  items: number;
  users: number;
  seed: number;
  /** Stream-sink type placement (`Event` goes to the JSONL sink without it). */
  sink: boolean;
  /** Loop iterations of work per record (default 60,000). */
  spin?: number;
}): { flowFile: string; input: string; dir: string } {
  const dir = tempDir('warmflow-chaos-');
  writeFileSync(
    path.join(dir, 'fns.mjs'),
    `export async function tally(item, ctx) {
  const n = ((await ctx.state.get('n')) ?? 0) + 1;
  const sum = ((await ctx.state.get('sum')) ?? 0) + item.v;
  await ctx.state.set('n', n);
  await ctx.state.set('sum', sum);
  // Some work per record, so a run lasts long enough to be killed several times.
  let spin = 0;
  for (let i = 0; i < ${options.spin ?? 60_000}; i++) spin += i % 7;
  return [
    { $type: 'Total', user: item.user, n, sum },
    { $type: 'Event', id: item.id, user: item.user, n, spin },
    { $type: 'Line', id: item.id, n },
  ];
}
`,
  );
  const flowFile = path.join(dir, 'flow.yaml');
  writeFileSync(
    flowFile,
    [
      `name: ${options.name}`,
      'streams:',
      '  items: { type: Item, source: ./items.jsonl }',
      'stores:',
      `  out: { kind: sqlite, path: ./out.db }`,
      ...(options.sink ? ['  sink: { kind: memory }'] : []),
      'types:',
      '  Total: { store: out, key: user }',
      ...(options.sink ? ['  Event: { store: sink }'] : []),
      'functions:',
      '  - { name: tally, module: ./fns.mjs, input: [Item], output: [Total, Event, Line], key: user }',
      '',
    ].join('\n'),
  );
  const random = seeded(options.seed);
  const lines: string[] = [];
  for (let id = 0; id < options.items; id++) {
    if (id % 997 === 13) lines.push(`{"id": ${id}, "broken`);
    else
      lines.push(
        JSON.stringify({
          id,
          user: `u${Math.floor(random() * options.users)}`,
          v: Math.floor(random() * 100),
        }),
      );
  }
  const input = path.join(dir, 'items.jsonl');
  writeFileSync(input, lines.join('\n') + '\n');
  return { flowFile, input, dir };
}

/**
 * Kills (`SIGKILL`) the worker running `template` at seeded random moments: each `arm()`
 * (a resource was provisioned for the run) schedules one kill `minMs`-`maxMs` later, of the
 * newest worker of the template, until `max` kills were made or `stop()`.
 */
export function killWorkers(
  provider: LocalProvider,
  template: string,
  options: { seed: number; minMs: number; maxMs: number; max: number },
): { arm(): void; stop(): void; kills: number[] } {
  const random = seeded(options.seed);
  const kills: number[] = [];
  let stopped = false;
  const timers = new Set<NodeJS.Timeout>();
  return {
    kills,
    arm() {
      if (stopped || kills.length + timers.size >= options.max) return;
      const timer = setTimeout(
        () => {
          timers.delete(timer);
          void provider.list({ template }).then((racs) => {
            const pid = racs.at(-1)?.process_id;
            if (stopped || pid === undefined) return;
            try {
              process.kill(pid, 'SIGKILL');
              kills.push(pid);
            } catch {
              // Gone already.
            }
          });
        },
        options.minMs + random() * (options.maxMs - options.minMs),
      );
      timers.add(timer);
    },
    stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
    },
  };
}
