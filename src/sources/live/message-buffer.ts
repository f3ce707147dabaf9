/**
 * Messages a client library delivers in the background, waiting to be taken in batches.
 * Its size is bounded by what the stream lets a consumer hold unacknowledged
 * (`max_ack_pending`), not by this buffer.
 */
export class MessageBuffer<T> {
  readonly #items: T[] = [];
  #wake: (() => void) | null = null;
  #ended = false;
  #failure: Error | null = null;

  push(item: T): void {
    this.#items.push(item);
    this.#poke();
  }

  /** The delivering side is over (normally, or with `failure`). */
  end(failure?: Error): void {
    this.#ended = true;
    if (failure !== undefined) this.#failure = failure;
    this.#poke();
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Waits up to `waitMs` for an item, then takes up to `max`; rethrows a delivery failure. */
  async take(max: number, waitMs: number): Promise<T[]> {
    if (this.#items.length === 0 && !this.#ended) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.#wake = null;
          resolve();
        }, waitMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    if (this.#items.length === 0 && this.#failure !== null) throw this.#failure;
    return this.#items.splice(0, max);
  }

  /** What is waiting to be taken, left in place. */
  peek(): readonly T[] {
    return this.#items;
  }

  /** Everything not taken yet (when closing). */
  drainAll(): T[] {
    return this.#items.splice(0);
  }

  #poke(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}
