/**
 * warmflow's public API. Everything a user or another tool may import is exported
 * here; files inside the package import each other by relative path.
 */
export {
  WarmflowError,
  ValidationError,
  toFailure,
  formatPosition,
  ERROR_CODES,
  isErrorCode,
} from './errors.js';
export type { ErrorCode, Problem, SourcePosition, FunctionFailure } from './errors.js';
export { warmflowHome, homeDatabasePath } from './home.js';
export type * from './template/types.js';
export type { UserFunction, FunctionContext, KeyedState } from './template/function-api.js';
export type * from './profiler/dcp.js';
export type * from './predictor/rpr.js';
export type * from './provision/rac.js';
export type * from './provision/provider.js';
export type * from './execute/completion-status.js';
export type * from './stores/store.js';
export type * from './history/history-store.js';
export * from './tenancy/index.js';
export {
  parseFlow,
  loadFlow,
  inferTemplate,
  topologicalStages,
  defineFlow,
  defineFunction,
  flowJsonSchema,
  formatTemplateText,
  formatTemplateDot,
} from './template/index.js';
export type { ParsedFlow, LoadedFlow, LoadedFunction, InferOptions } from './template/index.js';
export {
  openStore,
  StoreError,
  KeyedStateStore,
  MemoryStore,
  SqliteStore,
  openSqliteDatabase,
} from './stores/index.js';
export type {
  OpenStoreOptions,
  KeyedStateOptions,
  MemoryStoreConfig,
  SqliteStoreConfig,
  SqliteDatabase,
  SqliteStatement,
} from './stores/index.js';
export { RedisStore, connectRedis, PostgresStore, connectPostgres } from './stores/index.js';
export type {
  RedisStoreConfig,
  RedisClient,
  RedisBatch,
  PostgresStoreConfig,
  PgPool,
  PgQueryable,
} from './stores/index.js';
export {
  openHistory,
  observationsFromStatus,
  sourceFingerprint,
  templateFingerprint,
  SqliteHistory,
  PostgresHistory,
} from './history/index.js';
export type {
  ObservationExtras,
  SqliteHistoryConfig,
  PostgresHistoryConfig,
} from './history/index.js';
export { historyReport, runReport, formatHistoryText } from './history/index.js';
export { recordRun, latestCalibration } from './history/index.js';
export {
  runFlow,
  planRprs,
  calibrationSamples,
  calibrateOnEngine,
  executeAndRecord,
  CALIBRATE_UNTIL_RUNS,
  CALIBRATION_SAMPLE,
  formatRunReport,
  formatStatus,
} from './flow/index.js';
export type {
  RunFlowOptions,
  RunFlowResult,
  PlanRprsOptions,
  PlannedRprs,
  RprSource,
  CalibrationSamples,
  EngineCalibrationOptions,
  RecordInto,
} from './flow/index.js';
export type { HistoryRunReport, HistoryNodeReport } from './history/index.js';
export {
  predict,
  ruleRprs,
  formatPrediction,
  functionFingerprint,
  calibrateFlow,
  runInSandbox,
  refineModel,
  propagateRates,
  chooseStore,
  assignGpus,
  hourlyCost,
  loadPrices,
  resolvePrices,
  DEFAULT_PRICES,
  DEFAULT_SIZING,
  requiredCores,
  provisionMemoryGb,
  defaultFunctionModel,
} from './predictor/index.js';
export type {
  PredictOptions,
  PredictionResult,
  NodePrediction,
  PredictorFlow,
  FunctionModel,
  PriceTable,
  NodeRates,
  Placement,
  SizingPolicy,
  CalibrationOptions,
  CalibrateResult,
} from './predictor/index.js';
export {
  profile,
  collectProfile,
  Profiler,
  HyperLogLog,
  DDSketch,
  MisraGries,
} from './profiler/index.js';
export type {
  ProfileOptions,
  ProfileInput,
  ProfilerOptions,
  ProfilerJson,
  FieldExpectation,
} from './profiler/index.js';
export {
  openSource,
  readSource,
  readSourceBatches,
  registerSourceAdapter,
  teeSource,
  readSample,
  FileSource,
  StdinSource,
  ParquetSource,
} from './sources/index.js';
export type {
  Source,
  SourceAdapter,
  SourceItem,
  SourceFormat,
  SourceOptions,
  ReadOptions,
  DeclaredFieldType,
} from './sources/index.js';
export {
  LocalProvider,
  PreProvisioningService,
  WarmPool,
  Claim,
  PoolStateStore,
  planResources,
  mergeRprs,
  detectMachineCapacity,
  checkCapacity,
  killStaleWorkers,
} from './provision/index.js';
export type {
  LocalProviderConfig,
  PreProvisionInput,
  PreProvisioningConfig,
  WarmPoolConfig,
  PoolStatus,
  SetStatus,
  ClaimedResource,
  PoolDefinition,
  PoolFlow,
  ResourcePlan,
  MachineCapacity,
} from './provision/index.js';
export {
  WorkerClient,
  WorkerServer,
  FramedSocket,
  FrameDecoder,
  parseToWorker,
  parseFromWorker,
  encodeFrame,
  tokenMatches,
  spawnWorker,
  waitForReady,
  workerCommand,
  runWorker,
  PROTOCOL_VERSION,
} from './worker/index.js';
export type {
  WireMessage,
  ToWorker,
  FromWorker,
  WorkerRequests,
  WorkerNotices,
  WorkerEvents,
  WireError,
  Frame,
  WorkerHello,
  WorkerHealth,
  DataPlane,
  DataPlaneContext,
  CreateDataPlane,
  WorkerConnection,
  WorkerLog,
  SpawnWorkerOptions,
} from './worker/index.js';
export {
  executeDataflow,
  planGroups,
  fitGroupRprs,
  groupParallelism,
  resolveSources,
  parseInputs,
  SinkFiles,
  DEAD_LETTER_FILE,
  feedSource,
  buildDeploySpec,
  runStores,
} from './execute/index.js';
export type {
  ExecutionRequest,
  ExecutionEnvironment,
  ResolvedSource,
  PushBatch,
  FeederStats,
  LiveResize,
  LiveResizeOptions,
} from './execute/index.js';
export { createDataPlane, threadCount, partitionOf } from './worker/dataplane/index.js';
export type {
  DeploySpec,
  SourceSpec,
  SeedSpec,
  NodeStats,
  RunResult,
} from './worker/dataplane/index.js';
export {
  simulate,
  parsePolicy,
  parsePolicies,
  fixedPolicy,
  hybridPolicy,
  warmflowPolicy,
  loadTrace,
  DEFAULT_COST_MODEL,
  outcomeCost,
  ResizePolicy,
  HoltForecast,
  DEFAULT_RESIZE_TUNING,
} from './policy/index.js';
export type {
  PolicyReport,
  SimulateOptions,
  CostModel,
  KeepAliveDecision,
  KeepAlivePolicy,
  PolicyLedger,
  PolicyUnit,
  UnitInfo,
  Trace,
  TraceFunction,
  WarmflowPolicyOptions,
  WarmflowTuning,
  ResizeTuning,
  ResizeDecision,
  RateObservation,
} from './policy/index.js';
