/** The record types of the clickstream example. */

/** One line of the web log, as it arrives. */
export interface RawClick {
  ts: string;
  user: string;
  url: string;
  ua: string;
}

export type Device = 'mobile' | 'tablet' | 'desktop';

/** A parsed click. */
export interface Click {
  user_id: string;
  /** Epoch milliseconds. */
  ts: number;
  /** URL path without the query string. */
  page: string;
  /** The `ref` query parameter, or null. */
  referrer: string | null;
  device: Device;
}

/** A user's profile, held in the `profiles` store keyed by user_id. */
export interface UserProfile {
  user_id: string;
  country: string;
  plan: string;
  signup_day: string;
}

/** A click with its user's country and plan. */
export interface EnrichedClick extends Click {
  /** null when the user has no profile. */
  country: string | null;
  /** "anonymous" when the user has no profile. */
  plan: string;
}

/** A browsing session: clicks of one user with no gap over 30 minutes. */
export interface Session {
  /** `<user_id>:<start_ts>` */
  session_id: string;
  user_id: string;
  start_ts: number;
  end_ts: number;
  duration_ms: number;
  clicks: number;
  /** Number of distinct pages visited. */
  pages: number;
  entry_page: string;
  exit_page: string;
  country: string | null;
  plan: string;
}
