import { describe, expect, it } from 'vitest';
import { makeHarness, FLOW_YAML } from './harness.js';

/**
 * A flow file posted with an unknown length or of 64 KiB and more is decoded, bounded and
 * compiled in the background process from its raw bytes. Whichever way a body goes, its
 * answer is the same.
 */
describe('server: large flow bodies are decoded and bounded off the event loop', () => {
  async function post(
    h: ReturnType<typeof makeHarness>,
    key: string,
    body: string | Uint8Array<ArrayBuffer>,
    type: string,
    withLength: boolean,
  ) {
    const headers: Record<string, string> = {
      authorization: `Bearer ${key}`,
      'content-type': type,
    };
    if (withLength) headers['content-length'] = String(Buffer.byteLength(body));
    const res = await h.app.request('/v1/flows', {
      method: 'POST',
      headers,
      body,
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary answer shapes
    const json: any = JSON.parse(await res.text());
    if (res.status === 201) {
      delete json.id;
      delete json.created_at;
    }
    return { status: res.status, json };
  }

  it('answers each flow body as the text path does', async () => {
    const h = makeHarness();
    const a = await h.tenant('a', { requests_per_second: 1_000, request_burst: 1_000 });
    const port = h.state.deps.template;
    const compileBody = port.compileBody!.bind(port);
    let rawCalls = 0;
    port.compileBody = (...args) => {
      rawCalls++;
      return compileBody(...args);
    };
    const asJson = JSON.stringify({
      name: 'clicks_json',
      streams: { clicks: { type: 'Click' } },
      functions: [{ name: 'enrich', input: ['Click'], output: ['Enriched'] }],
    });
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++)
      levels.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(',')}]`,
      );
    const cases: Array<[string | Uint8Array<ArrayBuffer>, string]> = [
      [FLOW_YAML, 'application/yaml'],
      [asJson, 'application/json'],
      ['\ufeff' + FLOW_YAML, 'application/yaml'],
      ['', 'application/yaml'],
      ['  \n\t\n', 'application/json'],
      ['['.repeat(20_000) + ']'.repeat(20_000), 'application/json'],
      ['{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000), 'application/yaml'],
      [levels.join('\n'), 'application/yaml'],
      ['name: [unclosed\n', 'text/yaml'],
      [new Uint8Array([0x6e, 0x61, 0x6d, 0x65, 0x3a, 0x20, 0xff, 0xfe, 0x0a]), 'application/yaml'],
      [FLOW_YAML, 'application/x-yaml; charset=utf-8'],
    ];
    for (const [body, type] of cases) {
      const before = rawCalls;
      const viaText = await post(h, a.key, body, type, true);
      expect(rawCalls, 'a short body with its length is read as text').toBe(before);
      const viaRaw = await post(h, a.key, body, type, false);
      expect(rawCalls, 'a body of unknown length goes raw').toBe(before + 1);
      const label = typeof body === 'string' ? body.slice(0, 30) : 'bytes';
      expect([viaRaw.status, label]).toEqual([viaText.status, label]);
      expect(viaRaw.json).toEqual(viaText.json);
    }
  });

  it('a large JSON flow nested too deep is a 400 naming max_body_depth; a large valid YAML flow registers', async () => {
    const h = makeHarness();
    const a = await h.tenant('a');
    const deep = '{"name":' + '['.repeat(40_000) + ']'.repeat(40_000) + '}';
    const refused = await post(h, a.key, deep, 'application/json', true);
    expect([refused.status, refused.json.error.code]).toEqual([400, 'E_LIMIT']);
    expect(refused.json.error.message).toContain('max_body_depth');
    const large =
      FLOW_YAML +
      Array.from({ length: 3_000 }, (_, i) => `# comment ${i} ${'c'.repeat(20)}`).join('\n') +
      '\n';
    expect(Buffer.byteLength(large)).toBeGreaterThan(64 * 1024);
    const registered = await post(h, a.key, large, 'application/yaml', true);
    expect(registered.status).toBe(201);
    expect(registered.json.template.nodes.length).toBeGreaterThan(0);
  });
});
