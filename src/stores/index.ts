/** Data store instances that nodes read and write: memory, sqlite, redis, postgres. */
export type { DataStore } from './store.js';
export { StoreError } from './store-error.js';
export { openStore } from './open-store.js';
export type { OpenStoreOptions } from './open-store.js';
export { KeyedStateStore } from './keyed-state.js';
export type { KeyedStateOptions } from './keyed-state.js';
export { MemoryStore } from './memory/memory-store.js';
export type { MemoryStoreConfig } from './memory/memory-store.js';
export { SqliteStore } from './sqlite/sqlite-store.js';
export type { SqliteStoreConfig } from './sqlite/sqlite-store.js';
export { openSqliteDatabase } from './sqlite/sqlite-database.js';
export type { SqliteDatabase, SqliteStatement } from './sqlite/sqlite-database.js';
