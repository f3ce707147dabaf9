/* eslint-disable @typescript-eslint/no-explicit-any -- the tests walk arbitrary manifest JSON */
import { describe, it, expect } from 'vitest';
import { parse } from 'yaml';
import { Pod } from 'kubernetes-models/v1/Pod';
import type { ProvisionRequest } from '../../provider.js';
import {
  DEFAULT_TENANT_QUOTAS,
  LABEL,
  applyOrder,
  buildProvisionManifests,
  checkManifest,
  podSecurityProblems,
  resolveManifestOptions,
  storeEndpoints,
  toYaml,
  unknownFields,
  FIELD_ALLOW_LIST,
  type KubeManifest,
  TOKEN_ENV,
  WARM_ENV,
  heapLimitMb,
} from './index.js';
import { isDns1123Label } from '../names.js';
import { apiServerAddress } from '../kubernetes-provider.js';

const request: ProvisionRequest = {
  tenant: 'Acme Corp',
  template: 'click_stream',
  rpr: {
    node_id: 'parse+enrich',
    resource_type: 'GPU',
    cpu_cores: 2,
    memory_gb: 1.5,
    gpu_enabled: true,
    data_store_instance: 'cache',
  },
  node_ids: ['parse', 'enrich'],
  warm: {
    functions: [{ node_id: 'parse', module: '/app/flows/clicks/parse.ts', export: 'parse' }],
    stores: {
      cache: { kind: 'redis', url: 'redis://10.0.0.5:6380' },
      db: { kind: 'postgres', url: 'postgres://app:secret@pg.data.svc.cluster.local/db' },
      local: { kind: 'sqlite', path: 'state.db' },
    },
  },
  token: 'a-token',
};
const options = resolveManifestOptions({
  nodeSelector: { 'nvidia.com/gpu.present': 'true' },
  tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
});
const built = buildProvisionManifests(
  request,
  'wf-click-stream-parse-enrich-0a1b2c',
  { ...DEFAULT_TENANT_QUOTAS, gpus: 2 },
  options,
);
const all = applyOrder([built]);
const byKind = (kind: string) => all.filter((m) => m.kind === kind).map((m) => m.toJSON() as any);
const pod = byKind('Pod')[0];

