/**
 * One log entry: a JSON object on one line. Tenant-controlled text (a function's
 * export name, a path, an error message) is a JSON string value, so a newline in it
 * is `\n` inside the value and can never start a line that looks like another entry.
 */
export interface LogEntry {
  time: string;
  level: 'info' | 'warn' | 'error';
  msg: string;
  [field: string]: unknown;
}

/** The fields of a thrown value worth logging: name, code, message and stack. */
export function errorFields(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { error: String(error) };
  const fields: Record<string, unknown> = { error: error.message, error_name: error.name };
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') fields.error_code = code;
  if (error.stack !== undefined) fields.stack = error.stack;
  return fields;
}

/**
 * Writes `entry` as one JSON line (to stderr by default).
 *
 * ```ts
 * writeLog({ level: 'error', msg: 'execution failed', execution: id, ...errorFields(error) });
 * ```
 */
export function writeLog(
  entry: Omit<LogEntry, 'time'>,
  write: (line: string) => void = (line) => void process.stderr.write(line),
): void {
  write(JSON.stringify({ time: new Date().toISOString(), ...entry }) + '\n');
}

/** The server's default error log: `message` and the error's fields, as one JSON line. */
export function jsonErrorLog(message: string, error: unknown): void {
  writeLog({ level: 'error', msg: message, ...errorFields(error) });
}
