import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { waitForReady } from './spawn.js';

/** A child that sends `message` over IPC first, then idles. */
function childSaying(message: unknown) {
  return spawn(
    process.execPath,
    ['-e', `process.send(${JSON.stringify(message)}); setTimeout(() => {}, 10000);`],
    { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] },
  );
}

describe('waitForReady', () => {
  it('resolves with the address and pid of a well-formed ready message', async () => {
    const child = childSaying({ type: 'ready', address: '127.0.0.1:7000', pid: 42 });
    try {
      await expect(waitForReady(child, { timeoutMs: 10_000 })).resolves.toEqual({
        address: '127.0.0.1:7000',
        pid: 42,
      });
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('refuses a ready message without an address, and kills the child', async () => {
    const child = childSaying({ type: 'ready', pid: 42 });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await expect(waitForReady(child, { timeoutMs: 10_000 })).rejects.toMatchObject({
      code: 'E_PROTOCOL',
      message: expect.stringMatching(/ready without an address and pid/),
    });
    await exited;
  });

  it("keeps a warming failure's code and message", async () => {
    const child = childSaying({
      type: 'failed',
      error: { code: 'E_MODULE', message: 'cannot load function module /x.ts' },
    });
    await expect(waitForReady(child, { timeoutMs: 10_000 })).rejects.toMatchObject({
      code: 'E_MODULE',
      message: 'worker failed while warming: cannot load function module /x.ts',
    });
  });
});
