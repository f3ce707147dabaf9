import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  matches,
  mergePatch,
  normalise,
  parseSelector,
  podUsage,
  quantity,
  readBody,
} from './fake-kube-helpers.js';

/* A small in-process Kubernetes API server for tests: enough of the real one's behaviour
 * (discovery, create/read/patch/delete/list, 409 AlreadyExists, ResourceQuota admission with
 * its real 403 message, pod watch with resourceVersions, 410 Gone after compaction) that the
 * provider runs through the real @kubernetes/client-node against it. */

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Resource {
  plural: string;
  kind: string;
  apiVersion: string;
  namespaced: boolean;
}

const RESOURCES: Resource[] = [
  { plural: 'namespaces', kind: 'Namespace', apiVersion: 'v1', namespaced: false },
  { plural: 'pods', kind: 'Pod', apiVersion: 'v1', namespaced: true },
  { plural: 'secrets', kind: 'Secret', apiVersion: 'v1', namespaced: true },
  { plural: 'serviceaccounts', kind: 'ServiceAccount', apiVersion: 'v1', namespaced: true },
  { plural: 'resourcequotas', kind: 'ResourceQuota', apiVersion: 'v1', namespaced: true },
  { plural: 'limitranges', kind: 'LimitRange', apiVersion: 'v1', namespaced: true },
  {
    plural: 'networkpolicies',
    kind: 'NetworkPolicy',
    apiVersion: 'networking.k8s.io/v1',
    namespaced: true,
  },
];

/** What happens to a pod after it is created. */
export type PodFate =
  | { kind: 'ready'; afterMs?: number }
  | { kind: 'unschedulable'; message: string }
  | { kind: 'image-pull' }
  | { kind: 'stay-pending' };

interface WatchStream {
  res: ServerResponse;
  selector: Record<string, string>;
}

/** The fake API server. Start it, point a KubeConfig at {@link FakeKubeApi.kubeconfigYaml}. */
export class FakeKubeApi {
  readonly #server: Server;
  readonly objects = new Map<string, Obj>();
  readonly requests: string[] = [];
  #rv = 100;
  #podEvents: Array<{ rv: number; type: string; object: Obj }> = [];
  #compactedBelow = 0;
  readonly #watches = new Set<WatchStream>();
  #nextIp = 10;
  /** Decides each new pod's fate; default: Ready after 20 ms. */
  podFate: (pod: Obj) => PodFate = () => ({ kind: 'ready', afterMs: 20 });
  /** The IP a pod gets when it starts (point it at an in-process worker to test the link). */
  podIP: () => string = () => `10.244.0.${this.#nextIp++}`;
  /** When set, a watch from a compacted version gets HTTP 410 instead of an ERROR event. */
  goneAsHttpStatus = false;
  /** Failures to inject: `METHOD plural` → status + message, used once each. */
  readonly failures: Array<{ match: string; status: number; reason: string; message: string }> = [];
  url = '';

