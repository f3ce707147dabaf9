import { describe, expect, it } from 'vitest';
import { makeHarness } from './harness.js';

/** A valid flow of about 900 KB: 15 functions with 60 KB descriptions. */
const LARGE_FLOW =
  'name: large\nstreams:\n  events: { type: Event }\nfunctions:\n' +
  Array.from(
    { length: 15 },
    (_, i) =>
      `  - name: f${i}\n    description: "${String.fromCharCode(97 + i).repeat(60_000)}"\n    input: [${i === 0 ? 'Event' : `T${i - 1}`}]\n    output: [T${i}]\n`,
  ).join('');

describe('server: large answers', () => {
  it('a GET of a 900 KB flow, sent in pieces, is the whole flow with its length, every time', async () => {
    const h = makeHarness();
    const a = await h.tenant('a');
    const id = await h.flow(a.key, LARGE_FLOW);
    for (let i = 0; i < 2; i++) {
      const res = await h.call('GET', `/v1/flows/${id}`, a.key);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(Number(res.headers.get('content-length'))).toBe(Buffer.byteLength(res.text));
      expect(res.text.length).toBeGreaterThan(900_000);
      expect(res.json.id).toBe(id);
      expect(res.json.profile_id).toBeNull();
      expect(res.json.spec.functions.map((f: { description: string }) => f.description)).toEqual(
        Array.from({ length: 15 }, (_, i) => String.fromCharCode(97 + i).repeat(60_000)),
      );
      expect(res.json.template.name).toBe('large');
    }
  });
});
