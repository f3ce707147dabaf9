import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/policy/parse-policy.js';
import { simulate } from '../../src/policy/simulate.js';
import { loadTrace, type Trace } from '../../src/policy/trace/load-trace.js';
import { sliceMinutes } from '../../src/policy/trace/slice-trace.js';

const repo = path.resolve(import.meta.dirname, '../..');
const ADMIN = 'policy-replay-admin-key-0123456789';
const data = path.join(repo, 'bench/data/azure-functions-2019/sample-100-8h');
/** Trace minutes replayed, and how long one lasts live (time compressed 30×). */
const MINUTES = 14;
const MINUTE_MS = 2000;
/** Each replays the same slice on a server of its own, the three at once (about 40 s in all). */
const POLICIES = ['fixed:3', 'hybrid', 'warmflow'];
/** Stated tolerance: live cold starts may differ from the simulation's by this many. */
const TOLERANCE = 1;

async function api(
  url: string,
  key: string,
  method: string,
  route: string,
  body?: unknown,
  type = 'application/json',
) {
  const res = await fetch(url + route, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': type }),
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });

  return { status: res.status, json: await res.json() };
}

/** Two functions of the sample with a few idle gaps in the first minutes (not every minute, not once). */
function pickSlice(trace: Trace): Trace {
  const slice = sliceMinutes(trace, 0, MINUTES);
  const picked = slice.functions.filter((f) => {
    const gaps = [...f.minutes].slice(1).map((m, i) => m - f.minutes[i] - 1);
    return f.minutes.length >= 3 && f.minutes.length <= 8 && gaps.some((g) => g > 3);
  });
  return { ...slice, functions: picked.slice(0, 2) };
}

