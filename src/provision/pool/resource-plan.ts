import path from 'node:path';
import { ValidationError, type Problem } from '../../errors.js';
import type { Rpr } from '../../predictor/rpr.js';
import { flowVersion } from '../../template/flow-version.js';
import { planGroups } from '../../template/placement-groups.js';
import type { StoreSpec, Template, TypeSpec, WorkerGrant } from '../../template/types.js';
import type { DeployTemplate } from '../../worker/dataplane/deploy-spec.js';
import type { WarmSpec } from '../provider.js';

/**
 * The part of a loaded flow (`LoadedFlow` of `template/`) pools need: the template, each
 * function's absolute module path and export, and the store catalogue (relative sqlite paths are
 * resolved against `dir`).
 */
export interface PoolFlow {
  template: Template;
  functions: Array<{ name: string; module: string | null; export: string }>;
  spec?: { stores?: Record<string, StoreSpec>; types?: Record<string, TypeSpec> };
  dir?: string;
  /** On a server: what the flow's workers were granted. */
  grant?: WorkerGrant;
}

/** One resource of a warm set: the nodes it serves, its (merged) request and what it warms. */
export interface ResourcePlan {
  node_ids: string[];
  rpr: Rpr;
  warm: WarmSpec;
  /**
   * The deploy template of the group's runs (`deployTemplate`), sent to the worker once it is
   * connected, so that even a set's first `df.run` carries only its run part.
   */
  deploy?: { template_id: string; template: DeployTemplate };
}

/** Merges the RPRs of co-located nodes: cores summed and rounded up, memory summed, stores united. */
export function mergeRprs(rprs: Rpr[]): Rpr {
  if (rprs.length === 1) return { ...rprs[0] };
  const stores = [
    ...new Set(rprs.map((r) => r.data_store_instance).filter((s): s is string => s !== null)),
  ];
  const gpu = rprs.some((r) => r.gpu_enabled || r.resource_type === 'GPU');
  const network = rprs.filter((r) => r.network_bandwidth_mbps !== undefined);
  const storage = rprs.flatMap((r) => (r.storage_type === undefined ? [] : [r.storage_type]));
  const storageBytes = rprs.reduce((sum, r) => sum + (r.reasoning?.storage_bytes ?? 0), 0);
  return {
    node_id: rprs.map((r) => r.node_id).join('+'),
    resource_type: gpu ? 'GPU' : 'CPU',
    cpu_cores: Math.ceil(rprs.reduce((sum, r) => sum + r.cpu_cores, 0) - 1e-9),
    memory_gb: Math.round(rprs.reduce((sum, r) => sum + r.memory_gb, 0) * 1000) / 1000,
    gpu_enabled: gpu,
    data_store_instance: stores.length === 0 ? null : stores.join('+'),
    // Records between co-located nodes cross nothing: each node counted only what leaves it.
    ...(network.length > 0
      ? {
          network_bandwidth_mbps:
            Math.round(network.reduce((sum, r) => sum + r.network_bandwidth_mbps!, 0) * 1000) /
            1000,
        }
      : {}),
    // The resource needs local disk if any of its nodes keeps data there.
    ...(storage.length > 0
      ? {
          storage_type: storage.includes('local_disk')
            ? ('local_disk' as const)
            : storage.includes('network_store')
              ? ('network_store' as const)
              : ('memory' as const),
        }
      : {}),
    reasoning: {
      basis: 'rule',
      notes: [`merged from ${rprs.map((r) => r.node_id).join(', ')} (co-located)`],
      ...(storageBytes > 0 ? { storage_bytes: storageBytes } : {}),
    },
  };
}

/**
 * Plans one warm set: one resource per group (default: the placement groups of `planGroups`,
 * the rule executions claim by, so every front door's pool is claimable), each with its merged
 * RPR and the WarmSpec its worker loads before it is ready. A source, read or write node without
 * an RPR rides on its group's resource (the RPRs of `predict` include them; a hand-written file
 * may size only the functions). Problems (an RPR missing for a function or for a whole group, a
 * node in two groups, an unknown node, a function without module) are reported together.
 */
export function planResources(flow: PoolFlow, rprs: Rpr[], groups?: string[][]): ResourcePlan[] {
  const problems: Problem[] = [];
  const nodes = new Map(flow.template.nodes.map((node) => [node.id, node]));
  const byNode = new Map(rprs.map((rpr) => [rpr.node_id, rpr]));
  const chosen = groups ?? planGroups(flow.template);
  const seen = new Set<string>();
  for (const [index, group] of chosen.entries()) {
    if (group.length === 0)
      problems.push({
        code: 'E_EMPTY_GROUP',
        message: `group ${index} is empty`,
        path: `groups[${index}]`,
      });
    else if (group.every((id) => nodes.has(id) && !byNode.has(id)))
      problems.push({
        code: 'E_MISSING_RPR',
        message: `no RPR for any node of group [${group.join(', ')}]`,
        involves: [...group],
      });
    for (const id of group) {
      if (!nodes.has(id))
        problems.push({
          code: 'E_UNKNOWN_NODE',
          message: `node "${id}" is not in template "${flow.template.name}"`,
          involves: [id],
        });
      else if (!byNode.has(id) && nodes.get(id)!.kind === 'function')
        problems.push({
          code: 'E_MISSING_RPR',
          message: `no RPR for node "${id}"`,
          involves: [id],
        });
      if (seen.has(id))
        problems.push({
          code: 'E_NODE_TWICE',
          message: `node "${id}" is in two groups`,
          involves: [id],
        });
      seen.add(id);
      const fn = flow.functions.find((f) => f.name === id);
      if (nodes.get(id)?.kind === 'function' && (fn === undefined || fn.module === null)) {
        problems.push({
          code: 'E_NO_MODULE',
          message: `function "${id}" names no module, so no worker can load it`,
          involves: [id],
        });
      }
    }
  }
  if (problems.length > 0)
    throw new ValidationError(`cannot plan resources for "${flow.template.name}"`, problems);

  const version = flowVersion(flow);
  return chosen.map((group) => {
    const groupRprs = group.map((id) => byNode.get(id)).filter((r): r is Rpr => r !== undefined);
    const storeNames = new Set(
      groupRprs.map((r) => r.data_store_instance).filter((s): s is string => s !== null),
    );
    const stores: Record<string, StoreSpec> = {};
    for (const name of storeNames) {
      const spec = flow.spec?.stores?.[name];
      if (spec === undefined) continue;
      stores[name] =
        spec.path !== undefined && flow.dir !== undefined
          ? { ...spec, path: path.resolve(flow.dir, spec.path) }
          : { ...spec };
    }
    const functions = group
      .map((id) => flow.functions.find((f) => f.name === id))
      .filter(
        (f): f is { name: string; module: string; export: string } =>
          f !== undefined && f.module !== null,
      )
      .map((f) => ({ node_id: f.name, module: f.module, export: f.export }));
    const warm: WarmSpec = { functions, stores, version };
    if (flow.grant !== undefined) warm.grant = flow.grant;
    return { node_ids: [...group], rpr: mergeRprs(groupRprs), warm };
  });
}
