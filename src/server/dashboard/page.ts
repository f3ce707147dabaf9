import { createHash } from 'node:crypto';

/**
 * Runs first in the page, before any stylesheet or module loads: a key given as
 * `?key=` goes into this tab's sessionStorage and out of the address bar, so no
 * request the page makes (nor the history) carries it. Inline, so it is allowed by
 * its hash in {@link DASHBOARD_CSP}.
 */
const KEY_FROM_URL = `(function(){var u=new URL(location.href);var k=u.searchParams.get('key');if(k){sessionStorage.setItem('warmflow.key',k);u.searchParams.delete('key');history.replaceState(null,'',u.toString());}})();`;

/**
 * The dashboard's Content-Security-Policy: its own scripts (and the inline key mover,
 * by hash) only, requests only to this server, never framed. Styles may be inline
 * (the page's own and the chart library's).
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src 'self' 'sha256-${createHash('sha256').update(KEY_FROM_URL).digest('base64')}'`,
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The dashboard page. Kept in a module rather than an .html file so that the
 * build (tsc only, no bundler, no copy step) carries it into dist.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>warmflow dashboard</title>
<script>${KEY_FROM_URL}</script>
<link rel="stylesheet" href="/dashboard/vendor/uPlot.min.css">
<style>
  :root { --bg: #f7f7f5; --card: #fff; --ink: #1d232a; --muted: #6b7280; --line: #e5e7eb;
          --pending: #9ca3af; --running: #2563eb; --succeeded: #16a34a; --failed: #dc2626; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, sans-serif; background: var(--bg); color: var(--ink); }
  header { display: flex; gap: 16px; align-items: center; padding: 10px 20px; background: #111827; color: #fff; }
  header h1 { font-size: 18px; margin: 0 12px 0 0; }
  header select, header input, header button { font: inherit; padding: 4px 8px; }
  #status { margin-left: auto; color: #d1d5db; }
  main { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 14px; padding: 14px 20px; }
  section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; min-width: 0; }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size: 15px; margin: 0 0 8px; }
  table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
  th, td { text-align: right; padding: 3px 6px; border-bottom: 1px solid var(--line); white-space: nowrap; }
  th:first-child, td:first-child { text-align: left; }
  .muted { color: var(--muted); }
  .problem { color: #b3261e; margin: 2px 0; }
  .figures { display: flex; flex-wrap: wrap; gap: 8px 18px; margin-bottom: 8px; }
  .figure b { display: block; font-size: 18px; }
  .figure span { color: var(--muted); font-size: 12px; }
  #dag svg { width: 100%; height: auto; max-height: 420px; }
  #dag .node rect { stroke: #111827; stroke-width: 1; rx: 6; }
  #dag .node text { font-size: 12px; fill: #fff; }
  #dag .state-pending rect { fill: var(--pending); }
  #dag .state-running rect { fill: var(--running); }
  #dag .state-succeeded rect { fill: var(--succeeded); }
  #dag .state-failed rect { fill: var(--failed); }
  #dag .edge path { fill: none; stroke: #6b7280; stroke-width: 1.4; marker-end: url(#arrow); }
  #dag .edge text { font-size: 11px; fill: var(--muted); }
  .legend-dot { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin: 0 4px 0 10px; }
  #login-panel { grid-column: 1 / -1; }
  .error { color: var(--failed); }
</style>
</head>
<body>
<header>
  <h1>warmflow</h1>
  <label>flow <select id="flow"></select></label>
  <label>run <select id="execution"></select></label>
  <span id="status">not signed in</span>
</header>
<main>
  <section id="login-panel" hidden>
    <h2>Sign in with a tenant API key</h2>
    <form id="login"><input id="key" type="password" size="60" placeholder="wf_…" autocomplete="off">
    <button type="submit">Open</button></form>
    <p class="muted">The key stays in this tab (sessionStorage). You can also open <code>/dashboard/?key=…</code>.</p>
    <p id="login-error" class="error"></p>
  </section>
  <section class="wide" id="dag-section"><h2>Template <span class="muted" id="dag-legend"></span></h2><div id="dag"></div></section>
  <section id="dcp-section"><h2>Data profile (DCP)</h2><div id="dcp" class="muted">no profile yet</div></section>
  <section id="live-section" hidden><h2>Live stream: rate and lag over time</h2><div id="live-chart"></div></section>
  <section id="run-section"><h2>Run</h2><div id="run" class="muted">no run yet</div></section>
  <section id="cpu-section"><h2>CPU cores per node: predicted vs measured</h2><div id="cpu-chart"></div></section>
  <section id="memory-section"><h2>Memory (GB) per node: predicted vs measured</h2><div id="memory-chart"></div></section>
  <section id="pool-section"><h2>Warm pool over time</h2><div id="pool-chart"></div></section>
  <section class="wide" id="policy-section"><h2>Keep-alive policy: decisions and reasons</h2><div id="policy" class="muted"></div><img id="policy-plot" src="/policy/tradeoff.svg" alt="cold starts against wasted memory per policy (npm run bench:policy)" width="720" height="440"></section>
  <section id="latency-section"><h2>Recent runs: request → first record, throughput</h2><div id="latency-chart"></div></section>
  <section class="wide" id="nodes-section"><h2>Nodes</h2><table id="nodes"></table></section>
</main>
<script type="module" src="/dashboard/app/main.js"></script>
</body>
</html>
`;
