/**
 * How deep a record may nest (arrays and objects). Deeper records are not data but an
 * attack on every recursive walk after the parser (profiling, serializing, flattening):
 * they become dead letters (malformed records), never a crash.
 */
export const MAX_RECORD_DEPTH = 256;

/**
 * Whether the JSON text in `buffer[start, end)` nests deeper than `limit`, in one linear pass
 * ({@link jsonDepth} over the bytes read as latin1: one character per byte, so the structural
 * ASCII bytes are found as they are and UTF-8 sequences never look like them). Text shorter
 * than twice the limit cannot (every level takes an opening and a closing byte), so ordinary
 * records cost nothing.
 */
export function nestsDeeperThan(
  buffer: Buffer,
  start: number,
  end: number,
  limit: number,
): boolean {
  if (end - start <= 2 * limit) return false;
  return jsonDepth(buffer.toString('latin1', start, end), limit) > limit;
}

/**
 * The deepest nesting of arrays and objects in JSON text, found in one linear pass that
 * skips strings (and the escapes inside them). It answers for malformed text too: the
 * parser that runs afterwards reports what is malformed.
 */
export function jsonDepth(text: string, stopAbove = Infinity): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > stopAbove) return deepest;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/** The dead-letter reason of a record nested too deep. */
export function tooDeepMessage(limit: number): string {
  return `the record nests more than ${limit} levels deep (limit "max_record_depth")`;
}
