/**
 * The fields warmflow may emit, per kind, spelled as the Kubernetes API spells them.
 * `kubernetes-models` validation accepts unknown fields (a typo like `readOnlyRootFileSystem`
 * would pass and be silently dropped by the API server, leaving the root writable), so every
 * manifest is also walked against this list. Extend it when a builder learns a new field.
 *
 * A node is `true` (a scalar), `'map'` (free keys, scalar values: labels, quantities),
 * an object of allowed keys, or a one-element array (every element has that shape).
 */
export type Allowed = true | 'map' | { readonly [key: string]: Allowed } | readonly [Allowed];

const META: Allowed = { name: true, namespace: true, labels: 'map', annotations: 'map' };
const SELECTOR: Allowed = { matchLabels: 'map' };
const PEER: Allowed = {
  ipBlock: { cidr: true, except: [true] },
  namespaceSelector: SELECTOR,
  podSelector: SELECTOR,
};
const NP_PORT: Allowed = { protocol: true, port: true, endPort: true };
const SECCOMP: Allowed = { type: true, localhostProfile: true };

const CONTAINER: Allowed = {
  name: true,
  image: true,
  imagePullPolicy: true,
  workingDir: true,
  command: [true],
  args: [true],
  env: [{ name: true, value: true, valueFrom: { secretKeyRef: { name: true, key: true } } }],
  ports: [{ name: true, containerPort: true, protocol: true }],
  resources: { requests: 'map', limits: 'map' },
  readinessProbe: {
    tcpSocket: { port: true },
    exec: { command: [true] },
    initialDelaySeconds: true,
    periodSeconds: true,
    timeoutSeconds: true,
    failureThreshold: true,
  },
  securityContext: {
    runAsNonRoot: true,
    runAsUser: true,
    runAsGroup: true,
    allowPrivilegeEscalation: true,
    readOnlyRootFilesystem: true,
    capabilities: { drop: [true] },
    seccompProfile: SECCOMP,
  },
  volumeMounts: [{ name: true, mountPath: true, readOnly: true }],
};

/** Allowed fields by `kind`. */
export const FIELD_ALLOW_LIST: Readonly<Record<string, Allowed>> = {
  Namespace: { apiVersion: true, kind: true, metadata: META },
  ServiceAccount: {
    apiVersion: true,
    kind: true,
    metadata: META,
    automountServiceAccountToken: true,
  },
  ResourceQuota: { apiVersion: true, kind: true, metadata: META, spec: { hard: 'map' } },
  LimitRange: {
    apiVersion: true,
    kind: true,
    metadata: META,
    spec: {
      limits: [{ type: true, default: 'map', defaultRequest: 'map', max: 'map', min: 'map' }],
    },
  },
  NetworkPolicy: {
    apiVersion: true,
    kind: true,
    metadata: META,
    spec: {
      podSelector: SELECTOR,
      policyTypes: [true],
      ingress: [{ from: [PEER], ports: [NP_PORT] }],
      egress: [{ to: [PEER], ports: [NP_PORT] }],
    },
  },
  Secret: { apiVersion: true, kind: true, metadata: META, type: true, stringData: 'map' },
  Pod: {
    apiVersion: true,
    kind: true,
    metadata: META,
    spec: {
      serviceAccountName: true,
      automountServiceAccountToken: true,
      enableServiceLinks: true,
      restartPolicy: true,
      terminationGracePeriodSeconds: true,
      nodeSelector: 'map',
      tolerations: [
        { key: true, operator: true, value: true, effect: true, tolerationSeconds: true },
      ],
      securityContext: {
        runAsNonRoot: true,
        runAsUser: true,
        runAsGroup: true,
        fsGroup: true,
        seccompProfile: SECCOMP,
      },
      containers: [CONTAINER],
      volumes: [{ name: true, emptyDir: { sizeLimit: true, medium: true } }],
    },
  },
};

/** Paths (`spec.containers[0].foo`) of every field of `value` that `allowed` does not list. */
export function unknownFields(value: unknown, allowed: Allowed, path = ''): string[] {
  if (value === undefined || value === null) return [];
  if (allowed === true) {
    return typeof value === 'object' ? [`${path} (expected a scalar)`] : [];
  }
  if (allowed === 'map') {
    if (typeof value !== 'object' || Array.isArray(value)) return [`${path} (expected a map)`];
    return Object.entries(value)
      .filter(([, v]) => typeof v === 'object' && v !== null)
      .map(([k]) => `${path}.${k} (expected a scalar)`);
  }
  if (Array.isArray(allowed)) {
    if (!Array.isArray(value)) return [`${path} (expected a list)`];
    return value.flatMap((item, index) =>
      unknownFields(item, allowed[0] as Allowed, `${path}[${index}]`),
    );
  }
  if (typeof value !== 'object' || Array.isArray(value)) return [`${path} (expected an object)`];
  const shape = allowed as { readonly [key: string]: Allowed };
  return Object.entries(value as Record<string, unknown>).flatMap(([key, child]) => {
    const childPath = path === '' ? key : `${path}.${key}`;
    const rule = Object.hasOwn(shape, key) ? shape[key] : undefined;
    return rule === undefined ? [childPath] : unknownFields(child, rule, childPath);
  });
}
