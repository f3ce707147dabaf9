import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CompletionStatus } from '../../src/execute/completion-status.js';
import { planGroups } from '../../src/execute/plan.js';
import { planRprs } from '../../src/flow/plan-rprs.js';
import { finalProgress } from '../../src/server/parts/local-parts.js';
import { loadFlow } from '../../src/template/load-flow.js';
import { FakeProvider } from '../provision/fake-provider.js';

const repo = path.resolve(import.meta.dirname, '../..');

describe('the pipeline stages every front door shares', () => {
  it('planRprs falls back to the rule and every RPR says why the predictor did not run', async () => {
    const flow = await loadFlow(path.join(repo, 'examples/clickstream/flow.yaml'));
    const planned = await planRprs({
      flow,
      dcp: null,
      groups: planGroups(flow.template),
      provider: new FakeProvider(),
    });
    expect(planned.rpr_source).toEqual({ basis: 'rule', reason: 'no profile of the input' });
    expect(planned.rprs).toHaveLength(flow.template.nodes.length);
    for (const rpr of planned.rprs) {
      expect(rpr.reasoning!.basis).toBe('rule');
      expect(rpr.reasoning!.notes!.at(-1)).toBe(
        'the predictor could not run: no profile of the input',
      );
    }
  });

  it('a run that did not succeed reports none of its nodes succeeded', () => {
    const node = (node_id: string) => ({ node_id, records_in: 10, records_out: 10 });
    const status = {
      outcome: 'failed',
      error: { node_id: 'enrich', code: 'E_RUN', message: 'boom' },
      nodes: [node('parse'), node('enrich'), node('sink')],
    } as unknown as CompletionStatus;
    expect(finalProgress(status).map((n) => n.state)).toEqual(['failed', 'failed', 'failed']);
    const ok = { ...status, outcome: 'succeeded', error: undefined } as unknown as CompletionStatus;
    expect(finalProgress(ok).map((n) => n.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
  });
});
