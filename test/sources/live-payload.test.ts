import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeLivePayload, encodeLivePayload } from '../../src/sources/live/live-payload.js';
import { parseLiveItem, type LiveItem } from '../../src/sources/live/live-source.js';
import { ackPosition } from '../../src/sources/nats/nats-source.js';

const item = (text: string, line: number, extra: Partial<LiveItem> = {}): LiveItem => {
  const data = Buffer.from(text);
  return { data, line, bytes: data.length, arrival_ms: 0, ...extra };
};

describe('live payload (messages crossing to a resource unparsed)', () => {
  it('decodes to what parsing each message on its own gives, whatever the bodies hold', () => {
    const body = fc.oneof(
      fc.json(),
      fc.string(),
      fc.dictionary(fc.string(), fc.jsonValue()).map((o) => JSON.stringify(o, null, 2)),
    );
    fc.assert(
      fc.property(fc.array(body, { maxLength: 20 }), (bodies) => {
        const items = bodies.map((b, i) => item(b, 100 + i));
        const decoded = decodeLivePayload(encodeLivePayload(items).toString('utf8'))!;
        const expected = items.map((it) => parseLiveItem(it));
        expect(decoded.records).toEqual(expected.flatMap((e) => ('record' in e ? [e.record] : [])));
        expect(decoded.positions).toEqual(
          items.filter((_, i) => 'record' in expected[i]).map((it) => it.line),
        );
        expect(decoded.bad.map((b) => b.line)).toEqual(
          items.filter((_, i) => 'error' in expected[i]).map((it) => it.line),
        );
      }),
    );
  });

  it('keeps Redis entry ids and errors the stream reported', () => {
    const items = [
      item('{"a":1}', 1, { position: '17-0' }),
      item('', 2, { position: '18-0', error: 'the entry was deleted before it was read' }),
      item('[1]', 3, { position: '19-0' }),
    ];
    const decoded = decodeLivePayload(encodeLivePayload(items).toString('utf8'))!;
    expect(decoded.records).toEqual([{ a: 1 }]);
    expect(decoded.bad).toEqual([
      { line: 2, id: '18-0', error: 'the entry was deleted before it was read', raw: '' },
      { line: 3, id: '19-0', error: 'a message must be one JSON object, got an array', raw: '[1]' },
    ]);
  });

  it('is told apart from a batch of parsed records', () => {
    expect(decodeLivePayload('{"records":[],"positions":[]}')).toBeNull();
  });
});

describe('JetStream acknowledgement subject', () => {
  it('gives the stream sequence, stored time and delivery number in both subject forms', () => {
    const nanos = '1733312000123456789';
    expect(ackPosition(`$JS.ACK.ORDERS.g.1.42.7.${nanos}.3`)).toEqual({
      seq: 42,
      storedMs: 1733312000123,
      delivery: 7,
    });
    expect(ackPosition(`$JS.ACK._.ACC.ORDERS.g.2.43.8.${nanos}.0.tok`)).toEqual({
      seq: 43,
      storedMs: 1733312000123,
      delivery: 8,
    });
    expect(() => ackPosition('_INBOX.abc')).toThrow(/not a JetStream message/);
  });
});