  constructor() {
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) =>
        this.#status(res, 500, 'InternalError', String(error)),
      );
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const watch of this.#watches) watch.res.end();
    this.#watches.clear();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** A kubeconfig that reaches this server. */
  kubeconfigYaml(): string {
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{ name: fake, cluster: { server: "' +
        this.url +
        '", insecure-skip-tls-verify: true } }]',
      'users: [{ name: tester, user: { token: fake-token } }]',
      'contexts: [{ name: fake, context: { cluster: fake, user: tester, namespace: default } }]',
      'current-context: fake',
    ].join('\n');
  }

  /** Objects of one kind (optionally one namespace). */
  list(kind: string, namespace?: string): Obj[] {
    return [...this.objects.values()].filter(
      (o) => o.kind === kind && (namespace === undefined || o.metadata.namespace === namespace),
    );
  }

  pod(name: string): Obj | undefined {
    return this.list('Pod').find((p) => p.metadata.name === name);
  }

  /** Changes a pod's status as the kubelet would, and tells the watchers. */
  setPodStatus(name: string, status: Obj): void {
    const pod = this.pod(name);
    if (pod === undefined) throw new Error(`no pod ${name}`);
    pod.status = status;
    this.#changed('MODIFIED', pod);
  }

  /** The kubelet killing a container for exceeding its memory limit. */
  oomKill(name: string): void {
    this.setPodStatus(name, {
      ...this.pod(name)!.status,
      phase: 'Failed',
      conditions: [{ type: 'Ready', status: 'False' }],
      containerStatuses: [
        {
          name: 'worker',
          ready: false,
          state: { terminated: { reason: 'OOMKilled', exitCode: 137 } },
        },
      ],
    });
  }

  /** Node-pressure eviction. */
  evict(name: string): void {
    this.setPodStatus(name, {
      ...this.pod(name)!.status,
      phase: 'Failed',
      reason: 'Evicted',
      message: 'The node was low on resource: memory.',
    });
  }

  /** Drops the event history (etcd compaction) and ends open watches with 410 Gone. */
  compact(): void {
    // Like etcd compaction: every version before the current one is gone, a fresh list's is not.
    this.#compactedBelow = this.#rv;
    this.#podEvents = [];
    for (const watch of this.#watches) {
      watch.res.end(
        JSON.stringify({
          type: 'ERROR',
          object: this.#statusBody(410, 'Expired', 'too old resource version'),
        }) + '\n',
      );
    }
    this.#watches.clear();
  }

  /** Ends open watches normally (the server-side watch timeout). */
  endWatches(): void {
    for (const watch of this.#watches) watch.res.end();
    this.#watches.clear();
  }

  /** Deletes a pod behind warmflow's back (kubectl delete). */
  deleteBehindBack(name: string): void {
    const pod = this.pod(name);
    if (pod !== undefined) this.#remove(pod);
  }

  /** Removes a pod without telling watchers: only a re-list can notice. */
  vanishQuietly(name: string): void {
    const pod = this.pod(name);
    if (pod !== undefined)
      this.objects.delete(this.#key('pods', pod.metadata.namespace, pod.metadata.name));
  }

  get openWatches(): number {
    return this.#watches.size;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const method = req.method ?? 'GET';
    this.requests.push(
      `${method} ${url.pathname}${url.searchParams.get('watch') === 'true' ? '?watch' : ''}`,
    );
    if (url.pathname === '/api/v1' || url.pathname === '/apis/networking.k8s.io/v1') {
      const group = url.pathname === '/api/v1' ? 'v1' : 'networking.k8s.io/v1';
      return this.#json(res, 200, {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: group,
        resources: RESOURCES.filter((r) => r.apiVersion === group).map((r) => ({
          name: r.plural,
          singularName: r.kind.toLowerCase(),
          namespaced: r.namespaced,
          kind: r.kind,
          verbs: ['create', 'delete', 'get', 'list', 'patch', 'watch'],
        })),
      });
    }
    const match =
      /^\/(?:api\/v1|apis\/networking\.k8s\.io\/v1)(?:\/namespaces\/([^/]+))?\/([a-z]+)(?:\/([^/]+))?$/.exec(
        url.pathname,
      );
    const simple = /^\/api\/v1\/namespaces(?:\/([^/]+))?$/.exec(url.pathname);
    let namespace: string | undefined;
    let plural: string;
    let name: string | undefined;
    if (simple !== null) {
      plural = 'namespaces';
      name = simple[1];
    } else if (match !== null) {
      namespace = match[1];
      plural = match[2]!;
      name = match[3];
    } else return this.#status(res, 404, 'NotFound', `no route ${url.pathname}`);
    const resource = RESOURCES.find((r) => r.plural === plural);
    if (resource === undefined)
      return this.#status(res, 404, 'NotFound', `unknown resource ${plural}`);
    const failure = this.failures.findIndex((f) => f.match === `${method} ${plural}`);
    if (failure >= 0) {
      const [f] = this.failures.splice(failure, 1);
      return this.#status(res, f.status, f.reason, f.message);
    }
    const body =
      method === 'POST' || method === 'PATCH'
        ? (JSON.parse(await readBody(req)) as Obj)
        : undefined;

    if (method === 'GET' && name === undefined) {
      const selector = parseSelector(url.searchParams.get('labelSelector') ?? '');
      if (url.searchParams.get('watch') === 'true') return this.#watch(res, url, selector);
      const items = [...this.objects.values()]
        .filter(
          (o) =>
            o.kind === resource.kind &&
            (namespace === undefined || o.metadata.namespace === namespace),
        )
        .filter((o) => matches(o, selector))
        .map((o) => this.#view(o));
      return this.#json(res, 200, {
        kind: `${resource.kind}List`,
        apiVersion: resource.apiVersion,
        metadata: { resourceVersion: String(this.#rv) },
        items,
      });
    }
    if (method === 'POST') return this.#create(res, resource, namespace, body!);
    const key = this.#key(plural, namespace, name);
    const existing = this.objects.get(key);
    if (existing === undefined)
      return this.#status(res, 404, 'NotFound', `${plural} "${name}" not found`);
    if (method === 'GET') return this.#json(res, 200, this.#view(existing));
    if (method === 'PATCH') {
      if (req.headers['content-type'] !== 'application/merge-patch+json') {
        return this.#status(
          res,
          415,
          'UnsupportedMediaType',
          `unsupported patch type ${req.headers['content-type']}`,
        );
      }
      const patched = mergePatch(existing, body!) as Obj;
      normalise(patched);
      patched.metadata.resourceVersion = String(++this.#rv);
      this.objects.set(key, patched);
      return this.#json(res, 200, patched);
    }
    if (method === 'DELETE') {
      this.#remove(existing);
      if (resource.kind === 'Namespace') {
        for (const [k, o] of [...this.objects])
          if (o.metadata.namespace === name) this.objects.delete(k);
      }
      return this.#json(res, 200, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Success',
      });
    }
    return this.#status(res, 405, 'MethodNotAllowed', method);
  }

  #create(res: ServerResponse, resource: Resource, namespace: string | undefined, body: Obj): void {
    const name = body.metadata?.name as string;
    if (resource.namespaced && !this.objects.has(this.#key('namespaces', undefined, namespace!))) {
      return this.#status(res, 404, 'NotFound', `namespaces "${namespace}" not found`);
    }
    const key = this.#key(resource.plural, namespace, name);
    if (this.objects.has(key)) {
      return this.#status(res, 409, 'AlreadyExists', `${resource.plural} "${name}" already exists`);
    }
    if (resource.kind === 'Pod') {
      const refusal = this.#quotaRefusal(namespace!, body);
      if (refusal !== undefined)
        return this.#status(res, 403, 'Forbidden', `pods "${name}" is forbidden: ${refusal}`);
    }
    const object: Obj = structuredClone(body);
    object.apiVersion = resource.apiVersion;
    object.kind = resource.kind;
    object.metadata = {
      ...object.metadata,
      resourceVersion: String(++this.#rv),
      uid: `uid-${this.#rv}`,
    };
    if (resource.namespaced) object.metadata.namespace = namespace;
    normalise(object);
    this.objects.set(key, object);
    if (resource.kind === 'Pod') {
      object.status = { phase: 'Pending' };
      this.#changed('ADDED', object);
      this.#schedule(object);
    }
    this.#json(res, 201, object);
  }

  #schedule(pod: Obj): void {
    const fate = this.podFate(pod);
    const name = pod.metadata.name as string;
    if (fate.kind === 'unschedulable') {
      setTimeout(() => {
        if (this.pod(name) === undefined) return;
        this.setPodStatus(name, {
          phase: 'Pending',
          conditions: [
            {
              type: 'PodScheduled',
              status: 'False',
              reason: 'Unschedulable',
              message: fate.message,
            },
          ],
        });
      }, 5);
    } else if (fate.kind === 'image-pull') {
      setTimeout(() => {
        if (this.pod(name) === undefined) return;
        this.setPodStatus(name, {
          phase: 'Pending',
          conditions: [{ type: 'PodScheduled', status: 'True' }],
          containerStatuses: [
            {
              name: 'worker',
              ready: false,
              state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image' } },
            },
          ],
        });
      }, 5);
    } else if (fate.kind === 'ready') {
      setTimeout(() => {
        if (this.pod(name) === undefined) return;
        this.setPodStatus(name, {
          phase: 'Running',
          podIP: this.podIP(),
          conditions: [
            { type: 'PodScheduled', status: 'True' },
            { type: 'Ready', status: 'True' },
          ],
          containerStatuses: [
            {
              name: 'worker',
              ready: true,
              state: { running: { startedAt: new Date().toISOString() } },
            },
          ],
        });
      }, fate.afterMs ?? 20);
    }
  }

  /** ResourceQuota admission, with the API server's own wording. */
  #quotaRefusal(namespace: string, pod: Obj): string | undefined {
    for (const quota of this.list('ResourceQuota', namespace)) {
      const hard: Record<string, string> = quota.spec?.hard ?? {};
      const used = this.#used(namespace);
      const asked = podUsage(pod);
      const over = Object.keys(hard).filter(
        (k) =>
          asked[k] !== undefined && asked[k] > 0 && (used[k] ?? 0) + asked[k] > quantity(hard[k]),
      );
      if (over.length > 0) {
        const list = (m: Record<string, number>) => over.map((k) => `${k}=${m[k] ?? 0}`).join(',');
        return `exceeded quota: ${quota.metadata.name}, requested: ${list(asked)}, used: ${list(used)}, limited: ${over.map((k) => `${k}=${hard[k]}`).join(',')}`;
      }
    }
    return undefined;
  }

  #used(namespace: string): Record<string, number> {
    const used: Record<string, number> = {};
    for (const pod of this.list('Pod', namespace)) {
      if (pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded') continue;
      for (const [k, v] of Object.entries(podUsage(pod))) used[k] = (used[k] ?? 0) + v;
    }
    return used;
  }

  /** A stored object as the API returns it (quota status filled in as the quota controller would). */
  #view(object: Obj): Obj {
    if (object.kind !== 'ResourceQuota') return object;
    const used = this.#used(object.metadata.namespace);
    const hard: Record<string, string> = object.spec?.hard ?? {};
    return {
      ...object,
      status: {
        hard,
        used: Object.fromEntries(Object.keys(hard).map((k) => [k, String(used[k] ?? 0)])),
      },
    };
  }

  #watch(res: ServerResponse, url: URL, selector: Record<string, string>): void {
    const from = Number(url.searchParams.get('resourceVersion') ?? '0');
    if (from !== 0 && from < this.#compactedBelow) {
      if (this.goneAsHttpStatus)
        return this.#status(res, 410, 'Expired', `too old resource version: ${from}`);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          type: 'ERROR',
          object: this.#statusBody(410, 'Expired', `too old resource version: ${from}`),
        }) + '\n',
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    for (const event of this.#podEvents) {
      if (event.rv > from && matches(event.object, selector))
        res.write(JSON.stringify({ type: event.type, object: event.object }) + '\n');
    }
    const stream = { res, selector };
    this.#watches.add(stream);
    res.on('close', () => this.#watches.delete(stream));
  }

  #changed(type: string, pod: Obj): void {
    pod.metadata.resourceVersion = String(++this.#rv);
    const object = structuredClone(pod);
    this.#podEvents.push({ rv: this.#rv, type, object });
    for (const watch of this.#watches) {
      if (matches(object, watch.selector)) watch.res.write(JSON.stringify({ type, object }) + '\n');
    }
  }

  #remove(object: Obj): void {
    const resource = RESOURCES.find((r) => r.kind === object.kind)!;
    this.objects.delete(
      this.#key(resource.plural, object.metadata.namespace, object.metadata.name),
    );
    if (object.kind === 'Pod') {
      object.metadata.deletionTimestamp = new Date().toISOString();
      this.#changed('DELETED', object);
    }
  }

  #key(plural: string, namespace: string | undefined, name: string): string {
    return `${plural}|${plural === 'namespaces' ? '' : (namespace ?? '')}|${name}`;
  }

  #statusBody(code: number, reason: string, message: string): Obj {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason,
      code,
    };
  }

  #status(res: ServerResponse, code: number, reason: string, message: string): void {
    this.#json(res, code, this.#statusBody(code, reason, message));
  }

  #json(res: ServerResponse, code: number, body: unknown): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }
}
