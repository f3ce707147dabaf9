import { WarmflowError } from '../../errors.js';

const SUFFIX: Record<string, number> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/;

/**
 * Parses a Kubernetes resource quantity (`500m`, `2`, `8Gi`, `1e3`, `1.5G`) into a plain
 * number of base units (cores for CPU, bytes for memory).
 */
export function parseQuantity(quantity: string | number): number {
  if (typeof quantity === 'number') return quantity;
  const match = QUANTITY.exec(quantity.trim());
  if (match === null) {
    throw new WarmflowError('E_K8S_QUANTITY', `"${quantity}" is not a Kubernetes quantity`);
  }
  const base = Number(match[1]);
  if (match[2] !== undefined) return base * 10 ** Number(match[2].slice(1));
  return base * SUFFIX[match[3] ?? ''];
}

/** CPU cores as a quantity: whole cores plainly (`4`), fractions in millicores (`1500m`). */
export function cpuQuantity(cores: number): string {
  if (Number.isInteger(cores)) return String(cores);
  return `${Math.ceil(cores * 1000)}m`;
}

/** GiB as a quantity: whole GiB plainly (`8Gi`), fractions in MiB (`512Mi`), rounded up. */
export function memoryQuantity(gib: number): string {
  if (Number.isInteger(gib)) return `${gib}Gi`;
  return `${Math.ceil(gib * 1024)}Mi`;
}

/** Bytes → GiB, the unit of `memory_gb` in RPRs and capacities. */
export function bytesToGib(bytes: number): number {
  return bytes / 2 ** 30;
}
