/**
 * Epoch ms of an ISO-8601-like date string (`YYYY-MM-DD`, optionally `[T ]HH:MM[:SS[.fff]]`
 * and `Z` or `±HH:MM`/`±HHMM`; no zone means UTC), computed with arithmetic; NaN when
 * the string has another shape. Other shapes fall back to `Date.parse`, which costs
 * several times more, in {@link parseDate}.
 */
export function parseIsoDate(s: string): number {
  const n = s.length;
  if (n < 10 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return NaN;
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  if (year !== year || month < 1 || month > 12 || day < 1 || day > 31) return NaN;
  let ms = daysFromCivil(year, month, day) * 86_400_000;
  if (n === 10) return ms;
  const sep = s.charCodeAt(10);
  if ((sep !== 84 && sep !== 32) || n < 16 || s.charCodeAt(13) !== 58) return NaN;
  const hour = digits(s, 11, 2);
  const minute = digits(s, 14, 2);
  if (hour > 23 || minute > 59) return NaN;
  ms += hour * 3_600_000 + minute * 60_000;
  let i = 16;
  if (i < n && s.charCodeAt(i) === 58) {
    const second = digits(s, 17, 2);
    if (!(second <= 60)) return NaN;
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
  const oh = digits(s, i + 1, 2);
  const om = s.charCodeAt(i + 3) === 58 ? digits(s, i + 4, 2) : digits(s, i + 3, 2);
  const end = s.charCodeAt(i + 3) === 58 ? i + 6 : i + 5;
  if (end !== n || oh !== oh || om !== om) return NaN;
  const offset = (oh * 60 + om) * 60_000;
  return zone === 43 ? ms - offset : ms + offset;
}

/** Epoch ms of a date string: the ISO fast path, else `Date.parse` for shapes like `2015/01/01 01:00:00`. */
export function parseDate(s: string): number {
  const ms = parseIsoDate(s);
  return ms === ms ? ms : Date.parse(s);
}

function digits(s: string, from: number, count: number): number {
  let value = 0;
  for (let i = from; i < from + count; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return NaN;
    value = value * 10 + c;
  }
  return value;
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
