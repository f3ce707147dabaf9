import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Every warmflow API key starts with this, so leaked keys are easy to scan for. */
export const API_KEY_PREFIX = 'wf_';

/** A freshly made key: `api_key` is shown once; only `hash` is stored. */
export interface GeneratedApiKey {
  key_id: string;
  api_key: string;
  hash: string;
}

/**
 * Makes a key `wf_<key id>_<secret>`: the key id (8 random bytes, hex) is the
 * lookup handle and may be logged; the secret is 32 random bytes (base64url).
 */
export function generateApiKey(): GeneratedApiKey {
  const keyId = randomBytes(8).toString('hex');
  const apiKey = `${API_KEY_PREFIX}${keyId}_${randomBytes(32).toString('base64url')}`;
  return { key_id: keyId, api_key: apiKey, hash: hashApiKey(apiKey) };
}

/** The key id of a well-formed key, or undefined for anything else. */
export function parseKeyId(apiKey: string): string | undefined {
  const match = /^wf_([0-9a-f]{16})_[A-Za-z0-9_-]{43}$/.exec(apiKey);
  return match?.[1];
}

/** sha256 of the whole key, hex: what the database keeps instead of the key. */
export function hashApiKey(apiKey: string): string {
  return createHash('sha256').update(apiKey).digest('hex');
}

/**
 * Compares a presented key with a stored hash in constant time. Both sides are
 * fixed-length digests, so neither the length nor the content leaks by timing.
 */
export function apiKeyMatches(apiKey: string, storedHash: string): boolean {
  const presented = createHash('sha256').update(apiKey).digest();
  const stored = Buffer.from(storedHash, 'hex');
  return stored.length === presented.length && timingSafeEqual(presented, stored);
}
