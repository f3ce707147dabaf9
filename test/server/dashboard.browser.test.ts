import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { startServer, type RunningServer } from '../../src/server/start-server.js';
import { TenancyStore } from '../../src/tenancy/tenancy-store.js';

const CHROMIUM = '/usr/bin/chromium';
const ADMIN = 'dashboard-test-admin-key-0123456789';
const available = existsSync(CHROMIUM);
if (!available && process.env.CI === 'true')
  throw new Error(`${CHROMIUM} is missing; .ci/run installs the chromium package`);
if (!available)
  console.warn(
    `skipping the dashboard browser test: ${CHROMIUM} is missing (apt-get install chromium)`,
  );

const root = path.resolve(import.meta.dirname, '../..');
const flowFile = path.join(root, 'examples/clickstream/flow.yaml');

describe.skipIf(!available)('dashboard in a real browser', () => {
  let home: string;
  let server: RunningServer;
  let browser: Browser;
  let tenancy: TenancyStore;

  beforeAll(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'wf-dashboard-'));
    process.env.WARMFLOW_HOME = home;
    tenancy = new TenancyStore({ path: path.join(home, 'tenancy.db'), adminKey: ADMIN });
    server = await startServer({
      port: 0,
      adminKey: ADMIN,
      fileRoots: [root, home],
      deps: { tenancy },
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    tenancy?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('shows the DAG, the DCP and the charts of a run made through the API', async () => {
    const api = async (
      method: string,
      route: string,
      key: string,
      body?: unknown,
      type = 'application/json',
    ) => {
      const res = await fetch(`${server.url}${route}`, {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          ...(body === undefined ? {} : { 'content-type': type }),
        },
        body:
          body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const json = await res.json();
      if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    };
    const { api_key: key } = await api('POST', '/v1/tenants', ADMIN, { name: 'viewer' });
    const flow = await api(
      'POST',
      `/v1/flows?file=${encodeURIComponent(flowFile)}`,
      key,
      readFileSync(flowFile, 'utf8'),
      'application/yaml',
    );
    await api('POST', '/v1/profiles', key, { flow_id: flow.id, source: './data/clicks.jsonl' });
    await api('POST', '/v1/pools', key, { flow_id: flow.id });
    const run = await api('POST', '/v1/executions?wait=true', key, { flow_id: flow.id });
    expect(run.status).toBe('succeeded');
    const completion = run.completion;

    const page = await browser.newPage({ viewport: { width: 1400, height: 1500 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${server.url}/dashboard/?key=${encodeURIComponent(key)}`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });

    // The key left the address bar for sessionStorage.
    expect(page.url()).not.toContain('key=');
    // The DAG: every template node, coloured as the run left it, with its record counts.
    const nodes = await page.$$eval('#dag g.node', (gs) =>
      gs.map((g) => ({
        id: g.getAttribute('data-node-id'),
        state: g.getAttribute('data-state'),
        text: g.textContent,
      })),
    );
    expect(nodes.map((n) => n.id).sort()).toEqual(
      flow.template.nodes.map((n: { id: string }) => n.id).sort(),
    );
    for (const node of nodes) {
      const measured = completion.nodes.find((n: { node_id: string }) => n.node_id === node.id);
      expect(node.state).toBe('succeeded');
      expect(node.text).toContain(`in ${measured.records_in} · out ${measured.records_out}`);
    }
    expect(await page.$$eval('#dag g.edge', (es) => es.length)).toBe(flow.template.edges.length);
    // The run's figures.
    expect(await page.textContent('#run-status')).toBe('succeeded');
    expect(await page.textContent('#run-records-in')).toBe(
      completion.records.in.toLocaleString('en-US'),
    );
    const first = completion.timings.request_to_first_record_ms as number;
    expect(await page.textContent('#run-first-record')).toBe(String(Number(first.toFixed(1))));
    expect(Number((await page.textContent('#dcp-records'))!.replace(/,/g, ''))).toBe(
      run.dcp.volume.records,
    );
    // The charts: four uPlot charts, fed with this run; the live chart stays hidden for a file run.
    expect(await page.isHidden('#live-section')).toBe(true);
    expect(await page.$$eval('.uplot', (cs) => cs.length)).toBe(4);
    const latency = JSON.parse((await page.getAttribute('#latency-chart', 'data-last'))!);
    expect(latency).toMatchObject({ execution: run.id, first_record_ms: first });
    const cpu = JSON.parse((await page.getAttribute('#cpu-chart', 'data-last'))!);
    for (const rpr of run.rprs as Array<{ node_id: string; cpu_cores: number }>) {
      if (
        completion.nodes.some(
          (n: { node_id: string; rpr: unknown }) => n.node_id === rpr.node_id && n.rpr !== null,
        )
      ) {
        expect(cpu[rpr.node_id].predicted).toBe(rpr.cpu_cores);
      }
    }
    expect(Number(await page.getAttribute('#pool-chart', 'data-points'))).toBeGreaterThan(0);
    const rows = await page.$$eval('#nodes tr[data-node-id]', (trs) => trs.length);
    expect(rows).toBe(flow.template.nodes.length);
    expect(errors).toEqual([]);

    mkdirSync(path.join(root, 'test-results'), { recursive: true });
    await page.screenshot({
      path: path.join(root, 'test-results', 'dashboard.png'),
      fullPage: true,
    });
  });
});
