import type Database from 'better-sqlite3';
import { betterSqlite3, enableWal } from '../stores/sqlite/sqlite-database.js';
import { randomBytes, createHash, timingSafeEqual } from 'node:crypto';
import { homeDatabasePath, ownerOnly } from '../home.js';
import { WarmflowError } from '../errors.js';
import { apiKeyMatches, generateApiKey, parseKeyId } from './api-key.js';
import { withDefaultQuotas, type Quotas } from './quotas.js';

/** One tenant: who it is and what it may use. */
export interface Tenant {
  id: string;
  name: string;
  created_at: string;
  quotas: Quotas;
}

/** A key as listed: never the key itself, which is shown once at creation. */
export interface ApiKeyInfo {
  key_id: string;
  tenant_id: string;
  created_at: string;
  revoked_at: string | null;
}

/** Who a request is: the admin, or a tenant (via one of its keys). */
export type Principal = { kind: 'admin' } | { kind: 'tenant'; tenant: Tenant; key_id: string };

/** Options of {@link TenancyStore}. */
export interface TenancyStoreOptions {
  /** SQLite file; default the home database. `:memory:` for tests. */
  path?: string;
  /** The admin key (see `resolveAdminKey`); without one no request is admin. */
  adminKey?: string;
}

interface TenantRow {
  id: string;
  name: string;
  created_at: string;
  quotas: string;
}

/**
 * Tenants, their API keys and quotas, in SQLite (tables `tenancy_*`). Keys are
 * stored as sha256 hashes, looked up by their key id and compared in constant time;
 * a revoked key stops working on the next request.
 *
 * ```ts
 * const tenancy = new TenancyStore({ adminKey: resolveAdminKey().key });
 * const { tenant, api_key } = tenancy.createTenant('acme');
 * tenancy.authenticate(api_key); // { kind: 'tenant', tenant, key_id }
 * ```
 */
export class TenancyStore {
  readonly #config: Readonly<{ path: string; adminKeyDigest: Buffer | undefined }>;
  readonly #db: Database.Database;
  #keyLookup: Database.Statement | undefined;

