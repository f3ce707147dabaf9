/** The control plane as a service: the HTTP app, its ports, and the server around it. */
export { createApp } from './create-app.js';
export type { WarmflowApp } from './create-app.js';
export { createServer, startServer } from './start-server.js';
export type { ServerOptions, WarmflowServer, RunningServer } from './start-server.js';
export type { AppDeps, AppOptions, ExecutionRecord, ProfileRecord } from './app-state.js';
export type {
  FlowRecord,
  TemplatePort,
  ProfilerPort,
  ProfileInput,
  PredictorPort,
  PoolsPort,
  PoolView,
  ExecutorPort,
  ExecutionInput,
  NodeProgress,
  HistoryPort,
} from './ports.js';
export type { TenancyPort } from './auth.js';
export { ServerMetrics } from './server-metrics.js';
export { templatePort, defaultDeps } from './wiring.js';
export type { DefaultDepsOptions } from './wiring.js';
export { HttpError } from './http-error.js';
