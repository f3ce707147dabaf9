import type { JetStreamClient } from '@nats-io/jetstream';
import { AppendOnlyStore } from '../append-only-store.js';
import type { EpochCommit, EpochCommitter } from '../epoch-commit.js';
import { StoreError } from '../store-error.js';
import { connectNats, type NatsHandle } from '../../sources/nats/nats-connection.js';

/** Configuration of a {@link NatsStreamStore}. */
export interface NatsStreamStoreConfig {
  name: string;
  /** Put before every subject (a server's per-tenant namespace). */
  prefix?: string;
  /** `nats://HOST:PORT`. */
  url: string;
  /** Subject a type is published to; `{type}` is replaced by the type's name. Default `warmflow.{type}`. */
  subject?: string;
}

/** Publishes awaiting JetStream's acknowledgement at once (the bound on a sink's in-flight work). */
const IN_FLIGHT = 1024;

/**
 * A sink that publishes every record appended to table `<T>` as one JSON message on a
 * JetStream subject (`subject`, default `warmflow.<T>`), awaiting the stream's publish
 * acknowledgement: once `append` resolves the records are stored in the stream, which is
 * what a live run's acknowledgement point waits for. A stream must capture the subject.
 */
export class NatsStreamStore extends AppendOnlyStore implements EpochCommitter {
  readonly kind = 'nats' as const;
  readonly name: string;
  readonly #config: Readonly<NatsStreamStoreConfig>;
  readonly #handle: NatsHandle;
  readonly #js: JetStreamClient;

  private constructor(config: NatsStreamStoreConfig, handle: NatsHandle) {
    super();
    this.name = config.name;
    this.#config = Object.freeze({ ...config });
    this.#handle = handle;
    this.#js = handle.jetstream.jetstream(handle.nc);
  }

  /** Connects and returns the store. */
  static async open(config: NatsStreamStoreConfig): Promise<NatsStreamStore> {
    return new NatsStreamStore(config, await connectNats(config.url));
  }

  /** The subject records of type `table` go to. */
  subjectFor(table: string): string {
    return (
      (this.#config.prefix ?? '') +
      (this.#config.subject ?? 'warmflow.{type}').replaceAll('{type}', table)
    );
  }

  async append(table: string, records: readonly unknown[]): Promise<void> {
    await this.#publish(table, records);
  }

  /**
   * Publishes the epoch's records with `Nats-Msg-Id` `<writer>:<epoch>:<table>:<i>` (the
   * records of an epoch come in one deterministic order): a replayed epoch publishes the
   * same ids and JetStream drops them within the stream's duplicate window (default 2 min).
   * There is no marker to read, so it answers true even when JetStream dropped them all.
   */
  async commitEpoch(commit: EpochCommit): Promise<boolean> {
    for (const { table, records } of commit.appends)
      await this.#publish(table, records, `${commit.writer}:${commit.epoch}:${table}:`);
    return true;
  }

  committedEpoch(): Promise<number> {
    return Promise.resolve(-1);
  }

  /**
   * Publishes pipelined: up to {@link IN_FLIGHT} publishes await JetStream's acknowledgement
   * at once (a sliding window, never one by one nor in lock-step rounds); resolves once
   * every record is stored.
   */
  async #publish(table: string, records: readonly unknown[], idPrefix?: string): Promise<void> {
    const subject = this.subjectFor(table);
    let failure: unknown = null;
    const inFlight = new Set<Promise<void>>();
    for (let i = 0; i < records.length && failure === null; i++) {
      const published: Promise<void> = this.#js
        .publish(
          subject,
          JSON.stringify(records[i]),
          idPrefix === undefined ? undefined : { msgID: `${idPrefix}${i}` },
        )
        .then(
          () => undefined,
          (error: unknown) => {
            failure ??= error;
          },
        )
        .finally(() => inFlight.delete(published));
      inFlight.add(published);
      if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    if (failure !== null)
      throw new StoreError(
        'E_STORE',
        this,
        `publishing to "${subject}" failed: ${(failure as Error).message}`,
        {
          cause: failure,
          hint: `does a JetStream stream capture "${subject}"? e.g. \`nats stream add OUT --subjects '${subject}'\``,
        },
      );
  }

  /** Every message stored on the type's subject, in order (an ordered consumer; nothing acknowledged). */
  async *readAll(table: string): AsyncIterable<unknown> {
    const subject = this.subjectFor(table);
    const stream = await this.#handle.jsm.streams.find(subject);
    const info = await this.#handle.jsm.streams.info(stream, { subjects_filter: subject });
    // Read up to what is stored now: a live stream has no end of its own.
    let left = info.state.subjects?.[subject] ?? 0;
    if (left === 0) return;
    const consumer = await this.#js.consumers.get(stream, { filter_subjects: subject });
    const messages = await consumer.consume();
    try {
      for await (const m of messages) {
        yield m.json();
        if (--left === 0) break;
      }
    } finally {
      await messages.close();
    }
  }

  /** Removes the type's messages from its stream (purge by subject). */
  async drop(name: string): Promise<void> {
    const subject = this.subjectFor(name);
    try {
      const stream = await this.#handle.jsm.streams.find(subject);
      await this.#handle.jsm.streams.purge(stream, { filter: subject });
    } catch {
      // No stream captures it: nothing to drop.
    }
  }

  async close(): Promise<void> {
    await this.#handle.nc.drain();
  }
}
