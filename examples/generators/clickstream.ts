import { Prng, type GeneratedFile } from './prng.js';

/** Start of the simulated day (2026-11-02T00:00:00Z). */
const DAY_START = Date.UTC(2026, 10, 2);
const AGENTS = [
  'ios-app/4.2',
  'android-app/4.1',
  'Mozilla/5.0 (Windows NT 10.0)',
  'Mozilla/5.0 (Macintosh)',
  'Mozilla/5.0 (iPad)',
];
const CATEGORIES = ['shoes', 'books', 'garden', 'toys', 'audio'];
const COUNTRIES = ['DE', 'FR', 'NL', 'US', 'GB', 'PL'];
const PLANS = ['free', 'free', 'free', 'pro', 'team'];

/** Users in the data: 200 for the committed file, more for bigger ones (~12 clicks each). */
export function clickstreamUsers(records: number): number {
  return Math.max(200, Math.round(records / 12));
}

const userId = (n: number) => `u${String(n).padStart(5, '0')}`;

/**
 * Clicks of simulated users, in time order: each user browses in bursts (next click
 * 5 s – 25 min later with probability 0.8) separated by breaks of 35 min – 10 h, so
 * 30-minute sessions emerge. About one line in 400 is broken on purpose: some are not
 * JSON at all, some have a bad timestamp, no user or a URL without a path — `parse`
 * throws on the latter, the engine's source reader on the former.
 */
function* clicks(records: number, seed: number): Generator<string> {
  const rng = new Prng(seed);
  const users = clickstreamUsers(records);
  // A binary min-heap of [next click time, user] keeps output in time order while streaming.
  const heap: Array<[number, number]> = [];
  const pushHeap = (item: [number, number]) => {
    heap.push(item);
    for (let i = heap.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (heap[parent][0] <= heap[i][0]) break;
      [heap[parent], heap[i]] = [heap[i], heap[parent]];
      i = parent;
    }
  };
  const popHeap = (): [number, number] => {
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && heap[l][0] < heap[m][0]) m = l;
        if (r < heap.length && heap[r][0] < heap[m][0]) m = r;
        if (m === i) break;
        [heap[m], heap[i]] = [heap[i], heap[m]];
        i = m;
      }
    }
    return top;
  };
  const agentOf = Array.from({ length: users }, () => rng.pick(AGENTS));
  for (let u = 1; u <= users; u++) pushHeap([DAY_START + rng.int(0, 6 * 3600_000), u]);

  for (let n = 0; n < records; n++) {
    const [ts, u] = popHeap();
    if (n % 400 === 199) {
      // A broken line of one of four kinds, then the real click.
      yield broken(rng, n, ts, u);
    }
    const page = pageOf(rng);
    yield JSON.stringify({
      ts: new Date(ts).toISOString(),
      user: userId(u),
      url: page,
      ua: agentOf[u - 1],
    });
    const next = rng.chance(0.8)
      ? Math.min(25 * 60_000, 5_000 + Math.round(rng.exponential(80_000)))
      : 35 * 60_000 + rng.int(0, 9.5 * 3600_000);
    pushHeap([ts + next, u]);
  }
}

function broken(rng: Prng, n: number, ts: number, u: number): string {
  const kind = Math.floor(n / 400) % 4;
  const iso = new Date(ts).toISOString();
  if (kind === 0) return `{"ts":"${iso}","user":"${userId(u)}","url":"/p/1`; // truncated line
  if (kind === 1)
    return JSON.stringify({ ts: 'yesterday', user: userId(u), url: '/', ua: 'curl/8' });
  if (kind === 2) return JSON.stringify({ ts: iso, user: '', url: '/cart', ua: rng.pick(AGENTS) });
  return JSON.stringify({ ts: iso, user: userId(u), url: 'javascript:void(0)', ua: 'bot/1.0' });
}

function pageOf(rng: Prng): string {
  const r = rng.next();
  if (r < 0.15) return '/';
  if (r < 0.3) return `/search?q=${rng.pick(CATEGORIES)}`;
  if (r < 0.45) return `/c/${rng.pick(CATEGORIES)}`;
  if (r < 0.85) {
    const ref = rng.chance(0.4) ? `?ref=${rng.pick(['search', 'email', 'ad'])}` : '';
    return `/p/${rng.int(1, 500)}${ref}`;
  }
  return rng.chance(0.6) ? '/cart' : '/checkout';
}

/** One profile per user except every tenth (anonymous visitors have none). */
function* profiles(users: number, seed: number): Generator<string> {
  const rng = new Prng(seed ^ 0x5eed);
  for (let u = 1; u <= users; u++) {
    const country = rng.pick(COUNTRIES);
    const plan = rng.pick(PLANS);
    const signup = new Date(DAY_START - rng.int(1, 900) * 86_400_000).toISOString().slice(0, 10);
    if (u % 10 === 0) continue;
    yield JSON.stringify({ user_id: userId(u), country, plan, signup_day: signup });
  }
}

/** The clickstream example's files: `clicks.jsonl` (the stream) and `profiles.jsonl` (the lookup). */
export function clickstreamFiles(records: number, seed = 42): GeneratedFile[] {
  return [
    { name: 'clicks.jsonl', lines: { [Symbol.iterator]: () => clicks(records, seed) } },
    {
      name: 'profiles.jsonl',
      lines: { [Symbol.iterator]: () => profiles(clickstreamUsers(records), seed) },
    },
  ];
}
