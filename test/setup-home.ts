import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { removeScratch } from './helpers/scratch.js';

// Every test file gets its own empty WARMFLOW_HOME, so no test reads or writes the
// user's ~/.warmflow, and files running in parallel never share pool state (a pool
// owner starting in one file must not clean up the workers of another).
const home = mkdtempSync(path.join(os.tmpdir(), 'warmflow-test-home-'));
process.env.WARMFLOW_HOME = home;

// And it goes once the file is done, with the folders of `scratchDir` (a run of the suite left
// ~280 folders behind). They stay out of the home: under it, paths of unix sockets grew past
// their limit.
afterAll(() => {
  removeScratch();
  try {
    rmSync(home, { recursive: true, force: true, maxRetries: 3 });
  } catch {
    // A process the file started may still be writing there; the folder is only scratch.
  }
});

// A run that stops making progress fails with E_STALLED and what it last did, well before
// the 60 s test timeout would hide where it stopped (test/stall-watchdog.test.ts sets its own).
process.env.WARMFLOW_STALL_TIMEOUT_MS ??= '30000';
