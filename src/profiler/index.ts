/** The profiler: sources, sketches and the Data Characteristic Profile. */
export { Profiler } from './profiler.js';
export type { ProfilerOptions, ProfilerJson } from './profiler.js';
export { profile, collectProfile } from './profile.js';
export type { ProfileOptions, ProfileInput } from './profile.js';
export type { FieldExpectation } from './field-expectation.js';
export { HyperLogLog } from './sketches/hyper-log-log.js';
export type { HyperLogLogJson } from './sketches/hyper-log-log.js';
export { DDSketch } from './sketches/dd-sketch.js';
export type { DDSketchJson } from './sketches/dd-sketch.js';
export { MisraGries } from './sketches/misra-gries.js';
export type { MisraGriesJson, FrequentKey } from './sketches/misra-gries.js';
export { HASH, hashString, hashNumber, hashBoolean, hashValue } from './sketches/hash64.js';
export type * from './dcp.js';
