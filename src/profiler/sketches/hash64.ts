/**
 * 64-bit hashing of scalar values without building strings: strings are hashed by
 * their UTF-16 code units, numbers by the bits of their float64 representation,
 * booleans by a constant. Each kind is tagged, so `1`, `"1"` and `true` never collide
 * by construction. The result is written into {@link HASH} (`[hi, lo]`, two 32-bit
 * lanes) instead of being returned, because returning two numbers would allocate on
 * the hot path.
 */

/** The last computed hash: `HASH[0]` is the high 32 bits, `HASH[1]` the low 32 bits. */
export const HASH = new Int32Array(2);

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
// Little-endian on every platform Node runs on; checked once rather than assumed.
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LITTLE ? 0 : 1;
const HI = LITTLE ? 1 : 0;

/** murmur3's 32-bit finaliser: a bijection with full avalanche. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Two-lane multiplicative hash (cyrb53's core) finalised with murmur3's fmix on each lane. */
export function hashString(s: string): void {
  let h1 = 0xdeadbeef ^ s.length;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  HASH[0] = fmix32(h1 ^ 0x2545f491);
  HASH[1] = fmix32(h2 + Math.imul(HASH[0], 0x9e3779b1));
}

/** Hashes the float64 bits of `x`; `-0` is folded into `0` so equal numbers hash equally. */
export function hashNumber(x: number): void {
  F64[0] = x === 0 ? 0 : x;
  const lo = U32[LO];
  const hi = U32[HI];
  const a = fmix32(hi ^ 0x6a09e667);
  const b = fmix32(lo ^ Math.imul(a, 0x9e3779b1) ^ 0xbb67ae85);
  HASH[0] = fmix32(a ^ Math.imul(b, 0x85ebca6b) ^ 0x3c6ef372);
  HASH[1] = fmix32(b + Math.imul(HASH[0], 0xc2b2ae35));
}

/** Hashes a boolean (two fixed, well-spread values). */
export function hashBoolean(b: boolean): void {
  HASH[0] = b ? 0x5be0cd19 : 0x1f83d9ab;
  HASH[1] = b ? 0x510e527f : 0x9b05688c;
}

/**
 * Hashes any scalar (string, number, boolean); other values are hashed by their JSON
 * text. Returns false for null/undefined, which have no distinct value to count.
 */
export function hashValue(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
      hashString(value);
      return true;
    case 'number':
      hashNumber(value);
      return true;
    case 'boolean':
      hashBoolean(value);
      return true;
    default:
      if (value === null || value === undefined) return false;
      hashString(JSON.stringify(value));
      return true;
  }
}
