import { randomUUID } from 'node:crypto';
import { WarmflowError } from '../../errors.js';
import { WorkerClient } from '../../worker/client.js';
import type { Provider, ResourceEvent } from '../provider.js';
import type { Rac } from '../rac.js';
import { Claim } from './claim.js';
import type { PoolStateStore } from './pool-state-store.js';
import type { ResourcePlan } from './resource-plan.js';

/** Configuration of one {@link WarmPool}. */
export interface WarmPoolConfig {
  tenant: string;
  template: string;
  plans: ResourcePlan[];
  /** Ready sets to keep (claimed sets do not count). */
  sets: number;
  /** Idle pool expiry; 0 keeps it until `down`. */
  keepAliveMs: number;
  token: string;
  provider: Provider;
  store: PoolStateStore | undefined;
  /**
   * Delay before refilling behind a claim; default 250 ms. Spawning a worker blocks the
   * orchestrator's event loop for milliseconds, which must not land on the claimer's first
   * round trips.
   */
  refillDelayMs?: number;
}

/**
 * Where one slot's resource is: asked of the provider, provisioned and being connected to,
 * connected (it can serve a claim), or given back (`rac` is absent when it never came).
 */
type SlotState =
  | { phase: 'provisioning' }
  | { phase: 'connecting'; rac: Rac }
  | { phase: 'connected'; rac: Rac; client: WorkerClient }
  | { phase: 'released'; rac: Rac | undefined };

interface Slot {
  state: SlotState;
  abort: AbortController;
  ready: Promise<void>;
}

/** A connected slot's resource, as a claim holds it. */
interface Connected {
  rac: Rac;
  client: WorkerClient;
}

/** The RAC of a slot, once the provider gave one. */
function racOf(slot: Slot): Rac | undefined {
  return slot.state.phase === 'provisioning' ? undefined : slot.state.rac;
}

/** Reads the phase through a call so checks after an `await` are not narrowed away. */
function phaseOf(slot: Slot): SlotState['phase'] {
  return slot.state.phase;
}

/** The resources of a set whose every slot is connected; null while any is not. */
function connectedOf(set: WarmSet): Connected[] | null {
  const resources: Connected[] = [];
  for (const slot of set.slots) {
    if (slot.state.phase !== 'connected') return null;
    resources.push({ rac: slot.state.rac, client: slot.state.client });
  }
  return resources;
}

type SetState = 'warming' | 'ready' | 'claimed' | 'retired';

interface WarmSet {
  id: string;
  state: SetState;
  slots: Slot[];
  claimId: string | undefined;
  /** A resource of a claimed set died: retire the set on release. */
  broken: boolean;
}

/**
 * Gives every connected resource of a set a new status and returns them. Each RAC is replaced,
 * never edited: a RAC once handed out (in a claim, a pool status) is a document its holder may
 * keep.
 */
function setStatus(set: WarmSet, status: Rac['status']): Connected[] {
  const resources: Connected[] = [];
  for (const slot of set.slots) {
    if (slot.state.phase !== 'connected') continue;
    slot.state = { ...slot.state, rac: { ...slot.state.rac, status } };
    resources.push({ rac: slot.state.rac, client: slot.state.client });
  }
  return resources;
}

/** Reads the state through a call so checks after an `await` are not narrowed away. */
function retired(set: WarmSet): boolean {
  return set.state === 'retired';
}

/** What `status` says about one set. */
export interface SetStatus {
  set_id: string;
  state: SetState;
  claim_id: string | null;
  resources: Rac[];
}

/** What a pool holds, for `pool status`. */
export interface PoolStatus {
  tenant: string;
  template: string;
  target_sets: number;
  keep_alive_ms: number;
  ready_sets: number;
  warming_sets: number;
  claimed_sets: number;
  expires_at: string | null;
  expired: boolean;
  last_error: string | null;
  /**
   * Set when the pool's request failed on every one of its bounded attempts (across restarts):
   * it holds nothing and is not tried again until it is requested anew or taken down.
   */
  given_up?: { attempts: number; reason: string };
  held: { cpu_cores: number; memory_gb: number; resources: number };
  sets: SetStatus[];
}

/**
 * A warm pool for one (tenant, template): keeps `sets` ready sets (one resource per plan) and
 * hands each to exactly one claim. Claims are synchronous (one JS turn, persisted in the same
 * turn), so two callers can never get the same set. Lost resources of idle sets are replaced;
 * claimed sets are refilled behind the claim; an idle pool expires after its keep-alive.
 */
