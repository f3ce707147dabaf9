import type { FlowSpec, Template } from '../template/types.js';

/**
 * The part of a loaded flow the predictor reads: a structural subset of the
 * template package's `LoadedFlow`, so the predictor does not depend on how flows load
 * and tests can build one by hand.
 */
export interface PredictorFunction {
  name: string;
  /** Absolute path of the function's module, or null when the flow names none. */
  module: string | null;
  /** The export to call (the function's name unless the loader says otherwise). */
  export?: string;
  input: string[];
  output: string[];
  key?: string | undefined;
  gpu?: 'none' | 'optional' | 'required' | undefined;
}

/** A flow as the predictor sees it (`LoadedFlow` from `src/template` satisfies it). */
export interface PredictorFlow {
  /** The flow file, when loaded from one. */
  file?: string;
  /** Folder relative paths in the flow resolve against. */
  dir?: string;
  spec: FlowSpec;
  template: Template;
  functions: readonly PredictorFunction[];
}
