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
      'Pod',
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
    expect(pods.map((p) => p.spec!.containers[0].resources!.limits)).toEqual([
      { cpu: '1', memory: '512Mi' },
      { cpu: '2', memory: '1Gi' },
      { cpu: '1', memory: '1Gi' },
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
    expect(objects.filter((o) => o.kind === 'Pod')).toHaveLength(3);
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
});
