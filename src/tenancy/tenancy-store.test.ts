import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtempSync, statSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TenancyStore } from './tenancy-store.js';
import { resolveAdminKey } from './admin-key.js';
import { DEFAULT_QUOTAS } from './quotas.js';
import { parseKeyId } from './api-key.js';

const ADMIN = 'admin-key-for-tests-0123456789';

describe('TenancyStore', () => {
  let store: TenancyStore;
  beforeEach(() => {
    store = new TenancyStore({ path: ':memory:', adminKey: ADMIN });
  });
  afterEach(() => store.close());

  it('creates a tenant whose first key authenticates as that tenant', () => {
    const { tenant, api_key, key_id } = store.createTenant('acme');
    expect(tenant.quotas).toEqual(DEFAULT_QUOTAS);
    expect(parseKeyId(api_key)).toBe(key_id);
    const who = store.authenticate(api_key);
    expect(who).toMatchObject({ kind: 'tenant', tenant: { id: tenant.id, name: 'acme' }, key_id });
  });

  it('never stores the key itself', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wf-tenancy-'));
    try {
      const file = path.join(dir, 'db.sqlite');
      const onDisk = new TenancyStore({ path: file });
      const { api_key } = onDisk.createTenant('acme');
      onDisk.close();
      const secret = api_key.split('_').slice(2).join('_');
      expect(readFileSync(file).includes(Buffer.from(secret))).toBe(false);
      const reopened = new TenancyStore({ path: file });
      expect(reopened.authenticate(api_key)?.kind).toBe('tenant');
      reopened.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses missing, malformed, wrong and revoked keys', () => {
    const { tenant, api_key, key_id } = store.createTenant('acme');
    expect(store.authenticate(undefined)).toBeUndefined();
    expect(store.authenticate('')).toBeUndefined();
    expect(store.authenticate('Bearer nonsense')).toBeUndefined();
    // Right key id, wrong secret: the lookup finds the row, the hash comparison refuses it.
    const wrong = api_key.slice(0, -4) + (api_key.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    expect(store.authenticate(wrong)).toBeUndefined();
    const second = store.createKey(tenant.id);
    expect(store.revokeKey(tenant.id, key_id)).toBe(true);
    expect(store.authenticate(api_key)).toBeUndefined();
    expect(store.authenticate(second.api_key)?.kind).toBe('tenant');
    expect(store.listKeys(tenant.id).map((k) => k.revoked_at === null)).toEqual([false, true]);
  });

  it('does not let one tenant revoke another tenant key', () => {
    const a = store.createTenant('a');
    const b = store.createTenant('b');
    expect(store.revokeKey(a.tenant.id, b.key_id)).toBe(false);
    expect(store.authenticate(b.api_key)?.kind).toBe('tenant');
  });

  it('recognises the admin key and only it', () => {
    expect(store.authenticate(ADMIN)).toEqual({ kind: 'admin' });
    expect(store.authenticate(ADMIN + 'x')).toBeUndefined();
  });

  it('refuses a duplicate tenant name and keeps quota overrides', () => {
    store.createTenant('acme', { cores: 2 });
    expect(() => store.createTenant('acme')).toThrow(/already exists/);
    const t = store.getTenant('acme');
    expect(t?.quotas.cores).toBe(2);
    expect(store.setQuotas(t!.id, { memory_gb: 3 }).quotas).toMatchObject({
      cores: 2,
      memory_gb: 3,
    });
    expect(store.listTenants().map((x) => x.name)).toEqual(['acme']);
  });
});

describe('resolveAdminKey', () => {
  it('prefers WARMFLOW_ADMIN_KEY', () => {
    expect(
      resolveAdminKey({ env: { WARMFLOW_ADMIN_KEY: 'k'.repeat(20) }, home: '/nonexistent' }),
    ).toEqual({
      key: 'k'.repeat(20),
      source: 'env',
    });
    expect(() => resolveAdminKey({ env: { WARMFLOW_ADMIN_KEY: 'short' } })).toThrow(
      /16 characters/,
    );
  });

  it('generates a 0600 file on first start and reuses it', () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'wf-admin-'));
    try {
      const first = resolveAdminKey({ env: {}, home });
      expect(first.source).toBe('generated');
      expect(statSync(first.file!).mode & 0o777).toBe(0o600);
      const second = resolveAdminKey({ env: {}, home });
      expect(second).toEqual({ key: first.key, source: 'file', file: first.file });
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
