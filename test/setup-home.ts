import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// Every test file gets its own empty WARMFLOW_HOME, so no test reads or writes the
// user's ~/.warmflow, and files running in parallel never share pool state (a pool
// owner starting in one file must not clean up the workers of another).
process.env.WARMFLOW_HOME = mkdtempSync(path.join(os.tmpdir(), 'warmflow-test-home-'));

// A run that stops making progress fails with E_STALLED and what it last did, well before
// the 60 s test timeout would hide where it stopped (test/stall-watchdog.test.ts sets its own).
process.env.WARMFLOW_STALL_TIMEOUT_MS ??= '30000';
