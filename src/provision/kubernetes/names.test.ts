import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { dnsLabel, isDns1123Label, isLabelKey, isLabelValue, labelValue } from './names.js';
import { cpuQuantity, memoryQuantity, parseQuantity } from './quantity.js';

describe('names', () => {
  it('dnsLabel always yields a DNS-1123 label within the length asked', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.integer({ min: 8, max: 63 }), (text, max) => {
        const name = dnsLabel(text, max);
        expect(isDns1123Label(name)).toBe(true);
        expect(name.length).toBeLessThanOrEqual(max);
      }),
    );
  });

  it('keeps names apart that sanitise alike', () => {
    expect(dnsLabel('Acme')).not.toBe(dnsLabel('acme'));
    expect(dnsLabel('a b')).not.toBe(dnsLabel('a-b'));
    expect(dnsLabel('x'.repeat(100) + '1')).not.toBe(dnsLabel('x'.repeat(100) + '2'));
  });

  it('labelValue keeps valid values and repairs the rest', () => {
    expect(labelValue('clicks')).toBe('clicks');
    fc.assert(
      fc.property(fc.string({ maxLength: 120 }), (text) => {
        expect(isLabelValue(labelValue(text))).toBe(true);
      }),
    );
  });

  it('recognises bad names and keys', () => {
    expect(isDns1123Label('Upper')).toBe(false);
    expect(isDns1123Label('-lead')).toBe(false);
    expect(isDns1123Label('a'.repeat(64))).toBe(false);
    expect(isLabelKey('warmflow.dev/tenant')).toBe(true);
    expect(isLabelKey('Bad_Prefix/x')).toBe(false);
    expect(isLabelValue('ends-with-')).toBe(false);
  });
});

describe('quantities', () => {
  it('parses Kubernetes quantities', () => {
    expect(parseQuantity('500m')).toBe(0.5);
    expect(parseQuantity('8Gi')).toBe(8 * 2 ** 30);
    expect(parseQuantity('1e3')).toBe(1000);
    expect(parseQuantity('1.5G')).toBe(1.5e9);
    expect(() => parseQuantity('lots')).toThrow(/not a Kubernetes quantity/);
  });

  it('formats what it parses back to the same amount', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64_000 }), (milli) => {
        const cores = milli / 1000;
        expect(parseQuantity(cpuQuantity(cores))).toBeCloseTo(Math.ceil(cores * 1000) / 1000, 9);
        expect(parseQuantity(memoryQuantity(cores)) / 2 ** 30).toBeGreaterThanOrEqual(cores - 1e-9);
      }),
    );
  });
});
