import { Counter } from 'prom-client';
import { parsePolicy } from '../policy/parse-policy.js';
import { PolicyKeeper, type LiveUnit } from '../policy/live/policy-keeper.js';
import type { Rpr } from '../predictor/rpr.js';
import type { Tenant } from '../tenancy/tenancy-store.js';
import { enforceResources } from '../tenancy/quotas.js';
import type { AppState } from './app-state.js';
import type { FlowRecord } from './ports.js';
import { heldBy } from './routes/pools.js';
import { chargeOf } from './resource-charge.js';
import { addAmounts } from '../tenancy/resource-ledger.js';

interface UnitContext {
  tenant: Tenant;
  flow: FlowRecord;
  rprs: Rpr[];
}

interface KeeperUnits {
  /** What each unit's last predicted request was. */
  known: Map<string, UnitContext>;
  /** A unit's first request being predicted: what a pre-warm due meanwhile waits for. */
  pending: Map<string, Promise<UnitContext | undefined>>;
}

const contexts = new WeakMap<PolicyKeeper, KeeperUnits>();
const unitKey = (tenant: string, flowId: string) => `${tenant}\u0000${flowId}`;

/**
 * Builds the keeper `serve --keep-alive-policy` runs: the policy's warm and release
 * decisions go through the same pool port and quota check as `POST /v1/pools`, land on
 * the pool timeline, and are counted in `/metrics` (`warmflow_policy_decisions_total`).
 */
export function createPolicyKeeper(
  state: AppState,
  options: { spec: string; minuteMs: number },
): PolicyKeeper {
  const decisions = new Counter({
    name: 'warmflow_policy_decisions_total',
    help: 'Keep-alive policy decisions and outcomes, by tenant and action',
    labelNames: ['tenant', 'action'],
    registers: [state.metrics.registry],
  });
  const units: KeeperUnits = { known: new Map(), pending: new Map() };
  const { pools } = state.deps;
  const sample = async (tenant: string) => state.timeline.sample(tenant, await pools.list(tenant));
  const keeper = new PolicyKeeper({
    policy: parsePolicy(options.spec),
    minuteMs: options.minuteMs,
    onDecision: (d) => decisions.inc({ tenant: d.tenant, action: d.action }),
    pools: {
      async warm(unit: LiveUnit) {
        // The policy may warm right after a unit's first request, before it is predicted.
        const key = unitKey(unit.tenant, unit.flow_id);
        const ctx = units.known.get(key) ?? (await units.pending.get(key));
        if (ctx === undefined)
          throw new Error(
            `flow ${unit.flow_id} has no prediction to warm by: its first request failed before one was made`,
          );
        // The same admission as `POST /v1/pools`: one at a time per tenant, against what
        // pools hold and what runs in flight hold on demand.
        await state.ledger.exclusive(unit.tenant, async () => {
          const held = await pools.list(unit.tenant);
          const ready = held.some(
            (p) => p.flow_id === unit.flow_id && p.resources.some((r) => r.status === 'ready'),
          );
          if (ready) return;
          enforceResources(
            ctx.tenant.quotas,
            addAmounts(heldBy(held), state.ledger.reserved(unit.tenant)),
            chargeOf(ctx.flow.template, ctx.rprs),
          );
          await pools.preProvision({ tenant: unit.tenant, flow: ctx.flow, rprs: ctx.rprs });
        });
        await sample(unit.tenant);
      },
      async release(unit: LiveUnit) {
        for (const pool of await pools.list(unit.tenant)) {
          if (pool.flow_id === unit.flow_id) await pools.drain(unit.tenant, pool.id);
        }
        await sample(unit.tenant);
      },
    },
  });
  contexts.set(keeper, units);
  return keeper;
}

/**
 * Feeds one execution request to the keeper (when `serve` runs a policy) as it arrives,
 * before prediction, so the minute it counts in is the request's; returns how to hand
 * the keeper the request's RPRs once predicted (what a pre-warm provisions).
 */
export function observeExecution(
  state: AppState,
  tenant: Tenant,
  flow: FlowRecord,
): (rprs: Rpr[] | undefined) => void {
  const keeper = state.keeper;
  if (keeper === undefined) return () => {};
  const units = contexts.get(keeper)!;
  const key = unitKey(tenant.id, flow.id);
  const known = units.known.get(key)?.rprs;
  let settle: ((ctx: UnitContext | undefined) => void) | undefined;
  if (known === undefined && !units.pending.has(key))
    units.pending.set(key, new Promise((resolve) => (settle = resolve)));
  keeper.observe({
    tenant: tenant.id,
    flow_id: flow.id,
    template: flow.template.name,
    // The previous request's RPRs price this one; the first is priced at 128 MB per node.
    memory_mb:
      known === undefined
        ? 128 * flow.template.nodes.length
        : known.reduce((sum, r) => sum + r.memory_gb * 1024, 0),
  });
  // Called with the RPRs once predicted, or undefined when the request failed before.
  return (rprs) => {
    const ctx = rprs === undefined ? undefined : { tenant, flow, rprs };
    if (ctx !== undefined) units.known.set(key, ctx);
    if (settle !== undefined) {
      units.pending.delete(key);
      settle(ctx);
    }
  };
}
