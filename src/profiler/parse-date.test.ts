import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { parseDate, parseIsoDate } from './parse-date.js';

/** The ISO fast path written digit by digit, as its comment states it: the reference. */
function referenceIso(s: string): number {
  const digits = (from: number, count: number): number => {
    let value = 0;
    for (let i = from; i < from + count; i++) {
      const c = s.charCodeAt(i) - 48;
      if (!(c >= 0 && c <= 9)) return NaN;
      value = value * 10 + c;
    }
    return value;
  };
  const n = s.length;
  if (n < 10 || s[4] !== '-' || s[7] !== '-') return NaN;
  const [year, month, day] = [digits(0, 4), digits(5, 2), digits(8, 2)];
  if (!(month >= 1 && month <= 12 && day >= 1 && day <= 31) || year !== year) return NaN;
  // Date counts days past the end of a month on into the next, as the arithmetic does.
  const at = new Date(0);
  at.setUTCFullYear(year, month - 1, day);
  let ms = at.getTime();
  if (n === 10) return ms;
  if ((s[10] !== 'T' && s[10] !== ' ') || n < 16 || s[13] !== ':') return NaN;
  const [hour, minute] = [digits(11, 2), digits(14, 2)];
  if (!(hour <= 23 && minute <= 59)) return NaN;
  ms += hour * 3_600_000 + minute * 60_000;
  let i = 16;
  if (s[16] === ':') {
    const second = digits(17, 2);
    if (!(second <= 60)) return NaN;
    ms += second * 1000;
    i = 19;
    if (s[19] === '.') {
      let j = 20;
      let fraction = 0;
      let scale = 100;
      while (j < n && s[j] >= '0' && s[j] <= '9') {
        fraction += (s.charCodeAt(j) - 48) * scale;
        scale /= 10;
        j++;
      }
      if (j === 20) return NaN;
      ms += Math.floor(fraction);
      i = j;
    }
  }
  if (i === n) return ms;
  if (s[i] === 'Z' && i + 1 === n) return ms;
  if (s[i] !== '+' && s[i] !== '-') return NaN;
  const colon = s[i + 3] === ':';
  const [oh, om] = [digits(i + 1, 2), digits(colon ? i + 4 : i + 3, 2)];
  if ((colon ? i + 6 : i + 5) !== n || oh !== oh || om !== om) return NaN;
  const offset = (oh * 60 + om) * 60_000;
  return s[i] === '+' ? ms - offset : ms + offset;
}

/** ISO timestamps, cut short, with characters replaced, with zones and long fractions. */
const dateLike = fc
  .tuple(
    fc.date({ min: new Date(-5e13), max: new Date(2.5e14), noInvalidDate: true }),
    fc.nat(30),
    fc.array(fc.tuple(fc.nat(29), fc.constantFrom(...'0123456789-:T Z+./x')), { maxLength: 3 }),
    fc.constantFrom('', 'Z', '+01:00', '-0530', '+1', '.123456789Z', '.Z', ':60', ':61'),
    fc.boolean(),
  )
  .map(([date, cut, edits, zone, useZone]) => {
    const iso = date.toISOString().replace(/^\+0*/, '').replace(/^-0*/, '-');
    let s = useZone ? iso.slice(0, 19) + zone : iso.slice(0, Math.max(1, iso.length - cut));
    for (const [at, c] of edits) if (at < s.length) s = s.slice(0, at) + c + s.slice(at + 1);
    return s;
  });

describe('parseIsoDate', () => {
  it('reads every shape it accepts as the reference does, and refuses the rest (property)', () => {
    fc.assert(
      fc.property(dateLike, (s) => {
        expect(parseIsoDate(s)).toBe(referenceIso(s));
      }),
      { numRuns: 20_000, seed: 23 },
    );
  });

  it('agrees with Date for ISO timestamps, and parseDate falls back to Date.parse', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }), (d) => {
        expect(parseIsoDate(d.toISOString())).toBe(d.getTime());
        expect(parseIsoDate(d.toISOString().slice(0, 10))).toBe(
          Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()),
        );
      }),
      { numRuns: 2000, seed: 29 },
    );
    expect(parseIsoDate('2015-01-01 01:00:00+02:00')).toBe(Date.UTC(2014, 11, 31, 23));
    expect(parseDate('2015/01/01 01:00:00')).toBe(Date.parse('2015/01/01 01:00:00'));
    expect(parseIsoDate('2015/01/01')).toBeNaN();
    expect(parseDate('not a date')).toBeNaN();
  });
});
