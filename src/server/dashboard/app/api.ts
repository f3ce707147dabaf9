/// <reference lib="dom" />
/**
 * The dashboard's client of the /v1 API: every call carries the tenant key, so the
 * page shows exactly what that tenant may see and nothing else.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A GET-only client with the bearer key. */
export class Api {
  readonly #key: string;

  constructor(key: string) {
    this.#key = key;
  }

  async get<T>(path: string): Promise<T> {
    const res = await fetch(path, { headers: { authorization: `Bearer ${this.#key}` } });
    const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
    if (!res.ok) throw new ApiError(res.status, body.error?.message ?? `HTTP ${res.status}`);
    return body as T;
  }
}

const STORAGE_KEY = 'warmflow.key';

/**
 * The key to use: `?key=` (then moved into sessionStorage and out of the address
 * bar, so it is not left in history or screenshots), else the one stored in this tab.
 */
export function resolveKey(): string | undefined {
  const url = new URL(window.location.href);
  const fromQuery = url.searchParams.get('key');
  if (fromQuery) {
    sessionStorage.setItem(STORAGE_KEY, fromQuery);
    url.searchParams.delete('key');
    history.replaceState(null, '', url.toString());
    return fromQuery;
  }
  return sessionStorage.getItem(STORAGE_KEY) ?? undefined;
}

/** Stores a key typed into the login field. */
export function storeKey(key: string): void {
  sessionStorage.setItem(STORAGE_KEY, key);
}

/** Forgets the key (after a 401). */
export function forgetKey(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}
