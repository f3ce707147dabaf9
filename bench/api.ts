/**
 * API fairness under a flood: two tenants on one local server; the quiet one reads
 * its flow at a steady rate while the other floods flow registrations (YAML parse
 * and template inference per request, the costliest API call that needs no
 * workers). Three phases, each alternating in one run so drift hits them alike:
 *
 *   alone     quiet tenant only
 *   flooded   + flooding tenant with default quotas (its token bucket sheds it with 429,
 *             each 429 held up to 500 ms so a flooder cannot keep the event loop busy)
 *   unlimited + flooding tenant whose rate and in-flight quotas are effectively off (what
 *             fairness buys)
 *   hostile   + a tenant with default quotas sending, within them (18 POSTs/s: its rate quota
 *             is 200 tokens/s and a POST costs 10, so none is shed and every one reaches the
 *             parsers), the requests that once took the server down: JSON nested 20,000 deep,
 *             a YAML alias bomb, a ~900 KB flow aliasing one string 99 times, a flow with a
 *             900 KB string, an ordinary ~600 KB flow of 30,000 keys, a 2 MB body, records
 *             nested 100,000 deep to /v1/profiles and /v1/executions; the must: the quiet
 *             tenant's p99 within 2x of alone. Each round measures alone right before the
 *             hostile phase; p99_ratio is the median over rounds of hostile / alone.
 *
 * BENCH_API_PHASES=hostile runs only the alone and hostile phases.
 *
 * The server and the flooding client each run in their own process so neither
 * shares an event loop with the quiet client that measures. Loopback only; every
 * phase is bounded in time. Last line: one JSON object.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const PHASE_SECONDS = Number(process.env.BENCH_API_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_API_ROUNDS ?? 3);
const QUIET_RATE = 100; // requests/s of the quiet tenant: an ordinary client
const FLOOD_CONNECTIONS = 32;
const FLOW = `name: bench
streams:
  events: { type: Event }
functions:
  - { name: parse, input: [Event], output: [Parsed] }
  - { name: enrich, input: [Parsed], output: [Enriched] }
  - { name: count, input: [Enriched], output: [Count] }
`;

interface Setup {
  url: string;
  quietKey: string;
  floodKey: string;
  unlimitedKey: string;
  hostileKey: string;
  flowId: string;
}

async function serverProcess(): Promise<void> {
  const { startServer } = await import('../src/server/start-server.js');
  const running = await startServer({
    port: 0,
    adminKey: 'bench-admin-key-0123456789',
  });
  const admin = {
    authorization: 'Bearer bench-admin-key-0123456789',
    'content-type': 'application/json',
  };
  const tenant = async (name: string, quotas?: object) => {
    const res = await fetch(`${running.url}/v1/tenants`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ name, quotas }),
    });
    return ((await res.json()) as { api_key: string }).api_key;
  };
  const quietKey = await tenant('quiet');
  const floodKey = await tenant('flood');
  const unlimitedKey = await tenant('unlimited', {
    requests_per_second: 1e9,
    request_burst: 1e9,
    concurrent_requests: 1_000_000,
  });
  const res = await fetch(`${running.url}/v1/flows`, {
    method: 'POST',
    headers: { authorization: `Bearer ${quietKey}`, 'content-type': 'application/yaml' },
    body: FLOW,
  });
  const flowId = ((await res.json()) as { id: string }).id;
  const hostileKey = await tenant('hostile');
  process.send!({
    url: running.url,
    quietKey,
    floodKey,
    unlimitedKey,
    hostileKey,
    flowId,
  } satisfies Setup);
  process.once('disconnect', () => void running.close().then(() => process.exit(0)));
}

/** The bodies that once crashed or bloated the server, each sent in turn. */
function hostileRequests(key: string): autocannon.Request[] {
  const auth = { authorization: `Bearer ${key}` };
  const yaml = { ...auth, 'content-type': 'application/yaml' };
  const json = { ...auth, 'content-type': 'application/json' };
  const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 9; i++) {
    const prev = String.fromCharCode(96 + i);
    const name = String.fromCharCode(97 + i);
    levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
  }
  const big = 'y'.repeat(900_000);
  const amplified = `${FLOW}x: &s "${big}"\ny: [${Array(99).fill('*s').join(', ')}]\n`;
  const longString = FLOW.replace(
    '  - { name: parse,',
    `  - { description: "${'z'.repeat(900_000)}", name: parse,`,
  );
  const manyKeys =
    FLOW + 'x:\n' + Array.from({ length: 30_000 }, (_, i) => `  k${i}: v${i}`).join('\n') + '\n';
  return [
    { method: 'POST', path: '/v1/flows', headers: yaml, body: longString },
    { method: 'POST', path: '/v1/flows', headers: yaml, body: manyKeys },
    { method: 'POST', path: '/v1/flows', headers: yaml, body: 'z'.repeat(2_000_000) },
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
    { method: 'POST', path: '/v1/flows', headers: yaml, body: levels.join('\n') },
    { method: 'POST', path: '/v1/flows', headers: yaml, body: amplified },
    {
      method: 'POST',
      path: '/v1/profiles',
      headers: json,
      body: '{"records":[' + '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000) + ']}',
    },
  ];
}

/** POSTs a second the hostile tenant sends: within its default rate quota (200 tokens/s, 10 a POST). */
const HOSTILE_RATE = 18;

