import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { serviceAvailable } from '../helpers/services.js';
import { atRate, natsStream, recordOf, uniqueName } from '../helpers/live-streams.js';
import { openLiveSource } from '../../src/sources/live/open-live.js';
import { outputLines, repo, tempDir } from './run-helpers.js';

const hasNats = await serviceAvailable('nats');

describe.skipIf(!hasNats)('warmflow run on a live stream (the process)', () => {
  it('drains on SIGTERM: exit 0, every message read has its output and is acknowledged, the rest stays for the group', async () => {
    const name = uniqueName('WFTERM');
    const s = await natsStream(name);
    const dir = tempDir();
    writeFileSync(path.join(dir, 'fns.mjs'), 'export function tag(r) { return { id: r.id }; }\n');
    const flowFile = path.join(dir, 'flow.yaml');
    writeFileSync(
      flowFile,
      `name: term_flow\nstreams:\n  items: { type: Item }\nfunctions:\n  - { name: tag, module: ./fns.mjs, input: [Item], output: [Tagged] }\n`,
    );
    const out = path.join(dir, 'out');
    try {
      for (let i = 0; i < 200; i++) await s.publish({ id: i });
      const child = spawn(
        process.execPath,
        [
          path.join(repo, 'bin/warmflow.js'),
          'run',
          flowFile,
          '--input',
          `${s.url}?ack_wait=3s`,
          '--out',
          out,
          '--json',
          '--no-history',
        ],
        { env: { ...process.env, CI: undefined }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) =>
        child.on('exit', (code) => resolve(code)),
      );
      let next = 200;
      // Keep publishing until the run has written outputs, then a while more, then SIGTERM.
      const until = Date.now() + 60_000;
      while (outputLines(path.join(out, 'Tagged.jsonl')).length === 0 && Date.now() < until)
        await atRate(200, 20, () => s.publish({ id: next++ }));
      await atRate(500, 500, () => s.publish({ id: next++ }));
      child.kill('SIGTERM');
      await atRate(500, 200, () => s.publish({ id: next++ }));
      expect(await exited, stderr).toBe(0);
      expect(stderr).toMatch(/SIGTERM: draining/);
      const status = JSON.parse(stdout) as {
        outcome: string;
        live: {
          acknowledged: number;
          unacknowledged: number;
          sources: { items: { messages: number; stopped_by: string } };
        };
      };
      expect(status.outcome).toBe('succeeded');
      expect(status.live.sources.items.stopped_by).toBe('signal');
      const read = status.live.sources.items.messages;
      expect(status.live.acknowledged).toBe(read);
      const ids = new Set(
        outputLines(path.join(out, 'Tagged.jsonl')).map(
          (l) => (JSON.parse(l) as { id: number }).id,
        ),
      );
      expect(ids.size).toBe(read);
      // Whatever the run did not read is still there for the group: together, everything.
      const group = await openLiveSource(`${s.url}?ack_wait=3s`, {
        flow: 'term_flow',
        stream: 'items',
      });
      for (let idle = 0; idle < 10;) {
        const batch = await group.next(1000, 500);
        if (batch.items.length === 0) idle++;
        for (const item of batch.items) ids.add((recordOf(item) as { id: number }).id);
      }
      await group.close();
      expect(ids.size).toBe(next);
    } finally {
      await s.cleanup();
    }
  });
});
