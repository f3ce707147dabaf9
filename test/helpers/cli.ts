import { vi } from 'vitest';
import { main } from '../../src/cli/main.js';

/**
 * Runs `warmflow ...args` in-process and captures what it prints. The exit code a
 * previous command left in `process.exitCode` is cleared before and after, since
 * `main` reports it.
 */
export async function runCli(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi
    .spyOn(process.stdout, 'write')
    .mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = vi
    .spyOn(process.stderr, 'write')
    .mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    process.exitCode = undefined;
    const code = await main(['node', 'warmflow', ...args]);
    return { code, stdout, stderr };
  } finally {
    process.exitCode = undefined;
    out.mockRestore();
    err.mockRestore();
  }
}
