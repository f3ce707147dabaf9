/**
 * PostgreSQL `text` cannot hold NUL, yet keys and namespaces may contain it (keyed
 * state's item keys do, by contract). These escape `\` as `\\` and NUL as `\0`:
 * reversible, injective, and readable in psql for every other key.
 */
export function escapePgText(text: string): string {
  if (!text.includes('\\') && !text.includes('\u0000')) return text;
  return text.replace(/\\/g, '\\\\').split('\u0000').join('\\0');
}

/** Reverses {@link escapePgText}. */
export function unescapePgText(text: string): string {
  if (!text.includes('\\')) return text;
  return text.replace(/\\(\\|0)/g, (_, c: string) => (c === '0' ? '\u0000' : '\\'));
}
