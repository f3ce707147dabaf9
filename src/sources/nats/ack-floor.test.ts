import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AckFloor } from './ack-floor.js';

/** A message that says which sequence it is. */
const message = (seq: number) => ({ seq, ack: () => undefined });
type Message = ReturnType<typeof message>;

/** Takes sequences `from..to` as one batch (delivery numbers = sequences), returning its sequences. */
function batch(floor: AckFloor<Message>, from: number, to: number, delivery = from): number[] {
  const seqs: number[] = [];
  for (let s = from; s <= to; s++) if (floor.take(s, delivery + s - from)) seqs.push(s);
  return seqs;
}

const done = (floor: AckFloor<Message>, seqs: number[]) =>
  floor.done(seqs, { seq: Math.max(...seqs), message: message(Math.max(...seqs)) });

describe('AckFloor', () => {
  it('hands a sequence over once; a redelivery of one held or acknowledged is dropped', () => {
    const floor = new AckFloor<Message>({ floor: 0, deliveries: 0, pending: 0 });
    expect(batch(floor, 1, 3)).toEqual([1, 2, 3]);
    expect(floor.take(2, 4)).toBe(false);
    done(floor, [1, 2, 3]);
    expect(floor.next()?.seq).toBe(3);
    expect(floor.take(1, 5)).toBe(false);
    expect(floor.take(4, 6)).toBe(true);
    expect(floor.outstanding).toBe(1);
  });

  it('acknowledges up to the highest done batch below every batch not done', () => {
    const floor = new AckFloor<Message>({ floor: 0, deliveries: 0, pending: 0 });
    const a = batch(floor, 1, 40);
    const b = batch(floor, 41, 70);
    const c = batch(floor, 71, 100);
    done(floor, c);
    // The first batch is not done: acknowledging 100 would cover it.
    expect(floor.next()).toBeNull();
    done(floor, a);
    expect(floor.next()?.seq).toBe(40);
    done(floor, b);
    expect(floor.next()?.seq).toBe(100);
    expect(floor.next()).toBeNull();
    expect(floor.outstanding).toBe(0);
    // The maps moved on: later sequences are new, earlier ones are not.
    expect(batch(floor, 101, 140)).toHaveLength(40);
    expect(floor.take(99, 141)).toBe(false);
  });

  it('holds acknowledgements back while an earlier reader’s messages are pending', () => {
    // A reader died holding 4 messages (1..4) of 10 delivered; 5..10 come now, 1..4 later.
    const floor = new AckFloor<Message>({ floor: 0, deliveries: 4, pending: 4 });
    const fresh = batch(floor, 5, 10, 5);
    done(floor, fresh);
    expect(floor.holding).toBe(true);
    expect(floor.next()).toBeNull();
    // The server still sees 10 pending, this reader has 6: the hold stays.
    floor.settle(floor.outstanding, floor.missed, 10);
    expect(floor.next()).toBeNull();
    const redelivered = batch(floor, 1, 4, 11);
    expect(redelivered).toEqual([1, 2, 3, 4]);
    floor.settle(floor.outstanding, floor.missed, 10);
    expect(floor.holding).toBe(false);
    // 1..4 are not done yet: nothing may be acknowledged.
    expect(floor.next()).toBeNull();
    done(floor, redelivered);
    expect(floor.next()?.seq).toBe(10);
  });

  it('never acknowledges a redelivered message before a done batch above it that came earlier', () => {
    // As above, but the redelivered 1..4 come in two batches and the first is done alone.
    // Acknowledging 1 (delivery 11) would make the server ignore the acknowledgement of 10
    // (delivery 10): nats-server drops an AckAll whose delivery number is not above the last.
    const floor = new AckFloor<Message>({ floor: 0, deliveries: 4, pending: 4 });
    done(floor, batch(floor, 5, 10, 5));
    const one = batch(floor, 1, 1, 11);
    const rest = batch(floor, 2, 4, 12);
    floor.settle(floor.outstanding, floor.missed, 10);
    expect(floor.holding).toBe(false);
    done(floor, one);
    expect(floor.next()).toBeNull();
    done(floor, rest);
    const sent = floor.next();
    expect(sent?.seq).toBe(10);
    expect(floor.next()).toBeNull();
    expect(floor.outstanding).toBe(0);
  });

  it('acknowledges in order of delivery as well as of sequence (property)', () => {
    // Random batches over a shuffled stream, done in random order: every acknowledgement sent
    // has a higher sequence and a higher delivery number than the one before, covers only done
    // sequences, and once all are done everything is acknowledged.
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 60 }),
        fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 30 }),
        fc.infiniteStream(fc.nat()),
        (n, sizes, picks) => {
          const order = Array.from({ length: n }, (_, i) => i + 1);
          const pick = picks[Symbol.iterator]();
          for (let i = n - 1; i > 0; i--) {
            const j = pick.next().value % (i + 1);
            [order[i], order[j]] = [order[j], order[i]];
          }
          const floor = new AckFloor<{ seq: number; delivery: number; ack: () => void }>({
            floor: 0,
            deliveries: 0,
            pending: 0,
          });
          const batches: Array<Array<{ seq: number; delivery: number }>> = [];
          let at = 0;
          for (let k = 0; at < n; k++) {
            const size = sizes[k % sizes.length];
            const part = order
              .slice(at, at + size)
              .map((seq, i) => ({ seq, delivery: at + i + 1 }));
            for (const m of part) expect(floor.take(m.seq, m.delivery)).toBe(true);
            batches.push(part);
            at += size;
          }
          const doneSeqs = new Set<number>();
          let last = { seq: 0, delivery: 0 };
          while (batches.length > 0) {
            const [part] = batches.splice(pick.next().value % batches.length, 1);
            const top = part.reduce((a, b) => (b.seq > a.seq ? b : a));
            for (const m of part) doneSeqs.add(m.seq);
            floor.done(
              part.map((m) => m.seq),
              { seq: top.seq, message: { ...top, ack: () => undefined } },
            );
            for (let sent = floor.next(); sent !== null; sent = floor.next()) {
              expect(sent.seq).toBeGreaterThan(last.seq);
              expect(sent.delivery).toBeGreaterThan(last.delivery);
              for (let s = 1; s <= sent.seq; s++) expect(doneSeqs.has(s)).toBe(true);
              last = sent;
            }
          }
          expect(last.seq).toBe(n);
          expect(floor.outstanding).toBe(0);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('holds acknowledgements back when a delivery went elsewhere', () => {
    const floor = new AckFloor<Message>({ floor: 0, deliveries: 0, pending: 0 });
    done(floor, batch(floor, 1, 3, 1));
    expect(floor.holding).toBe(false);
    // Delivery 4 (sequence 4) did not arrive; 5 came as delivery 5.
    expect(floor.take(5, 5)).toBe(true);
    expect(floor.holding).toBe(true);
    done(floor, [5]);
    expect(floor.next()).toBeNull();
    // A count asked before another delivery went missing does not lift the hold.
    const mark = floor.missed;
    expect(floor.take(7, 7)).toBe(true);
    floor.settle(5, mark, 5);
    expect(floor.holding).toBe(true);
  });
});
