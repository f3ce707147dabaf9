import { WarmflowError } from '../../errors.js';

/** Where a new NATS consumer starts: every stored message, only new ones, a sequence or a time. */
export type NatsStart =
  { from: 'all' } | { from: 'new' } | { from: 'seq'; seq: number } | { from: 'time'; time: string };

/** A parsed `nats://HOST:PORT/STREAM?subject=&group=&start=` source URL. */
export interface NatsSourceUrl {
  kind: 'nats';
  /** `nats://HOST:PORT` (credentials included when given). */
  server: string;
  stream: string;
  subject?: string;
  group?: string;
  start: NatsStart;
  /** How long the server waits for an acknowledgement before redelivering (ms; consumer creation only). */
  ack_wait_ms?: number;
  /** Unacknowledged messages the consumer may have out at once (consumer creation only). */
  max_ack_pending?: number;
  label: string;
}

/** A parsed `redis://HOST:PORT/DB?stream=KEY&group=&start=0|$` source URL. */
export interface RedisSourceUrl {
  kind: 'redis';
  /** `redis://HOST:PORT/DB` (credentials included when given) to connect with. */
  server: string;
  key: string;
  group?: string;
  /** Consumer name inside the group (default: one per host, so a restarted run gets its own pending entries back). */
  consumer?: string;
  /** Where a new group starts: `0` the whole stream, `$` only new entries. */
  start: '0' | '$';
  /** Entries pending this long on another consumer are claimed (XAUTOCLAIM); default 30 s. */
  claim_idle_ms?: number;
  label: string;
}

export type LiveSourceUrl = NatsSourceUrl | RedisSourceUrl;

/** True for a source named by a live-stream URL rather than a file path. */
export function isLiveUrl(input: string): boolean {
  return /^(nats|redis|rediss):\/\//i.test(input);
}

function bad(input: string, why: string, hint: string): WarmflowError {
  return new WarmflowError('E_SOURCE_URL', `source URL "${hideSecret(input)}": ${why}`, { hint });
}

const NATS_HINT =
  'nats://HOST:PORT/STREAM?subject=SUBJ&group=NAME&start=all|new|seq:N|time:ISO (see docs/streams.md)';
const REDIS_HINT = 'redis://HOST:PORT/DB?stream=KEY&group=NAME&start=0|$ (see docs/streams.md)';

/** A URL with its password replaced by `***`. */
export function hideSecret(input: string): string {
  return input.replace(/^([a-z]+:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
}

function duration(input: string, name: string, value: string | null, hint: string) {
  if (value === null) return undefined;
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) throw bad(input, `${name} must be a duration like 30s`, hint);
  return ms;
}

/** `250ms`, `30s`, `5m`, `1h` or plain milliseconds; undefined when not a duration. */
export function parseDuration(value: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (m === null) return undefined;
  const n = Number(m[1]);
  const unit = m[2] ?? 'ms';
  return n * (unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000);
}

const NAME = /^[A-Za-z0-9_-]+$/;

/**
 * Parses a live source URL. Unknown query parameters are refused (a typo must not
 * silently read from the wrong place).
 *
 * ```ts
 * parseLiveUrl('nats://127.0.0.1:4222/ORDERS?subject=orders.eu&start=new');
 * parseLiveUrl('redis://127.0.0.1:6379/0?stream=orders&group=billing');
 * ```
 */
export function parseLiveUrl(input: string): LiveSourceUrl {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw bad(input, 'not a valid URL', `${NATS_HINT}, or ${REDIS_HINT}`);
  }
  const scheme = url.protocol.replace(/:$/, '').toLowerCase();
  const params = url.searchParams;
  const label = hideSecret(input);
  const auth =
    url.username !== '' || url.password !== ''
      ? `${url.username}${url.password !== '' ? ':' + url.password : ''}@`
      : '';
  const host = url.host === '' ? '127.0.0.1' : url.host;
  const known = (names: string[], hint: string) => {
    for (const key of params.keys())
      if (!names.includes(key))
        throw bad(input, `unknown parameter "${key}" (known: ${names.join(', ')})`, hint);
  };
  if (scheme === 'nats') {
    known(['subject', 'group', 'start', 'ack_wait', 'max_ack_pending'], NATS_HINT);
    const stream = decodeURIComponent(url.pathname.replace(/^\//, ''));
    if (!NAME.test(stream))
      throw bad(
        input,
        'the path must name the JetStream stream (letters, digits, _ and -)',
        NATS_HINT,
      );
    const group = params.get('group') ?? undefined;
    if (group !== undefined && !NAME.test(group))
      throw bad(input, `group "${group}" must be letters, digits, _ and -`, NATS_HINT);
    const startText = params.get('start') ?? 'all';
    let start: NatsStart;
    if (startText === 'all' || startText === 'new') start = { from: startText };
    else if (/^seq:\d+$/.test(startText)) start = { from: 'seq', seq: Number(startText.slice(4)) };
    else if (startText.startsWith('time:') && !Number.isNaN(Date.parse(startText.slice(5))))
      start = { from: 'time', time: new Date(startText.slice(5)).toISOString() };
    else
      throw bad(input, `start must be all, new, seq:N or time:ISO, got "${startText}"`, NATS_HINT);
    const maxPending = params.get('max_ack_pending');
    if (maxPending !== null && !(Number.isInteger(Number(maxPending)) && Number(maxPending) > 0))
      throw bad(input, 'max_ack_pending must be a positive integer', NATS_HINT);
    const ackWait = duration(input, 'ack_wait', params.get('ack_wait'), NATS_HINT);
    return {
      kind: 'nats',
      server: `nats://${auth}${host}`,
      stream,
      ...(params.get('subject') !== null ? { subject: params.get('subject')! } : {}),
      ...(group !== undefined ? { group } : {}),
      start,
      ...(ackWait !== undefined ? { ack_wait_ms: ackWait } : {}),
      ...(maxPending !== null ? { max_ack_pending: Number(maxPending) } : {}),
      label,
    };
  }
  if (scheme === 'redis' || scheme === 'rediss') {
    known(['stream', 'group', 'start', 'consumer', 'claim_idle'], REDIS_HINT);
    const key = params.get('stream');
    if (key === null || key === '') throw bad(input, 'stream=KEY is required', REDIS_HINT);
    const db = url.pathname.replace(/^\//, '') || '0';
    if (!/^\d+$/.test(db))
      throw bad(input, `the path must be a database number, got "${db}"`, REDIS_HINT);
    const start = params.get('start') ?? '0';
    if (start !== '0' && start !== '$')
      throw bad(
        input,
        `start must be 0 (whole stream) or $ (new entries), got "${start}"`,
        REDIS_HINT,
      );
    const claim = duration(input, 'claim_idle', params.get('claim_idle'), REDIS_HINT);
    return {
      kind: 'redis',
      server: `${scheme}://${auth}${host}/${db}`,
      key,
      ...(params.get('group') !== null ? { group: params.get('group')! } : {}),
      ...(params.get('consumer') !== null ? { consumer: params.get('consumer')! } : {}),
      start,
      ...(claim !== undefined ? { claim_idle_ms: claim } : {}),
      label,
    };
  }
  throw bad(input, `unknown scheme "${scheme}"`, `${NATS_HINT}, or ${REDIS_HINT}`);
}

/** The group a run reads through when the URL names none: `warmflow-<flow>-<stream>`. */
export function defaultGroup(flow: string, stream: string): string {
  return `warmflow-${flow}-${stream}`.replace(/[^A-Za-z0-9_-]/g, '_');
}