export class WarmPool {
  readonly #config: Readonly<WarmPoolConfig>;
  readonly #sets = new Map<string, WarmSet>();
  #target: number;
  #lastActivity = Date.now();
  #lastError: string | undefined;
  #expired = false;
  #closed = false;
  /** Callers of {@link claimWarming} waiting now: each waits only for a set no other waits for. */
  #waiting = 0;
  /** Wakes those callers: a set became ready or was retired. */
  readonly #wake = new Set<() => void>();

  constructor(config: WarmPoolConfig) {
    this.#config = Object.freeze({ ...config });
    this.#target = config.sets;
  }

  get tenant(): string {
    return this.#config.tenant;
  }
  get template(): string {
    return this.#config.template;
  }
  get plans(): ResourcePlan[] {
    return this.#config.plans;
  }
  get expired(): boolean {
    return this.#expired;
  }
  /** Whether any claim still holds a set. */
  get claimed(): boolean {
    return [...this.#sets.values()].some((set) => set.state === 'claimed');
  }

  /** Sets the number of ready sets to keep and provisions what is missing; resolves when they are ready. */
  async fill(sets = this.#target): Promise<Rac[]> {
    if (this.#closed)
      throw new WarmflowError('E_POOL_CLOSED', `pool ${this.#config.template} is closed`);
    this.#target = sets;
    this.#expired = false;
    this.touch();
    while (this.#available().length < this.#target) this.#startSet();
    void this.#trim();
    const pending = this.#available();
    const results = await Promise.allSettled(
      pending.flatMap((set) => set.slots.map((slot) => slot.ready)),
    );
    // A set claimed as soon as it was ready (by a caller waiting for it) was filled too.
    const ready = pending.filter((set) => set.state === 'ready' || set.state === 'claimed');
    const failed = results.find((result) => result.status === 'rejected');
    // A set retired meanwhile (trimmed, expired) is not a failure; too few ready sets is.
    if (failed !== undefined && ready.length < Math.min(this.#target, pending.length))
      throw failed.reason;
    return ready.flatMap((set) => set.slots.map(racOf).filter((rac) => rac !== undefined));
  }

  /** Records activity (postpones expiry). */
  touch(): void {
    this.#lastActivity = Date.now();
  }

  /**
   * Wakes the set the next {@link claim} would hand out: its workers' data-plane threads stay
   * awake up to `ms` for the run on its way (`WorkerClient.wake`). Nothing is claimed; a
   * wake-up that no run follows costs those threads `ms` of CPU.
   */
  wake(ms: number): void {
    if (this.#closed || this.#expired) return;
    for (const set of this.#sets.values()) {
      if (set.state !== 'ready') continue;
      const resources = connectedOf(set);
      if (resources?.every(({ client }) => !client.closed) !== true) continue;
      for (const { client } of resources) client.wake(ms);
      return;
    }
  }

  /** Hands a ready set to one caller, or null when none is ready. Atomic: synchronous. */
  claim(): Claim | null {
    if (this.#closed || this.#expired) return null;
    this.touch();
    for (const set of this.#sets.values()) {
      if (set.state !== 'ready') continue;
      if (connectedOf(set)?.every(({ client }) => !client.closed) !== true) continue;
      const claimId = randomUUID();
      set.state = 'claimed';
      set.claimId = claimId;
      const resources = setStatus(set, 'claimed');
      this.#config.store?.setState(
        resources.map(({ rac }) => rac.resource_id),
        'claimed',
        claimId,
      );
      // Refill behind the claim so the next execution finds a warm set too — a little later.
      setTimeout(() => this.#refill(), this.#config.refillDelayMs ?? 250).unref();
      return new Claim({
        claim_id: claimId,
        tenant: this.#config.tenant,
        template: this.#config.template,
        set_id: set.id,
        token: this.#config.token,
        resources,
      });
    }
    return null;
  }

  /**
   * Like {@link claim}, but when no set is ready and a set is warming that no other caller
   * already waits for, waits for it — until a set is ready, the set fails, or `maxWaitMs`
   * passes — instead of answering null at once. A set that began warming before the request
   * is ready sooner than an on-demand one started now; starting both would spend the
   * capacity twice. Resolves null when no set came.
   */
  async claimWarming(maxWaitMs: number): Promise<Claim | null> {
    const deadline = Date.now() + maxWaitMs;
    for (;;) {
      const claim = this.claim();
      if (claim !== null || this.#closed || this.#expired) return claim;
      const warming = [...this.#sets.values()].filter((set) => set.state === 'warming').length;
      const left = deadline - Date.now();
      if (warming <= this.#waiting || left <= 0) return null;
      this.#waiting++;
      try {
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            this.#wake.delete(done);
            resolve();
          };
          const timer = setTimeout(done, left);
          this.#wake.add(done);
        });
      } finally {
        this.#waiting--;
      }
    }
  }

  /** Gives a claimed set back (ready again) or retires it. Releasing twice is a no-op. */
  async release(claim: Claim, options: { retire?: boolean } = {}): Promise<void> {
    const set = this.#sets.get(claim.set_id);
    if (set === undefined || set.state !== 'claimed' || set.claimId !== claim.claim_id) return;
    this.touch();
    set.claimId = undefined;
    if (options.retire === true || set.broken || this.#expired || this.#closed) {
      await this.#retire(set);
      this.#refill();
      return;
    }
    this.#markReady(set);
    await this.#trim();
  }

  /** Reacts to a provider event about one of this pool's resources. */
  onResourceEvent(event: ResourceEvent): void {
    if (event.type !== 'exited' && event.type !== 'unhealthy') return;
    for (const set of this.#sets.values()) {
      const index = set.slots.findIndex((slot) => racOf(slot)?.resource_id === event.resource_id);
      if (index < 0 || set.state === 'retired') continue;
      if (set.state === 'claimed') {
        set.broken = true;
        return;
      }
      this.#replace(
        set,
        index,
        event.type === 'exited' ? event.reason : `unhealthy: ${event.reason}`,
      );
      return;
    }
  }

  /** Expires the pool if it has been idle past its keep-alive. Returns true when it expired now. */
  expireIfIdle(now = Date.now()): boolean {
    const keepAlive = this.#config.keepAliveMs;
    if (this.#expired || keepAlive <= 0 || now - this.#lastActivity < keepAlive) return false;
    this.#expired = true;
    this.#target = 0;
    for (const set of this.#sets.values()) if (set.state !== 'claimed') void this.#retire(set);
    return true;
  }

  /** Releases every resource, claimed ones too. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#target = 0;
    await Promise.all([...this.#sets.values()].map((set) => this.#retire(set)));
  }

  status(): PoolStatus {
    const sets = [...this.#sets.values()].filter((set) => set.state !== 'retired');
    const racs = sets.flatMap((set) => set.slots.map(racOf).filter((rac) => rac !== undefined));
    const count = (state: SetState) => sets.filter((set) => set.state === state).length;
    return {
      tenant: this.#config.tenant,
      template: this.#config.template,
      target_sets: this.#target,
      keep_alive_ms: this.#config.keepAliveMs,
      ready_sets: count('ready'),
      warming_sets: count('warming'),
      claimed_sets: count('claimed'),
      expires_at:
        this.#config.keepAliveMs > 0 && !this.#expired
          ? new Date(this.#lastActivity + this.#config.keepAliveMs).toISOString()
          : null,
      expired: this.#expired,
      last_error: this.#lastError ?? null,
      held: {
        cpu_cores: racs.reduce((sum, rac) => sum + rac.rpr.cpu_cores, 0),
        memory_gb: Math.round(racs.reduce((sum, rac) => sum + rac.rpr.memory_gb, 0) * 1000) / 1000,
        resources: racs.length,
      },
      sets: sets.map((set) => ({
        set_id: set.id,
        state: set.state,
        claim_id: set.claimId ?? null,
        resources: set.slots.map(racOf).filter((rac) => rac !== undefined),
      })),
    };
  }

  /** Sets that serve or will serve claims (not claimed, not retired). */
  #available(): WarmSet[] {
    return [...this.#sets.values()].filter(
      (set) => set.state === 'ready' || set.state === 'warming',
    );
  }

  #refill(): void {
    if (this.#closed || this.#expired) return;
    if (this.#available().length >= this.#target) return;
    this.fill().catch((error: unknown) => {
      this.#lastError = error instanceof Error ? error.message : String(error);
    });
  }

  /** Retires sets beyond the target, warming ones first (their start is cheapest to give up). */
  async #trim(): Promise<void> {
    const available = this.#available().sort(
      (a, b) => (a.state === 'warming' ? -1 : 0) - (b.state === 'warming' ? -1 : 0),
    );
    const surplus = available.length - this.#target;
    if (surplus > 0) await Promise.all(available.slice(0, surplus).map((set) => this.#retire(set)));
  }

  #startSet(): WarmSet {
    const set: WarmSet = {
      id: randomUUID().slice(0, 8),
      state: 'warming',
      slots: [],
      claimId: undefined,
      broken: false,
    };
    this.#sets.set(set.id, set);
    set.slots = this.#config.plans.map((_, index) => this.#startSlot(set, index));
    return set;
  }

  #startSlot(set: WarmSet, index: number): Slot {
    const plan = this.#config.plans[index];
    const abort = new AbortController();
    const slot: Slot = { state: { phase: 'provisioning' }, abort, ready: Promise.resolve() };
    slot.ready = (async () => {
      try {
        const rac = await this.#config.provider.provision(
          {
            tenant: this.#config.tenant,
            template: this.#config.template,
            rpr: plan.rpr,
            node_ids: plan.node_ids,
            // A pooled resource has time before its request: it warms its data plane up.
            warm: { ...plan.warm, warm_up: true },
            token: this.#config.token,
          },
          { signal: abort.signal },
        );
        if (rac.tenant !== this.#config.tenant) {
          throw new WarmflowError(
            'E_TENANT',
            `provider returned a resource of tenant "${rac.tenant}" for "${this.#config.tenant}"`,
          );
        }
        if (set.state === 'retired' || abort.signal.aborted) {
          await this.#config.provider.release(rac.resource_id);
          slot.state = { phase: 'released', rac: { ...rac, status: 'released' } };
          return;
        }
        slot.state = { phase: 'connecting', rac };
        const client = await WorkerClient.connect(rac.network_address, this.#config.token, {
          channels: true,
        });
        // The group's deploy template goes now, so the set's first run sends its run part only.
        // Not waited for: a run sent before the answer (or to a worker that refuses it) carries
        // its spec whole, and the worker reads the two in order.
        if (plan.deploy !== undefined && !client.closed) {
          const { template_id: id, template } = plan.deploy;
          client.request({ type: 'df.template', template_id: id, template }).then(
            () => client.templates.add(id),
            () => undefined,
          );
        }
        // The set may have been retired while this worker connected.
        if (retired(set) || phaseOf(slot) !== 'connecting') {
          client.close();
          await this.#releaseSlot(slot);
          return;
        }
        slot.state = { phase: 'connected', rac, client };
        this.#config.store?.saveResource({
          resource_id: rac.resource_id,
          tenant: rac.tenant,
          template: rac.template,
          set_id: set.id,
          state: 'warming',
          claim_id: null,
          rac,
        });
        this.#lastError = undefined;
        this.#markReadyIfComplete(set);
      } catch (error) {
        this.#lastError = error instanceof Error ? error.message : String(error);
        if (set.state !== 'retired') await this.#retire(set);
        throw error;
      }
    })();
    slot.ready.catch(() => {}); // observed by fill(); a background refill's failure is in last_error
    return slot;
  }

  #markReadyIfComplete(set: WarmSet): void {
    if (set.state !== 'warming' || connectedOf(set) === null) return;
    this.#markReady(set);
  }

  /** A set ready to be claimed, here and in the persisted pool state. */
  #markReady(set: WarmSet): void {
    set.state = 'ready';
    const resources = setStatus(set, 'ready');
    this.#config.store?.setState(
      resources.map(({ rac }) => rac.resource_id),
      'ready',
      null,
    );
    this.#wakeWaiting();
  }

  /** Lets callers waiting in {@link claimWarming} look again. */
  #wakeWaiting(): void {
    for (const wake of [...this.#wake]) wake();
  }

  /** Replaces a lost resource of an idle set in place. */
  #replace(set: WarmSet, index: number, reason: string): void {
    const old = set.slots[index];
    this.#lastError = `resource ${racOf(old)?.resource_id ?? '?'} lost (${reason}); replacing it`;
    set.state = 'warming';
    void this.#releaseSlot(old);
    set.slots[index] = this.#startSlot(set, index);
  }

  /** Gives a slot's resource back (once; a slot still provisioning is aborted). */
  async #releaseSlot(slot: Slot): Promise<void> {
    slot.abort.abort();
    const was = slot.state;
    if (was.phase === 'released') return;
    if (was.phase === 'provisioning') {
      slot.state = { phase: 'released', rac: undefined };
      return;
    }
    if (was.phase === 'connected') was.client.close();
    slot.state = { phase: 'released', rac: { ...was.rac, status: 'released' } };
    this.#config.store?.deleteResource(was.rac.resource_id);
    await this.#config.provider.release(was.rac.resource_id).catch(() => {});
  }

  async #retire(set: WarmSet): Promise<void> {
    if (set.state === 'retired') return;
    set.state = 'retired';
    this.#sets.delete(set.id);
    this.#wakeWaiting();
    await Promise.all(set.slots.map((slot) => this.#releaseSlot(slot)));
  }
}
