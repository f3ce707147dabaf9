import { describe, expect, it } from 'vitest';
import type { LiveBatch } from '../sources/live/live-source.js';
import type { Recovery } from './completion-status.js';
import { LiveCommit } from './live-commit.js';
import type { RecoveringRun } from './recovery.js';
import { ResourceError } from './resource-error.js';
import type { ResourceSession } from './resource-session.js';
import type { SinkFiles } from './sinks.js';

/**
 * A resource as a checkpointed live run sees it: what it was pushed (source:seq:first
 * message), the epochs it committed with their barriers, and whether it was ended. `dies`
 * makes its next commit fail as a dead resource's; `checkpointed` is the last epoch whose
 * checkpoint it recorded before that.
 */
class FakeSession {
  readonly pushed: string[] = [];
  readonly epochs: Array<{ epoch: number; counts: Record<string, number> }> = [];
  ended: Record<string, number> | null = null;
  dies = false;
  dead = false;

  constructor(readonly name: string) {}

  async push(batch: { source: string; seq: number; payload: Buffer }): Promise<void> {
    if (this.dead) throw this.#death();
    this.pushed.push(`${batch.source}:${batch.seq}:${batch.payload.toString()}`);
    await Promise.resolve();
  }

  async commit(counts: Record<string, number>, epoch?: number): Promise<void> {
    await Promise.resolve();
    if (this.dies || this.dead) {
      this.dead = true;
      throw this.#death();
    }
    this.epochs.push({ epoch: epoch!, counts: { ...counts } });
  }

  end(counts: Record<string, number>): void {
    this.ended = counts;
  }

  #death(): ResourceError {
    return new ResourceError('E_RESOURCE_DIED', `${this.name} went away`, {
      resource_id: this.name,
      node_id: 'n',
    });
  }
}

/** A batch of messages `ids`, recording its acknowledgement in `acked`. */
function batch(ids: number[], acked: number[]): { batch: LiveBatch; payload: Buffer } {
  return {
    batch: {
      items: ids.map((line) => ({ data: new Uint8Array(), line, bytes: 0, arrival_ms: 0 })),
      ack: async () => {
        acked.push(...ids);
      },
    },
    payload: Buffer.from(String(ids[0])),
  };
}

function setup(): {
  commit: LiveCommit;
  first: FakeSession;
  replace: (session: FakeSession, checkpointEpoch: number) => Recovery;
  acked: number[];
} {
  const first = new FakeSession('r1');
  const run = { current: first, listener: null } as unknown as RecoveringRun;
  const sinks = { sync: async () => undefined } as unknown as SinkFiles;
  const commit = new LiveCommit([], sinks, { recovering: run, intervalMs: 100 });
  return {
    commit,
    first,
    acked: [],
    replace(session, checkpointEpoch) {
      const recovery = { records_replayed: -1 } as Recovery;
      run.listener!.replaced(session as unknown as ResourceSession, checkpointEpoch, recovery);
      return recovery;
    },
  };
}

const push = (commit: LiveCommit, ids: number[], acked: number[]) => {
  const { batch: b, payload } = batch(ids, acked);
  return commit.push(null as unknown as ResourceSession, 's', b, payload);
};

describe('LiveCommit, checkpointed', () => {
  it('each commit is the next epoch; messages are acknowledged once it is committed', async () => {
    const { commit, first, acked } = setup();
    await push(commit, [1, 2], acked);
    await push(commit, [3], acked);
    await commit.commit();
    await push(commit, [4], acked);
    await commit.commit();
    expect(first.epochs).toEqual([
      { epoch: 0, counts: { s: 2 } },
      { epoch: 1, counts: { s: 3 } },
    ]);
    expect(acked).toEqual([1, 2, 3, 4]);
    expect(commit.unacknowledged).toBe(0);
  });

  it('a resource that dies in a commit: the replacement gets the same epoch again, then the rest', async () => {
    const { commit, first, replace, acked } = setup();
    await push(commit, [1], acked);
    await commit.commit();
    await push(commit, [2], acked);
    await push(commit, [3], acked);
    first.dies = true;
    await commit.commit();
    // Pushed after the cut, before the replacement came: held for the replay.
    const late = push(commit, [4], acked);
    expect(acked).toEqual([1]);
    const second = new FakeSession('r2');
    const recovery = replace(second, 0);
    await late;
    // Epoch 1 again with exactly its messages, in order; the held push only after it.
    expect(second.pushed).toEqual(['s:0:2', 's:1:3', 's:2:4']);
    expect(second.epochs).toEqual([{ epoch: 1, counts: { s: 2 } }]);
    expect(recovery.records_replayed).toBe(2);
    expect(acked).toEqual([1, 2, 3]);
    await commit.end();
    expect(second.epochs.at(-1)).toEqual({ epoch: 2, counts: { s: 3 } });
    expect(second.ended).toEqual({ s: 3 });
    expect(acked).toEqual([1, 2, 3, 4]);
  });

  it('batches pushed since the last epoch go to the replacement, in order, before new ones', async () => {
    const { commit, first, replace, acked } = setup();
    await push(commit, [1], acked);
    await commit.commit();
    await push(commit, [2], acked);
    first.dead = true;
    const held = push(commit, [3], acked);
    const second = new FakeSession('r2');
    const recovery = replace(second, 0);
    await held;
    expect(second.pushed).toEqual(['s:0:2', 's:1:3']);
    expect(recovery.records_replayed).toBe(2);
    await push(commit, [4], acked);
    await commit.commit();
    expect(second.epochs).toEqual([{ epoch: 1, counts: { s: 3 } }]);
    expect(acked).toEqual([1, 2, 3, 4]);
  });

  it('a resource that dies after recording the epoch: only the acknowledgement is left', async () => {
    const { commit, first, replace, acked } = setup();
    await push(commit, [1], acked);
    first.dies = true;
    await commit.commit();
    const second = new FakeSession('r2');
    replace(second, 0);
    await push(commit, [2], acked);
    expect(second.pushed).toEqual(['s:0:2']);
    expect(acked).toEqual([1]);
    await commit.commit();
    expect(second.epochs).toEqual([{ epoch: 1, counts: { s: 1 } }]);
    expect(acked).toEqual([1, 2]);
  });

  it('a replacement that dies during its replay is replaced again; the epoch is replayed once more', async () => {
    const { commit, first, replace, acked } = setup();
    await push(commit, [1], acked);
    first.dies = true;
    await commit.commit();
    const second = new FakeSession('r2');
    second.dies = true;
    replace(second, -1);
    const third = new FakeSession('r3');
    // The second died in its replay's commit; the third replays epoch 0 again.
    await new Promise((r) => setTimeout(r, 10));
    replace(third, -1);
    await commit.end();
    expect(third.pushed).toEqual(['s:0:1']);
    expect(third.epochs).toEqual([{ epoch: 0, counts: { s: 1 } }]);
    expect(acked).toEqual([1]);
  });
});
