/**
 * API fairness: two tenants on one local server; the quiet one reads its flow at a steady
 * rate while another tenant loads the server. Phases, each paired with an `alone` phase
 * (quiet tenant only) measured next to it, the pair's order alternating from round to round
 * so drift of the machine's load hits both alike:
 *
 *   flooded   + a tenant with default quotas flooding flow registrations (its token bucket
 *             sheds it with 429, each 429 held up to 500 ms)
 *   unlimited + the same flood from a tenant whose rate and in-flight quotas are effectively
 *             off (what the fairness quotas buy)
 *   hostile   + a tenant with default quotas sending, within them (no request over
 *             `max_body_bytes`, at a rate its token bucket pays for, on fewer connections than
 *             `concurrent_requests`), every request that once took the server down or held
 *             its event loop (`api-hostile.ts`): JSON nested 20,000 deep, a YAML alias bomb,
 *             900 KB flows aliasing one string or holding one string, a 30,000-key flow, a
 *             1 MB flow, records nested 100,000 deep to /v1/profiles and /v1/executions,
 *             900 KB of records to profile, GETs of its 900 KB flow, fuzzed bodies. The must:
 *             the quiet tenant's p99 within 2x of alone, no 500, the server up.
 *
 * Every quiet latency is kept, so the p99 of a phase is over all its rounds (pooled), and
 * each pair gives a ratio; the last line has the pooled p99s, `ratio_*` (pooled phase /
 * pooled alone), `p99_ratio` (the median of the paired hostile / alone ratios) with its
 * quartiles and every round's, the server's event-loop delay per phase, the hostile
 * tenant's statuses (refused if any is a 5xx or a quota's 413/429, or the server died) and
 * the load average before and after.
 *
 * BENCH_API_PHASES (default flooded,unlimited,hostile), BENCH_API_ROUNDS (default 6) and
 * BENCH_API_SECONDS (default 4 a phase). The server and each loading client run in their own
 * process so neither shares an event loop with the quiet client that measures.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { FLOW, LARGE_FLOW, hostileRate, hostileRequests } from './api-hostile.js';
import { DEFAULT_QUOTAS } from '../src/tenancy/quotas.js';

const PHASE_SECONDS = Number(process.env.BENCH_API_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_API_ROUNDS ?? 6);
const QUIET_RATE = 100; // requests/s of the quiet tenant: an ordinary client
const FLOOD_CONNECTIONS = 32;
/** Below `concurrent_requests`, so the hostile tenant is never shed for concurrency. */
const HOSTILE_CONNECTIONS = Math.max(1, DEFAULT_QUOTAS.concurrent_requests - 2);

type Phase = 'flooded' | 'unlimited' | 'hostile';

interface Setup {
  url: string;
  quietKey: string;
  floodKey: string;
  unlimitedKey: string;
  hostileKey: string;
  flowId: string;
  largeFlowId: string;
}

interface LoopDelay {
  p99: number;
  max: number;
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
  const ids = new Map<string, string>();
  const tenant = async (name: string, quotas?: object) => {
    const res = await fetch(`${running.url}/v1/tenants`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ name, quotas }),
    });
    const created = (await res.json()) as { id: string; api_key: string };
    ids.set(created.api_key, created.id);
    return created.api_key;
  };
  const register = async (key: string, flow: string) => {
    const res = await fetch(`${running.url}/v1/flows`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/yaml' },
      body: flow,
    });
    if (res.status !== 201) throw new Error(`registering a flow answered ${res.status}`);
    return ((await res.json()) as { id: string }).id;
  };
  const quietKey = await tenant('quiet');
  const floodKey = await tenant('flood');
  const unlimitedKey = await tenant('unlimited', {
    requests_per_second: 1e9,
    request_burst: 1e9,
    concurrent_requests: 1_000_000,
  });
  const hostileKey = await tenant('hostile');
  const flowId = await register(quietKey, FLOW);
  const largeFlowId = await register(hostileKey, LARGE_FLOW);
  // The server's event-loop delay, over each phase: what the main thread made requests wait.
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  process.on('message', (m: { delay?: 'reset' | 'read'; inFlight?: string }) => {
    if (m.inFlight !== undefined)
      process.send!({
        inFlight: running.server.state.requestSlots.running(ids.get(m.inFlight) ?? ''),
      });
    else if (m.delay === 'reset') delay.reset();
    else if (m.delay === 'read')
      process.send!({
        p99: delay.percentile(99) / 1e6,
        max: delay.max / 1e6,
      } satisfies LoopDelay);
  });
  process.send!({
    url: running.url,
    quietKey,
    floodKey,
    unlimitedKey,
    hostileKey,
    flowId,
    largeFlowId,
  } satisfies Setup);
  process.once('disconnect', () => void running.close().then(() => process.exit(0)));
}

