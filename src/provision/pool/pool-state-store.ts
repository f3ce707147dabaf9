import type Database from 'better-sqlite3';
import { ownerOnly } from '../../home.js';
import { betterSqlite3, enableWal } from '../../stores/sqlite/sqlite-database.js';
import type { Rac } from '../rac.js';
import type { ResourcePlan } from './resource-plan.js';

/** What is persisted of a pool: enough to build it again after a restart. */
export interface PoolDefinition {
  tenant: string;
  template: string;
  plans: ResourcePlan[];
  sets: number;
  keep_alive_ms: number;
  created_at: string;
  /**
   * Warm-ups of this definition begun since it last succeeded (0 or absent: the last one
   * succeeded). Counted before each attempt, so one a crash interrupted counts too.
   */
  attempts?: number;
  /** Why the last attempt failed; null or absent when it succeeded. */
  last_error?: string | null;
}

/** One resource a pool holds, with who holds it. */
export interface PersistedResource {
  resource_id: string;
  tenant: string;
  template: string;
  set_id: string;
  /** Pool-level state: warming, ready, claimed. */
  state: string;
  claim_id: string | null;
  rac: Rac;
}

/**
 * Pool state in the embedded SQLite database (`homeDatabasePath()`): pool definitions, the
 * resources each holds (RAC, process id) and which claim holds them. A restarted orchestrator
 * reads it to clean up the workers of its predecessor and build the pools again.
 */
export class PoolStateStore {
  readonly #db: Database.Database;

  constructor(file: string) {
    this.#db = new (betterSqlite3())(file);
    enableWal(this.#db);
    // Warm specs hold store URLs with their passwords: readable by the owner only.
    if (file !== ':memory:') ownerOnly(file);
    // WAL + NORMAL: no fsync per commit, so a claim persists in microseconds, not milliseconds.
    this.#db.pragma('synchronous = NORMAL');
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS pool_definitions (
        tenant TEXT NOT NULL, template TEXT NOT NULL, definition TEXT NOT NULL, updated_at TEXT NOT NULL,
        PRIMARY KEY (tenant, template));
      CREATE TABLE IF NOT EXISTS pool_resources (
        resource_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, template TEXT NOT NULL, set_id TEXT NOT NULL,
        state TEXT NOT NULL, claim_id TEXT, pid INTEGER, rac TEXT NOT NULL, updated_at TEXT NOT NULL);
    `);
  }

  savePool(definition: PoolDefinition): void {
    this.#db
      .prepare(
        `INSERT INTO pool_definitions (tenant, template, definition, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (tenant, template) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at`,
      )
      .run(
        definition.tenant,
        definition.template,
        JSON.stringify(definition),
        new Date().toISOString(),
      );
  }

  deletePool(tenant: string, template: string): void {
    this.#db
      .prepare('DELETE FROM pool_definitions WHERE tenant = ? AND template = ?')
      .run(tenant, template);
  }

  pools(): PoolDefinition[] {
    return this.#db
      .prepare<[], { definition: string }>(
        'SELECT definition FROM pool_definitions ORDER BY tenant, template',
      )
      .all()
      .map((row) => JSON.parse(row.definition) as PoolDefinition);
  }

  saveResource(resource: PersistedResource): void {
    this.#db
      .prepare(
        `INSERT INTO pool_resources (resource_id, tenant, template, set_id, state, claim_id, pid, rac, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (resource_id) DO UPDATE SET state = excluded.state, claim_id = excluded.claim_id,
           set_id = excluded.set_id, pid = excluded.pid, rac = excluded.rac, updated_at = excluded.updated_at`,
      )
      .run(
        resource.resource_id,
        resource.tenant,
        resource.template,
        resource.set_id,
        resource.state,
        resource.claim_id,
        resource.rac.process_id ?? null,
        JSON.stringify(resource.rac),
        new Date().toISOString(),
      );
  }

  /** Marks resources held (or freed, with `claimId` null) in one transaction. */
  setState(resourceIds: string[], state: string, claimId: string | null): void {
    const update = this.#db.prepare(
      'UPDATE pool_resources SET state = ?, claim_id = ?, updated_at = ? WHERE resource_id = ?',
    );
    const now = new Date().toISOString();
    this.#db.transaction(() => {
      for (const id of resourceIds) update.run(state, claimId, now, id);
    })();
  }

  deleteResource(resourceId: string): void {
    this.#db.prepare('DELETE FROM pool_resources WHERE resource_id = ?').run(resourceId);
  }

  resources(filter: { tenant?: string; template?: string } = {}): PersistedResource[] {
    return this.#db
      .prepare<[], Omit<PersistedResource, 'rac'> & { rac: string }>(
        'SELECT resource_id, tenant, template, set_id, state, claim_id, rac FROM pool_resources ORDER BY tenant, template, set_id',
      )
      .all()
      .filter(
        (row) =>
          (filter.tenant === undefined || row.tenant === filter.tenant) &&
          (filter.template === undefined || row.template === filter.template),
      )
      .map((row) => ({ ...row, rac: JSON.parse(row.rac) as Rac }));
  }

  close(): void {
    this.#db.close();
  }
}