describe('manifests', () => {
  it('every object passes the Kubernetes schema and warmflow checks', () => {
    expect(all.map((m) => m.kind)).toEqual([
      'Namespace',
      'ServiceAccount',
      'ResourceQuota',
      'LimitRange',
      'NetworkPolicy',
      'NetworkPolicy',
      'NetworkPolicy',
      'Secret',
      'NetworkPolicy',
      'NetworkPolicy',
      'Pod',
    ]);
    for (const manifest of all) {
      expect(() => manifest.validate()).not.toThrow();
      expect(checkManifest(manifest)).toEqual([]);
      expect(isDns1123Label(manifest.metadata!.name!)).toBe(true);
    }
  });

  it('the checks catch what schema validation lets through', () => {
    const typo = new Pod({
      ...(pod as object),
      spec: {
        ...pod.spec,
        containers: [{ ...pod.spec.containers[0], readOnlyRootFileSystem: true }],
      },
    });
    expect(() => typo.validate()).not.toThrow(); // the schema alone would accept it
    expect(checkManifest(typo as KubeManifest).map((p) => p.path)).toContain(
      'spec.containers[0].readOnlyRootFileSystem',
    );
    const badName = new Pod({
      ...(pod as object),
      metadata: { ...pod.metadata, name: 'Bad_Name' },
    });
    expect(checkManifest(badName as KubeManifest).map((p) => p.code)).toContain('E_K8S_NAME');
    const badLabel = new Pod({
      ...(pod as object),
      metadata: { ...pod.metadata, labels: { 'warmflow.dev/tenant': 'Acme Corp' } },
    });
    expect(checkManifest(badLabel as KubeManifest).map((p) => p.code)).toContain('E_K8S_LABEL');
    expect(
      unknownFields({ spec: { hard: { cpu: { nested: 1 } } } }, FIELD_ALLOW_LIST.ResourceQuota),
    ).toEqual(['spec.hard.cpu (expected a scalar)']);
  });

  it('the namespace enforces Pod Security restricted', () => {
    const labels = byKind('Namespace')[0].metadata.labels;
    for (const mode of ['enforce', 'audit', 'warn'])
      expect(labels[`pod-security.kubernetes.io/${mode}`]).toBe('restricted');
  });

  it('the pod meets restricted, with a read-only root and Guaranteed QoS', () => {
    expect(podSecurityProblems(pod)).toEqual([]);
    const container = pod.spec.containers[0];
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 10001,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.resources.requests).toEqual(container.resources.limits);
    expect(container.resources.limits).toEqual({
      cpu: '2',
      memory: '1536Mi',
      'nvidia.com/gpu': '1',
    });
    expect(container.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
    expect(pod.spec.volumes[0].emptyDir).toBeDefined();
    expect(pod.spec.nodeSelector).toEqual({ 'nvidia.com/gpu.present': 'true' });
    expect(pod.spec.tolerations).toHaveLength(1);
  });

  it('applies what it can of the RPR storage and bandwidth: an ephemeral-storage request, bandwidth annotations', () => {
    const sized = buildProvisionManifests(
      {
        ...request,
        rpr: {
          ...request.rpr,
          network_bandwidth_mbps: 12.3,
          storage_type: 'local_disk',
          reasoning: { basis: 'rule', storage_bytes: 2 ** 30 },
        },
      },
      'wf-click-stream-parse-enrich-0a1b2c',
      { ...DEFAULT_TENANT_QUOTAS, gpus: 2 },
      options,
    );
    const manifest = applyOrder([sized]).find((m) => m.kind === 'Pod')!;
    expect(() => manifest.validate()).not.toThrow();
    expect(checkManifest(manifest)).toEqual([]);
    const sizedPod = manifest.toJSON() as any;
    expect(podSecurityProblems(sizedPod)).toEqual([]);
    const resources = sizedPod.spec.containers[0].resources;
    // 1.25 GiB of state plus the 1 GiB /tmp, requested only: a limit would evict.
    expect(resources.requests['ephemeral-storage']).toBe(`${1280 + 1024}Mi`);
    expect(resources.limits['ephemeral-storage']).toBeUndefined();
    expect(sizedPod.metadata.annotations).toMatchObject({
      'kubernetes.io/ingress-bandwidth': '25M',
      'kubernetes.io/egress-bandwidth': '25M',
      'warmflow.dev/storage-type': 'local_disk',
    });
    // Without them, nothing changes.
    expect(pod.spec.containers[0].resources.requests['ephemeral-storage']).toBeUndefined();
    expect(pod.metadata.annotations['kubernetes.io/ingress-bandwidth']).toBeUndefined();
  });

  it('the security check fails pods that break restricted', () => {
    const broken = structuredClone(pod);
    broken.spec.containers[0].securityContext = { privileged: true };
    broken.spec.securityContext = {};
    broken.spec.automountServiceAccountToken = true;
    broken.spec.volumes.push({ name: 'host', hostPath: { path: '/' } });
    broken.spec.containers[0].resources.requests.cpu = '1';
    const problems = podSecurityProblems(broken);
    for (const fragment of [
      'privileged',
      'privilege escalation',
      'ALL capabilities',
      'root',
      'seccomp',
      'writable root',
      'service account token',
      'hostPath',
      'Guaranteed',
    ]) {
      expect(problems.join('\n')).toContain(fragment);
    }
  });

  it('carries labels for adoption and never puts secrets in the pod spec', () => {
    expect(pod.metadata.labels).toMatchObject({
      [LABEL.template]: 'click_stream',
      [LABEL.tenant]: expect.stringMatching(/^acme-corp-[0-9a-f]{6}$/),
      [LABEL.node]: expect.stringMatching(/^parse-enrich-[0-9a-f]{6}$/),
      [LABEL.pool]: expect.any(String),
      [LABEL.resourceId]: 'wf-click-stream-parse-enrich-0a1b2c',
    });
    expect(JSON.parse(pod.metadata.annotations['warmflow.dev/rpr'])).toEqual(request.rpr);
    const text = JSON.stringify(pod);
    expect(text).not.toContain('a-token');
    expect(text).not.toContain('secret@');
    const env = pod.spec.containers[0].env;
    expect(
      env.find((e: any) => e.name === 'WARMFLOW_WORKER_TOKEN').valueFrom.secretKeyRef.name,
    ).toBe(byKind('Secret')[0].metadata.name);
    const warmKey = env.find((e: any) => e.name === 'WARMFLOW_WARM_SPEC').valueFrom.secretKeyRef
      .key;
    expect(JSON.parse(byKind('Secret')[0].stringData[warmKey])).toEqual(request.warm);
  });

  it('quota and limits come from the tenant quotas', () => {
    expect(byKind('ResourceQuota')[0].spec.hard).toEqual({
      'requests.cpu': '16',
      'limits.cpu': '16',
      'requests.memory': '64Gi',
      'limits.memory': '64Gi',
      pods: '50',
      'requests.nvidia.com/gpu': '2',
    });
    expect(byKind('LimitRange')[0].spec.limits[0].max).toEqual({ cpu: '16', memory: '64Gi' });
  });

  it('the service account never mounts its token', () => {
    expect(byKind('ServiceAccount')[0].automountServiceAccountToken).toBe(false);
    expect(pod.spec.serviceAccountName).toBe(byKind('ServiceAccount')[0].metadata.name);
  });

  it('network policies deny by default and open only orchestrator, DNS and the stores', () => {
    const policies = byKind('NetworkPolicy');
    const deny = policies.find((p) => p.metadata.name === 'warmflow-default-deny');
    expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    const ingress = policies.filter((p) => p.spec.ingress !== undefined);
    expect(ingress).toHaveLength(1);
    expect(ingress[0].spec.ingress[0].ports).toEqual([
      { protocol: 'TCP', port: options.workerPort },
    ]);
    const dns = policies.find((p) => p.metadata.name === 'warmflow-allow-dns');
    expect(dns.spec.egress[0].ports.map((p: any) => p.port)).toEqual([53, 53]);
    const stores = policies.filter(
      (p) => p.metadata.annotations?.['warmflow.dev/store'] !== undefined,
    );
    expect(
      stores.map((p) => [p.metadata.annotations['warmflow.dev/store'], p.spec.egress[0]]),
    ).toEqual([
      [
        'cache',
        { to: [{ ipBlock: { cidr: '10.0.0.5/32' } }], ports: [{ protocol: 'TCP', port: 6380 }] },
      ],
      [
        'db',
        {
          to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'data' } } }],
          ports: [{ protocol: 'TCP', port: 5432 }],
        },
      ],
    ]);
    // every egress rule names its port: no policy opens all ports
    for (const policy of policies)
      for (const rule of policy.spec.egress ?? []) expect(rule.ports.length).toBeGreaterThan(0);
  });

  it('reads store endpoints, skipping embedded stores', () => {
    expect(
      storeEndpoints({
        a: { kind: 'memory' },
        b: { kind: 'redis', url: 'redis://[fd00::5]:7000' },
      }),
    ).toEqual([
      { store: 'b', url: 'redis://[fd00::5]:7000', port: 7000, match: { ipBlock: 'fd00::5/128' } },
    ]);
  });

  it('never opens egress to link-local, loopback, system or warmflow namespaces, or any host by port', () => {
    const refused = [
      'redis://169.254.169.254:80',
      'redis://169.254.0.1',
      'redis://[fe80::1]:6379',
      'redis://[febf::1]:6379',
      'redis://127.0.0.1',
      'redis://[::1]',
      'redis://[::ffff:169.254.169.254]',
      'redis://0.0.0.0',
      'redis://redis.example.com',
      'redis://localhost',
      'redis://metadata.google.internal',
      'redis://kube-dns.kube-system.svc.cluster.local:53',
      'redis://kubernetes.default.svc:443',
      'postgres://x.kube-public.svc/db',
      'redis://w.warmflow-other-abc123.svc',
      'redis://api.warmflow-system.svc.cluster.local',
    ];
    for (const url of refused) {
      expect(() => storeEndpoints({ s: { kind: 'redis', url } }), url).toThrow(
        expect.objectContaining({ code: 'E_STORE_EGRESS' }),
      );
    }
    expect(
      storeEndpoints({ s: { kind: 'redis', url: 'redis://r.data.svc:6380' } })[0].match,
    ).toEqual({ namespace: 'data' });
  });

  it('refuses the disguises of metadata, system and unrestricted destinations', () => {
    const refused = [
      'redis://2852039166', // 169.254.169.254 as one number
      'redis://0xa9.0xfe.0xa9.0xfe:6379', // and in hex
      'redis://[::ffff:a9fe:a9fe]',
      'redis://[fe80::1%25eth0]:6379', // IPv6 link-local with a zone: not even a URL
      'redis://[fe80::]',
      'redis://0.0.0.0:6379/0', // "0.0.0.0/0"
      'redis://redis:6379', // a bare name: no NetworkPolicy can narrow it
      'redis://kube-dns.kube-system:53', // a system Service without .svc
      'redis://169.254.169.254.nip.io', // a name that resolves anywhere
      'postgres://x.kube-system.svc.cluster.local./db',
      'redis://kubernetes.default.svc.cluster.local:443',
      'not a url',
    ];
    for (const url of refused) {
      expect(() => storeEndpoints({ s: { kind: 'redis', url } }), url).toThrow(
        expect.objectContaining({ code: 'E_STORE_EGRESS' }),
      );
    }
  });

  it('never opens egress into a denied range (the API server, an admin range)', () => {
    const denied = resolveManifestOptions({
      deniedCidrs: ['10.96.0.1', '192.168.0.0/16', 'fd00:1::/64'],
    });
    for (const url of ['redis://10.96.0.1:443', 'redis://192.168.7.7', 'redis://[fd00:1::9]']) {
      expect(() => storeEndpoints({ s: { kind: 'redis', url } }, denied), url).toThrow(
        expect.objectContaining({
          code: 'E_STORE_EGRESS',
          message: expect.stringContaining('denies'),
        }),
      );
    }
    expect(
      storeEndpoints({ s: { kind: 'redis', url: 'redis://10.96.0.2' } }, denied)[0].match,
    ).toEqual({
      ipBlock: '10.96.0.2/32',
    });
    expect(apiServerAddress({ server: 'https://10.96.0.1:443' })).toEqual(['10.96.0.1']);
    expect(apiServerAddress({ server: 'https://[fd00::1]:6443' })).toEqual(['fd00::1']);
    expect(apiServerAddress({ server: 'https://api.example.com' })).toEqual([]);
    expect(apiServerAddress({})).toEqual([]);
  });

  it('prints multi-document YAML that parses back to the same objects', () => {
    const docs = toYaml(all)
      .split(/^---$/m)
      .map((doc) => parse(doc));
    expect(docs).toEqual(all.map((m) => m.toJSON()));
  });

  it('merges the WarmSpecs of several pods into one pool Secret', () => {
    const other = buildProvisionManifests(
      {
        ...request,
        rpr: { ...request.rpr, node_id: 'count' },
        node_ids: ['count'],
        warm: { functions: [], stores: {} },
      },
      'wf-click-stream-count-0a1b2c',
      DEFAULT_TENANT_QUOTAS,
      options,
    );
    const secrets = applyOrder([built, other]).filter((m) => m.kind === 'Secret');
    expect(secrets).toHaveLength(1);
    expect(Object.keys((secrets[0].toJSON() as any).stringData)).toHaveLength(3);
  });
});

describe('the worker invocation', () => {
  it('speaks the flags and environment of src/worker', async () => {
    const main = await import('../../../worker/main.js');
    const spawn = await import('../../../worker/spawn.js');
    expect(TOKEN_ENV).toBe(main.TOKEN_ENV);
    expect(WARM_ENV).toBe(main.SPEC_ENV);
    for (const gb of [0.25, 1, 1.5, 8]) expect(heapLimitMb(gb)).toBe(spawn.heapLimitMb(gb));
    const container = pod.spec.containers[0];
    const parsed = main.parseWorkerArgs(container.args, {
      [main.TOKEN_ENV]: 'x'.repeat(32),
      [main.SPEC_ENV]: JSON.stringify(request.warm),
    });
    expect(parsed).toMatchObject({
      resourceId: 'wf-click-stream-parse-enrich-0a1b2c',
      nodeIds: ['parse', 'enrich'],
      cpuCores: 2,
      memoryGb: 1.5,
      host: '0.0.0.0',
      port: options.workerPort,
    });
  });
});