async function loadProcess(
  phase: Phase,
  url: string,
  key: string,
  largeFlowId: string,
): Promise<void> {
  const hostile = phase === 'hostile';
  const requests = hostile ? hostileRequests(key, largeFlowId) : undefined;
  const result = await autocannon({
    url: `${url}/v1/flows`,
    method: 'POST',
    connections: hostile ? HOSTILE_CONNECTIONS : FLOOD_CONNECTIONS,
    ...(requests !== undefined ? { overallRate: hostileRate(requests), requests } : { body: FLOW }),
    duration: PHASE_SECONDS + 1,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/yaml' },
  });
  process.send!({
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    statuses: Object.fromEntries(
      Object.entries(result.statusCodeStats ?? {}).map(([s, stat]) => [s, stat.count]),
    ),
  });
}

/** The quiet tenant's requests for one phase: every latency, and what failed. */
async function quiet(setup: Setup): Promise<{ latencies: number[]; failed: number }> {
  const latencies: number[] = [];
  // Without a callback autocannon returns its tracker, a promise of the result too.
  const instance = autocannon({
    url: `${setup.url}/v1/flows/${setup.flowId}`,
    connections: 2,
    overallRate: QUIET_RATE,
    duration: PHASE_SECONDS,
    headers: { authorization: `Bearer ${setup.quietKey}` },
  }) as unknown as autocannon.Instance & Promise<autocannon.Result>;
  const tracker: autocannon.Instance = instance;
  tracker.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) =>
    latencies.push(ms),
  );
  const result = await instance;
  return { latencies, failed: result.non2xx + result.errors + result.timeouts };
}

function self(args: string[]): ChildProcess {
  return fork(fileURLToPath(import.meta.url), args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

function message<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`child exited with ${code}`));
    child.once('message', (m) => {
      child.off('exit', onExit);
      resolve(m as T);
    });
    child.once('exit', onExit);
  });
}

const quantile = (xs: readonly number[], q: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length - 1) * q))];
};
const median = (xs: readonly number[]) => quantile(xs, 0.5);
const r2 = (x: number) => Math.round(x * 100) / 100;
const loads = () => os.loadavg().map(r2);

const PHASES = (process.env.BENCH_API_PHASES ?? 'flooded,unlimited,hostile')
  .split(',')
  .filter((p): p is Phase => ['flooded', 'unlimited', 'hostile'].includes(p));

interface Measured {
  latencies: number[];
  failed: number;
  delay: LoopDelay;
}