async function floodProcess(url: string, key: string, hostile: boolean): Promise<void> {
  const result = await autocannon({
    url: `${url}/v1/flows`,
    method: 'POST',
    connections: hostile ? 4 : FLOOD_CONNECTIONS,
    ...(hostile ? { overallRate: HOSTILE_RATE } : {}),
    duration: PHASE_SECONDS + 1,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/yaml' },
    body: FLOW,
    ...(hostile ? { requests: hostileRequests(key) } : {}),
  });
  process.send!({
    requests: result.requests.total,
    non2xx: result.non2xx,
    statuses: result.statusCodeStats ?? {},
  });
}

function quiet(setup: Setup) {
  return autocannon({
    url: `${setup.url}/v1/flows/${setup.flowId}`,
    connections: 2,
    overallRate: QUIET_RATE,
    duration: PHASE_SECONDS,
    headers: { authorization: `Bearer ${setup.quietKey}` },
  });
}

function self(args: string[]): ChildProcess {
  return fork(fileURLToPath(import.meta.url), args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

function message<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m as T));
    child.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const PHASES = (process.env.BENCH_API_PHASES ?? 'flooded,unlimited,hostile')
  .split(',')
  .filter((p): p is 'flooded' | 'unlimited' | 'hostile' =>
    ['flooded', 'unlimited', 'hostile'].includes(p),
  );

async function main(): Promise<void> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'wf-bench-api-'));
  process.env.WARMFLOW_HOME = home;
  const server = self(['--serve']);
  try {
    const setup = await message<Setup>(server);
    const p99 = {
      alone: [] as number[],
      flooded: [] as number[],
      unlimited: [] as number[],
      hostile: [] as number[],
    };
    const shed: number[] = [];
    const pairedHostile: number[] = [];
    const hostileStatuses: Record<string, number> = {};
    let quietErrors = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const alone = await quiet(setup);
      p99.alone.push(alone.latency.p99);
      quietErrors += alone.non2xx + alone.errors;
      for (const phase of PHASES) {
        // The hostile phase is compared with an alone measured right before it.
        const before = phase === 'hostile' && PHASES.length > 1 ? await quiet(setup) : alone;
        const flooder = self([
          phase === 'hostile' ? '--hostile' : '--flood',
          setup.url,
          phase === 'flooded'
            ? setup.floodKey
            : phase === 'hostile'
              ? setup.hostileKey
              : setup.unlimitedKey,
        ]);
        const floodDone = message<{ requests: number; non2xx: number }>(flooder);
        await new Promise((r) => setTimeout(r, 500)); // let the flood build up first
        const measured = await quiet(setup);
        const flood = await floodDone;
        p99[phase].push(measured.latency.p99);
        if (phase === 'hostile') {
          pairedHostile.push(measured.latency.p99 / Math.max(before.latency.p99, 1e-3));
          for (const [status, stat] of Object.entries(
            (flood as { statuses?: Record<string, { count: number }> }).statuses ?? {},
          ))
            hostileStatuses[status] = (hostileStatuses[status] ?? 0) + stat.count;
        }
        quietErrors += measured.non2xx + measured.errors;
        if (phase === 'flooded')
          shed.push(flood.requests === 0 ? 0 : flood.non2xx / flood.requests);
        console.error(
          `round ${round + 1} ${phase}: quiet p99 ${measured.latency.p99} ms; flood ${flood.requests} requests, ${flood.non2xx} refused`,
        );
      }
      console.error(`round ${round + 1} alone: quiet p99 ${alone.latency.p99} ms`);
    }
    const alone = median(p99.alone);
    const ratioOf = (xs: number[]) =>
      xs.length === 0 ? null : Math.round((median(xs) / Math.max(alone, 1e-3)) * 100) / 100;
    const flooded = p99.flooded.length === 0 ? null : median(p99.flooded);
    const unlimited = p99.unlimited.length === 0 ? null : median(p99.unlimited);
    const hostile = p99.hostile.length === 0 ? null : median(p99.hostile);
    const alive = await fetch(`${setup.url}/healthz`).then(
      (r) => r.status === 200,
      () => false,
    );
    console.log(
      JSON.stringify({
        benchmark: 'api',
        phase_seconds: PHASE_SECONDS,
        rounds: ROUNDS,
        quiet_rate_per_s: QUIET_RATE,
        flood_connections: FLOOD_CONNECTIONS,
        phases: PHASES,
        quiet_p99_ms_alone: alone,
        quiet_p99_ms_flooded: flooded,
        ratio: ratioOf(p99.flooded),
        quiet_p99_ms_flooded_without_fairness_quotas: unlimited,
        ratio_without_fairness_quotas: ratioOf(p99.unlimited),
        flood_shed_fraction: shed.length === 0 ? null : Math.round(median(shed) * 1000) / 1000,
        quiet_p99_ms_hostile: hostile,
        ratio_hostile: ratioOf(p99.hostile),
        hostile_rate_per_s: HOSTILE_RATE,
        hostile_statuses: hostileStatuses,
        server_alive_after_hostile: alive,
        quiet_p99_ms: alone,
        hostile_p99_ms: hostile,
        p99_ratio:
          pairedHostile.length === 0 ? null : Math.round(median(pairedHostile) * 100) / 100,
        p99_ratio_rounds: pairedHostile.map((r) => Math.round(r * 100) / 100),
        quiet_errors: quietErrors,
      }),
    );
  } finally {
    server.disconnect();
    await new Promise((r) => server.once('exit', r));
    rmSync(home, { recursive: true, force: true });
  }
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === '--serve') await serverProcess();
else if (mode === '--flood') await floodProcess(rest[0], rest[1], false);
else if (mode === '--hostile') await floodProcess(rest[0], rest[1], true);
else await main();
