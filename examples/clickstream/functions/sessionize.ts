import type { FunctionContext } from '../../../src/index.js';
import type { EnrichedClick, Session } from './types.js';

/** A gap longer than this (strictly) starts a new session. */
export const SESSION_GAP_MS = 30 * 60_000;

interface OpenSession {
  start: number;
  last: number;
  clicks: number;
  pages: string[];
  entry: string;
}

/**
 * Keyed by `user_id`: cuts a user's clicks into sessions separated by more than 30
 * minutes of inactivity. Every click emits the current session's summary; the store
 * keeps the latest per `session_id` (`<user_id>:<start_ts>`), so once the stream is
 * done it holds one complete record per session. Clicks must arrive in time order per
 * user (the data is); a late click joins the open session. Its state `session` is declared
 * in the flow (`state: [session]`), so it is read and written without awaiting.
 */
export function sessionize(click: EnrichedClick, ctx: FunctionContext): Session {
  const open = ctx.state.read<OpenSession>('session');
  const session: OpenSession =
    open === undefined || click.ts - open.last > SESSION_GAP_MS
      ? { start: click.ts, last: click.ts, clicks: 0, pages: [], entry: click.page }
      : open;
  session.last = Math.max(session.last, click.ts);
  session.clicks += 1;
  if (!session.pages.includes(click.page)) session.pages.push(click.page);
  ctx.state.write('session', session);
  return {
    session_id: `${click.user_id}:${session.start}`,
    user_id: click.user_id,
    start_ts: session.start,
    end_ts: session.last,
    duration_ms: session.last - session.start,
    clicks: session.clicks,
    pages: session.pages.length,
    entry_page: session.entry,
    exit_page: click.page,
    country: click.country,
    plan: click.plan,
  };
}