async function main(): Promise<void> {
  const loadBefore = loads();
  const home = mkdtempSync(path.join(os.tmpdir(), 'wf-bench-api-'));
  process.env.WARMFLOW_HOME = home;
  const server = self(['--serve']);
  let serverExited = false;
  server.once('exit', () => (serverExited = true));
  try {
    const setup = await message<Setup>(server);
    const keyOf: Record<Phase, string> = {
      flooded: setup.floodKey,
      unlimited: setup.unlimitedKey,
      hostile: setup.hostileKey,
    };
    const measure = async (load: Phase | 'alone'): Promise<Measured> => {
      server.send({ delay: 'reset' });
      if (load === 'alone') {
        const q = await quiet(setup);
        server.send({ delay: 'read' });
        return { ...q, delay: await message<LoopDelay>(server) };
      }
      const loader = self(['--load', load, setup.url, keyOf[load], setup.largeFlowId]);
      const loaded = message<{
        requests: number;
        non2xx: number;
        errors: number;
        statuses: Record<string, number>;
      }>(loader);
      await new Promise((r) => setTimeout(r, 500)); // let the load build up first
      server.send({ delay: 'reset' });
      const q = await quiet(setup);
      server.send({ delay: 'read' });
      const delay = await message<LoopDelay>(server);
      const l = await loaded;
      // Requests the client gave up on at the end may still be queued in the server: the next
      // phase starts once they are done, so it is measured alone and the tenant within quotas.
      for (let waited = 0; waited < 60_000; waited += 100) {
        server.send({ inFlight: keyOf[load] });
        if ((await message<{ inFlight: number }>(server)).inFlight === 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      if (load === 'flooded') shed.push(l.requests === 0 ? 0 : l.non2xx / l.requests);
      if (load === 'hostile') {
        hostileErrors += l.errors;
        for (const [status, count] of Object.entries(l.statuses))
          hostileStatuses[status] = (hostileStatuses[status] ?? 0) + count;
      }
      console.error(
        `  ${load}: ${l.requests} requests, statuses ${JSON.stringify(l.statuses)}, ${l.errors} errors`,
      );
      return { ...q, delay };
    };
    const latencies: Record<Phase | 'alone', number[]> = {
      alone: [],
      flooded: [],
      unlimited: [],
      hostile: [],
    };
    const delays: Record<Phase | 'alone', LoopDelay[]> = {
      alone: [],
      flooded: [],
      unlimited: [],
      hostile: [],
    };
    const paired: Record<Phase, number[]> = { flooded: [], unlimited: [], hostile: [] };
    const shed: number[] = [];
    const hostileStatuses: Record<string, number> = {};
    let hostileErrors = 0;
    let quietErrors = 0;
    const keep = (phase: Phase | 'alone', m: Measured) => {
      latencies[phase].push(...m.latencies);
      delays[phase].push(m.delay);
      quietErrors += m.failed;
      return quantile(m.latencies, 0.99);
    };
    for (let round = 0; round < ROUNDS; round++) {
      for (const phase of PHASES) {
        // Alone and loaded back to back, the order swapped every round.
        const aloneFirst = round % 2 === 0;
        const first = await measure(aloneFirst ? 'alone' : phase);
        const second = await measure(aloneFirst ? phase : 'alone');
        const alone = keep('alone', aloneFirst ? first : second);
        const loaded = keep(phase, aloneFirst ? second : first);
        paired[phase].push(loaded / Math.max(alone, 1e-3));
        console.error(
          `round ${round + 1} ${phase}: quiet p99 ${r2(loaded)} ms, alone ${r2(alone)} ms (load ${loads()[0]})`,
        );
      }
    }
    const alive =
      !serverExited &&
      (await fetch(`${setup.url}/healthz`).then(
        (r) => r.status === 200,
        () => false,
      ));
    const p99 = (phase: Phase | 'alone') =>
      latencies[phase].length === 0 ? null : r2(quantile(latencies[phase], 0.99));
    const alone = p99('alone')!;
    const ratioOf = (phase: Phase) => {
      const loaded = p99(phase);
      return loaded === null ? null : r2(loaded / Math.max(alone, 1e-3));
    };
    const delayOf = (phase: Phase | 'alone') =>
      delays[phase].length === 0
        ? null
        : {
            p99_ms: r2(median(delays[phase].map((d) => d.p99))),
            max_ms: r2(Math.max(...delays[phase].map((d) => d.max))),
          };
    const ratios = paired.hostile;
    const fiveHundreds = Object.entries(hostileStatuses)
      .filter(([s]) => Number(s) >= 500)
      .reduce((sum, [, n]) => sum + n, 0);
    const quotaRefusals = (hostileStatuses['429'] ?? 0) + (hostileStatuses['413'] ?? 0);
    const failures = [
      ...(fiveHundreds > 0 ? [`the hostile tenant got ${fiveHundreds} answers 5xx`] : []),
      ...(quotaRefusals > 0
        ? [`the hostile tenant went over its quotas (${quotaRefusals} answers 413/429)`]
        : []),
      ...(alive ? [] : ['the server is down after the load']),
      ...(quietErrors > 0 ? [`the quiet tenant got ${quietErrors} failed requests`] : []),
    ];
    console.log(
      JSON.stringify({
        benchmark: 'api',
        phase_seconds: PHASE_SECONDS,
        rounds: ROUNDS,
        quiet_rate_per_s: QUIET_RATE,
        flood_connections: FLOOD_CONNECTIONS,
        phases: PHASES,
        quiet_requests_alone: latencies.alone.length,
        quiet_p99_ms_alone: alone,
        quiet_p99_ms_flooded: p99('flooded'),
        ratio: ratioOf('flooded'),
        quiet_p99_ms_flooded_without_fairness_quotas: p99('unlimited'),
        ratio_without_fairness_quotas: ratioOf('unlimited'),
        flood_shed_fraction: shed.length === 0 ? null : r2(median(shed)),
        quiet_p99_ms_hostile: p99('hostile'),
        ratio_hostile: ratioOf('hostile'),
        hostile_rate_per_s: hostileRate(hostileRequests('', '')),
        hostile_connections: HOSTILE_CONNECTIONS,
        hostile_statuses: hostileStatuses,
        hostile_errors: hostileErrors,
        hostile_within_quotas: quotaRefusals === 0,
        server_alive_after_hostile: alive,
        quiet_p99_ms: alone,
        hostile_p99_ms: p99('hostile'),
        p99_ratio: ratios.length === 0 ? null : r2(median(ratios)),
        p99_ratio_quartiles:
          ratios.length === 0 ? null : [quantile(ratios, 0.25), quantile(ratios, 0.75)].map(r2),
        p99_ratio_rounds: ratios.map(r2),
        server_loop_delay: {
          alone: delayOf('alone'),
          flooded: delayOf('flooded'),
          unlimited: delayOf('unlimited'),
          hostile: delayOf('hostile'),
        },
        quiet_errors: quietErrors,
        load_average_before: loadBefore,
        load_average_after: loads(),
        ...(failures.length > 0 ? { failed: failures } : {}),
      }),
    );
    if (failures.length > 0) process.exitCode = 1;
  } finally {
    server.disconnect();
    if (!serverExited) await new Promise((r) => server.once('exit', r));
    rmSync(home, { recursive: true, force: true });
  }
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === '--serve') await serverProcess();
else if (mode === '--load') await loadProcess(rest[0] as Phase, rest[1], rest[2], rest[3]);
else await main();
