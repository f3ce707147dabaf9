import { WarmflowError, isErrorCode } from '../errors.js';
import {
  MAX_WAKE_MS,
  type EventType,
  type FromWorker,
  type NoticeType,
  type RequestType,
  type ToWorker,
  type WireError,
} from './protocol.js';

/**
 * The validators of the worker protocol's messages, one per message type, built once at load.
 * A decoder calls {@link parseToWorker} (on the worker) or {@link parseFromWorker} (on the
 * orchestrator) on every JSON header it decodes, so a handler only ever sees a message whose
 * every field has the type its declaration says; anything else is an `E_PROTOCOL` error that
 * names the message, the field, what it held and what it should hold.
 *
 * The checks are hand-written closures (a few `typeof` tests per message, no allocation on
 * success) because `df.batch`, `df.ack`, `df.out` and `df.out-ack` travel once per batch.
 */

/** Where a value failed (field names, outermost first), what it held and what was expected. */
interface Miss {
  path: string[];
  got: unknown;
  expected: string;
}

type Check = (value: unknown) => Miss | undefined;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function is(expected: string, test: (value: unknown) => boolean): Check {
  return (value) => (test(value) ? undefined : { path: [], got: value, expected });
}

const string = is('a string', (v) => typeof v === 'string');
const number = is('a finite number', (v) => typeof v === 'number' && Number.isFinite(v));
const count = is(
  'a non-negative integer',
  (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0,
);
const boolean = is('a boolean', (v) => typeof v === 'boolean');
/** A checkpoint's epoch: -1 is a run's plan (where its first epoch ends). */
const epochNumber = is(
  'an integer of at least -1',
  (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= -1,
);
const anything: Check = () => undefined;
/** How long a `df.wake` keeps a thread awake: a bounded number of milliseconds. */
const wakeMs = is(
  `a number of milliseconds from 0 to ${MAX_WAKE_MS}`,
  (v) => typeof v === 'number' && v >= 0 && v <= MAX_WAKE_MS,
);

function literal(expected: string | boolean): Check {
  return is(JSON.stringify(expected), (v) => v === expected);
}

function optional(check: Check): Check {
  return (value) => (value === undefined ? undefined : check(value));
}

function nullable(check: Check): Check {
  return (value) => (value === null ? undefined : check(value));
}

/** Prefixes a miss found inside `name`. */
function inside(name: string, miss: Miss | undefined): Miss | undefined {
  if (miss !== undefined) miss.path.unshift(name);
  return miss;
}

/** An object with these fields (others are ignored: a newer peer may add some). */
function fields(shape: Record<string, Check>): Check {
  const entries = Object.entries(shape);
  return (value) => {
    if (!isObject(value)) return { path: [], got: value, expected: 'an object' };
    for (const [name, check] of entries) {
      const miss = check(value[name]);
      if (miss !== undefined) return inside(name, miss);
    }
    return undefined;
  };
}

function recordOf(check: Check): Check {
  return (value) => {
    if (!isObject(value)) return { path: [], got: value, expected: 'an object' };
    for (const name in value) {
      const miss = check(value[name]);
      if (miss !== undefined) return inside(name, miss);
    }
    return undefined;
  };
}

function arrayOf(check: Check): Check {
  return (value) => {
    if (!Array.isArray(value)) return { path: [], got: value, expected: 'an array' };
    for (let i = 0; i < value.length; i++) {
      const miss = check(value[i]);
      if (miss !== undefined) return inside(String(i), miss);
    }
    return undefined;
  };
}

/** One of several shapes, chosen by the string in `tag`. */
function variant(tag: string, shapes: Record<string, Check>): Check {
  const tags = Object.keys(shapes);
  const known = is(tags.map((t) => JSON.stringify(t)).join(' or '), (v) =>
    tags.includes(v as string),
  );
  return (value) => {
    if (!isObject(value)) return { path: [], got: value, expected: 'an object' };
    const miss = known(value[tag]);
    if (miss !== undefined) return inside(tag, miss);
    return shapes[value[tag] as string](value);
  };
}

const strings = arrayOf(string);
const counts = recordOf(count);
const none = fields({});

const resourceUsage = fields({
  cpu_user_us: number,
  cpu_system_us: number,
  rss_bytes: number,
  heap_used_bytes: number,
  event_loop_utilization: number,
  at: string,
});

const workerHealth = fields({
  status: literal('ready'),
  resource_id: string,
  node_ids: strings,
  pid: count,
  uptime_ms: number,
  connections: count,
  usage: resourceUsage,
  data_plane: anything,
});

/** The template part of a deploy spec (`DeployTemplate`). */
const deployTemplate = fields({
  template: fields({ nodes: arrayOf(fields({ id: string, kind: string })) }),
  node_ids: strings,
  type_keys: recordOf(string),
  type_stores: recordOf(string),
  seeds: arrayOf(fields({ type: string, store: string, key: string, file: string })),
});

/** The run part of a deploy spec (`RunSpec`). */
const runSpec = fields({
  execution_id: string,
  template_id: optional(string),
  tenant: optional(string),
  version: optional(string),
  stores: recordOf(fields({ kind: string })),
  state_stores: recordOf(string),
  sources: arrayOf(
    variant('mode', {
      file: fields({ node_id: string, type: string, path: string, chunk_bytes: optional(count) }),
      push: fields({ node_id: string, type: string }),
    }),
  ),
  batch_size: optional(count),
  checkpoint: optional(
    fields({
      writer: string,
      interval_ms: number,
      replay: optional(boolean),
      resume: optional(
        fields({
          epoch: number,
          positions: arrayOf(count),
          next: arrayOf(count),
          nodes: anything,
        }),
      ),
    }),
  ),
  handover: optional(boolean),
});

/**
 * A whole deploy spec, or only its run part: a spec without `template` that names its
 * template part by `template_id` (the worker adds the part it holds).
 */
const deploySpec: Check = (value) =>
  runSpec(value) ??
  (isObject(value) && value.template === undefined && typeof value.template_id === 'string'
    ? undefined
    : deployTemplate(value));

const runResultNodes = recordOf(
  fields({
    records_in: count,
    records_out: count,
    dead_lettered: count,
    busy_ms: number,
    keys: optional(count),
    first_error: optional(
      fields({
        type: string,
        message: string,
        stack: optional(string),
        location: optional(string),
      }),
    ),
  }),
);

const runResult = fields({
  nodes: runResultNodes,
  cpu_seconds: number,
  peak_rss_bytes: number,
  elapsed_ms: number,
  threads: count,
  first_store_write_at: nullable(number),
});

const errorCode = is('a warmflow error code', isErrorCode);
const wireError = fields({ code: errorCode, message: string, hint: optional(string) });

/** True for an error as it travels (a known code, a message, maybe a hint). */
export function isWireError(value: unknown): value is WireError {
  return wireError(value) === undefined;
}

/** Requests as the worker receives them (their `id` is checked apart). */
const requests: { [K in RequestType]: Check } = {
  hello: fields({ version: number, token: optional(string), channel: optional(string) }),
  ping: none,
  health: none,
  usage: none,
  watch: fields({ interval_ms: optional(number) }),
  shutdown: fields({ reason: optional(string) }),
  'df.run': fields({
    spec: deploySpec,
    progress_interval_ms: optional(number),
    out: optional(string),
  }),
  'df.template': fields({ template_id: string, template: deployTemplate }),
  'df.commit': fields({ counts, epoch: optional(count) }),
};

/** Successful answers, by the type of the request they answer. */
const responses: { [K in RequestType]: Check } = {
  hello: fields({
    resource_id: string,
    node_ids: strings,
    pid: count,
    version: number,
    threads: optional(strings),
  }),
  ping: none,
  health: workerHealth,
  usage: fields({ usage: resourceUsage }),
  watch: fields({ interval_ms: number }),
  shutdown: none,
  'df.run': fields({ result: runResult }),
  'df.template': none,
  'df.commit': fields({ committed: literal(true) }),
};

const notices: { [K in NoticeType]: Check } = {
  'df.batch': fields({ source: string, seq: count }),
  'df.end': fields({ counts }),
  'df.out-ack': fields({ thread: count, execution_id: optional(string) }),
  'df.cancel': none,
  'df.checkpointed': fields({ epoch: epochNumber }),
  'df.wake': fields({ ms: wakeMs }),
};

const events: { [K in EventType]: Check } = {
  heartbeat: workerHealth,
  'df.deployed': fields({ execution_id: string }),
  'df.ack': fields({ source: string, seq: count }),
  'df.out': fields({
    node: string,
    data_type: string,
    count,
    thread: count,
    execution_id: optional(string),
  }),
  'df.first-write': fields({ at: number }),
  'df.progress': fields({ progress: count, chunks: count, taken: optional(arrayOf(count)) }),
  'df.checkpoint': fields({
    epoch: epochNumber,
    positions: arrayOf(count),
    next: arrayOf(count),
    nodes: runResultNodes,
    written: count,
    skipped: count,
    last: boolean,
    chunk_bytes: arrayOf(count),
  }),
};

const requestId = fields({ id: count });
const responseHead = fields({ re: count, ok: boolean });

function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  const json = JSON.stringify(value);
  return json.length > 40 ? `${json.slice(0, 37)}...` : json;
}

function malformed(what: string, miss: Miss): WarmflowError {
  const field = miss.path.length === 0 ? 'it' : `field "${miss.path.join('.')}"`;
  return new WarmflowError(
    'E_PROTOCOL',
    `malformed ${what}: ${field} holds ${shown(miss.got)}, expected ${miss.expected}`,
  );
}

function typed(header: unknown): Record<string, unknown> & { type: string } {
  if (!isObject(header) || typeof header.type !== 'string')
    throw new WarmflowError('E_PROTOCOL', 'frame header is not an object with a string "type"');
  return header as Record<string, unknown> & { type: string };
}

function unknownType(type: string, side: string): WarmflowError {
  return new WarmflowError('E_PROTOCOL', `unknown message type "${type}" ${side}`);
}

/**
 * The type and id of a header that claims to be a request, however malformed the rest, so a
 * worker can answer it with the protocol error before it hangs up.
 */
export function requestOf(header: unknown): { type: RequestType; id: number } | undefined {
  if (!isObject(header) || typeof header.type !== 'string' || !Object.hasOwn(requests, header.type))
    return undefined;
  return count(header.id) === undefined
    ? { type: header.type as RequestType, id: header.id as number }
    : undefined;
}

/**
 * Validates a decoded JSON header as a message to the worker (a request with its `id`, or a
 * notice). Returns it typed; throws `E_PROTOCOL` naming the first field that is wrong.
 */
export function parseToWorker(header: unknown): ToWorker {
  const message = typed(header);
  const type = message.type;
  if (Object.hasOwn(requests, type)) {
    const miss = requestId(message) ?? requests[type as RequestType](message);
    if (miss !== undefined) throw malformed(`"${type}" request`, miss);
  } else if (Object.hasOwn(notices, type)) {
    const miss = notices[type as NoticeType](message);
    if (miss !== undefined) throw malformed(`"${type}" message`, miss);
  } else throw unknownType(type, 'to a worker');
  return message as ToWorker;
}

/**
 * Validates a decoded JSON header as a message from a worker: an answer (`re` set; its fields
 * are those of the answer to a request of its `type`, or `error` when `ok` is false) or an
 * event. Returns it typed; throws `E_PROTOCOL` naming the first field that is wrong.
 */
export function parseFromWorker(header: unknown): FromWorker {
  const message = typed(header);
  const type = message.type;
  if (message.re !== undefined) {
    if (!Object.hasOwn(responses, type)) throw unknownType(type, 'answered by a worker');
    const miss =
      responseHead(message) ??
      (message.ok === true
        ? responses[type as RequestType](message)
        : inside('error', wireError(message.error)));
    if (miss !== undefined) throw malformed(`answer to "${type}"`, miss);
  } else if (Object.hasOwn(events, type)) {
    const miss = events[type as EventType](message);
    if (miss !== undefined) throw malformed(`"${type}" event`, miss);
  } else throw unknownType(type, 'from a worker');
  return message as FromWorker;
}
