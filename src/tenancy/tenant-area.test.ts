import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { storeBundle } from './code-bundle.js';
import { TenantAreas } from './tenant-area.js';

const base = mkdtempSync(path.join(os.tmpdir(), 'wf-areas-'));
const shared = path.join(base, 'shared');
const home = path.join(base, 'home');
mkdirSync(shared);
mkdirSync(home);
writeFileSync(path.join(home, 'admin.key'), 'secret');
const areas = new TenantAreas({
  root: path.join(home, 'tenants'),
  sharedRoots: [shared, base],
  denied: [home],
});

describe('TenantAreas.resolve: every path a tenant names', () => {
  it('stays in its area or a shared root, compared by path segments', () => {
    const alice = areas.area('alice');
    expect(areas.resolve('alice', './data/x.jsonl')).toBe(path.join(alice.root, 'data/x.jsonl'));
    expect(areas.resolve('alice', '..clicks.jsonl', alice.data)).toBe(
      path.join(alice.data, '..clicks.jsonl'),
    );
    expect(areas.resolve('alice', path.join(shared, 'a.js'))).toBe(path.join(shared, 'a.js'));
    expect(areas.resolve('alice', '/etc/passwd')).toBeNull();
    expect(areas.resolve('alice', '../../../../../../etc/passwd', alice.data)).toBeNull();
  });

  it("never reaches the home folder or another tenant's area, even through a shared root", () => {
    areas.area('bob');
    expect(areas.resolve('alice', path.join(home, 'admin.key'))).toBeNull();
    expect(areas.resolve('alice', path.join(areas.area('bob').data, 'x'))).toBeNull();
    expect(areas.resolve('alice', `${areas.area('alice').root}x/y`)).toBeNull();
  });

  it('follows symlinks: a link inside the area that leads out is refused', () => {
    const alice = areas.area('alice');
    symlinkSync(path.join(home, 'admin.key'), path.join(alice.data, 'key-link'));
    symlinkSync(home, path.join(alice.data, 'home-link'));
    expect(areas.resolve('alice', './data/key-link')).toBeNull();
    expect(areas.resolve('alice', './data/home-link/admin.key')).toBeNull();
    expect(areas.resolve('alice', './data/home-link/new-file')).toBeNull();
  });
});

describe('storeBundle', () => {
  it('stores files content-addressed and refuses names that escape', () => {
    const alice = areas.area('alice');
    const dir = storeBundle(alice, { 'fn/a.js': 'export const a = 1;' });
    expect(path.dirname(dir)).toBe(alice.code);
    expect(readFileSync(path.join(dir, 'fn/a.js'), 'utf8')).toBe('export const a = 1;');
    expect(storeBundle(alice, { 'fn/a.js': 'export const a = 1;' })).toBe(dir);
    expect(storeBundle(alice, { 'fn/a.js': 'export const a = 2;' })).not.toBe(dir);
    for (const name of ['../x.js', '/etc/x.js', 'a/../../x.js', 'node_modules/x.js', 'a\\b.js'])
      expect(() => storeBundle(alice, { [name]: '' }), name).toThrow(/code bundle/);
  });
});
