import { describe, it, expect, vi, afterEach } from 'vitest';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { runCli } from '../helpers/cli.js';
import {
  checkManifest,
  podSecurityProblems,
} from '../../src/provision/kubernetes/manifests/index.js';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { ResourceQuota } from 'kubernetes-models/v1/ResourceQuota';
import { LimitRange } from 'kubernetes-models/v1/LimitRange';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';

const FLOW = 'examples/clickstream/flow.yaml';
const MODELS = {
  Pod,
  Secret,
  Namespace,
  ServiceAccount,
  ResourceQuota,
  LimitRange,
  NetworkPolicy,
} as const;

const run = (args: string[]) => runCli(...args);

async function rprFile(content: unknown): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'wf-k8s-'));
  const file = path.join(dir, 'rpr.json');
  await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

const RPRS = [
  {
    node_id: 'parse',
    resource_type: 'CPU',
    cpu_cores: 1,
    memory_gb: 0.5,
    gpu_enabled: false,
    data_store_instance: null,
  },
  {
    node_id: 'enrich',
    resource_type: 'CPU',
    cpu_cores: 2,
    memory_gb: 1,
    gpu_enabled: false,
    data_store_instance: 'profiles',
  },
  {
    node_id: 'sessionize',
    resource_type: 'CPU',
    cpu_cores: 1,
    memory_gb: 1,
    gpu_enabled: false,
    data_store_instance: 'warehouse',
  },
];

afterEach(() => vi.restoreAllMocks());

