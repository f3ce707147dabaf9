import type { MessagePort } from 'node:worker_threads';
import { packItems } from './record-columns.js';
import type { ExchangeItem, PeerMessage } from './thread-messages.js';

/** FIFO batches (second keyed exchange and beyond) a thread may have unacknowledged per peer. */
const PEER_CREDITS = 4;

interface Link {
  inflight: number;
  queue: PeerMessage[];
  partial: Map<string, ExchangeItem>;
}

/**
 * One thread's links to its peers during one run: the messages of the ordered first
 * exchange (`o` shares of a chunk, `wm` marks) go out as they are; records for keyed nodes
 * further down go FIFO, in batches of `batchSize` per node and peer, with
 * {@link PEER_CREDITS} unacknowledged batches per link (more wait in the link's queue).
 * Every message carries the run id `r`, so a peer routes it to the run it was sent in.
 */
export class PeerExchange {
  readonly #peers: ReadonlyArray<MessagePort | null>;
  readonly #run: string;
  readonly #batchSize: number;
  readonly #links: Link[];
  readonly #incoming: Array<{ from: number; items: ExchangeItem[] }> = [];
  /** FIFO batches sent or received since the last {@link takeActivity}. */
  #activity = 0;

  constructor(peers: ReadonlyArray<MessagePort | null>, run: string, batchSize: number) {
    this.#peers = peers;
    this.#run = run;
    this.#batchSize = batchSize;
    this.#links = peers.map(() => ({ inflight: 0, queue: [], partial: new Map() }));
  }

  /** Sends a message of the ordered exchange to peer `p` at once (records as columns). */
  send(p: number, message: PeerMessage): void {
    this.#peers[p]!.postMessage(
      message.k === 'o' ? { ...message, items: packItems(message.items) } : message,
    );
  }

  /** Sends a message to every peer. */
  broadcast(message: PeerMessage): void {
    this.#peers.forEach((peer) => peer?.postMessage(message));
  }

  /** Adds records for keyed node `node` owned by peer `p` to the link's partial batch. */
  enqueue(p: number, node: string, recs: unknown[], pos: number[]): void {
    const link = this.#links[p];
    for (let i = 0; i < recs.length; i++) {
      let item = link.partial.get(node);
      if (item === undefined) link.partial.set(node, (item = { node, recs: [], pos: [] }));
      item.recs.push(recs[i]);
      item.pos.push(pos[i]);
      if (item.recs.length >= this.#batchSize) {
        link.partial.delete(node);
        this.#sendFifo(p, { k: 'x', r: this.#run, items: [item] });
      }
    }
  }

  /** Ships every partial batch (nothing else to do: a slow stream still flows). */
  flush(): void {
    this.#links.forEach((link, p) => {
      if (link.partial.size > 0)
        this.#sendFifo(p, { k: 'x', r: this.#run, items: [...link.partial.values()] });
      link.partial.clear();
    });
  }

  /** A FIFO batch from peer `from` (`x`). */
  received(from: number, items: ExchangeItem[]): void {
    this.#incoming.push({ from, items });
  }

  /** Peer `from` acknowledged a FIFO batch (`a`): its credit sends the next one queued. */
  acknowledged(from: number): void {
    const link = this.#links[from];
    link.inflight--;
    const next = link.queue.shift();
    if (next !== undefined) {
      link.inflight++;
      this.#peers[from]!.postMessage(next);
    }
  }

  /** The next received FIFO batch, if any; call {@link done} once it is processed. */
  next(): { from: number; items: ExchangeItem[] } | undefined {
    const batch = this.#incoming.shift();
    if (batch !== undefined) this.#activity++;
    return batch;
  }

  /** Acknowledges a processed batch to its sender. */
  done(from: number): void {
    this.#peers[from]!.postMessage({ k: 'a', r: this.#run } satisfies PeerMessage);
  }

  /** Whether some link is out of credit (reading more would only queue more). */
  get congested(): boolean {
    return this.#links.some((l) => l.inflight + l.queue.length >= PEER_CREDITS);
  }

  /** Nothing received unprocessed, nothing in flight, queued or partial. */
  get quiet(): boolean {
    return (
      this.#incoming.length === 0 &&
      this.#links.every((l) => l.inflight === 0 && l.queue.length === 0 && l.partial.size === 0)
    );
  }

  /** FIFO batches moved since the last call (a drain round repeats while any moved). */
  takeActivity(): number {
    const activity = this.#activity;
    this.#activity = 0;
    return activity;
  }

  #sendFifo(p: number, message: PeerMessage): void {
    if (message.k === 'x') message = { ...message, items: packItems(message.items) };
    const link = this.#links[p];
    this.#activity++;
    if (link.inflight < PEER_CREDITS) {
      link.inflight++;
      this.#peers[p]!.postMessage(message);
    } else link.queue.push(message);
  }
}
