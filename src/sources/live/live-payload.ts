import type { LiveItem } from './live-source.js';
import { notARecord } from './live-source.js';

/** How a live payload starts (a pushed batch of parsed records starts `{"records"`). */
const MARK = '{"live":1,';
const decoder = new TextDecoder();

/** The first line of a live payload: per message its stream position, and what else it needs. */
interface LivePayloadHeader {
  live: 1;
  positions: number[];
  /** How the stream names each message when that is not its position (Redis entry ids). */
  ids?: string[];
  /** Messages the stream itself reported unusable, by index. */
  errors?: Record<string, string>;
  /** Indexes of bodies that held a newline, sent as a JSON string of their text. */
  escaped?: number[];
}

/** A message of a live payload that is not a record, for its dead letter. */
export interface LiveBadMessage {
  /** The stream position (NATS sequence, Redis ordinal). */
  line: number;
  /** The Redis entry id, when the stream names messages so. */
  id?: string;
  error: string;
  /** The start of its text. */
  raw: string;
}

/**
 * Encodes messages of a live source as a batch for a resource without parsing them: a
 * header line (`{"live":1,"positions":[…]}`), then each body on a line of its own, as
 * read. A body holding a newline (JSON may have one between tokens) goes as a JSON string
 * of its text instead. The resource parses each message once ({@link decodeLivePayload}).
 */
export function encodeLivePayload(items: readonly LiveItem[]): Buffer {
  const header: LivePayloadHeader = { live: 1, positions: new Array<number>(items.length) };
  if (items.length > 0 && items[0].position !== undefined) header.ids = [];
  let escaped: Map<number, Buffer> | undefined;
  let size = 0;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    header.positions[i] = item.line;
    if (header.ids !== undefined) header.ids[i] = item.position ?? String(item.line);
    if (item.error !== undefined) (header.errors ??= {})[i] = item.error;
    let length = item.data.length;
    if (item.data.indexOf(10) >= 0) {
      (header.escaped ??= []).push(i);
      const text = Buffer.from(JSON.stringify(decoder.decode(item.data)));
      (escaped ??= new Map()).set(i, text);
      length = text.length;
    }
    size += 1 + length;
  }
  // One buffer, filled in place: no list of parts and no second copy per message.
  const head = Buffer.from(JSON.stringify(header));
  const out = Buffer.allocUnsafe(head.length + size);
  let at = head.copy(out, 0);
  for (let i = 0; i < items.length; i++) {
    out[at++] = 10;
    const body = escaped?.get(i) ?? items[i].data;
    out.set(body, at);
    at += body.length;
  }
  return out;
}

/**
 * Parses a live payload: the records (JSON objects) with their positions, and every
 * message that is not a record with why. Null when `text` is not a live payload.
 */
export function decodeLivePayload(
  text: string,
): { records: unknown[]; positions: number[]; bad: LiveBadMessage[] } | null {
  if (!text.startsWith(MARK)) return null;
  let at = text.indexOf('\n');
  const header = JSON.parse(at < 0 ? text : text.slice(0, at)) as LivePayloadHeader;
  const escaped = new Set(header.escaped ?? []);
  const records: unknown[] = [];
  const positions: number[] = [];
  const bad: LiveBadMessage[] = [];
  const n = header.positions.length;
  for (let i = 0; i < n; i++) {
    const from = at + 1;
    at = text.indexOf('\n', from);
    if (at < 0) at = text.length;
    let line = text.slice(from, at);
    const reject = (error: string) =>
      bad.push({
        line: header.positions[i],
        ...(header.ids !== undefined ? { id: header.ids[i] } : {}),
        error,
        raw: line.slice(0, 4096),
      });
    const known = header.errors?.[i];
    if (known !== undefined) {
      reject(known);
      continue;
    }
    try {
      if (escaped.has(i)) line = JSON.parse(line) as string;
      const record: unknown = JSON.parse(line);
      const why = notARecord(record);
      if (why !== null) reject(why);
      else {
        records.push(record);
        positions.push(header.positions[i]);
      }
    } catch (error) {
      reject((error as Error).message);
    }
  }
  return { records, positions, bad };
}
