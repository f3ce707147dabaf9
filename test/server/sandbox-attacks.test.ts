import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { warmflowHome } from '../../src/home.js';
import { startServer, type RunningServer } from '../../src/server/start-server.js';
import { bwrapAvailable } from '../../src/tenancy/sandbox.js';

const ADMIN = 'sandbox-attacks-admin-key-0123456789';
const SECRET = 'hunter2_SuperSecret';
/** Under CI bubblewrap is installed by .ci/run: a missing one is a failure there, not a skip. */
const confined = bwrapAvailable() || process.env.CI === 'true';

/**
 * A tenant function that tries everything the threat model says it must not manage, and emits
 * what it got. Every probe is wrapped: an attempt that throws is a refusal.
 */
const SPY = `
import fs from 'node:fs';
import net from 'node:net';
const attempt = (fn) => { try { return fn(); } catch (e) { return 'refused:' + (e.code ?? e.name); } };
const probePort = (port) => new Promise((resolve) => {
  const socket = net.connect({ host: '127.0.0.1', port });
  const done = (v) => { socket.destroy(); resolve(v); };
  socket.once('connect', () => done('open'));
  socket.once('error', (e) => done('refused:' + e.code));
  setTimeout(() => done('timeout'), 1000);
});
export async function spy(record) {
  const environs = {};
  for (const pid of attempt(() => fs.readdirSync('/proc')) instanceof Array ? fs.readdirSync('/proc').filter((p) => /^\\d+$/.test(p)) : [])
    environs[pid] = attempt(() => fs.readFileSync('/proc/' + pid + '/environ', 'utf8'));
  const targets = record.targets;
  return {
    id: record.id,
    env: JSON.stringify(process.env),
    cwd: process.cwd(),
    environs: JSON.stringify(environs),
    ppidEnviron: attempt(() => fs.readFileSync('/proc/' + process.ppid + '/environ', 'utf8')),
    reads: targets.read.map((file) => [file, attempt(() => fs.readFileSync(file, 'utf8'))]),
    writes: targets.write.map((file) => [file, attempt(() => { fs.writeFileSync(file, 'escaped'); return 'written'; })]),
    ports: await Promise.all(targets.ports.map(probePort)),
  };
}
`;

const FLOW = `name: spyflow
streams:
  input: { type: Probe }
functions:
  - name: spy
    module: ./spy.mjs
    input: [Probe]
    output: [Finding]
`;