describe('the keep-alive policy live in `warmflow serve` (built dist/)', () => {
  const children: ChildProcess[] = [];
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'wf-policy-replay-'));
  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(scratch, { recursive: true, force: true });
  });

  it.concurrent.each(POLICIES)(
    `%s: replays a trace slice with time compressed and has the simulation's cold starts (± ${TOLERANCE})`,
    async (POLICY) => {
      const slice = pickSlice(
        await loadTrace(path.join(data, 'invocations.csv'), path.join(data, 'memory.csv')),
      );
      expect(slice.functions).toHaveLength(2);
      const [sim] = simulate(slice, [parsePolicy(POLICY)]);

      const root = path.join(scratch, POLICY.replace(/[^a-z0-9]/g, '-'));
      mkdirSync(root);
      const home = path.join(root, 'home');
      const flowDir = path.join(root, 'flow');
      mkdirSync(flowDir);
      writeFileSync(
        path.join(flowDir, 'fns.mjs'),
        'export function double(item) { return { n: item.n * 2 }; }\n',
      );
      const child = spawn(
        process.execPath,
        [
          path.join(repo, 'bin/warmflow.js'),
          'serve',
          '--port',
          '0',
          '--json',
          '--root',
          root,
          // Two flows, each warm set and each on-demand run 2 cores: declare room for all of them.
          '--cpu-cores',
          '16',
          '--keep-alive-policy',
          POLICY,
          '--policy-time-scale',
          String(60_000 / MINUTE_MS),
        ],
        {
          env: { ...process.env, WARMFLOW_HOME: home, WARMFLOW_ADMIN_KEY: ADMIN },
          stdio: ['ignore', 'pipe', 'pipe'],
          cwd: root,
        },
      );
      children.push(child);
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const url = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).on('line', (line) => {
          try {
            const ready = JSON.parse(line) as { type?: string; url?: string };
            if (ready.type === 'ready' && ready.url) resolve(ready.url);
          } catch {
            // not the ready line
          }
        });
        child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
      });
      const tenant = await api(url, ADMIN, 'POST', '/v1/tenants', {
        name: 'replay',
        // Room for both flows' warm sets and their on-demand runs (the machine's 2 cores by default).
        quotas: { cores: 16 },
      });
      const key = tenant.json.api_key as string;
      const flows: string[] = [];
      for (let i = 0; i < slice.functions.length; i++) {
        const yaml = `name: fn${i}\nstreams:\n  items: { type: Item }\nfunctions:\n  - { name: double, module: ./fns.mjs, input: [Item], output: [Out] }\n`;
        const flow = await api(
          url,
          key,
          'POST',
          `/v1/flows?file=${encodeURIComponent(path.join(flowDir, `fn${i}.yaml`))}`,
          yaml,
          'application/yaml',
        );
        writeFileSync(path.join(flowDir, `fn${i}.yaml`), yaml);
        expect(flow.status, JSON.stringify(flow.json)).toBe(201);
        flows.push(flow.json.id as string);
      }
      const policy = await api(url, key, 'GET', '/v1/policy');
      expect(policy.json).toMatchObject({ policy: POLICY, minute_ms: MINUTE_MS });
      // Trace minute m is replayed in the middle of live policy minute start + m.
      const start = Math.floor((Date.now() - policy.json.epoch_ms) / MINUTE_MS) + 1;
      const executions: string[] = [];
      for (let m = 0; m < MINUTES; m++) {
        const at = policy.json.epoch_ms + (start + m + 0.5) * MINUTE_MS;
        await new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));
        slice.functions.forEach((f, i) => {
          if (f.minutes.includes(m)) {
            executions.push('pending');
            const slot = executions.length - 1;
            void api(url, key, 'POST', '/v1/executions', {
              flow_id: flows[i],
              records: [{ n: m }],
            }).then(
              (r) =>
                (executions[slot] =
                  r.status === 202 ? (r.json.id as string) : `failed: ${JSON.stringify(r.json)}`),
            );
          }
        });
      }
      let cold = 0;
      for (const id of executions) {
        expect(id).toMatch(/^x_/);
        for (;;) {
          const run = await api(url, key, 'GET', `/v1/executions/${id}`);
          if (run.json.status !== 'running') {
            expect(
              run.json.status,
              JSON.stringify(run.json.error ?? run.json.completion?.error ?? run.json).slice(
                0,
                600,
              ),
            ).toBe('succeeded');
            const nodes = run.json.completion.nodes as {
              resource_id: string | null;
              warm: boolean;
            }[];
            // Cold: no warm set ready at the request (on demand, or waited for one still warming).
            const waited = run.json.completion.timings.pool_wait_ms !== undefined;
            if (waited || nodes.some((n) => n.resource_id !== null && !n.warm)) cold++;
            break;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      const after = await api(url, key, 'GET', '/v1/policy');
      // The policy's own count follows the simulation exactly; the pools' real warm hits within the tolerance.
      expect(after.json.counts).toEqual({
        invocation_minutes: sim.invocations > 0 ? executions.length : 0,
        cold_starts: sim.cold_starts,
      });
      // On failure: the decisions (each pre-warm with how long it took) say which minute went cold.
      const decisions = (
        after.json.decisions as { minute: number; action: string; reason: string }[]
      ).map((d) => `${d.minute} ${d.action}: ${d.reason}`);
      expect(
        Math.abs(cold - sim.cold_starts),
        `${cold} cold starts, ${sim.cold_starts} simulated\n${decisions.join('\n')}`,
      ).toBeLessThanOrEqual(TOLERANCE);
      const actions = new Set((after.json.decisions as { action: string }[]).map((d) => d.action));
      expect(actions).toContain('window');
      expect(actions).toContain('pre-warm');
      // fixed:3 lets every gap over 3 minutes go cold; the others may keep a set for the slice.
      if (POLICY === 'fixed:3') expect(actions).toContain('release');
      const metrics = await fetch(`${url}/metrics`, {
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      expect(await metrics.text()).toMatch(
        /warmflow_policy_decisions_total\{tenant="[^"]+",action="pre-warm"\} \d/,
      );
      child.kill('SIGTERM');
      const stopped = await Promise.race([
        new Promise<boolean>((resolve) => child.once('exit', () => resolve(true))),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 15_000)),
      ]);
      if (!stopped) {
        child.kill('SIGKILL');
        console.error(`${POLICY}: serve did not stop within 15 s of SIGTERM; killed`);
      }
    },
    120_000,
  );
});
