import { randomBytes } from 'node:crypto';
import { WarmflowError } from '../../errors.js';
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { Tenant } from '../../tenancy/tenancy-store.js';
import { enforceResources, QuotaExceededError } from '../../tenancy/quotas.js';
import { addAmounts } from '../../tenancy/resource-ledger.js';
import { chargeOf } from '../resource-charge.js';
import type { AppEnv } from '../auth.js';
import { requireTenant } from '../auth.js';
import { jsonSize, type AppState, type ExecutionRecord } from '../app-state.js';
import { HttpError, notFound, toErrorResponse } from '../http-error.js';
import { applyLiveReport, drainingState } from '../live-executions.js';
import { grantLiveSource } from '../../sources/live/live-grant.js';
import { defaultGroup, isLiveUrl } from '../../sources/live/live-url.js';
import { namespaceOf } from '../../stores/store-catalogue.js';
import { ExecutionCreate, IdParam, PageQuery, WaitQuery } from '../schemas.js';
import { resolveServerPath } from '../server-paths.js';
import type { z } from '@hono/zod-openapi';
import { errors, jsonBody, ok, page } from './route-helpers.js';
import { ExecutionPage, ExecutionSchema } from '../response-schemas.js';
import { flowBase } from './flows.js';
import { profileFor, tenantFlow } from './lookups.js';
import { heldBy } from './pools.js';
import type { ExecutionInput, FlowRecord, PoolView } from '../ports.js';
import type { Rpr } from '../../predictor/rpr.js';

/**
 * A tenant's pools nothing is claimed from, least useful first: other flows' pools before
 * this flow's, then the oldest. This flow's own ready pool is what the run would use.
 */
function idlePools(pools: readonly PoolView[], flowId: string): PoolView[] {
  return pools
    .filter((p) => p.resources.length > 0 && !p.resources.some((r) => r.status === 'claimed'))
    .sort(
      (a, b) =>
        Number(a.flow_id === flowId) - Number(b.flow_id === flowId) ||
        a.created_at.localeCompare(b.created_at),
    );
}
import { observeExecution } from '../policy-keeper-part.js';

/**
 * Charges what a run of `flow` would provision on demand against the tenant's resource
 * quota, one admission at a time per tenant: what pools hold plus what runs in flight hold
 * on demand, plus this run's groups not covered by a ready warm set, must fit. Resolves with
 * the release of that charge.
 */
async function reserveResources(
  state: AppState,
  tenant: Tenant,
  flow: FlowRecord,
  rprs: readonly Rpr[],
  cold: boolean,
): Promise<() => void> {
  return state.ledger.exclusive(tenant.id, async () => {
    for (;;) {
      const pools = await state.deps.pools.list(tenant.id);
      const warmNodes = new Set(
        pools
          .filter((p) => !cold && p.flow_id === flow.id)
          .flatMap((p) =>
            p.resources.filter((r) => r.status === 'ready').flatMap((r) => r.node_ids),
          ),
      );
      const onDemand = chargeOf(flow.template, rprs, (id) => !warmNodes.has(id));
      try {
        enforceResources(
          tenant.quotas,
          addAmounts(heldBy(pools), state.ledger.reserved(tenant.id)),
          onDemand,
        );
      } catch (error) {
        // Warm capacity is speculative: real work first. Release the tenant's least
        // useful idle pool (another flow's, oldest first) and check again.
        const idle = idlePools(pools, flow.id);
        if (!(error instanceof QuotaExceededError) || idle.length === 0) throw error;
        await state.deps.pools.drain(tenant.id, idle[0].id);
        continue;
      }
      return state.ledger.reserve(tenant.id, onDemand);
    }
  });
}

/**
 * Starts a run: checks the concurrency and resource quotas, then hands the run to
 * the executor in the background. Nodes a warm pool of this flow already covers
 * are not counted again; the rest would be provisioned on demand and must fit.
 */
