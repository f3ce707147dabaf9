import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ValidationError } from '../../src/errors.js';
import { inferTemplate } from '../../src/template/infer-template.js';
import { topologicalStages } from '../../src/template/topological-stages.js';
import type { FlowSpec, Template } from '../../src/template/types.js';

/*
 * Random descriptor sets against a direct model of the inference rules: the model
 * below restates the template rules naively (every pair of functions, every type) and the
 * inferred template must agree with it exactly.
 */

const TYPES = ['A', 'B', 'C', 'D', 'E', 'F', 'G'];

const typeSet = fc.uniqueArray(fc.constantFrom(...TYPES), { minLength: 1, maxLength: 3 });

/** Any types on either side: mostly cyclic or unsatisfiable, so it exercises refusals. */
const anyFunction = fc.record({ input: typeSet, output: typeSet, keyed: fc.boolean() });

/**
 * Outputs only of types after every input (in TYPES order): every edge then climbs that
 * order, so the flow is acyclic and mostly valid.
 */
const orderedFunction = fc
  .uniqueArray(fc.integer({ min: 0, max: TYPES.length - 2 }), { minLength: 1, maxLength: 3 })
  .chain((inputs) =>
    fc
      .record({
        output: fc.uniqueArray(
          fc.integer({ min: Math.max(...inputs) + 1, max: TYPES.length - 1 }),
          {
            minLength: 1,
            maxLength: 2,
          },
        ),
        keyed: fc.boolean(),
      })
      .map(({ output, keyed }) => ({
        input: inputs.map((i) => TYPES[i]),
        output: output.map((i) => TYPES[i]),
        keyed,
      })),
  );

const flowArbitrary: fc.Arbitrary<FlowSpec> = fc
  .record({
    functions: fc.oneof(
      { arbitrary: fc.array(orderedFunction, { minLength: 1, maxLength: 7 }), weight: 3 },
      { arbitrary: fc.array(anyFunction, { minLength: 1, maxLength: 7 }), weight: 1 },
    ),
    // Streams mostly carry consumed types (picked by index below), now and then any type.
    streamPicks: fc.array(fc.nat(), { maxLength: 3 }),
    strayStream: fc.option(fc.constantFrom(...TYPES), { freq: 6 }),
    // Per type: placed in a store 3 times in 4.
    placedMask: fc.array(fc.integer({ min: 0, max: 3 }), {
      minLength: TYPES.length,
      maxLength: TYPES.length,
    }),
    sink: fc.boolean(),
  })
  .map(({ functions, streamPicks, strayStream, placedMask, sink }) => {
    const consumed = [...new Set(functions.flatMap((fn) => fn.input))];
    const streams = streamPicks.map((n) => consumed[n % consumed.length]);
    if (strayStream !== null) streams.push(strayStream);
    // Only types the flow uses are placed: a declared type nothing uses is an error of its own.
    const used = new Set([...streams, ...functions.flatMap((fn) => [...fn.input, ...fn.output])]);
    const placed = TYPES.filter((type, i) => placedMask[i] > 0 && used.has(type));
    const spec: FlowSpec = {
      name: 'prop',
      streams: Object.fromEntries(streams.map((type, i) => [`s${i}`, { type }])),
      stores: { db: { kind: 'memory' }, out: { kind: 'memory' } },
      types: Object.fromEntries(placed.map((type) => [type, { store: 'db', key: 'id' }])),
      functions: functions.map((fn, i) => ({
        name: `f${i}`,
        input: fn.input,
        output: fn.output,
        ...(fn.keyed ? { key: 'id' } : {}),
      })),
    };
    if (sink) spec.sink = 'out';
    return spec;
  });

interface Model {
  edges: Set<string>;
  errors: Set<string>;
  hasCycle: boolean;
}

const edgeKey = (from: string, to: string, type: string) => `${from} -${type}-> ${to}`;

function model(spec: FlowSpec): Model {
  const edges = new Set<string>();
  const errors = new Set<string>();
  const streams = Object.entries(spec.streams ?? {});
  const produced = (t: string) => spec.functions.some((f) => f.output.includes(t));
  const consumed = (t: string) => spec.functions.some((f) => f.input.includes(t));
  for (const [, { type }] of streams) if (!consumed(type)) errors.add('E_UNUSED_STREAM');
  for (const f of spec.functions) {
    for (const t of f.input) {
      for (const p of spec.functions)
        if (p.output.includes(t)) edges.add(edgeKey(p.name, f.name, t));
      for (const [name, s] of streams)
        if (s.type === t) edges.add(edgeKey(`source:${name}`, f.name, t));
      if (!produced(t) && !streams.some(([, s]) => s.type === t)) {
        if (spec.types?.[t]?.store) edges.add(edgeKey(`read:${t}`, f.name, t));
        else errors.add('E_UNSATISFIED_INPUT');
      }
    }
    for (const t of f.output) if (!consumed(t)) edges.add(edgeKey(f.name, `write:${t}`, t));
  }
  // A cycle: some function reaches itself through producer -> consumer steps.
  const next = (name: string) =>
    spec.functions.filter((g) =>
      spec.functions.find((f) => f.name === name)!.output.some((t) => g.input.includes(t)),
    );
  const reaches = (from: string, target: string): boolean => {
    const seen = new Set<string>();
    const stack = next(from).map((g) => g.name);
    while (stack.length > 0) {
      const at = stack.pop()!;
      if (at === target) return true;
      if (seen.has(at)) continue;
      seen.add(at);
      stack.push(...next(at).map((g) => g.name));
    }
    return false;
  };
  const hasCycle = spec.functions.some((f) => reaches(f.name, f.name));
  if (hasCycle) errors.add('E_CYCLE');
  return { edges, errors, hasCycle };
}

