/** Protocol 3.0, and the requests a client may send before its startup message. */
const PROTOCOL_3 = 196608;
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
/** Postgres's own limit on a startup packet. */
const MAX_STARTUP = 10000;

/**
 * Startup parameters a tenant's client may set: session settings with no power. Everything
 * else is dropped — except `replication`, which is refused — and `user` and `database` are the
 * relay's.
 */
const PASSED = new Set([
  'application_name',
  'client_encoding',
  'DateStyle',
  'TimeZone',
  'IntervalStyle',
  'extra_float_digits',
  'search_path',
]);

/** What the first bytes of a client connection come to. */
export type StartupStep =
  | { need: 'more' }
  | { answer: 'N'; consumed: number }
  | { refused: string }
  | { params: Map<string, string>; consumed: number };

/**
 * Reads a client's first message from `buffer`: an SSL or GSSAPI encryption request (answered
 * `N`: the relay's socket is local), a cancel request (refused: it would name another backend),
 * or the protocol 3.0 startup message with its parameters.
 */
export function readStartup(buffer: Buffer): StartupStep {
  if (buffer.length < 8) return { need: 'more' };
  const length = buffer.readInt32BE(0);
  if (length < 8 || length > MAX_STARTUP) return { refused: 'malformed startup packet' };
  if (buffer.length < length) return { need: 'more' };
  const code = buffer.readInt32BE(4);
  if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
    if (length !== 8) return { refused: 'malformed startup packet' };
    return { answer: 'N', consumed: 8 };
  }
  if (code === CANCEL_REQUEST) return { refused: 'cancel requests are not relayed' };
  if (code !== PROTOCOL_3) return { refused: 'only protocol 3.0 is spoken here' };
  const params = new Map<string, string>();
  const body = buffer.subarray(8, length);
  let at = 0;
  for (;;) {
    const end = body.indexOf(0, at);
    if (end < 0) return { refused: 'malformed startup packet' };
    if (end === at) break; // the terminating empty name
    const name = body.toString('utf8', at, end);
    const valueEnd = body.indexOf(0, end + 1);
    if (valueEnd < 0) return { refused: 'malformed startup packet' };
    params.set(name, body.toString('utf8', end + 1, valueEnd));
    at = valueEnd + 1;
  }
  return { params, consumed: length };
}

/**
 * The startup message the relay sends for the tenant: its role and the catalogue's database,
 * with the client's harmless session settings; `options` only as `-c search_path=…`. A refusal
 * when the client asked for what a tenant may not have (a replication connection).
 */
export function tenantStartup(
  client: Map<string, string>,
  user: string,
  database: string,
): Buffer | { refused: string } {
  const replication = client.get('replication');
  if (replication !== undefined && replication !== 'false' && replication !== 'off')
    return { refused: 'replication connections are not allowed' };
  const params: Array<[string, string]> = [
    ['user', user],
    ['database', database],
  ];
  for (const [name, value] of client) if (PASSED.has(name)) params.push([name, value]);
  const options = client.get('options');
  if (options !== undefined) {
    const path = /^\s*(?:-c\s*|--)search_path=([A-Za-z0-9_,]+)\s*$/.exec(options);
    if (path !== null) params.push(['search_path', path[1]]);
  }
  const body = Buffer.concat([
    ...params.map(([n, v]) => Buffer.from(`${n}\0${v}\0`, 'utf8')),
    Buffer.from([0]),
  ]);
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + body.length, 0);
  head.writeInt32BE(PROTOCOL_3, 4);
  return Buffer.concat([head, body]);
}

/** A typed protocol message (`type`, then its length including itself, then the body). */
export function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}

/** An ErrorResponse the client's driver shows as a FATAL with `text`. */
export function fatal(text: string): Buffer {
  return message(
    'E',
    Buffer.from(`SFATAL\0VFATAL\0C28000\0M${text.replace(/\0/g, '')}\0\0`, 'utf8'),
  );
}