async function startExecution(
  state: AppState,
  tenant: Tenant,
  body: z.infer<typeof ExecutionCreate>,
) {
  const flow = tenantFlow(state, tenant.id, body.flow_id);
  const profile = profileFor(state, tenant.id, flow, body.profile_id);
  const source =
    body.source === undefined
      ? undefined
      : (liveSourceOf(state, tenant.id, flow, body.source) ??
        resolveServerPath(state.areas, tenant.id, body.source, flowBase(flow)));
  const slot = state.slots.acquire(tenant.id, tenant.quotas);
  let record!: ExecutionRecord;
  let unreserve = () => {};
  let undisk = () => {};
  try {
    // The run writes its posted records and its outputs into the tenant's area: admitted only
    // while the area has room (older finished run folders make room first).
    const inFlight = new Set(
      state.executions
        .list(tenant.id)
        .filter((e) => e.status === 'running')
        .map((e) => e.id),
    );
    undisk = await state.disk.admit(
      tenant,
      body.records === undefined ? 0 : Buffer.byteLength(JSON.stringify(body.records)),
      inFlight,
    );
    const dcp = profile?.dcp ?? null;
    const predicted = observeExecution(state, tenant, flow);
    const rprs = await state.deps.predictor
      .predict({ tenant: tenant.id, flow, dcp })
      .catch((error: unknown) => {
        predicted(undefined);
        throw error;
      });
    predicted(rprs);
    unreserve = await reserveResources(state, tenant, flow, rprs, body.cold === true);
    record = {
      id: `x_${randomBytes(6).toString('hex')}`,
      tenant: tenant.id,
      flow_id: flow.id,
      template: flow.template.name,
      status: 'running',
      submitted_at: new Date().toISOString(),
      nodes: flow.template.nodes.map((n) => ({
        node_id: n.id,
        state: 'pending',
        records_in: 0,
        records_out: 0,
      })),
      rprs,
      dcp,
      completion: null,
    };
    // Charged at its size when accepted; it grows as the run reports (bounded by the node count).
    state.chargeMemory(tenant, jsonSize(record));
  } catch (error) {
    unreserve();
    undisk();
    slot();
    throw error;
  }
  const release = () => {
    unreserve();
    undisk();
    slot();
  };
  // Stored before the answer goes out (the route awaits it), so a restart knows the run.
  const accepted = state.executions.set(tenant.id, record.id, record);
  const run = launch(
    state,
    tenant,
    flow,
    record,
    {
      source,
      records: body.records,
      ...(body.max_dead_letter_ratio !== undefined
        ? { max_dead_letter_ratio: body.max_dead_letter_ratio }
        : {}),
      ...(body.cold === true ? { cold: true } : {}),
      ...(body.live !== undefined ? { live: body.live } : {}),
    },
    readsLive(flow, source, body.records),
    release,
  );
  return { record, run, accepted };
}

/** What a run is given besides what {@link launch} fills in from its record. */
type LaunchInput = Omit<
  ExecutionInput,
  'execution_id' | 'tenant' | 'flow' | 'rprs' | 'dcp' | 'signal' | 'onLive' | 'onProgress'
>;

/**
 * Hands an admitted run to the executor in the background: its progress and live figures
 * update `record` (written through now and then, so a restart shows them), its outcome is
 * stored before the returned promise settles, and `release` gives back what admission took.
 */
function launch(
  state: AppState,
  tenant: Tenant,
  flow: FlowRecord,
  record: ExecutionRecord,
  input: LaunchInput,
  live: boolean,
  release: () => void,
): Promise<void> {
  let persistedAt = Date.now();
  // A run on live streams goes on until DELETE drains it (or its own limits end it).
  const drain = new AbortController();
  const liveRuns = liveRunsOf(state);
  if (live) liveRuns.set(record.id, drain);
  let liveSavedAt = 0;
  const run = state.deps.executor
    .execute({
      ...input,
      execution_id: record.id,
      tenant: tenant.id,
      flow,
      rprs: record.rprs,
      dcp: record.dcp,
      signal: drain.signal,
      onLive: (report) => {
        record.live = applyLiveReport(record.live, report);
        state.metrics.live(tenant.id, record.id, record.live.streams, record.live.resize);
        // Kept in memory each second, written through every few (a restart shows the last).
        const now = Date.now();
        if (now - liveSavedAt >= 5000) {
          liveSavedAt = now;
          void state.keepExecution(tenant, record);
        }
      },
      onProgress: (nodes) => {
        record.nodes = nodes;
        // Written through (at most once a second), so a restart shows what the run had done.
        const now = Date.now();
        if (now - persistedAt >= 1000) {
          persistedAt = now;
          void state.keepExecution(tenant, record);
        }
      },
    })
    .then(
      (completion) => {
        record.completion = completion;
        record.status = completion.outcome;
        state.metrics.completed(completion);
        state.timeline.addFallbacks(
          tenant.id,
          completion.nodes.filter((n) => n.resource_id !== null && !n.warm).length,
        );
      },
      (error: unknown) => {
        record.status = 'failed';
        record.nodes = record.nodes.map((n) =>
          n.state === 'succeeded' ? n : { ...n, state: 'failed' },
        );
        const shown = toErrorResponse(error).body.error;
        record.error =
          error instanceof WarmflowError
            ? { code: shown.code, message: shown.message }
            : { code: 'E_INTERNAL', message: 'the run crashed; see the server log' };
        state.log(`execution ${record.id} failed`, error);
      },
    )
    .finally(async () => {
      liveRuns.delete(record.id);
      state.metrics.liveEnded(record.id);
      // The outcome is stored before `run` settles (a failure to store it is logged).
      const stored = state.keepExecution(tenant, record).catch(() => undefined);
      release();
      state.running.delete(run);
      try {
        state.timeline.sample(tenant.id, await state.deps.pools.list(tenant.id));
      } catch {
        // A pool listing failing after a run must not turn the run into an unhandled rejection.
      }
      await stored;
    });
  state.running.add(run);
  return run;
}

