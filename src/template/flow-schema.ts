import { z } from 'zod';
import type { FlowSpec } from './types.js';

/*
 * The shape of a flow file, as zod schemas. This is the one definition of the
 * format: parsing validates against it and `schema/flow.schema.json` (what editors
 * complete with) is generated from it, so the two cannot drift apart.
 */

// Node ids are `read:T`, `write:T`, `source:S`: a ':' in a name could collide with them.
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const nameMessage =
  'must start with a letter or "_" and hold only letters, digits, "_", "." and "-"';

const name = (what: string) =>
  z
    .string()
    .regex(NAME, { message: `${what} ${nameMessage}` })
    .describe(what);

const storeSchema = z
  .strictObject({
    kind: z
      .enum(['memory', 'sqlite', 'redis', 'postgres', 'nats', 'redis-stream'])
      .describe(
        'Which implementation holds the data (nats and redis-stream are append-only stream sinks).',
      ),
    path: z.string().optional().describe('sqlite: the database file, relative to the flow file.'),
    url: z
      .string()
      .optional()
      .describe('redis / postgres / nats / redis-stream: the connection URL.'),
    subject: z
      .string()
      .optional()
      .describe(
        'nats: the subject a type is published to ({type} is its name; default warmflow.{type}).',
      ),
    stream: z
      .string()
      .optional()
      .describe(
        'redis-stream: the stream key a type is appended to ({type} is its name; default {type}).',
      ),
    maxlen: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('redis-stream: trim each stream to about this many entries (XADD MAXLEN ~).'),
  })
  .describe('A data store instance nodes may read and write.');

const streamSchema = z
  .strictObject({
    type: name('type name').describe('The data type of the records this stream carries.'),
    source: z
      .string()
      .optional()
      .describe('Default source (a JSONL file relative to the flow file) for `run` and `profile`.'),
  })
  .describe('Where records arrive: a stream of records of one type.');

const typeSchema = z
  .strictObject({
    store: name('store name').optional().describe('The store instance that holds this type.'),
    key: z.string().optional().describe('The field records of this type are keyed by.'),
    fields: z
      .record(
        z.string(),
        z.enum(['string', 'integer', 'float', 'number', 'boolean', 'date', 'object', 'array']),
      )
      .optional()
      .describe(
        'Field name -> type (string, integer, float, number, boolean, date, object, array), e.g. { user_id: string, ts: integer }. CSV/TSV readers type those columns as declared; the profile counts values of another type against data quality.',
      ),
    seed: z
      .string()
      .optional()
      .describe('JSONL file (relative to the flow file) loaded into the store before a run.'),
  })
  .describe('Where a data type lives and how it is keyed.');

const functionSchema = z
  .strictObject({
    name: name('function name').describe('Node id; also the export name of `module`.'),
    module: z
      .string()
      .optional()
      .describe('Module (.ts or .js, relative to the flow file) exporting the function.'),
    export: z.string().optional().describe('Export name in `module` when it differs from `name`.'),
    description: z.string().optional().describe('What the function does.'),
    // Missing or empty lists are refused by inference, which can name the function.
    input: z
      .array(name('type name'))
      .default([])
      .describe('Input data types; the first is the record the function is called with.'),
    output: z.array(name('type name')).default([]).describe('Output data types.'),
    key: z
      .string()
      .optional()
      .describe('Field to partition by; a keyed function has per-key state.'),
    state: z
      .array(z.string().min(1, { message: 'a state name must not be empty' }))
      .optional()
      .describe(
        'State names of a keyed function, loaded before it runs: the ones it reads and writes synchronously (ctx.state.read / ctx.state.write).',
      ),
    gpu: z
      .enum(['none', 'optional', 'required'])
      .optional()
      .describe('Whether the function can use a GPU (default none).'),
  })
  .describe('A function descriptor: its name and data types, no order.');

/** The zod schema of a flow file (YAML, JSON or a `defineFlow` object). */
export const flowSchema = z
  .strictObject({
    name: name('flow name').describe('The flow (template) name.'),
    description: z.string().optional().describe('What the flow does.'),
    streams: z.record(name('stream name'), streamSchema).optional().describe('Streams by name.'),
    stores: z.record(name('store name'), storeSchema).optional().describe('Data stores by name.'),
    types: z
      .record(name('type name'), typeSchema)
      .optional()
      .describe('Type placement by type name.'),
    functions: z.array(functionSchema).describe('Function descriptors, in any order.'),
    sink: name('store name')
      .optional()
      .describe('Store for written types that `types` does not place (default: JSONL files).'),
    max_dead_letter_ratio: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe(
        "Share of a node's input (0-1) it may dead-letter before the run fails (default 0.5); a node that dead-letters all of its input always fails the run.",
      ),
  })
  .describe('A warmflow flow: function descriptors from which the dataflow template is inferred.');

// A compile-time check that the schema's output is a FlowSpec.
const _outputIsFlowSpec = (value: z.output<typeof flowSchema>): FlowSpec => value;
void _outputIsFlowSpec;

/**
 * The JSON Schema of the flow file, as committed in `schema/flow.schema.json`.
 *
 * ```yaml
 * # yaml-language-server: $schema=../../schema/flow.schema.json
 * name: clickstream
 * ```
 */
export function flowJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(flowSchema, { io: 'input' }) as Record<string, unknown>;
  return { ...generated, title: 'warmflow flow' };
}
