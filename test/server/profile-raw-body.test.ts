import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { serve } from '@hono/node-server';
import { describe, expect, it } from 'vitest';
import { profilerPart } from '../../src/server/parts/local-parts.js';
import type { ProfilerPort } from '../../src/server/ports.js';
import { RAW_PROFILE_BODY_BYTES } from '../../src/server/routes/profiles.js';
import { makeHarness } from './harness.js';

/**
 * A `POST /v1/profiles` JSON body of unknown length or of RAW_PROFILE_BODY_BYTES and more is
 * decoded, bounded, parsed and validated in the background process, not on the event loop.
 * Whichever way a body goes, its answer is the same.
 */
describe('server: large profile bodies are parsed off the event loop', () => {
  const real = profilerPart({ sample: 1000 });
  let rawCalls = 0;
  let lastPieces: readonly Uint8Array[] = [];
  const counting: ProfilerPort = {
    profile: (input, options) => real.profile(input, options),
    profileBody: (body, options) => {
      rawCalls++;
      lastPieces = body;
      return real.profileBody!(body, options);
    },
  };

  /** Posts `body` with its length (below the threshold: the validator) or without (raw). */
  async function post(
    h: ReturnType<typeof makeHarness>,
    key: string,
    body: string,
    withLength: boolean,
  ) {
    const headers: Record<string, string> = {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
    };
    if (withLength) headers['content-length'] = String(Buffer.byteLength(body));
    const res = await h.app.request('/v1/profiles', { method: 'POST', headers, body });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary answer shapes
    const json: any = JSON.parse(await res.text());
    return { status: res.status, json };
  }

  /** The DCP without what differs between two profiles of the same data (none today). */
  const dcpOf = (json: { dcp: unknown }) => json.dcp;

  it('answers each body as the route validator does: the same refusals, the same DCPs', async () => {
    const h = makeHarness({ profiler: counting });
    // Every body is sent twice: a rate quota that does not shed them.
    const a = await h.tenant('a', { requests_per_second: 1_000, request_burst: 1_000 });
    writeFileSync(
      path.join(h.state.areas.area(a.id).data, 'few.jsonl'),
      '{"a":1,"b":"x"}\n{"a":2,"b":"y"}\nnot json\n',
    );
    const bodies = [
      JSON.stringify({ records: [{ a: 1, b: 'x' }, { a: 2, b: 'y', c: null }, 'scalar'] }),
      JSON.stringify({ source: 'data/few.jsonl' }),
      '{"records": [1, 2,',
      '',
      '{"records":[' + '['.repeat(100) + ']'.repeat(100) + ']}',
      JSON.stringify({ records: [{ a: 1 }], extra: true }),
      JSON.stringify({ records: [{ a: 1 }], source: 'data/few.jsonl' }),
      JSON.stringify({ records: [] }),
      JSON.stringify({}),
      JSON.stringify([{ records: [{ a: 1 }] }]),
      JSON.stringify({ records: [{ a: 1 }], flow_id: 'f_nosuchflow' }),
      JSON.stringify({ source: '../../etc/passwd' }),
      '\ufeff' + JSON.stringify({ records: [{ a: 1 }] }),
      '{"records":[{"a":"\udc00\ud800"}]}',
    ];
    for (const body of bodies) {
      const before = rawCalls;
      const viaValidator = await post(h, a.key, body, true);
      expect(rawCalls, 'a short body with its length takes the validator').toBe(before);
      const viaRaw = await post(h, a.key, body, false);
      expect(rawCalls, 'a body of unknown length goes raw').toBe(before + 1);
      expect([viaRaw.status, body.slice(0, 40)]).toEqual([viaValidator.status, body.slice(0, 40)]);
      if (viaValidator.status === 201) {
        expect(dcpOf(viaRaw.json)).toEqual(dcpOf(viaValidator.json));
        expect(viaRaw.json.flow_id).toEqual(viaValidator.json.flow_id);
      } else expect(viaRaw.json).toEqual(viaValidator.json);
    }
  });

  it('a large body of records is profiled whole and becomes its flow’s profile; a too-deep one is a 400 naming max_body_depth', async () => {
    const h = makeHarness({ profiler: counting });
    const a = await h.tenant('a');
    const flowId = await h.flow(a.key);
    const records = Array.from({ length: 3_000 }, (_, i) => ({
      id: i,
      kind: ['view', 'buy'][i % 2],
      note: 'n'.repeat(20),
    }));
    const body = JSON.stringify({ records, flow_id: flowId });
    expect(Buffer.byteLength(body)).toBeGreaterThan(RAW_PROFILE_BODY_BYTES);
    const before = rawCalls;
    const res = await post(h, a.key, body, true);
    expect(rawCalls).toBe(before + 1);
    expect(res.status).toBe(201);
    expect(res.json.dcp).toEqual(
      await real.profile({ records }, { tenant: a.id, flow: undefined }),
    );
    const flow = await h.call('GET', `/v1/flows/${flowId}`, a.key);
    expect(flow.json.profile_id).toBe(res.json.id);

    const deep = '{"records":[' + '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000) + ']}';
    const refused = await post(h, a.key, deep, true);
    expect([refused.status, refused.json.error.code]).toEqual([400, 'E_LIMIT']);
    expect(refused.json.error.message).toContain('max_body_depth');
  });

  it('over a socket, a large body is read in the pieces it arrived in, with or without a length, and answered as in process', async () => {
    const h = makeHarness({ profiler: counting });
    const a = await h.tenant('a');
    const server = serve({ fetch: h.app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise((resolve) => server.once('listening', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/profiles`;
    try {
      const records = Array.from({ length: 4_000 }, (_, i) => ({
        id: i,
        kind: ['view', 'buy', 'cart'][i % 3],
        note: `é${'n'.repeat(i % 50)}`,
      }));
      const body = JSON.stringify({ records });
      const expected = await real.profile({ records }, { tenant: a.id, flow: undefined });
      const headers = { authorization: `Bearer ${a.key}`, 'content-type': 'application/json' };

      const withLength = await fetch(url, { method: 'POST', headers, body });
      expect(withLength.status).toBe(201);
      expect(((await withLength.json()) as { dcp: unknown }).dcp).toEqual(expected);
      expect(lastPieces.length, 'read from the socket in pieces').toBeGreaterThan(1);
      expect(Buffer.concat(lastPieces).toString()).toBe(body);

      // Chunked (no length): the body-size quota counts it as it comes, then it goes as one piece.
      const bytes = Buffer.from(body);
      const chunked = await fetch(url, {
        method: 'POST',
        headers,
        body: new ReadableStream({
          start(controller) {
            for (let at = 0; at < bytes.length; at += 50_000)
              controller.enqueue(bytes.subarray(at, at + 50_000));
            controller.close();
          },
        }),
        duplex: 'half',
      } as RequestInit);
      expect(chunked.status).toBe(201);
      expect(((await chunked.json()) as { dcp: unknown }).dcp).toEqual(expected);
      expect(lastPieces).toHaveLength(1);
      expect(Buffer.concat(lastPieces).toString()).toBe(body);

      // A client that stops halfway: no answer to wait for, and the server goes on.
      const { request } = await import('node:http');
      await new Promise<void>((resolve) => {
        const req = request(url, {
          method: 'POST',
          headers: { ...headers, 'content-length': String(bytes.length) },
        });
        req.on('error', () => resolve());
        req.write(bytes.subarray(0, 200_000), () => setTimeout(() => req.destroy(), 50));
        req.on('close', () => resolve());
      });
      const after = await fetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ records: [{ a: 1 }] }),
      });
      expect(after.status).toBe(201);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