/** Restarts a server may resume one run across, before it stays interrupted for good. */
const MAX_RESUMES = 3;

/**
 * Resumes, from their last checkpoints, the runs the server was running when it stopped
 * (`kill -9` included): each is admitted again under its tenant's quotas, set back to
 * `running` and continued by the executor (`resume`), its outputs rolled back to the
 * checkpoint. A run that cannot be resumed (its flow or tenant is gone, a quota refuses it,
 * it was resumed {@link MAX_RESUMES} times already) stays `interrupted`, says why, and its
 * checkpoints are forgotten, so no restart tries it again. Runs not checkpointed (live
 * streams, several resources) stay `interrupted` as they are.
 */
export async function resumeInterruptedExecutions(state: AppState): Promise<void> {
  const executor = state.deps.executor;
  if (executor.interrupted === undefined) return;
  for (const { execution_id: id, tenant: tenantId } of await executor.interrupted()) {
    const record = state.executions.get(tenantId, id);
    // Another orchestrator's run in the same home (a CLI run): not the server's to resume.
    if (record === undefined) continue;
    const tenant = state.deps.tenancy.getTenant(tenantId);
    const times = (record.resumed?.times ?? 0) + 1;
    try {
      if (record.status !== 'interrupted')
        throw new WarmflowError('E_RESUME', `it is ${record.status}, not interrupted`);
      if (tenant === undefined) throw new WarmflowError('E_RESUME', 'its tenant is gone');
      if (times > MAX_RESUMES)
        throw new WarmflowError(
          'E_RESUME',
          `the server stopped under it ${MAX_RESUMES} times after it was resumed`,
        );
      const flow = tenantFlow(state, tenant.id, record.flow_id);
      const slot = state.slots.acquire(tenant.id, tenant.quotas);
      let unreserve: () => void;
      try {
        const rprs =
          record.rprs ??
          (await state.deps.predictor.predict({ tenant: tenant.id, flow, dcp: record.dcp }));
        unreserve = await reserveResources(state, tenant, flow, rprs, false);
      } catch (error) {
        slot();
        throw error;
      }
      record.status = 'running';
      delete record.error;
      record.resumed = { times, at: new Date().toISOString() };
      // A write that fails is logged; the run goes on and is written again as it progresses.
      await state.keepExecution(tenant, record).catch(() => undefined);
      void launch(
        state,
        tenant,
        flow,
        record,
        { source: undefined, records: undefined, resume: true },
        false,
        () => {
          unreserve();
          slot();
        },
      );
    } catch (error) {
      const why = toErrorResponse(error).body.error.message;
      if (record.status === 'interrupted' && tenant !== undefined) {
        record.error = {
          code: 'E_INTERRUPTED',
          message: `the server stopped while this run was in flight and it could not be resumed (${why}); its nodes show what it had done. Run it again.`,
        };
        await state.keepExecution(tenant, record).catch(() => undefined);
      }
      state.log(`execution ${id} not resumed`, error);
      await executor.forget?.(id).catch(() => undefined);
    }
  }
}

/** The drain handle of each execution in flight, per app. */
const liveRunsByApp = new WeakMap<AppState, Map<string, AbortController>>();

function liveRunsOf(state: AppState): Map<string, AbortController> {
  let runs = liveRunsByApp.get(state);
  if (runs === undefined) liveRunsByApp.set(state, (runs = new Map()));
  return runs;
}

