import type { IncomingMessage } from 'node:http';

/* Helpers of the fake Kubernetes API server: request bodies, label selectors, JSON merge
 * patch, what the API server does to a Secret on write, and quota arithmetic. */

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The whole request body as text. */
export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** An equality-only label selector (`a=b,c=d`) as a map. */
export function parseSelector(text: string): Record<string, string> {
  const selector: Record<string, string> = {};
  for (const part of text.split(',').filter(Boolean)) {
    const [key, value] = part.split('=');
    selector[key] = value ?? '';
  }
  return selector;
}

/** Whether an object's labels satisfy a selector. */
export function matches(object: Obj, selector: Record<string, string>): boolean {
  const labels: Record<string, string> = object.metadata?.labels ?? {};
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch))
    return structuredClone(patch);
  const result: Obj =
    target !== null && typeof target === 'object' && !Array.isArray(target)
      ? structuredClone(target as Obj)
      : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/** What the API server does on write: Secret stringData folds into base64 data. */
export function normalise(object: Obj): void {
  if (object.kind === 'Secret' && object.stringData !== undefined) {
    object.data = { ...object.data };
    for (const [k, v] of Object.entries(object.stringData as Record<string, string>)) {
      object.data[k] = Buffer.from(v).toString('base64');
    }
    delete object.stringData;
  }
}

/** Enough of Kubernetes quantities for the tests (`500m`, `2`, `1Gi`). */
export function quantity(text: string): number {
  const m = /^([0-9.]+)(m|Ki|Mi|Gi)?$/.exec(String(text));
  if (m === null) return Number(text);
  const scale: Record<string, number> = { m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 };
  return Number(m[1]) * (m[2] === undefined ? 1 : scale[m[2]]);
}

/** What a pod counts against a ResourceQuota, keyed as the quota keys it. */
export function podUsage(pod: Obj): Record<string, number> {
  const usage: Record<string, number> = { pods: 1 };
  for (const container of pod.spec?.containers ?? []) {
    for (const [k, v] of Object.entries(
      (container.resources?.limits ?? {}) as Record<string, string>,
    )) {
      const key = k === 'nvidia.com/gpu' ? 'requests.nvidia.com/gpu' : `limits.${k}`;
      usage[key] = (usage[key] ?? 0) + quantity(v);
    }
    for (const [k, v] of Object.entries(
      (container.resources?.requests ?? {}) as Record<string, string>,
    )) {
      if (k === 'nvidia.com/gpu') continue;
      usage[`requests.${k}`] = (usage[`requests.${k}`] ?? 0) + quantity(v);
    }
  }
  return usage;
}
