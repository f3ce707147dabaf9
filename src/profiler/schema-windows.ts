/** Serialised {@link SchemaWindows}. */
export interface SchemaWindowsJson {
  size: number;
  windows: number;
  changes: number;
  first: [number, number] | null;
  last: [number, number] | null;
  open: { count: number; a: number; b: number };
}

/**
 * Counts schema changes between consecutive windows of `size` records. A window's
 * schema is the set of (path, type family) pairs seen in it, kept as a 64-bit
 * order-independent set hash (a sum and a xor of per-pair tags), so comparing two
 * windows costs nothing and the state is a handful of numbers.
 *
 * The probability that the next window changes is the rule of succession over the
 * comparisons made: `(changes + 1) / (comparisons + 2)`, with `comparisons = windows - 1`.
 * Merging adds counts and compares the boundary windows. A trailing partial window
 * counts (in snapshots and at a merge) when it holds at least half a window, and is
 * dropped otherwise, so tiny batches do not pass for windows.
 */
export class SchemaWindows {
  readonly size: number;
  windows = 0;
  changes = 0;
  #first: [number, number] | null = null;
  #last: [number, number] | null = null;
  /** The open window: its number (stamps compare against it), records and set hash. */
  id = 0;
  openCount = 0;
  openA = 0;
  openB = 0;

  constructor(size: number) {
    this.size = size;
  }

  /** Adds a (path, family) pair's tags to the open window's set hash. */
  addPair(tagA: number, tagB: number): void {
    this.openA = (this.openA + tagA) | 0;
    this.openB ^= tagB;
  }

  /** Ends one record; closes the window when it is full. */
  endRecord(): void {
    if (++this.openCount >= this.size) this.#close();
  }

  #close(): void {
    const hash: [number, number] = [this.openA, this.openB];
    if (this.#last !== null && (this.#last[0] !== hash[0] || this.#last[1] !== hash[1]))
      this.changes++;
    if (this.#first === null) this.#first = hash;
    this.#last = hash;
    this.windows++;
    this.id++;
    this.openCount = 0;
    this.openA = 0;
    this.openB = 0;
  }

  /** Closes a partial window that is at least half full, drops a smaller one. */
  settle(): void {
    if (this.openCount * 2 >= this.size) this.#close();
    else if (this.openCount > 0) {
      this.id++;
      this.openCount = 0;
      this.openA = 0;
      this.openB = 0;
    }
  }

  /** Windows, changes and probability as a snapshot would see them (without mutating). */
  summary(): { windows: number; changes: number; probability: number } {
    let { windows, changes } = this;
    if (this.openCount * 2 >= this.size) {
      if (this.#last !== null && (this.#last[0] !== this.openA || this.#last[1] !== this.openB))
        changes++;
      windows++;
    }
    const comparisons = Math.max(0, windows - 1);
    return { windows, changes, probability: (changes + 1) / (comparisons + 2) };
  }

  /** Appends `other`'s windows after this one's (both settled first). */
  merge(other: SchemaWindows): void {
    this.settle();
    const theirs = SchemaWindows.fromJSON(other.toJSON());
    theirs.settle();
    if (theirs.windows === 0) return;
    if (this.#last !== null && theirs.#first !== null) {
      if (this.#last[0] !== theirs.#first[0] || this.#last[1] !== theirs.#first[1]) this.changes++;
    }
    this.windows += theirs.windows;
    this.changes += theirs.changes;
    this.#first ??= theirs.#first;
    this.#last = theirs.#last;
  }

  toJSON(): SchemaWindowsJson {
    return {
      size: this.size,
      windows: this.windows,
      changes: this.changes,
      first: this.#first,
      last: this.#last,
      open: { count: this.openCount, a: this.openA, b: this.openB },
    };
  }

  static fromJSON(json: SchemaWindowsJson): SchemaWindows {
    const w = new SchemaWindows(json.size);
    w.windows = json.windows;
    w.changes = json.changes;
    w.#first = json.first;
    w.#last = json.last;
    w.openCount = json.open.count;
    w.openA = json.open.a;
    w.openB = json.open.b;
    return w;
  }
}
