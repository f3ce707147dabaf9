import { listPods, type KubeApi, type KubeObject } from './kube-api.js';
import { apiFailure } from './kubernetes-errors.js';

/** What a {@link PodWatcher} reports. */
export interface PodWatcherHandlers {
  /** One pod changed (`ADDED`, `MODIFIED`, `DELETED`). */
  onPod(type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: KubeObject): void;
  /** A fresh list of every matching pod: anything not in it is gone. Called on start and after 410 Gone. */
  onResync(pods: KubeObject[]): void;
  /** A list or watch failed; the watcher retries by itself. */
  onError?(error: unknown): void;
}

/** Configuration of a {@link PodWatcher}. */
export interface PodWatcherConfig {
  api: KubeApi;
  labelSelector: string;
  handlers: PodWatcherHandlers;
  /** Wait before retrying after an error (doubles up to 30 s). */
  retryMs?: number;
}

/**
 * List-then-watch over the pods warmflow manages, in every namespace, the way an informer
 * does it: list to get the state and a resourceVersion, watch from there, keep the last
 * resourceVersion seen; when the server says 410 Gone (the version was compacted away, as an
 * HTTP status or as an ERROR event in the stream) list again and resync; when the server just
 * ends the watch (its timeout), watch again from the last version.
 */
export class PodWatcher {
  readonly #config: Readonly<Required<PodWatcherConfig>>;
  #resourceVersion = '';
  #current: { abort(): void } | undefined;
  #stopped = false;
  #retryMs: number;
  #timer: NodeJS.Timeout | undefined;
  #started: Promise<void> | undefined;
  #gonesInARow = 0;
  /** Times the watcher had to list again after 410 Gone (for tests and diagnostics). */
  resyncs = 0;

  constructor(config: PodWatcherConfig) {
    this.#config = Object.freeze({ retryMs: 500, onError: undefined, ...config });
    this.#retryMs = this.#config.retryMs;
  }

  /** Lists and starts watching; resolves once the first list is in (so no later change is missed). */
  start(): Promise<void> {
    this.#started ??= this.#list().then(() => this.#watch());
    return this.#started;
  }

  /** Stops watching for good. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#current?.abort();
    this.#current = undefined;
  }

  async #list(): Promise<void> {
    const list = await listPods(this.#config.api, this.#config.labelSelector);
    this.#resourceVersion = list.metadata?.resourceVersion ?? '';
    this.#config.handlers.onResync(list.items);
  }

  async #watch(): Promise<void> {
    if (this.#stopped) return;
    let gone = false;
    let settled = false;
    const done = (error: unknown) => {
      if (settled) return;
      settled = true;
      this.#current = undefined;
      if (this.#stopped) return;
      if (gone || apiFailure(error).status === 410) {
        // A fresh list's version should never be gone; if it is, back off instead of spinning.
        if (++this.#gonesInARow > 1) this.#retry(() => this.#relist());
        else this.#relist();
      } else if (error !== null && error !== undefined && !isAbort(error)) {
        this.#config.handlers.onError?.(error);
        this.#retry(() => this.#relist());
      } else {
        this.#retryMs = this.#config.retryMs;
        void this.#watch();
      }
    };
    try {
      const controller = await this.#config.api.watch.watch(
        '/api/v1/pods',
        {
          labelSelector: this.#config.labelSelector,
          resourceVersion: this.#resourceVersion,
          allowWatchBookmarks: true,
        },
        (phase, object) => {
          if (phase === 'ERROR') {
            // 410 Gone arrives in the stream as a Status object; anything else also means "start over".
            gone = true;
            this.#current?.abort();
            done(null);
            return;
          }
          this.#gonesInARow = 0;
          const version = object.metadata?.resourceVersion;
          if (version !== undefined) this.#resourceVersion = version;
          if (phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED')
            this.#config.handlers.onPod(phase, object);
        },
        done,
      );
      if (settled || this.#stopped) controller.abort();
      else this.#current = controller;
    } catch (error) {
      done(error);
    }
  }

  #relist(): void {
    this.resyncs++;
    this.#list().then(
      () => {
        this.#retryMs = this.#config.retryMs;
        return this.#watch();
      },
      (error: unknown) => {
        this.#config.handlers.onError?.(error);
        this.#retry(() => this.#relist());
      },
    );
  }

  #retry(action: () => void): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(action, this.#retryMs);
    this.#timer.unref();
    this.#retryMs = Math.min(this.#retryMs * 2, 30_000);
  }
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || /aborted/i.test(error.message));
}
