/// <reference lib="dom" />
import { el } from './views.js';

/** A keep-alive decision as `GET /v1/policy` lists it. */
export interface PolicyDecisionView {
  at: string;
  template: string;
  minute: number;
  action: string;
  pre?: number;
  ka?: number;
  reason: string;
}

/** What `GET /v1/policy` answers. */
export interface PolicyView {
  policy: string | null;
  counts?: { invocation_minutes: number; cold_starts: number };
  decisions: PolicyDecisionView[];
}

/** The pool timeline's reasons: the policy's latest decisions, newest first. */
export function renderPolicy(target: HTMLElement, view: PolicyView): void {
  if (view.policy === null) {
    target.replaceChildren(
      el('span', 'no keep-alive policy: start serve with --keep-alive-policy', { class: 'muted' }),
    );
    return;
  }
  const counts = view.counts;
  const head = el(
    'p',
    `policy ${view.policy}` +
      (counts === undefined
        ? ''
        : ` · ${counts.cold_starts} cold starts in ${counts.invocation_minutes} invocation minutes`),
  );
  const table = el('table');
  table.append(el('tr'));
  table.firstElementChild?.append(
    ...['time', 'flow', 'minute', 'action', 'window', 'reason'].map((h) => el('th', h)),
  );
  for (const d of view.decisions.slice(-20).reverse()) {
    const row = el('tr');
    row.append(
      el('td', new Date(d.at).toLocaleTimeString()),
      el('td', d.template),
      el('td', String(d.minute)),
      el('td', d.action),
      el(
        'td',
        d.pre === undefined ? '' : d.pre < 0 ? 'cold until next use' : `${d.pre}+${d.ka ?? 1}`,
      ),
      el('td', d.reason),
    );
    table.append(row);
  }
  target.replaceChildren(head, table);
}
