/** Past runs and their measured usage: SQLite (embedded default) and PostgreSQL. */
export type { HistoryStore, RunRecord, FunctionObservation } from './history-store.js';
export { openHistory } from './open-history.js';
export { recordRun, latestCalibration } from './record-run.js';
export { observationsFromStatus, sourceFingerprint } from './observations-from-status.js';
export type { ObservationExtras } from './observations-from-status.js';
export { templateFingerprint } from './template-fingerprint.js';
export { SqliteHistory } from './sqlite/sqlite-history.js';
export type { SqliteHistoryConfig } from './sqlite/sqlite-history.js';
export { migrateSqlite, SQLITE_HISTORY_MIGRATIONS } from './sqlite/sqlite-migrations.js';
export { PostgresHistory } from './postgres/postgres-history.js';
export type { PostgresHistoryConfig } from './postgres/postgres-history.js';
export { migratePostgres, POSTGRES_HISTORY_MIGRATIONS } from './postgres/postgres-migrations.js';
export { historyReport, runReport } from './history-report.js';
export type { HistoryRunReport, HistoryNodeReport } from './history-report.js';
export { formatHistoryText } from './format-history.js';
