/**
 * Epoch ms of an ISO-8601-like date string (`YYYY-MM-DD`, optionally `[T ]HH:MM[:SS[.fff]]`
 * and `Z` or `±HH:MM`/`±HHMM`; no zone means UTC), computed with arithmetic; NaN when
 * the string has another shape. Other shapes fall back to `Date.parse`, which costs
 * several times more, in {@link parseDate}.
 */
export function parseIsoDate(s: string): number {
  const n = s.length;
  if (n < 10 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return NaN;
  const century = two(s, 0);
  const yy = two(s, 2);
  const month = two(s, 5);
  const day = two(s, 8);
  if (century < 0 || yy < 0 || month < 1 || month > 12 || day < 1 || day > 31) return NaN;
  let ms = daysOf(century * 100 + yy, month, day) * 86_400_000;
  if (n === 10) return ms;
  const sep = s.charCodeAt(10);
  if ((sep !== 84 && sep !== 32) || n < 16 || s.charCodeAt(13) !== 58) return NaN;
  const hour = two(s, 11);
  const minute = two(s, 14);
  if (hour < 0 || minute < 0 || hour > 23 || minute > 59) return NaN;
  ms += hour * 3_600_000 + minute * 60_000;
  let i = 16;
  if (i < n && s.charCodeAt(i) === 58) {
    const second = two(s, 17);
    if (second < 0 || second > 60) return NaN;
    ms += second * 1000;
    i = 19;
    if (i < n && s.charCodeAt(i) === 46) {
      let j = i + 1;
      let fraction = 0;
      let scale = 100;
      while (j < n) {
        const c = s.charCodeAt(j) - 48;
        if (c < 0 || c > 9) break;
        fraction += c * scale;
        scale /= 10;
        j++;
      }
      if (j === i + 1) return NaN;
      ms += Math.floor(fraction);
      i = j;
    }
  }
  if (i === n) return ms;
  const zone = s.charCodeAt(i);
  if (zone === 90 && i + 1 === n) return ms;
  if (zone !== 43 && zone !== 45) return NaN;
  const colon = s.charCodeAt(i + 3) === 58;
  const oh = two(s, i + 1);
  const om = two(s, colon ? i + 4 : i + 3);
  if ((colon ? i + 6 : i + 5) !== n || oh < 0 || om < 0) return NaN;
  const offset = (oh * 60 + om) * 60_000;
  return zone === 43 ? ms - offset : ms + offset;
}

/** Epoch ms of a date string: the ISO fast path, else `Date.parse` for shapes like `2015/01/01 01:00:00`. */
export function parseDate(s: string): number {
  const ms = parseIsoDate(s);
  return ms === ms ? ms : Date.parse(s);
}

/** The two decimal digits at `i` and `i + 1` as a number, or -1 (past the end too). */
function two(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  // NaN (past the end) fails every comparison.
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

// The last date converted: timestamps of a stream mostly fall on the day before them.
let lastYear = -1;
let lastMonth = -1;
let lastDay = -1;
let lastDays = 0;

/** {@link daysFromCivil}, remembering the last date. */
function daysOf(y: number, m: number, d: number): number {
  if (y !== lastYear || m !== lastMonth || d !== lastDay) {
    lastDays = daysFromCivil(y, m, d);
    lastYear = y;
    lastMonth = m;
    lastDay = d;
  }
  return lastDays;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}
