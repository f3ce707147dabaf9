import type { FunctionContext } from '../../../src/index.js';
import type { Click, Device, RawClick } from './types.js';

/**
 * Turns a web-log record into a {@link Click}. A record without a valid timestamp,
 * without a user or whose URL is not a path is an error (thrown, so the engine can
 * dead-letter it) rather than silently dropped: bad input should be seen.
 */
export function parse(raw: RawClick, _ctx: FunctionContext): Click {
  const ts = Date.parse(raw.ts);
  if (!Number.isFinite(ts)) throw new Error(`bad timestamp ${JSON.stringify(raw.ts)}`);
  if (typeof raw.user !== 'string' || raw.user === '') throw new Error('click without a user');
  if (typeof raw.url !== 'string' || !raw.url.startsWith('/')) {
    throw new Error(`url is not a path: ${JSON.stringify(raw.url)}`);
  }
  const [page = '/', query = ''] = raw.url.split('?', 2);
  return {
    user_id: raw.user,
    ts,
    page,
    referrer: new URLSearchParams(query).get('ref'),
    device: deviceOf(raw.ua ?? ''),
  };
}

function deviceOf(agent: string): Device {
  if (agent.includes('iPad')) return 'tablet';
  if (/ios|android|iPhone/i.test(agent)) return 'mobile';
  return 'desktop';
}
