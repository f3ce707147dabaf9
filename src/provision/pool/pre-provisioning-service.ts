import { StoreConnections } from '../../stores/store-connections.js';
import { randomBytes } from 'node:crypto';
import { sharedCheckpointStore } from '../../checkpoint/sqlite-checkpoint-store.js';
import { WarmflowError } from '../../errors.js';
import type { Rpr } from '../../predictor/rpr.js';
import type { Provider } from '../provider.js';
import type { Rac } from '../rac.js';
import type { Claim } from './claim.js';
import type { PoolDefinition, PoolStateStore } from './pool-state-store.js';
import { planResources, type PoolFlow, type ResourcePlan } from './resource-plan.js';
import { killStaleWorkers } from './stale-workers.js';
import { runStores } from '../../stores/run-catalogue.js';
import { deployTemplate } from '../../worker/dataplane/deploy-spec.js';
import { persistentSeeds, primeSeed } from '../../worker/dataplane/run-stores.js';
import { WarmPool, type PoolStatus } from './warm-pool.js';

/** What `preProvision` takes. */
export interface PreProvisionInput {
  /** The loaded flow (`LoadedFlow` of `template/`, or the subset in {@link PoolFlow}). */
  flow: PoolFlow;
  rprs: Rpr[];
  tenant: string;
  /** Node ids co-located on one resource each; default one resource per function node. */
  groups?: string[][];
  /** Ready sets to keep; default 1. */
  sets?: number;
  /** Idle expiry of the pool; default the service's (10 minutes). 0: never. */
  keepAliveMs?: number;
}

/** Configuration of a {@link PreProvisioningService}. */
export interface PreProvisioningConfig {
  provider: Provider;
  /** Where pool state is persisted; omit for a purely in-memory service (tests). */
  store?: PoolStateStore;
  defaultKeepAliveMs?: number;
  /** Delay before a pool refills behind a claim (default 250 ms, see `WarmPoolConfig.refillDelayMs`). */
  refillDelayMs?: number;
  /** How often idle pools are checked for expiry; default 1 s. */
  expiryCheckMs?: number;
  /**
   * How many warm-ups of one pool request may fail in a row, counted in the store across
   * restarts, before {@link PreProvisioningService.restore} stops trying it; default 3.
   */
  maxAttempts?: number;
}

/** Default of {@link PreProvisioningConfig.maxAttempts}. */
export const DEFAULT_POOL_ATTEMPTS = 3;

const key = (tenant: string, template: string) => `${tenant}\u0000${template}`;
/**
 * How long a woken set's threads stay awake for the run (ms): the orchestrator takes 0.5-1 ms
 * from the request to the run's frame on a quiet machine, a few ms on a loaded one.
 */
const WAKE_MS = 3;

/**
 * The Pre-Provisioning Service: turns RPRs into warm resources before any execution request,
 * one warm pool per (tenant, template), and answers claims from them.
 *
 * ```ts
 * const service = new PreProvisioningService({ provider: new LocalProvider(), store });
 * const racs = await service.preProvision({ flow, rprs, tenant: 'default' });
 * const claim = service.claim(flow.template.name, 'default'); // null: fall back to on-demand
 * ```
 */
export class PreProvisioningService {
  readonly #config: Readonly<PreProvisioningConfig>;
  readonly #pools = new Map<string, WarmPool>();
  /** Persisted requests that failed every attempt: reported by `status`, never tried again. */
  readonly #givenUp = new Map<string, PoolStatus>();
  readonly #unwatch: () => void;
  readonly #expiryTimer: NodeJS.Timeout;
  /**
   * Connections to the persistent stores the pools' flows use, kept for the runs this
   * service's sets serve: preparing a warm run (the last execution's keyed state dropped, a
   * seed's marker read) reuses them instead of connecting. Closed with the service.
   */
  readonly stores = new StoreConnections();

