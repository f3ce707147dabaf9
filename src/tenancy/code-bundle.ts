import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ValidationError, type Problem } from '../errors.js';
import type { TenantArea } from './tenant-area.js';

/** Limits of one uploaded bundle. */
export const BUNDLE_LIMITS = { files: 256, bytes: 8 * 1024 * 1024, pathLength: 200 } as const;

/** Why a bundle file name is refused, or null: relative, `/`-separated, no `..` or `.` segments. */
function refusedName(name: string): string | null {
  if (name.length === 0 || name.length > BUNDLE_LIMITS.pathLength) return 'empty or too long';
  if (name.includes('\0') || name.includes('\\')) return 'use / between folders';
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) return 'must be relative';
  const segments = name.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..'))
    return 'no empty, "." or ".." segments';
  if (segments.includes('node_modules')) return 'no node_modules';
  return null;
}

/**
 * Stores a tenant's code bundle (file name → UTF-8 content) in its area, content-addressed:
 * `code/<sha256 of the bundle>/`. The same bundle lands in the same folder (registering it again
 * costs nothing); a changed file makes a new folder, so a flow version's code never changes under
 * it. Returns the folder. Refuses (listing every problem) names that escape, too many files or bytes.
 *
 * ```ts
 * const dir = storeBundle(areas.area('alice'), { 'functions/enrich.js': 'export const enrich = (r) => r;' });
 * ```
 */
export function storeBundle(area: TenantArea, files: Record<string, unknown>): string {
  const problems: Problem[] = [];
  const names = Object.keys(files).sort();
  if (names.length > BUNDLE_LIMITS.files)
    problems.push({
      code: 'E_BUNDLE_TOO_LARGE',
      message: `${names.length} files; a bundle holds at most ${BUNDLE_LIMITS.files}`,
    });
  let bytes = 0;
  for (const name of names) {
    const content = files[name];
    const refused = refusedName(name);
    if (refused !== null)
      problems.push({
        code: 'E_BUNDLE_PATH',
        message: `file "${name}": ${refused}`,
        path: `files.${name}`,
      });
    if (typeof content !== 'string')
      problems.push({
        code: 'E_BUNDLE_FILE',
        message: `file "${name}": content must be a string`,
        path: `files.${name}`,
      });
    else bytes += Buffer.byteLength(content, 'utf8');
  }
  if (bytes > BUNDLE_LIMITS.bytes)
    problems.push({
      code: 'E_BUNDLE_TOO_LARGE',
      message: `${bytes} bytes of files; a bundle holds at most ${BUNDLE_LIMITS.bytes}`,
    });
  if (problems.length > 0) throw new ValidationError('code bundle', problems);
  const hash = createHash('sha256');
  for (const name of names)
    hash
      .update(name)
      .update('\0')
      .update(files[name] as string)
      .update('\0');
  const dir = path.join(area.code, hash.digest('hex').slice(0, 32));
  if (existsSync(dir)) return dir;
  // Written aside and renamed, so a half-written bundle is never what a flow runs.
  const staging = `${dir}.${process.pid}.${Date.now()}.tmp`;
  try {
    for (const name of names) {
      const file = path.join(staging, ...name.split('/'));
      mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
      writeFileSync(file, files[name] as string, { mode: 0o444 });
    }
    mkdirSync(staging, { recursive: true });
    renameSync(staging, dir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(dir)) throw error;
  }
  return dir;
}