function checkNamedCycle(spec: FlowSpec, message: string): void {
  // "cycle: f0 -[A]-> f1 -[B]-> f0; ..." — every step must be a real producer/consumer match.
  const text = /cycle: (.*?);/.exec(message)![1];
  const steps = [...text.matchAll(/(\S+) -\[(\S+)\]->/g)].map((m) => [m[1], m[2]] as const);
  const last = text.split(' ').at(-1)!;
  expect(steps.length).toBeGreaterThan(0);
  steps.forEach(([from, type], i) => {
    const to = i + 1 < steps.length ? steps[i + 1][0] : last;
    expect(spec.functions.find((f) => f.name === from)!.output).toContain(type);
    expect(spec.functions.find((f) => f.name === to)!.input).toContain(type);
  });
  expect(last).toBe(steps[0][0]);
}

describe('inferTemplate (property)', () => {
  it('agrees with the rules: exact edges, one source/read per unproduced input, one write per unconsumed output, acyclic or a named cycle', () => {
    let inferred = 0;
    fc.assert(
      fc.property(flowArbitrary, (spec) => {
        const expected = model(spec);
        let template: Template;
        try {
          template = inferTemplate(spec);
          inferred++;
        } catch (error) {
          expect(error).toBeInstanceOf(ValidationError);
          const problems = (error as ValidationError).problems;
          expect(new Set(problems.map((p) => p.code))).toEqual(expected.errors);
          for (const p of problems.filter((p) => p.code === 'E_CYCLE'))
            checkNamedCycle(spec, p.message);
          return;
        }
        expect(expected.errors.size).toBe(0);
        const actual = template.edges.map((e) => edgeKey(e.from, e.to, e.type));
        expect(new Set(actual)).toEqual(expected.edges);
        expect(actual.length).toBe(expected.edges.size); // no edge twice

        const ids = template.nodes.map((n) => n.id);
        expect(new Set(ids).size).toBe(ids.length);
        const produced = new Set(spec.functions.flatMap((f) => f.output));
        const consumed = new Set(spec.functions.flatMap((f) => f.input));
        const streamTypes = new Set(Object.values(spec.streams ?? {}).map((s) => s.type));
        for (const t of consumed) {
          if (produced.has(t)) continue;
          const reads = template.nodes.filter((n) => n.kind === 'read' && n.type === t);
          const sources = template.nodes.filter((n) => n.kind === 'source' && n.type === t);
          expect(reads.length + (sources.length > 0 ? 1 : 0)).toBe(1);
          if (reads[0]) expect(reads[0].data_store).toBe(spec.types?.[t]?.store);
        }
        for (const t of produced) {
          const writes = template.nodes.filter((n) => n.kind === 'write' && n.type === t);
          expect(writes.length).toBe(consumed.has(t) ? 0 : 1);
          if (writes[0]) expect(writes[0].data_store).toBe(spec.types?.[t]?.store ?? spec.sink);
        }
        for (const n of template.nodes.filter((n) => n.kind === 'source'))
          expect(streamTypes).toContain(n.type);

        const stages = topologicalStages(template);
        expect(stages.flat().sort()).toEqual([...ids].sort());
        const stageOf = new Map(stages.flatMap((s, i) => s.map((id) => [id, i] as const)));
        for (const e of template.edges)
          expect(stageOf.get(e.from)!).toBeLessThan(stageOf.get(e.to)!);

        for (const f of spec.functions) {
          const reads = template.edges
            .filter((e) => e.to === f.name && e.from.startsWith('read:'))
            .map((e) => e.from);
          const writes = template.edges
            .filter((e) => e.from === f.name && e.to.startsWith('write:'))
            .map((e) => e.to);
          const tx = template.transactions.find((t) => t.function === f.name);
          if (reads.length + writes.length === 0) expect(tx).toBeUndefined();
          else expect(tx).toEqual({ function: f.name, reads, writes });
        }
      }),
      { numRuns: 400 },
    );
    // The generator must exercise valid flows, not only refusals.
    expect(inferred).toBeGreaterThan(40);
  });

  it('refuses every generated cycle, naming a real one', () => {
    // Rings f0 -> f1 -> ... -> f0 with extra chords: always cyclic.
    const ring = fc.integer({ min: 1, max: 6 }).chain((n) =>
      fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: 4 }).map((chords) => {
        const functions = Array.from({ length: n }, (_, i) => ({
          name: `f${i}`,
          input: [`T${i}`],
          output: [`T${(i + 1) % n}`],
        }));
        for (const [a, b] of chords) {
          if (!functions[a].output.includes(`T${b}`)) functions[a].output.push(`T${b}`);
        }
        return { name: 'ring', functions } satisfies FlowSpec;
      }),
    );
    fc.assert(
      fc.property(ring, (spec) => {
        const error = (() => {
          try {
            inferTemplate(spec);
          } catch (e) {
            return e;
          }
          return undefined;
        })();
        expect(error).toBeInstanceOf(ValidationError);
        const cycles = (error as ValidationError).problems.filter((p) => p.code === 'E_CYCLE');
        expect(cycles.length).toBeGreaterThan(0);
        for (const p of cycles) checkNamedCycle(spec, p.message);
      }),
      { numRuns: 200 },
    );
  });
});