  constructor(options: TenancyStoreOptions = {}) {
    this.#config = Object.freeze({
      path: options.path ?? homeDatabasePath(),
      adminKeyDigest: options.adminKey === undefined ? undefined : digest(options.adminKey),
    });
    this.#db = new (betterSqlite3())(this.#config.path);
    // Other parts (history, pools) share the home database: wait for their writes instead of failing.
    enableWal(this.#db);
    // Key digests and quotas: readable by the owner only.
    if (this.#config.path !== ':memory:') ownerOnly(this.#config.path);
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS tenancy_tenants (
        id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, quotas TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS tenancy_keys (
        key_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenancy_tenants(id),
        hash TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT);
      CREATE INDEX IF NOT EXISTS tenancy_keys_tenant ON tenancy_keys(tenant_id);`);
  }

  /** Creates a tenant and its first key; the key is in `api_key` and nowhere else. */
  createTenant(
    name: string,
    quotas?: Partial<Quotas>,
  ): { tenant: Tenant; api_key: string; key_id: string } {
    const tenant: Tenant = {
      id: `t_${randomBytes(6).toString('hex')}`,
      name,
      created_at: new Date().toISOString(),
      quotas: withDefaultQuotas(quotas),
    };
    const create = this.#db.transaction(() => {
      const existing = this.#db.prepare('SELECT id FROM tenancy_tenants WHERE name = ?').get(name);
      if (existing !== undefined) {
        throw new WarmflowError('E_TENANT_EXISTS', `a tenant named "${name}" already exists`, {
          hint: 'pick another name, or create a key for the existing tenant',
        });
      }
      this.#db
        .prepare('INSERT INTO tenancy_tenants (id, name, created_at, quotas) VALUES (?, ?, ?, ?)')
        .run(tenant.id, tenant.name, tenant.created_at, JSON.stringify(tenant.quotas));
      return this.#insertKey(tenant.id);
    });
    const key = create();
    return { tenant, ...key };
  }

  /** Every tenant, oldest first. */
  listTenants(): Tenant[] {
    const rows = this.#db
      .prepare('SELECT * FROM tenancy_tenants ORDER BY created_at, id')
      .all() as TenantRow[];
    return rows.map(toTenant);
  }

  /** One tenant by id or name. */
  getTenant(idOrName: string): Tenant | undefined {
    const row = this.#db
      .prepare('SELECT * FROM tenancy_tenants WHERE id = ? OR name = ?')
      .get(idOrName, idOrName) as TenantRow | undefined;
    return row === undefined ? undefined : toTenant(row);
  }

  /** Changes some of a tenant's quotas; returns the tenant as it now is. */
  setQuotas(tenantId: string, quotas: Partial<Quotas>): Tenant {
    const tenant = this.#require(tenantId);
    tenant.quotas = { ...tenant.quotas, ...quotas };
    this.#db
      .prepare('UPDATE tenancy_tenants SET quotas = ? WHERE id = ?')
      .run(JSON.stringify(tenant.quotas), tenant.id);
    return tenant;
  }

  /** A new key for a tenant (keys are independent; old ones keep working until revoked). */
  createKey(tenantId: string): { key_id: string; api_key: string } {
    const tenant = this.#require(tenantId);
    return this.#insertKey(tenant.id);
  }

  /** A tenant's keys, without secrets. */
  listKeys(tenantIdOrName: string): ApiKeyInfo[] {
    const tenantId = this.getTenant(tenantIdOrName)?.id ?? tenantIdOrName;
    return this.#db
      .prepare(
        'SELECT key_id, tenant_id, created_at, revoked_at FROM tenancy_keys WHERE tenant_id = ? ORDER BY created_at',
      )
      .all(tenantId) as ApiKeyInfo[];
  }

  /**
   * Revokes a key of a tenant named by id or name; false when the tenant has no such
   * key. Idempotent.
   */
  revokeKey(tenantIdOrName: string, keyId: string): boolean {
    const tenantId = this.getTenant(tenantIdOrName)?.id;
    if (tenantId === undefined) return false;
    const result = this.#db
      .prepare(
        'UPDATE tenancy_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE key_id = ? AND tenant_id = ?',
      )
      .run(new Date().toISOString(), keyId, tenantId);
    return result.changes > 0;
  }

  /** Who presents `apiKey`, or undefined for a missing, malformed, wrong or revoked key. */
  authenticate(apiKey: string | undefined): Principal | undefined {
    if (apiKey === undefined || apiKey === '') return undefined;
    const adminDigest = this.#config.adminKeyDigest;
    if (adminDigest !== undefined && timingSafeEqual(digest(apiKey), adminDigest))
      return { kind: 'admin' };
    const keyId = parseKeyId(apiKey);
    if (keyId === undefined) return undefined;
    // Prepared once: every request authenticates, and preparing took longer than the lookup.
    this.#keyLookup ??= this.#db.prepare(
      `SELECT k.hash, k.revoked_at, t.* FROM tenancy_keys k JOIN tenancy_tenants t ON t.id = k.tenant_id
         WHERE k.key_id = ?`,
    );
    const row = this.#keyLookup.get(keyId) as
      (TenantRow & { hash: string; revoked_at: string | null }) | undefined;
    if (row === undefined || row.revoked_at !== null || !apiKeyMatches(apiKey, row.hash))
      return undefined;
    return { kind: 'tenant', tenant: toTenant(row), key_id: keyId };
  }

  /** Closes the database. */
  close(): void {
    this.#db.close();
  }

  #insertKey(tenantId: string): { key_id: string; api_key: string } {
    const key = generateApiKey();
    this.#db
      .prepare('INSERT INTO tenancy_keys (key_id, tenant_id, hash, created_at) VALUES (?, ?, ?, ?)')
      .run(key.key_id, tenantId, key.hash, new Date().toISOString());
    return { key_id: key.key_id, api_key: key.api_key };
  }

  #require(tenantId: string): Tenant {
    const tenant = this.getTenant(tenantId);
    if (tenant === undefined) {
      throw new WarmflowError('E_NO_TENANT', `no tenant "${tenantId}"`, {
        hint: 'list tenants with `warmflow tenant list`',
      });
    }
    return tenant;
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function toTenant(row: TenantRow): Tenant {
  return {
    id: row.id,
    name: row.name,
    created_at: row.created_at,
    quotas: withDefaultQuotas(JSON.parse(row.quotas) as Partial<Quotas>),
  };
}