  constructor(config: PreProvisioningConfig) {
    this.#config = Object.freeze({ ...config });
    this.#unwatch = config.provider.watch((event) => {
      for (const pool of this.#pools.values()) pool.onResourceEvent(event);
    });
    this.#expiryTimer = setInterval(() => this.expireIdle(), config.expiryCheckMs ?? 1_000);
    this.#expiryTimer.unref();
  }

  /** Fills (or creates) the pool of `flow` for `tenant` and resolves with the RACs of its ready sets. */
  async preProvision(input: PreProvisionInput): Promise<Rac[]> {
    const plans = planResources(input.flow, input.rprs, input.groups).map((plan) => {
      const { template, id } = deployTemplate(input.flow, plan.node_ids);
      return { ...plan, deploy: { template_id: id, template } };
    });
    // The flow's seeds in persistent stores are loaded while the sets warm, so the first run
    // finds them there (a seed that cannot be loaded now is said by the run that needs it).
    const { dir, spec } = input.flow;
    const seeds =
      dir === undefined || spec === undefined
        ? []
        : persistentSeeds({ ...input.flow, dir, spec }, runStores({ dir, spec }));
    const priming = Promise.allSettled(
      seeds
        .filter(({ always }) => !always)
        .map(({ seed, store }) =>
          this.stores.use(seed.store, store, (opened) => primeSeed(opened, seed)),
        ),
    );
    try {
      return await this.provisionPlans({
        tenant: input.tenant,
        template: input.flow.template.name,
        plans,
        sets: input.sets ?? 1,
        keepAliveMs: input.keepAliveMs ?? this.#config.defaultKeepAliveMs ?? 600_000,
      });
    } finally {
      await priming;
    }
  }

  /** Like {@link preProvision}, from already planned resources (what a restart restores). */
  async provisionPlans(input: {
    tenant: string;
    template: string;
    plans: ResourcePlan[];
    sets: number;
    keepAliveMs: number;
    /** Which attempt of this request this is (counted in the store); default 1, a new request. */
    attempt?: number;
  }): Promise<Rac[]> {
    if (!Number.isInteger(input.sets) || input.sets < 0) {
      throw new WarmflowError(
        'E_INVALID_SETS',
        `sets must be a whole number >= 0, not ${input.sets}`,
      );
    }
    // The orchestrator's side is prepared too: the checkpoint store the pool's runs record to
    // opens now, not at the first request (opening SQLite the first time in a process blocks
    // its event loop ~10-15 ms, which would land on that request's first output). A store that
    // cannot open is said by the run that needs it.
    sharedCheckpointStore().catch(() => undefined);
    const id = key(input.tenant, input.template);
    this.#givenUp.delete(id);
    let pool = this.#pools.get(id);
    if (
      pool !== undefined &&
      (pool.expired || JSON.stringify(pool.plans) !== JSON.stringify(input.plans))
    ) {
      // New requests (or an expired pool): its sets no longer fit; claimed ones retire on release.
      this.#pools.delete(id);
      await pool.close();
      pool = undefined;
    }
    if (pool === undefined) {
      pool = new WarmPool({
        tenant: input.tenant,
        template: input.template,
        plans: input.plans,
        sets: input.sets,
        keepAliveMs: input.keepAliveMs,
        token: randomBytes(32).toString('hex'),
        provider: this.#config.provider,
        store: this.#config.store,
        ...(this.#config.refillDelayMs === undefined
          ? {}
          : { refillDelayMs: this.#config.refillDelayMs }),
      });
      this.#pools.set(id, pool);
    }
    const definition: PoolDefinition = {
      tenant: input.tenant,
      template: input.template,
      plans: input.plans,
      sets: input.sets,
      keep_alive_ms: input.keepAliveMs,
      created_at: new Date().toISOString(),
      // Counted before the warm-up starts: a crash in the middle is an attempt too.
      attempts: input.attempt ?? 1,
      last_error: null,
    };
    this.#config.store?.savePool(definition);
    const current = pool;
    try {
      const racs = await pool.fill(input.sets);
      if (this.#pools.get(id) === current)
        this.#config.store?.savePool({ ...definition, attempts: 0 });
      return racs;
    } catch (error) {
      if (this.#pools.get(id) === current)
        this.#config.store?.savePool({ ...definition, last_error: messageOf(error) });
      throw error;
    }
  }

  /**
   * Hands a ready set of `template` for `tenant` to exactly one caller; null when none is warm.
   * With `version` (`flowVersion` of the flow about to run), only a pool filled for that version
   * answers: a pool of an older version is retired instead, so changed code never runs stale.
   */
  /**
   * A request for `template` has arrived: the set a claim would take is woken so that its
   * threads are awake when the run is sent (see {@link WarmPool.wake}). Claims nothing, and
   * checks no version (a stale set woken costs its threads at most `ms` of CPU).
   */
  wake(template: string, tenant: string, ms = WAKE_MS): void {
    this.#pools.get(key(tenant, template))?.wake(ms);
  }

  claim(template: string, tenant: string, version?: string): Claim | null {
    return this.#current(template, tenant, version)?.claim() ?? null;
  }

  /**
   * {@link claim}, or, when no set is ready but one is warming (a pre-warm not yet done, a
   * refill behind the last claim), that set once it is ready: see {@link WarmPool.claimWarming}.
   * Waits at most `maxWaitMs` (default 30 s, the local provider's readiness bound).
   */
  async claimWarming(
    template: string,
    tenant: string,
    version?: string,
    maxWaitMs = 30_000,
  ): Promise<Claim | null> {
    return (await this.#current(template, tenant, version)?.claimWarming(maxWaitMs)) ?? null;
  }

  /** The pool of `template` for `tenant`; one filled for another `version` is retired, not answered. */
  #current(template: string, tenant: string, version?: string): WarmPool | undefined {
    const id = key(tenant, template);
    const pool = this.#pools.get(id);
    if (pool === undefined) return undefined;
    const warmed = pool.plans[0]?.warm.version;
    if (version !== undefined && warmed !== undefined && warmed !== version) {
      this.#pools.delete(id);
      this.#config.store?.deletePool(tenant, template);
      void pool.close().catch(() => {});
      return undefined;
    }
    return pool;
  }

  /**
   * Retires (and waits for the release of) the pool of `template` for `tenant` when it was filled
   * for another flow version than `version`, so its resources are free for the new version's.
   * Resolves true when a pool was retired.
   */
  async retireStale(template: string, tenant: string, version: string): Promise<boolean> {
    const id = key(tenant, template);
    const pool = this.#pools.get(id);
    const warmed = pool?.plans[0]?.warm.version;
    if (pool === undefined || warmed === undefined || warmed === version) return false;
    this.#pools.delete(id);
    this.#config.store?.deletePool(tenant, template);
    await pool.close();
    return true;
  }

  /** Returns a claimed set to its pool, or retires it (`retire: true`, or when one of its resources died). */
  async release(claim: Claim, options: { retire?: boolean } = {}): Promise<void> {
    const pool = this.#pools.get(key(claim.tenant, claim.template));
    if (pool === undefined) {
      for (const resource of claim.resources) {
        resource.client.close();
        await this.#config.provider.release(resource.rac.resource_id);
      }
      return;
    }
    await pool.release(claim, options);
  }

  /** Status of every pool (optionally one tenant's). */
  status(filter: { tenant?: string; template?: string } = {}): PoolStatus[] {
    const givenUp = [...this.#givenUp.values()].filter(
      (pool) =>
        (filter.tenant === undefined || pool.tenant === filter.tenant) &&
        (filter.template === undefined || pool.template === filter.template),
    );
    return [...this.#pools.values()]
      .filter(
        (pool) =>
          (filter.tenant === undefined || pool.tenant === filter.tenant) &&
          (filter.template === undefined || pool.template === filter.template),
      )
      .map((pool) => pool.status())
      .concat(givenUp);
  }

  /** Releases pools (all, one tenant's, or one template's) and forgets them. Returns how many. */
  async down(filter: { tenant?: string; template?: string } = {}): Promise<number> {
    const matching = [...this.#pools.entries()].filter(
      ([, pool]) =>
        (filter.tenant === undefined || pool.tenant === filter.tenant) &&
        (filter.template === undefined || pool.template === filter.template),
    );
    for (const [id, pool] of matching) {
      this.#pools.delete(id);
      this.#config.store?.deletePool(pool.tenant, pool.template);
    }
    const givenUp = [...this.#givenUp.entries()].filter(
      ([, pool]) =>
        (filter.tenant === undefined || pool.tenant === filter.tenant) &&
        (filter.template === undefined || pool.template === filter.template),
    );
    for (const [id, pool] of givenUp) {
      this.#givenUp.delete(id);
      this.#config.store?.deletePool(pool.tenant, pool.template);
    }
    await Promise.all(matching.map(([, pool]) => pool.close()));
    return matching.length + givenUp.length;
  }

  /** Expires pools idle past their keep-alive; an expired pool is forgotten once nothing is claimed from it. */
  expireIdle(now = Date.now()): void {
    for (const [id, pool] of this.#pools) {
      pool.expireIfIdle(now);
      if (pool.expired && !pool.claimed) {
        this.#pools.delete(id);
        this.#config.store?.deletePool(pool.tenant, pool.template);
      }
    }
  }

  /**
   * After a restart: kills the workers a previous orchestrator left (recorded pids that still run a
   * worker of that resource), forgets them, and builds the persisted pools again. Resolves with
   * what it did; a pool that cannot be rebuilt is reported, not thrown. A request whose warm-up
   * already failed `maxAttempts` times in a row (this start's attempt included, counted in the
   * store so restarts add up) is not tried again: it stays in `status` as `given_up` with its
   * reason until it is requested anew or taken down.
   */
  async restore(): Promise<{
    killed: number;
    restored: string[];
    failed: Array<{ template: string; tenant: string; error: string }>;
  }> {
    const store = this.#config.store;
    if (store === undefined) return { killed: 0, restored: [], failed: [] };
    const leftovers = store.resources();
    const killed = await killStaleWorkers(leftovers.map((row) => row.rac));
    for (const row of leftovers) store.deleteResource(row.resource_id);
    const restored: string[] = [];
    const failed: Array<{ template: string; tenant: string; error: string }> = [];
    const maxAttempts = this.#config.maxAttempts ?? DEFAULT_POOL_ATTEMPTS;
    for (const definition of store.pools()) {
      const previous = definition.attempts ?? 0;
      if (previous >= maxAttempts) {
        const reason = `gave up after ${previous} failed attempts: ${definition.last_error ?? 'the warm-up did not finish'}`;
        this.#givenUp.set(
          key(definition.tenant, definition.template),
          givenUpStatus(definition, previous, reason),
        );
        failed.push({ tenant: definition.tenant, template: definition.template, error: reason });
        continue;
      }
      try {
        await this.provisionPlans({
          tenant: definition.tenant,
          template: definition.template,
          plans: definition.plans,
          sets: definition.sets,
          keepAliveMs: definition.keep_alive_ms,
          attempt: previous + 1,
        });
        restored.push(`${definition.tenant}/${definition.template}`);
      } catch (error) {
        failed.push({
          tenant: definition.tenant,
          template: definition.template,
          error: `attempt ${previous + 1} of ${maxAttempts} failed: ${messageOf(error)}`,
        });
      }
    }
    return { killed, restored, failed };
  }

  /** Releases every pool's resources (pool definitions stay persisted for the next start). */
  async close(): Promise<void> {
    clearInterval(this.#expiryTimer);
    this.#unwatch();
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    this.#givenUp.clear();
    await Promise.all(pools.map((pool) => pool.close()));
    await this.stores.close();
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The status of a request given up on: it holds nothing; `last_error` and `given_up` say why. */
function givenUpStatus(definition: PoolDefinition, attempts: number, reason: string): PoolStatus {
  return {
    tenant: definition.tenant,
    template: definition.template,
    target_sets: definition.sets,
    keep_alive_ms: definition.keep_alive_ms,
    ready_sets: 0,
    warming_sets: 0,
    claimed_sets: 0,
    expires_at: null,
    expired: false,
    last_error: reason,
    given_up: { attempts, reason },
    held: { cpu_cores: 0, memory_gb: 0, resources: 0 },
    sets: [],
  };
}
