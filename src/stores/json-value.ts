import type { StoreEntries } from './store.js';
import { StoreError } from './store-error.js';
import type { StoreKind } from '../template/types.js';

/**
 * Serializes a value for storage. Returns `undefined` for `undefined` (the caller
 * deletes the key); throws {@link StoreError} `E_STORE_VALUE` for what JSON cannot
 * hold (BigInt, cycles), naming the key so the user finds the offending state.
 */
export function encodeValue(
  store: { name: string; kind: StoreKind },
  where: string,
  value: unknown,
): string | undefined {
  if (value === undefined) return undefined;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (cause) {
    throw new StoreError('E_STORE_VALUE', store, `value for ${where} is not JSON`, {
      cause,
      hint: 'store plain objects, arrays, strings, numbers, booleans or null',
    });
  }
  // JSON.stringify returns undefined for functions and symbols: treat like undefined.
  return text;
}

/** Parses what {@link encodeValue} produced; `null`/missing rows become `undefined`. */
export function decodeValue(text: string | null | undefined): unknown {
  return text === null || text === undefined ? undefined : JSON.parse(text);
}

/**
 * Keeps the last entry for each key, preserving first-seen order: a repeated key in
 * one `putMany` must behave like sequential puts, and SQL upserts refuse to touch a
 * row twice in one statement.
 */
export function lastWins<T>(entries: ReadonlyArray<readonly [string, T]>): Map<string, T> {
  const byKey = new Map<string, T>();
  for (const [key, value] of entries) byKey.set(key, value);
  return byKey;
}

/**
 * The entries of one `putMany` (or one namespace of an epoch commit) ready to write: the last
 * value of each key serialized (`keys[i]` gets `texts[i]`), and the keys whose value is
 * `undefined`, to delete. Throws `E_STORE_VALUE` before anything is written.
 */
export function encodeEntries(
  store: { name: string; kind: StoreKind },
  namespace: string,
  entries: StoreEntries,
): { keys: string[]; texts: string[]; deletes: string[] } {
  const keys: string[] = [];
  const texts: string[] = [];
  const deletes: string[] = [];
  for (const [key, value] of lastWins(entries)) {
    const text = encodeValue(store, `"${key}" in "${namespace}"`, value);
    if (text === undefined) deletes.push(key);
    else {
      keys.push(key);
      texts.push(text);
    }
  }
  return { keys, texts, deletes };
}