describe.skipIf(!confined)('tenant code against a live server (local provider, sandboxed)', () => {
  let server: RunningServer;
  let shared: string;
  let home: string;
  let outside: string;
  const keys: Record<string, string> = {};
  const ids: Record<string, string> = {};

  async function api(key: string, method: string, route: string, body?: unknown, type?: string) {
    const res = await fetch(`${server.url}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': type ?? 'application/json' }),
      },
      ...(body === undefined
        ? {}
        : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    let json: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- answers of many shapes
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, json, text };
  }

  beforeAll(async () => {
    home = warmflowHome();
    process.env.SERVER_DB_PASSWORD = SECRET;
    shared = mkdtempSync(path.join(os.tmpdir(), 'wf-attack-shared-'));
    outside = mkdtempSync(path.join(os.tmpdir(), 'wf-attack-outside-'));
    writeFileSync(path.join(outside, '.env'), `DB_PASSWORD=${SECRET}\n`);
    writeFileSync(path.join(outside, 'evil.mjs'), `export const spy = () => ({ id: 1 });\n`);
    writeFileSync(path.join(home, 'admin.key'), `${SECRET}\n`, { mode: 0o600 });
    server = await startServer({
      port: 0,
      adminKey: ADMIN,
      fileRoots: [shared],
      sandbox: 'bwrap',
    });
    for (const name of ['alice', 'bob']) {
      const created = await api(ADMIN, 'POST', '/v1/tenants', { name });
      keys[name] = created.json.api_key;
      ids[name] = created.json.id;
    }
  });

  afterAll(async () => {
    delete process.env.SERVER_DB_PASSWORD;
    await server?.close();
    rmSync(shared, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it('refuses module paths outside the area, package names and URLs, without telling whether they exist', async () => {
    const attempts = [
      path.join(outside, '.env'),
      path.join(outside, 'evil.mjs'),
      path.join(outside, 'missing.mjs'),
      '../../../../../../etc/passwd',
      'node:fs',
      'data:text/javascript,export const spy=()=>1',
      'lodash',
      './node_modules/vitest/dist/index.js',
    ];
    const messages: string[] = [];
    for (const module of attempts) {
      const res = await api(
        keys.alice,
        'POST',
        '/v1/flows',
        FLOW.replace('./spy.mjs', JSON.stringify(module)),
        'application/yaml',
      );
      expect(res.status, module).toBe(400);
      expect(res.text).not.toContain(SECRET);
      messages.push(res.json.error.problems[0].message.replace(module, 'M'));
    }
    // An existing and a missing file outside the area get the same answer.
    expect(messages[1]).toBe(messages[2]);
  });

  it('a bundled function reads no secret, no other process, no other tenant, writes nowhere else, reaches no port', async () => {
    // bob first: his area holds a file alice must not read.
    const bobFlow = await api(
      keys.bob,
      'POST',
      '/v1/flows',
      { flow: FLOW, files: { 'spy.mjs': SPY, 'private.jsonl': `{"secret":"${SECRET}"}\n` } },
      'application/vnd.warmflow.bundle+json',
    );
    expect(bobFlow.status, bobFlow.text).toBe(201);
    const bobArea = path.join(home, 'tenants', ids.bob);
    expect(existsSync(bobArea)).toBe(true);
    const bobFile = path.join(bobArea, 'code');
    // A warm worker of bob's came up confined, and was let go (two cores on a test machine).
    const pool = await api(keys.bob, 'POST', '/v1/pools', { flow_id: bobFlow.json.id });
    expect(pool.status, pool.text).toBe(201);
    expect(pool.json.resources[0].network_address).toMatch(/^unix:/);
    // Its process id is the host's, the sandbox's, whose command line names the resource.
    const rac = pool.json.resources[0];
    const cmdline = readFileSync(`/proc/${rac.process_id}/cmdline`, 'utf8').split('\0');
    expect(path.basename(cmdline[0])).toBe('bwrap');
    expect(cmdline).toContain(rac.resource_id);
    expect((await api(keys.bob, 'DELETE', `/v1/pools/${pool.json.id}`)).status).toBeLessThan(300);

    const flow = await api(
      keys.alice,
      'POST',
      '/v1/flows',
      { flow: FLOW, files: { 'spy.mjs': SPY } },
      'application/vnd.warmflow.bundle+json',
    );
    expect(flow.status, flow.text).toBe(201);
    const escape = path.join(outside, 'escaped.txt');
    const sharedEscape = path.join(shared, 'escaped.txt');
    const homeDb = path.join(home, 'warmflow.db');
    const targets = {
      read: [
        path.join(home, 'admin.key'),
        homeDb,
        path.join(outside, '.env'),
        bobFile,
        path.join(bobArea, 'work'),
        '/etc/shadow',
      ],
      write: [escape, sharedEscape, path.join(bobArea, 'data', 'pwned.txt'), '/usr/pwned.txt'],
      ports: [Number(new URL(server.url).port), 6379, 5432],
    };
    const run = await api(keys.alice, 'POST', '/v1/executions?wait=true', {
      flow_id: flow.json.id,
      records: [{ id: 1, targets }],
    });
    expect(run.status, run.text).toBe(200);
    expect(run.json.status, JSON.stringify(run.json)).toBe('succeeded');
    const out = path.join(home, 'tenants', ids.alice, 'data', 'runs', run.json.id, 'Finding.jsonl');
    const finding = JSON.parse(readFileSync(out, 'utf8').trim().split('\n')[0]);
    const all = JSON.stringify(finding);
    expect(all).not.toContain(SECRET);
    expect(all).not.toContain(ADMIN);
    expect(finding.env).not.toContain('SERVER_DB_PASSWORD');
    expect(finding.env).not.toContain('WARMFLOW_WORKER_TOKEN');
    expect(finding.cwd.startsWith(path.join(home, 'tenants', ids.alice))).toBe(true);
    // Its own PID namespace: the server and other tenants' workers are not there to read.
    expect(finding.environs).not.toContain('SERVER_DB_PASSWORD');
    expect(finding.environs).not.toContain('VITEST');
    expect(finding.ppidEnviron).not.toContain('SERVER_DB_PASSWORD');
    for (const [file, got] of finding.reads) expect(got, file).toMatch(/^refused:/);
    for (const [file, got] of finding.writes) expect(got, file).toMatch(/^refused:/);
    expect(existsSync(escape)).toBe(false);
    expect(existsSync(sharedEscape)).toBe(false);
    expect(existsSync(path.join(bobArea, 'data', 'pwned.txt'))).toBe(false);
    for (const port of finding.ports) expect(port).not.toBe('open');
  });

  it('calibration runs tenant code confined too: no server environment, cwd in the area', async () => {
    const calibrating = `
import fs from 'node:fs';
export function spy(record) {
  fs.writeFileSync('seen.json', JSON.stringify({ env: process.env, cwd: process.cwd(),
    admin: (() => { try { return fs.readFileSync(${JSON.stringify(path.join(home, 'admin.key'))}, 'utf8'); } catch (e) { return 'refused:' + e.code; } })() }));
  return { id: record.id };
}
`;
    const records = Array.from({ length: 200 }, (_, i) => ({ id: i }));
    const flow = await api(
      keys.alice,
      'POST',
      '/v1/flows',
      {
        flow: FLOW.replace('{ type: Probe }', '{ type: Probe, source: ./probes.jsonl }'),
        files: {
          'spy.mjs': calibrating,
          'probes.jsonl': records.map((r) => JSON.stringify(r)).join('\n') + '\n',
        },
      },
      'application/vnd.warmflow.bundle+json',
    );
    expect(flow.status, flow.text).toBe(201);
    const profile = await api(keys.alice, 'POST', '/v1/profiles', {
      flow_id: flow.json.id,
      records,
    });
    expect(profile.status, profile.text).toBe(201);
    const predicted = await api(keys.alice, 'POST', `/v1/flows/${flow.json.id}/predict`, {});
    expect(predicted.status, predicted.text).toBe(200);
    const seen = path.join(home, 'tenants', ids.alice, 'work', 'calibration', 'seen.json');
    expect(existsSync(seen)).toBe(true);
    const text = readFileSync(seen, 'utf8');
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(ADMIN);
    const parsed = JSON.parse(text);
    expect(parsed.admin).toMatch(/^refused:/);
    expect(parsed.cwd.startsWith(path.join(home, 'tenants', ids.alice))).toBe(true);
  });

  it('paths a flow or request names stay in the area; ..names inside it are fine', async () => {
    const dataDir = path.join(home, 'tenants', ids.alice, 'data');
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(path.join(dataDir, '..clicks.jsonl'), '{"id":1}\n');
    const withSource = (source: string) =>
      FLOW.replace('{ type: Probe }', `{ type: Probe, source: ${JSON.stringify(source)} }`);
    const bad = await api(
      keys.alice,
      'POST',
      '/v1/flows',
      { flow: withSource(path.join(outside, '.env')), files: { 'spy.mjs': SPY } },
      'application/vnd.warmflow.bundle+json',
    );
    expect(bad.status).toBe(400);
    expect(bad.text).not.toContain(SECRET);
    const good = await api(
      keys.alice,
      'POST',
      '/v1/flows',
      { flow: withSource(path.join(dataDir, '..clicks.jsonl')), files: { 'spy.mjs': SPY } },
      'application/vnd.warmflow.bundle+json',
    );
    expect(good.status, good.text).toBe(201);
    const sqlite = await api(
      keys.alice,
      'POST',
      '/v1/flows',
      {
        flow: `${FLOW}stores:\n  db: { kind: sqlite, path: ../../../escape.db }\n`,
        files: { 'spy.mjs': SPY },
      },
      'application/vnd.warmflow.bundle+json',
    );
    expect(sqlite.status).toBe(400);
    const url = await api(
      keys.alice,
      'POST',
      '/v1/flows',
      {
        flow: `${FLOW}stores:\n  cache: { kind: redis, url: "redis://127.0.0.1:6379" }\n`,
        files: { 'spy.mjs': SPY },
      },
      'application/vnd.warmflow.bundle+json',
    );
    expect(url.status).toBe(400);
    expect(url.text).not.toContain('6379');
    const source = await api(keys.alice, 'POST', '/v1/executions', {
      flow_id: good.json.id,
      source: path.join(home, 'admin.key'),
    });
    expect(source.status).toBe(403);
    const profile = await api(keys.bob, 'POST', '/v1/profiles', {
      source: path.join(dataDir, '..clicks.jsonl'),
    });
    expect(profile.status).toBe(403);
  });

  it('a warm pool serves only the flow version it was filled for', async () => {
    const version = (n: number) =>
      `export function spy(record) { return { id: record.id, version: ${n} }; }\n`;
    const v1 = await api(
      keys.alice,
      'POST',
      '/v1/flows',
      { flow: FLOW, files: { 'spy.mjs': version(1) } },
      'application/vnd.warmflow.bundle+json',
    );
    expect((await api(keys.alice, 'POST', '/v1/pools', { flow_id: v1.json.id })).status).toBe(201);
    const v2 = await api(
      keys.alice,
      'POST',
      '/v1/flows',
      { flow: FLOW, files: { 'spy.mjs': version(2) } },
      'application/vnd.warmflow.bundle+json',
    );
    const run = await api(keys.alice, 'POST', '/v1/executions?wait=true', {
      flow_id: v2.json.id,
      records: [{ id: 7 }],
    });
    expect(run.json.status, run.text).toBe('succeeded');
    const out = path.join(home, 'tenants', ids.alice, 'data', 'runs', run.json.id, 'Finding.jsonl');
    expect(JSON.parse(readFileSync(out, 'utf8').trim())).toEqual({ id: 7, version: 2 });
  });
});
