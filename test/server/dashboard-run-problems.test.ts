import { describe, expect, it } from 'vitest';
import {
  flowChoices,
  timeLabel,
  runProblems,
  type ExecutionView,
} from '../../src/server/dashboard/app/views.js';

const base: ExecutionView = {
  id: 'x_1',
  flow_id: 'f_1',
  template: 't',
  status: 'failed',
  submitted_at: '2026-01-01T00:00:00.000Z',
  nodes: [],
  rprs: null,
  dcp: null,
  completion: null,
};

const node = (
  node_id: string,
  dead_lettered: number,
  first_error?: { type: string; message: string; location?: string },
) => ({
  node_id,
  kind: 'function',
  records_in: 10,
  records_out: 10 - dead_lettered,
  dead_lettered,
  cpu_seconds: 0,
  peak_memory_bytes: 0,
  records_per_s: 0,
  rpr: null,
  resource_id: 'r',
  warm: true,
  ...(first_error !== undefined ? { first_error } : {}),
});

describe('the dashboard says why a run failed and what it dead-lettered', () => {
  it('a failed run: its error with the node, each node’s dead letters and first error, the file', () => {
    const lines = runProblems({
      ...base,
      completion: {
        outcome: 'failed',
        provisioning: 'warm',
        timings: { request_to_first_record_ms: null, request_to_ready_ms: 1, total_ms: 10 },
        records: { in: 10, out: 0, dead_lettered: 10 },
        error: {
          code: 'E_DEAD_LETTERS',
          message: 'node "parse" dead-lettered 10 of 10',
          node_id: 'parse',
        },
        pool_note: 'the warm pool’s set was not used',
        dead_letter_file: '/runs/x_1/dead-letters.jsonl',
        nodes: [
          node('parse', 10, { type: 'TypeError', message: 'bad', location: 'parse.ts:3:7' }),
          node('count', 0),
        ],
      },
    });
    expect(lines).toEqual([
      'failed: E_DEAD_LETTERS at node "parse": node "parse" dead-lettered 10 of 10',
      'note: the warm pool’s set was not used',
      'parse: 10 dead-lettered — first: TypeError: bad (at parse.ts:3:7)',
      'dead letters: /runs/x_1/dead-letters.jsonl',
    ]);
  });

  it('a run that could not start says why; a clean run says nothing', () => {
    expect(runProblems({ ...base, error: { code: 'E_CAPACITY', message: 'no cores' } })).toEqual([
      'failed: E_CAPACITY: no cores',
    ]);
    expect(runProblems({ ...base, status: 'running' })).toEqual([]);
  });
});

describe('the dashboard lists a flow registered again once', () => {
  it('one entry per name, the newest registration, with every registration’s runs', () => {
    const flow = (id: string, name: string) => ({
      id,
      name,
      created_at: '2026-01-01T00:00:00.000Z',
      profile_id: null,
    });
    expect(
      flowChoices([flow('f_1', 'clicks'), flow('f_2', 'orders'), flow('f_3', 'clicks')]),
    ).toEqual([
      { id: 'f_3', label: 'clicks (f_3, registered 2 times)', ids: ['f_1', 'f_3'] },
      { id: 'f_2', label: 'orders (f_2)', ids: ['f_2'] },
    ]);
  });
});

describe('the dashboard time axes', () => {
  it('label ticks with the local wall-clock time, 24 h, seconds shown', () => {
    const at = new Date(2026, 0, 2, 7, 5, 9).getTime() / 1000;
    expect(timeLabel(at)).toBe('07:05:09');
    expect(timeLabel(at + 13 * 3600)).toBe('20:05:09');
  });
});
