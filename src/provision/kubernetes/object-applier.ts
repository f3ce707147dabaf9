import type { KubeApi, KubeObject } from './kube-api.js';
import { listPods, MERGE_PATCH } from './kube-api.js';
import { isStatus, toWarmflowError } from './kubernetes-errors.js';
import {
  LABEL,
  TOKEN_KEY,
  labelsFor,
  poolSecretName,
  selectorString,
  type KubeManifest,
} from './manifests/index.js';

/**
 * Applies and removes warmflow's objects the way `kubectl apply` would for objects only
 * warmflow owns: create, and on `409 AlreadyExists` merge-patch to the wanted state; delete
 * with `404` counted as done. Failures become WarmflowErrors that say what was being done.
 */
export class ObjectApplier {
  readonly #api: KubeApi;
  readonly #applied = new Map<string, Promise<void>>();

  constructor(api: KubeApi) {
    this.#api = api;
  }

  /** Creates an object; when it exists, merge-patches it (a changed quota or policy takes effect). */
  async ensure(manifest: KubeManifest, tenant: string): Promise<void> {
    const body = manifest.toJSON() as KubeObject;
    const what = `${manifest.kind} ${manifest.metadata?.name ?? ''}`;
    try {
      await this.#api.objects.create(body);
    } catch (error) {
      if (!isStatus(error, 409)) throw toWarmflowError(error, `creating ${what}`, tenant);
      try {
        await this.#api.objects.patch(
          body,
          undefined,
          undefined,
          'warmflow',
          undefined,
          MERGE_PATCH,
        );
      } catch (patchError) {
        throw toWarmflowError(patchError, `updating ${what}`, tenant);
      }
    }
  }

  /** Ensures `manifests` in order, once per `key` per process (again after a failure). */
  ensureOnce(key: string, manifests: readonly KubeManifest[], tenant: string): Promise<void> {
    let pending = this.#applied.get(key);
    if (pending === undefined) {
      pending = (async () => {
        for (const manifest of manifests) await this.ensure(manifest, tenant);
      })();
      pending.catch(() => this.#applied.delete(key));
      this.#applied.set(key, pending);
    }
    return pending;
  }

  /** Keys ensured in this process. */
  get keys(): string[] {
    return [...this.#applied.keys()];
  }

  /** Forgets a key, so the next {@link ensureOnce} applies again (after its objects were deleted). */
  forget(key: string): void {
    this.#applied.delete(key);
  }

  /** Deletes one object; already gone is fine. */
  async remove(
    ref: { apiVersion: string; kind: string; name: string; namespace?: string },
    tenant?: string,
  ): Promise<void> {
    const metadata =
      ref.namespace === undefined
        ? { name: ref.name }
        : { name: ref.name, namespace: ref.namespace };
    try {
      await this.#api.objects.delete({ apiVersion: ref.apiVersion, kind: ref.kind, metadata });
    } catch (error) {
      if (!isStatus(error, 404))
        throw toWarmflowError(error, `deleting ${ref.kind} ${ref.name}`, tenant);
    }
  }

  /** The pool token, read back from the pool Secret (to reconnect to adopted workers). */
  async readPoolToken(namespace: string, template: string): Promise<string> {
    const name = poolSecretName(template);
    const secret = await this.#api.objects.read({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace },
    });
    const encoded = (secret.data as Record<string, string> | undefined)?.[TOKEN_KEY];
    if (encoded === undefined) throw new Error(`Secret ${name} in ${namespace} holds no token`);
    return Buffer.from(encoded, 'base64').toString('utf8');
  }

  /** Worker pods in every namespace matching a label selector. */
  async listPods(labelSelector: string): Promise<KubeObject[]> {
    try {
      return (await listPods(this.#api, labelSelector)).items;
    } catch (error) {
      throw toWarmflowError(error, 'listing worker pods');
    }
  }

  /** Deletes the per-pool objects (Secret, store policies) of a tenant, or of one of its templates. */
  async removePoolObjects(tenant: string, namespace: string, template?: string): Promise<void> {
    const selector = selectorString(labelsFor({ tenant, template }));
    for (const [apiVersion, kind] of [
      ['v1', 'Secret'],
      ['networking.k8s.io/v1', 'NetworkPolicy'],
    ] as const) {
      let items: KubeObject[];
      try {
        items = (
          await this.#api.objects.list(
            apiVersion,
            kind,
            namespace,
            undefined,
            undefined,
            undefined,
            undefined,
            selector,
          )
        ).items;
      } catch (error) {
        if (isStatus(error, 404)) return;
        throw toWarmflowError(error, `listing ${kind}s in ${namespace}`, tenant);
      }
      for (const item of items) {
        // Tenant-wide policies carry no pool label; they stay until the namespace goes.
        if (item.metadata?.labels?.[LABEL.pool] === undefined) continue;
        await this.remove({ apiVersion, kind, name: item.metadata.name!, namespace }, tenant);
      }
    }
  }
}
