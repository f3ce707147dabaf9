/**
 * What the hostile tenant of `bench:api` sends: every request that once crashed, stalled or
 * bloated the server, each within the default quotas (bodies under `max_body_bytes`, at a rate
 * its token bucket pays for), so what the bench measures is what a tenant may do.
 */
import type autocannon from 'autocannon';
import { COSTLY_REQUEST_TOKENS, DEFAULT_QUOTAS } from '../src/tenancy/quotas.js';

/** The quiet tenant's flow (and the seed of the fuzzed bodies). */
export const FLOW = `name: bench
streams:
  events: { type: Event }
functions:
  - { name: parse, input: [Event], output: [Parsed] }
  - { name: enrich, input: [Parsed], output: [Enriched] }
  - { name: count, input: [Enriched], output: [Count] }
`;

/**
 * A valid flow of about 900 KB (15 functions with 60 KB descriptions: under every document
 * limit), what a GET of a large flow answers with.
 */
export const LARGE_FLOW =
  'name: large\nstreams:\n  events: { type: Event }\nfunctions:\n' +
  Array.from(
    { length: 15 },
    (_, i) =>
      `  - name: f${i}\n    description: "${'d'.repeat(60_000)}"\n    input: [${i === 0 ? 'Event' : `T${i - 1}`}]\n    output: [T${i}]\n`,
  ).join('');

/** A deterministic PRNG (mulberry32), so every run sends the same fuzzed bodies. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `text` with `count` characters replaced by random bytes of the structural set. */
function mutate(text: string, count: number, random: () => number): string {
  const chars = text.split('');
  const pool = '{}[]:,"\'&*!|>-#\n \\\u0000\u00ff';
  for (let i = 0; i < count; i++)
    chars[Math.floor(random() * chars.length)] = pool[Math.floor(random() * pool.length)];
  return chars.join('');
}

/**
 * The hostile mix, in the order sent (autocannon cycles through it). `largeFlowId` is the
 * hostile tenant's own registered {@link LARGE_FLOW}, read back by the GETs.
 */
export function hostileRequests(key: string, largeFlowId: string): autocannon.Request[] {
  const auth = { authorization: `Bearer ${key}` };
  const yaml = { ...auth, 'content-type': 'application/yaml' };
  const json = { ...auth, 'content-type': 'application/json' };
  const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 9; i++) {
    const prev = String.fromCharCode(96 + i);
    const name = String.fromCharCode(97 + i);
    levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
  }
  const amplified = `${FLOW}x: &s "${'y'.repeat(900_000)}"\ny: [${Array(99).fill('*s').join(', ')}]\n`;
  const longString = FLOW.replace(
    '  - { name: parse,',
    `  - { description: "${'z'.repeat(900_000)}", name: parse,`,
  );
  const manyKeys =
    FLOW + 'x:\n' + Array.from({ length: 30_000 }, (_, i) => `  k${i}: v${i}`).join('\n') + '\n';
  // A megabyte of flow the parser reads to its end before the last line makes it invalid.
  const megabyteFlow = `${LARGE_FLOW}  - { name: last, input: [T14], output: [Out] }\nbogus: 1\n`;
  // About 900 KB of ordinary records to profile: 2,000 records of 40 fields.
  const records = JSON.stringify({
    records: Array.from({ length: 2_000 }, (_, i) =>
      Object.fromEntries(Array.from({ length: 40 }, (_, j) => [`k${j}`, i * j])),
    ),
  });
  const random = prng(7);
  const get: autocannon.Request = {
    method: 'GET',
    path: `/v1/flows/${largeFlowId}`,
    headers: auth,
  };
  const requests: autocannon.Request[] = [
    { method: 'POST', path: '/v1/flows', headers: yaml, body: longString },
    { method: 'POST', path: '/v1/flows', headers: yaml, body: manyKeys },
    get,
    { method: 'POST', path: '/v1/flows', headers: yaml, body: megabyteFlow },
    {
      method: 'POST',
      path: '/v1/executions',
      headers: json,
      body: '{"flow_id":"f_x","records":[' + '['.repeat(100_000) + ']'.repeat(100_000) + ']}',
    },
    {
      method: 'POST',
      path: '/v1/flows',
      headers: json,
      body: '['.repeat(20_000) + ']'.repeat(20_000),
    },
    { method: 'POST', path: '/v1/profiles', headers: json, body: records },
    get,
    { method: 'POST', path: '/v1/flows', headers: yaml, body: levels.join('\n') },
    { method: 'POST', path: '/v1/flows', headers: yaml, body: amplified },
    {
      method: 'POST',
      path: '/v1/profiles',
      headers: json,
      body: '{"records":[' + '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000) + ']}',
    },
    get,
    { method: 'POST', path: '/v1/flows', headers: yaml, body: mutate(LARGE_FLOW, 40, random) },
    { method: 'POST', path: '/v1/profiles', headers: json, body: mutate(records, 40, random) },
    { method: 'POST', path: '/v1/flows', headers: json, body: mutate(records, 200, random) },
    { method: 'POST', path: '/v1/profiles', headers: yaml, body: mutate(FLOW, 10, random) },
  ];
  for (const request of requests)
    if (
      request.body !== undefined &&
      Buffer.byteLength(request.body) > DEFAULT_QUOTAS.max_body_bytes
    )
      throw new Error(
        `a hostile body of ${Buffer.byteLength(request.body)} bytes is over max_body_bytes`,
      );
  return requests;
}

/**
 * Requests a second the hostile tenant may send and stay within its rate quota (a POST takes
 * {@link COSTLY_REQUEST_TOKENS} tokens, a GET one), with a tenth to spare.
 */
export function hostileRate(requests: readonly autocannon.Request[]): number {
  const tokens = requests.reduce(
    (sum, r) => sum + (r.method === 'POST' ? COSTLY_REQUEST_TOKENS : 1),
    0,
  );
  return Math.floor((0.9 * DEFAULT_QUOTAS.requests_per_second * requests.length) / tokens);
}
