/**
 * Whether progress may be drawn on `stream`: a terminal that reports a width. A pipe, a file,
 * or a terminal without columns (some CI and editor consoles) gets nothing, so no spinner
 * frames or cursor codes end up in what the user captures.
 */
export function spinnerAllowed(
  stream: { isTTY?: boolean; columns?: number } = process.stderr,
): boolean {
  return stream.isTTY === true && (stream.columns ?? 0) > 0;
}