describe('warmflow k8s manifests', () => {
  it('prints every object the provider applies, each passing the checks', async () => {
    const { code, stdout, stderr } = await run([
      'k8s',
      'manifests',
      FLOW,
      '--rpr',
      await rprFile({ rprs: RPRS }),
      '--tenant',
      'Acme',
      '--image',
      'registry.example.com/wf:1',
      '--node-selector',
      'pool=warm',
      '--quota',
      'cpu_cores=8,pods=10',
    ]);
    expect(code).toBe(0);
    expect(stderr).toContain('sqlite store "warehouse"');
    const docs = parseAllDocuments(stdout).map(
      (doc) => doc.toJSON() as { kind: keyof typeof MODELS },
    );
    expect(docs.map((d) => d.kind)).toEqual([
      'Namespace',
      'ServiceAccount',
      'ResourceQuota',
      'LimitRange',
      'NetworkPolicy',
      'NetworkPolicy',
      'NetworkPolicy',
      'Secret',
      'Pod',
    ]);
    for (const doc of docs) {
      const model = new MODELS[doc.kind](doc as never);
      expect(checkManifest(model)).toEqual([]);
    }
    const pods = docs.filter((d) => d.kind === 'Pod') as unknown as Pod[];
    for (const pod of pods) {
      expect(podSecurityProblems(pod)).toEqual([]);
      expect(pod.spec!.containers[0].image).toBe('registry.example.com/wf:1');
      expect(pod.spec!.nodeSelector).toEqual({ pool: 'warm' });
    }
    // The group's merged RPR: cores summed (1 + 2 + 1), memory summed (0.5 + 1 + 1 GB).
    expect(pods.map((p) => p.spec!.containers[0].resources!.limits)).toEqual([
      { cpu: '4', memory: '2560Mi' },
    ]);
    const quota = docs.find((d) => d.kind === 'ResourceQuota') as unknown as ResourceQuota;
    expect(quota.spec!.hard).toMatchObject({ 'limits.cpu': '8', pods: '10' });
  });

  it('prints JSON with --json', async () => {
    const { code, stdout } = await run([
      'k8s',
      'manifests',
      FLOW,
      '--rpr',
      await rprFile(RPRS),
      '--json',
    ]);
    expect(code).toBe(0);
    const objects = JSON.parse(stdout) as Array<{ kind: string; metadata: { namespace?: string } }>;
    // One pod per placement group (the connected flow is one group).
    expect(objects.filter((o) => o.kind === 'Pod')).toHaveLength(1);
    expect(objects.find((o) => o.kind === 'Pod')!.metadata.namespace).toMatch(
      /^warmflow-default-[0-9a-f]{6}$/,
    );
  });

  it('refuses a broken RPR file with exit code 2', async () => {
    const broken = await run(['k8s', 'manifests', FLOW, '--rpr', await rprFile('{ nope')]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('cannot read RPRs');
    const invalid = await run([
      'k8s',
      'manifests',
      FLOW,
      '--rpr',
      await rprFile([{ node_id: 'parse', cpu_cores: 0, memory_gb: 1 }]),
    ]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('cpu_cores > 0');
  });

  it('never emits egress to link-local, kube-system, the API server or an unrestricted peer', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'wf-k8s-egress-'));
    await writeFile(path.join(dir, 'fns.mjs'), 'export const parse = (r) => r;\n');
    const flowWith = async (url: string) => {
      const file = path.join(dir, `flow-${Math.random().toString(16).slice(2)}.yaml`);
      await writeFile(
        file,
        `name: egress\nstreams:\n  items: { type: Item }\nstores:\n  cache: { kind: redis, url: "${url}" }\n` +
          `types:\n  Out: { store: cache, key: id }\nfunctions:\n  - { name: parse, module: ./fns.mjs, input: [Item], output: [Out] }\n`,
      );
      return file;
    };
    const rprs = await rprFile([
      {
        node_id: 'parse',
        resource_type: 'CPU',
        cpu_cores: 1,
        memory_gb: 0.5,
        gpu_enabled: false,
        data_store_instance: 'cache',
      },
    ]);
    for (const url of [
      'redis://169.254.169.254:80',
      'redis://[fe80::1]:6379',
      'redis://kube-dns.kube-system.svc:53',
      'redis://kubernetes.default.svc:443',
      'redis://redis.example.com:6379',
    ]) {
      const res = await run(['k8s', 'manifests', await flowWith(url), '--rpr', rprs, '--json']);
      expect(res.code, url).not.toBe(0);
      expect(res.stderr, url).toMatch(
        /no NetworkPolicy can limit egress|workers get no egress there/,
      );
      expect(res.stdout, url).toBe('');
    }
    const ok = await run([
      'k8s',
      'manifests',
      await flowWith('redis://cache.data.svc.cluster.local:6380'),
      '--rpr',
      rprs,
      '--json',
    ]);
    expect(ok.code).toBe(0);
    const policies = (
      JSON.parse(ok.stdout) as Array<{
        kind: string;
        metadata: { name: string };
        spec: { egress?: Array<{ to?: Array<Record<string, unknown>>; ports?: unknown[] }> };
      }>
    ).filter((o) => o.kind === 'NetworkPolicy');
    const peers = policies.flatMap((p) =>
      (p.spec.egress ?? []).map((rule) => ({ policy: p.metadata.name, rule })),
    );
    expect(peers.length).toBeGreaterThan(0);
    for (const { policy, rule } of peers) {
      // Every egress rule names its peers: none is "any destination on this port".
      expect(rule.to?.length ?? 0, policy).toBeGreaterThan(0);
      const text = JSON.stringify(rule.to);
      expect(text).not.toMatch(/169\.254|fe80|0\.0\.0\.0\/0|::\/0/);
      if (policy !== 'warmflow-allow-dns') expect(text).not.toContain('kube-system');
    }
    expect(JSON.stringify(peers)).toContain('"kubernetes.io/metadata.name":"data"');
  });

  it('with --stores, egress goes only to catalogue instances granted to the tenant, never to a URL the flow gives', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'wf-k8s-stores-'));
    await writeFile(path.join(dir, 'fns.mjs'), 'export const parse = (r) => r;\n');
    const flowWith = async (store: string, name = 'cache') => {
      const file = path.join(dir, `flow-${Math.random().toString(16).slice(2)}.yaml`);
      await writeFile(
        file,
        `name: egress\nstreams:\n  items: { type: Item }\nstores:\n  ${store}\n` +
          `types:\n  Out: { store: ${name}, key: id }\nfunctions:\n  - { name: parse, module: ./fns.mjs, input: [Item], output: [Out] }\n`,
      );
      return file;
    };
    const catalogue = path.join(dir, 'stores.yaml');
    await writeFile(
      catalogue,
      'stores:\n' +
        '  cache: { kind: redis, url: "redis://cache.data.svc:6379/0", tenants: [acme] }\n' +
        '  meta: { kind: redis, url: "redis://169.254.169.254:80", tenants: ["*"] }\n' +
        '  api: { kind: redis, url: "redis://10.96.0.1:443", tenants: ["*"] }\n',
    );
    const rprs = await rprFile([
      {
        node_id: 'parse',
        resource_type: 'CPU',
        cpu_cores: 1,
        memory_gb: 0.5,
        gpu_enabled: false,
        data_store_instance: 'cache',
      },
    ]);
    const manifests = (flow: string, tenant: string, ...more: string[]) =>
      run([
        'k8s',
        'manifests',
        flow,
        '--rpr',
        rprs,
        '--tenant',
        tenant,
        '--stores',
        catalogue,
        '--json',
        ...more,
      ]);

    const granted = await manifests(await flowWith('cache: { kind: redis }'), 'acme');
    expect(granted.code, granted.stderr).toBe(0);
    const egress = JSON.parse(granted.stdout)
      .filter(
        (o: { kind: string; metadata: { annotations?: Record<string, string> } }) =>
          o.kind === 'NetworkPolicy' &&
          o.metadata.annotations?.['warmflow.dev/store'] !== undefined,
      )
      .map((o: { spec: { egress: unknown[] } }) => o.spec.egress);
    expect(egress).toEqual([
      [
        {
          to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'data' } } }],
          ports: [{ protocol: 'TCP', port: 6379 }],
        },
      ],
    ]);

    // A flow's own URL, an instance not granted to the tenant, an admin's bad instance.
    const own = await manifests(
      await flowWith('cache: { kind: redis, url: "redis://cache.data.svc" }'),
      'acme',
    );
    expect([own.code, own.stdout]).toEqual([1, '']);
    expect(own.stderr).toContain('without a url');
    const other = await manifests(await flowWith('cache: { kind: redis }'), 'intruder');
    expect(other.stderr).toContain('unavailable to you');
    expect(other.stdout).toBe('');
    // The admin's own catalogue cannot open the metadata endpoint, nor the API server's range.
    const rprsFor = (store: string) =>
      rprFile([
        {
          node_id: 'parse',
          resource_type: 'CPU',
          cpu_cores: 1,
          memory_gb: 0.5,
          gpu_enabled: false,
          data_store_instance: store,
        },
      ]);
    const meta = await run([
      'k8s',
      'manifests',
      await flowWith('meta: { kind: redis }', 'meta'),
      '--rpr',
      await rprsFor('meta'),
      '--tenant',
      'acme',
      '--stores',
      catalogue,
    ]);
    expect([meta.code, meta.stdout]).toEqual([1, '']);
    expect(meta.stderr).toContain('link-local');
    const api = await run([
      'k8s',
      'manifests',
      await flowWith('api: { kind: redis }', 'api'),
      '--rpr',
      await rprsFor('api'),
      '--tenant',
      'acme',
      '--stores',
      catalogue,
      '--deny-cidr',
      '10.96.0.0/12',
    ]);
    expect([api.code, api.stdout]).toEqual([1, '']);
    expect(api.stderr).toContain('denies');
  });
});