/** Whether a run reads a live stream: the request's source is one, or a stream's own source is. */
function readsLive(
  flow: { spec: { streams?: Record<string, { source?: string }> } },
  source: string | undefined,
  records: unknown[] | undefined,
): boolean {
  if (source !== undefined) return isLiveUrl(source);
  return (
    records === undefined &&
    Object.values(flow.spec.streams ?? {}).some(
      (s) => s.source !== undefined && isLiveUrl(s.source),
    )
  );
}

/** Drains every run on live streams of the app (the server is closing). */
export function drainLiveExecutions(state: AppState): void {
  for (const drain of liveRunsOf(state).values()) drain.abort();
}

/**
 * A live source URL a request names, resolved against the admin's catalogue in the
 * tenant's namespace (see `grantLiveSource`); a refused one is a 400 saying why. Undefined
 * when `source` is not a live URL.
 */
function liveSourceOf(
  state: AppState,
  tenant: string,
  flow: { name: string; spec: { streams?: Record<string, unknown> } },
  source: string,
): string | undefined {
  const stream = Object.keys(flow.spec.streams ?? {})[0] ?? 'input';
  const granted = grantLiveSource(
    source,
    namespaceOf(tenant),
    defaultGroup(flow.name, stream),
    (instance, kind) => state.catalogue.instance(tenant, instance, kind),
  );
  if (granted === null) return undefined;
  if ('problem' in granted)
    throw new HttpError(400, 'E_SOURCE_URL', granted.problem, {
      hint: 'ask the server admin which stream instances (serve --stores) you may read',
    });
  return granted.url;
}

/** Executions: submit, follow, list. */
export function registerExecutionRoutes(app: OpenAPIHono<AppEnv>, state: AppState): void {
  const tags = ['executions'];

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/executions',
      tags,
      summary: 'Run a flow; answers 202 at once, or 200 with the CompletionStatus with ?wait=true',
      request: { query: WaitQuery, body: jsonBody(ExecutionCreate) },
      responses: {
        200: ok('the finished execution', ExecutionSchema),
        202: ok('the started execution; follow it at /v1/executions/{id}', ExecutionSchema),
        ...errors(400, 401, 403, 404, 413, 429, 507),
      },
    }),
    async (c) => {
      const tenant = requireTenant(c.get('principal'));
      const { record, run, accepted } = await startExecution(
        state,
        tenant,
        c.req.valid('json'),
      ).catch((error: unknown) => {
        state.metrics.refused(tenant.id, toErrorResponse(error).body.error.code);
        throw error;
      });
      await accepted;
      if (c.req.valid('query').wait === 'true') {
        await run;
        return c.json(record, 200);
      }
      return c.json(record, 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/executions',
      tags,
      summary: "The tenant's recent executions, newest first, a page at a time",
      request: { query: PageQuery },
      responses: {
        200: ok('executions and next (the cursor of the next page, or null)', ExecutionPage),
        ...errors(400, 401, 403, 429),
      },
    }),
    (c) => {
      const tenant = requireTenant(c.get('principal'));
      const { items, next } = page(
        state.executions.list(tenant.id).reverse(),
        (e) => e.id,
        c.req.valid('query'),
      );
      return c.json({ executions: items, next }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/executions/{id}',
      tags,
      summary: 'An execution: status, per-node progress, the CompletionStatus once finished',
      request: { params: IdParam },
      responses: { 200: ok('the execution', ExecutionSchema), ...errors(401, 403, 404, 429) },
    }),
    (c) => {
      const tenant = requireTenant(c.get('principal'));
      const { id } = c.req.valid('param');
      const record = state.executions.get(tenant.id, id);
      if (record === undefined) throw notFound('execution', id);
      return c.json(record, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/executions/{id}',
      tags,
      summary:
        'Drain a run on live streams: it stops reading, finishes what is in flight, writes its outputs, acknowledges, and ends succeeded',
      request: { params: IdParam },
      responses: {
        202: ok('the execution, draining; follow it at /v1/executions/{id}', ExecutionSchema),
        ...errors(401, 403, 404, 409, 429),
      },
    }),
    (c) => {
      const tenant = requireTenant(c.get('principal'));
      const { id } = c.req.valid('param');
      const record = state.executions.get(tenant.id, id);
      if (record === undefined) throw notFound('execution', id);
      const drain = liveRunsOf(state).get(id);
      if (record.status !== 'running' || drain === undefined)
        throw new HttpError(
          409,
          'E_INVALID_REQUEST',
          `execution ${id} is ${record.status}: only a running execution on live streams can be drained`,
        );
      drain.abort();
      record.live = drainingState(record.live);
      return c.json(record, 202);
    },
  );
}
