/// <reference lib="dom" />
/**
 * The dashboard: signs in with a tenant key, then polls the API (every second
 * while a run goes, every five otherwise) and redraws the template DAG, the DCP,
 * predicted against measured usage, the warm pool and recent runs.
 */
import type UPlot from 'uplot';
import { Api, ApiError, forgetKey, resolveKey, storeKey } from './api.js';
import { Charts } from './charts.js';
import { renderDag, type DagreLike } from './dag-view.js';
import { renderDcp, renderNodes, renderRun } from './panels.js';
import { renderPolicy, type PolicyView } from './policy-panel.js';
import {
  el,
  flowChoices,
  type ExecutionView,
  type FlowDetail,
  type FlowSummary,
  type PoolSampleView,
} from './views.js';

// The vendor bundles are plain ES modules served by the server from node_modules.
const uPlotUrl = '/dashboard/vendor/uPlot.esm.js';
const dagreUrl = '/dashboard/vendor/dagre.esm.js';
const uPlot = ((await import(uPlotUrl)) as { default: typeof UPlot }).default;
const dagre = ((await import(dagreUrl)) as { default: DagreLike }).default;

const $ = (id: string) => document.getElementById(id)!;
const charts = new Charts(uPlot);
const selectFlow = $('flow') as HTMLSelectElement;
const selectRun = $('execution') as HTMLSelectElement;
const params = new URL(window.location.href).searchParams;
let chosenFlow = params.get('flow') ?? '';
let chosenRun = params.get('execution') ?? '';
let api: Api | undefined;
let timer: number | undefined;

function fillSelect(
  select: HTMLSelectElement,
  options: Array<[string, string]>,
  value: string,
): void {
  select.replaceChildren(
    ...options.map(([v, label]) =>
      el('option', label, v === value ? { value: v, selected: '' } : { value: v }),
    ),
  );
  select.value = value;
}

async function refresh(): Promise<void> {
  if (api === undefined) return;
  let live = false;
  try {
    const [{ flows }, { executions }, { samples }, policy] = await Promise.all([
      api.get<{ flows: FlowSummary[] }>('/v1/flows'),
      api.get<{ executions: ExecutionView[] }>('/v1/executions'),
      api.get<{ samples: PoolSampleView[] }>('/v1/pools/timeline'),
      api.get<PolicyView>('/v1/policy'),
    ]);
    // One entry per flow name; default to the flow of the newest run, else the newest flow.
    const choices = flowChoices(flows);
    const choiceOf = (id: string | undefined) => choices.find((c) => c.ids.includes(id ?? ''));
    const choice = choiceOf(chosenFlow) ?? choiceOf(executions[0]?.flow_id) ?? choices.at(-1);
    const flowId = choice?.id ?? '';
    fillSelect(
      selectFlow,
      choices.map((c) => [c.id, c.label]),
      flowId,
    );
    const runs = executions.filter((e) => choice?.ids.includes(e.flow_id) === true);
    const runId = runs.some((e) => e.id === chosenRun) ? chosenRun : (runs[0]?.id ?? '');
    fillSelect(
      selectRun,
      runs.map((e) => [e.id, `${e.id} · ${e.status}`]),
      runId,
    );
    const execution = runs.find((e) => e.id === runId);
    live = executions.some((e) => e.status === 'running');

    if (flowId !== '') {
      const flow = await api.get<FlowDetail>(`/v1/flows/${flowId}`);
      renderDag($('dag'), dagre, flow.template, execution);
      $('dag').dataset.template = flow.template.name;
      let dcp = execution?.dcp ?? null;
      if (dcp === null && flow.profile_id !== null) {
        dcp = (await api.get<{ dcp: ExecutionView['dcp'] }>(`/v1/profiles/${flow.profile_id}`)).dcp;
      }
      renderDcp($('dcp'), dcp);
    } else {
      $('dag').replaceChildren(el('span', 'no flows yet: POST /v1/flows', { class: 'muted' }));
    }
    renderRun($('run'), execution);
    renderNodes($('nodes'), execution);
    charts.nodes($('cpu-chart'), execution, 'cpu');
    charts.nodes($('memory-chart'), execution, 'memory');
    charts.pool($('pool-chart'), samples);
    renderPolicy($('policy'), policy);
    charts.runs($('latency-chart'), runs);
    // The live chart is shown only for a run that reads a live stream.
    const isLive = Object.keys(execution?.live?.streams ?? {}).length > 0;
    $('live-section').hidden = !isLive;
    if (isLive) charts.live($('live-chart'), execution);
    $('status').textContent =
      `${live ? 'live' : 'idle'} · updated ${new Date().toLocaleTimeString()}`;
    document.body.dataset.ready = 'true';
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      signOut('that key was refused (missing, wrong or revoked)');
      return;
    }
    $('status').textContent = `error: ${error instanceof Error ? error.message : String(error)}`;
  }
  timer = window.setTimeout(() => void refresh(), live ? 1000 : 5000);
}

function signIn(key: string): void {
  api = new Api(key);
  $('login-panel').hidden = true;
  window.clearTimeout(timer);
  void refresh();
}

function signOut(reason: string): void {
  forgetKey();
  api = undefined;
  $('login-panel').hidden = false;
  $('login-error').textContent = reason;
  $('status').textContent = 'not signed in';
}

$('login').addEventListener('submit', (event) => {
  event.preventDefault();
  const key = ($('key') as HTMLInputElement).value.trim();
  if (key === '') return;
  storeKey(key);
  signIn(key);
});
selectFlow.addEventListener('change', () => {
  chosenFlow = selectFlow.value;
  chosenRun = '';
  window.clearTimeout(timer);
  void refresh();
});
selectRun.addEventListener('change', () => {
  chosenRun = selectRun.value;
  window.clearTimeout(timer);
  void refresh();
});

const key = resolveKey();
if (key === undefined) signOut('');
else signIn(key);
