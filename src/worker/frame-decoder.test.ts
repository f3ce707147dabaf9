import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameDecoder } from './frame-decoder.js';
import { encodeFrameBuffer, tokenMatches } from './protocol.js';
import { parseToWorker } from './wire-messages.js';

const frameArb = fc.record({
  message: fc.record({
    type: fc.constant('df.batch' as const),
    source: fc.string(),
    seq: fc.nat(),
  }),
  payload: fc.option(fc.uint8Array({ maxLength: 200 }), { nil: undefined }),
});

const batch = { type: 'df.batch', source: 's', seq: 0 } as const;

describe('FrameDecoder', () => {
  it('decodes any sequence of frames however the bytes are split', () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { maxLength: 8 }),
        fc.array(fc.nat(50), { maxLength: 20 }),
        (frames, cuts) => {
          const bytes = Buffer.concat(
            frames.map((f) => encodeFrameBuffer(f.message, f.payload && Buffer.from(f.payload))),
          );
          const decoder = new FrameDecoder({ parse: parseToWorker });
          const decoded = [];
          let at = 0;
          for (const cut of cuts) {
            const end = Math.min(bytes.length, at + cut);
            decoded.push(...decoder.push(bytes.subarray(at, end)));
            at = end;
          }
          decoded.push(...decoder.push(bytes.subarray(at)));
          expect(decoded.map((d) => d.message)).toEqual(frames.map((f) => f.message));
          expect(
            decoded.map((d) => (d.payload === undefined ? undefined : [...d.payload])),
          ).toEqual(frames.map((f) => (f.payload === undefined ? undefined : [...f.payload])));
          expect(decoder.buffered).toBe(0);
        },
      ),
    );
  });

  it('keeps an empty payload distinct from no payload', () => {
    const [frame] = new FrameDecoder({ parse: parseToWorker }).push(
      encodeFrameBuffer(batch, Buffer.alloc(0)),
    );
    expect(frame.payload).toEqual(Buffer.alloc(0));
  });

  it('refuses a frame over the limit before buffering it', () => {
    const decoder = new FrameDecoder({ parse: parseToWorker, maxFrameBytes: 100 });
    const big = encodeFrameBuffer(batch, Buffer.alloc(200));
    expect(() => decoder.push(big.subarray(0, 8))).toThrow(/over the limit/);
  });

  it('refuses a header that is not JSON', () => {
    const bad = encodeFrameBuffer({ type: 'df.cancel' });
    bad.write('{', 9);
    bad.write('!', 10);
    expect(() => new FrameDecoder({ parse: parseToWorker }).push(bad)).toThrow(/not JSON/);
  });

  it('refuses a well-framed header that is not a valid message, naming the field', () => {
    const bad = encodeFrameBuffer({ ...batch, seq: '7' } as unknown as typeof batch);
    expect(() => new FrameDecoder({ parse: parseToWorker }).push(bad)).toThrow(
      'malformed "df.batch" message: field "seq" holds "7", expected a non-negative integer',
    );
  });
});

describe('tokenMatches', () => {
  it('accepts only the exact token', () => {
    expect(tokenMatches('secret-token', 'secret-token')).toBe(true);
    expect(tokenMatches('secret-tokem', 'secret-token')).toBe(false);
    expect(tokenMatches('secret', 'secret-token')).toBe(false);
    expect(tokenMatches(undefined, 'secret-token')).toBe(false);
    expect(tokenMatches('', '')).toBe(false);
  });
});
