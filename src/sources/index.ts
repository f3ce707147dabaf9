/**
 * The source layer: every input warmflow reads (files, standard input, Parquet, live
 * streams) behind one contract, {@link Source}. The profiler, calibration, the push feeder
 * and the worker's data plane read through it; docs/sources.md describes it.
 */
export type {
  Source,
  SourceItem,
  SourceFormat,
  SourceOptions,
  ReadOptions,
  ChunkParser,
  DeclaredFieldType,
} from './source.js';
export {
  openSource,
  readSource,
  readSourceBatches,
  registerSourceAdapter,
  sourceSchemes,
  uriScheme,
} from './open.js';
export type { SourceAdapter } from './open.js';
export { FileSource, formatFromPath, binaryKind } from './file-source.js';
export { StdinSource } from './stdin-source.js';
export { ParquetSource } from './parquet-source.js';
export { teeSource } from './tee.js';
export { readSample } from './read-sample.js';
export { JsonlParser, scanJsonl } from './jsonl-parser.js';
export {
  CsvParser,
  splitCsvRecord,
  decideColumnTypes,
  typeColumns,
  type ColumnType,
  type ColumnTypes,
} from './csv-parser.js';
export { JsonArrayParser } from './json-array-parser.js';
export { takeFirst, reservoirSample, sampled } from './sampling.js';
export { readChunk, chunkCount, parseLines, CHUNK_BYTES, chunkBytesFor } from './jsonl-chunks.js';
