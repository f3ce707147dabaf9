import { z } from 'zod';
import { WarmflowError } from '../errors.js';
import type { Template } from '../template/types.js';
import type { Rpr } from './rpr.js';

/**
 * One RPR as any front door accepts it (a file given to `pool up` or `k8s manifests`, a
 * pool request to the server, a control request): the spec's fields, checked, with
 * `resource_type`, `gpu_enabled` and `data_store_instance` optional (defaulted by
 * {@link parseRprs}) and `reasoning` allowed, so `warmflow predict --json` output is valid.
 * Unknown fields are refused: a misspelt `cpu_core` must not silently become the default.
 */
export const RprSchema = z
  .strictObject({
    node_id: z.string().min(1).max(256),
    resource_type: z.enum(['CPU', 'GPU']).optional(),
    cpu_cores: z.number().positive().max(1024),
    memory_gb: z.number().positive().max(65_536),
    gpu_enabled: z.boolean().optional(),
    data_store_instance: z.string().min(1).max(256).nullable().optional(),
    network_bandwidth_mbps: z.number().nonnegative().max(1e7).optional(),
    storage_type: z.enum(['memory', 'local_disk', 'network_store']).optional(),
    reasoning: z.looseObject({}).optional(),
  })
  .refine(
    (r) =>
      r.resource_type === undefined ||
      r.gpu_enabled === undefined ||
      (r.resource_type === 'GPU') === r.gpu_enabled,
    { message: 'resource_type "GPU" goes with gpu_enabled true, "CPU" with false' },
  );

/** An RPR as {@link RprSchema} accepts it (before defaults). */
export type RprInput = z.infer<typeof RprSchema>;

/** Fills an accepted RPR's optional fields: CPU unless GPU-enabled, no store. */
export function normalizeRpr(input: RprInput): Rpr {
  const gpu = input.gpu_enabled ?? input.resource_type === 'GPU';
  return {
    ...(input as Omit<Rpr, 'resource_type' | 'gpu_enabled' | 'data_store_instance'>),
    resource_type: gpu ? 'GPU' : 'CPU',
    gpu_enabled: gpu,
    data_store_instance: input.data_store_instance ?? null,
  };
}

/**
 * Why a list of RPRs does not fit a template, or null: every RPR names one of its nodes and
 * no node has two. (Which nodes need one depends on the placement: the resource planner
 * reports those missing.)
 */
export function rprsMismatch(
  rprs: readonly Pick<Rpr, 'node_id'>[],
  template: Template,
): string | null {
  const nodes = new Set(template.nodes.map((n) => n.id));
  const seen = new Set<string>();
  for (const rpr of rprs) {
    if (!nodes.has(rpr.node_id))
      return `RPR for "${rpr.node_id}", which is not a node of flow "${template.name}" (its nodes: ${[...nodes].join(', ')})`;
    if (seen.has(rpr.node_id)) return `two RPRs for node "${rpr.node_id}"`;
    seen.add(rpr.node_id);
  }
  return null;
}

/**
 * The one RPR validator: takes a JSON value holding RPRs — an array, an object with an
 * `rprs` array (`warmflow predict --json`, a prediction) or one RPR — checks every RPR with
 * {@link RprSchema} and, given the flow's template, that they fit it ({@link rprsMismatch}).
 * Throws `E_INVALID_RPR` naming `where`, the RPR and the field.
 */
export function parseRprs(value: unknown, where: string, template?: Template): Rpr[] {
  const list: unknown[] = Array.isArray(value)
    ? value
    : value !== null && typeof value === 'object' && 'rprs' in value
      ? (value.rprs as unknown[])
      : [value];
  const hint = 'write them with `warmflow predict FLOW --json > rprs.json`';
  if (!Array.isArray(list) || list.length === 0)
    throw new WarmflowError('E_INVALID_RPR', `${where}: no RPRs (an empty or missing list)`, {
      hint,
    });
  const rprs = list.map((item, i) => {
    const parsed = RprSchema.safeParse(item);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue.path.length > 0 ? ` field "${issue.path.join('.')}"` : '';
      const node =
        item !== null && typeof item === 'object' && typeof (item as Rpr).node_id === 'string'
          ? ` (node "${(item as Rpr).node_id}")`
          : '';
      throw new WarmflowError(
        'E_INVALID_RPR',
        `${where}: RPR ${i}${node}${field}: ${issue.message}`,
        { hint: 'an RPR needs node_id, cpu_cores > 0 and memory_gb > 0; ' + hint },
      );
    }
    return normalizeRpr(parsed.data);
  });
  if (template !== undefined) {
    const mismatch = rprsMismatch(rprs, template);
    if (mismatch !== null)
      throw new WarmflowError('E_INVALID_RPR', `${where}: ${mismatch}`, {
        hint: `give at most one RPR per node of the flow; ${hint}`,
      });
  }
  return rprs;
}
