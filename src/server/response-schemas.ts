import { z } from '@hono/zod-openapi';

/**
 * The schemas of the API's successful answers, as served in `/openapi.json`. The documents
 * shared with the library (template, DCP, RPR, RAC, CompletionStatus) are described by their
 * stable top-level fields (ARCHITECTURE.md); their nested parts stay open (`additionalProperties`)
 * so a field the library adds does not break clients that validate against this document.
 * The routes return values typed against these schemas, so an answer cannot drift from them
 * without the type check failing.
 */

const timestamp = z.string().openapi({ description: 'ISO 8601 time', format: 'date-time' });
const id = z.string();
const nextCursor = z
  .string()
  .nullable()
  .openapi({ description: 'the `after` cursor of the next page; null on the last page' });

export const TemplateSchema = z
  .looseObject({
    name: z.string(),
    nodes: z.array(
      z.looseObject({
        id: z.string(),
        kind: z.enum(['function', 'read', 'write', 'source']),
        type: z.string().optional(),
        data_store: z.string().optional(),
        key: z.string().optional(),
        state: z.array(z.string()).optional(),
      }),
    ),
    edges: z.array(z.looseObject({ from: z.string(), to: z.string(), type: z.string() })),
    transactions: z.array(
      z.looseObject({
        function: z.string(),
        reads: z.array(z.string()),
        writes: z.array(z.string()),
      }),
    ),
  })
  .openapi('Template', { description: 'the inferred dataflow template (docs/template.md)' });

export const FlowSpecSchema = z
  .looseObject({
    name: z.string(),
    description: z.string().optional(),
    streams: z.record(z.string(), z.looseObject({})).optional(),
    stores: z.record(z.string(), z.looseObject({})).optional(),
    types: z.record(z.string(), z.looseObject({})).optional(),
    functions: z.array(
      z.looseObject({ name: z.string(), input: z.array(z.string()), output: z.array(z.string()) }),
    ),
    sink: z.string().optional(),
    max_dead_letter_ratio: z.number().optional(),
  })
  .openapi('FlowSpec', { description: 'the flow file as parsed (docs/template.md)' });

export const DcpSchema = z
  .looseObject({
    dataTypeDistribution: z.record(z.string(), z.number()),
    cardinality: z.record(z.string(), z.number()),
    volume: z.looseObject({
      avg_record_size: z.number(),
      records_per_second: z.number(),
      rate_source: z.enum([
        'event_time',
        'arrival',
        'none',
        'replay_rate',
        'calibrated_throughput',
      ]),
      event_time_records_per_second: z.number().optional(),
      time_field: z.string().optional(),
      records: z.number(),
      bytes: z.number(),
    }),
    schema_evolution_probability: z.number(),
    data_quality_score: z.number(),
    fields: z.record(z.string(), z.looseObject({})),
  })
  .openapi('Dcp', { description: 'a Data Characteristics Profile (docs/profiler.md)' });

export const RprOutSchema = z
  .looseObject({
    node_id: z.string(),
    resource_type: z.enum(['CPU', 'GPU']),
    cpu_cores: z.number(),
    memory_gb: z.number(),
    gpu_enabled: z.boolean(),
    data_store_instance: z.string().nullable(),
    reasoning: z.looseObject({}).optional(),
  })
  .openapi('Rpr', {
    description: 'a Resource Plan Recommendation for one node (docs/predictor.md)',
  });

export const RacSchema = z
  .looseObject({
    resource_id: z.string(),
    status: z.string(),
    network_address: z.string(),
    node_id: z.string(),
    node_ids: z.array(z.string()),
    template: z.string(),
    tenant: z.string(),
    provider: z.string(),
    ready_at: z.string().nullable(),
    rpr: RprOutSchema,
    process_id: z.number().optional(),
    cpus: z.array(z.number()).optional(),
  })
  .openapi('Rac', { description: 'a Resource Allocation Confirmation (docs/provision.md)' });

export const CompletionStatusSchema = z
  .looseObject({
    execution_id: z.string(),
    template: z.string(),
    tenant: z.string(),
    outcome: z.enum(['succeeded', 'failed', 'cancelled']),
    error: z
      .looseObject({ code: z.string(), message: z.string(), node_id: z.string().optional() })
      .optional(),
    provisioning: z.enum(['warm', 'on_demand', 'mixed']),
    started_at: timestamp,
    finished_at: timestamp,
    timings: z.looseObject({}),
    records: z.looseObject({ in: z.number(), out: z.number(), dead_lettered: z.number() }),
    dead_letter_file: z.string().nullable(),
    nodes: z.array(z.looseObject({ node_id: z.string() })),
  })
  .openapi('CompletionStatus', { description: 'how a run ended (docs/execute.md)' });

export const FlowSummarySchema = z
  .object({
    id,
    name: z.string(),
    created_at: timestamp,
    nodes: z.number().int().openapi({ description: 'nodes in the template' }),
    profile_id: z.string().nullable().openapi({ description: 'the default profile, if any' }),
  })
  .openapi('FlowSummary');

export const FlowCreated = FlowSummarySchema.extend({
  file: z.string().nullable(),
  template: TemplateSchema,
}).openapi('FlowCreated');

export const FlowDetail = FlowSummarySchema.extend({
  file: z.string().nullable(),
  spec: FlowSpecSchema,
  template: TemplateSchema,
}).openapi('FlowDetail');

export const FlowPage = z
  .object({ flows: z.array(FlowSummarySchema), next: nextCursor })
  .openapi('FlowPage');

export const Deleted = z.object({ id, deleted: z.literal(true) }).openapi('Deleted');

export const Prediction = z
  .object({ flow_id: id, profile_id: z.string().nullable(), rprs: z.array(RprOutSchema) })
  .openapi('Prediction');

export const ProfileSchema = z
  .object({
    id,
    tenant: id,
    flow_id: z.string().nullable(),
    created_at: timestamp,
    dcp: DcpSchema,
  })
  .openapi('Profile');

export const ProfilePage = z
  .object({
    profiles: z.array(
      z.object({
        id,
        flow_id: z.string().nullable(),
        created_at: timestamp,
        records: z.number().openapi({ description: 'records the profile read' }),
      }),
    ),
    next: nextCursor,
  })
  .openapi('ProfilePage');

const amount = z.object({ cores: z.number(), memory_gb: z.number(), warm_resources: z.number() });

export const PoolSchema = z
  .object({
    id,
    tenant: id,
    flow_id: id,
    template: z.string(),
    created_at: timestamp,
    resources: z.array(RacSchema),
    held: amount.openapi({ description: "what the pool holds against the tenant's quotas" }),
    last_error: z.string().nullable().optional(),
    given_up: z.object({ attempts: z.number().int(), reason: z.string() }).optional(),
  })
  .openapi('Pool');

export const PoolPage = z
  .object({ pools: z.array(PoolSchema), next: nextCursor })
  .openapi('PoolPage');

export const Drained = z.object({ id, drained: z.literal(true) }).openapi('Drained');

export const PoolTimelineSchema = z
  .object({
    samples: z.array(
      z.object({
        at: timestamp,
        ready: z.number(),
        claimed: z.number(),
        cold_fallbacks: z.number().openapi({ description: 'nodes run on demand so far' }),
      }),
    ),
  })
  .openapi('PoolTimeline');

export const ExecutionSchema = z
  .object({
    id,
    tenant: id,
    flow_id: id,
    template: z.string(),
    status: z.enum(['running', 'interrupted', 'succeeded', 'failed', 'cancelled']),
    submitted_at: timestamp,
    nodes: z.array(
      z.object({
        node_id: z.string(),
        state: z.enum(['pending', 'running', 'succeeded', 'failed']),
        records_in: z.number(),
        records_out: z.number(),
      }),
    ),
    rprs: z.array(RprOutSchema).nullable(),
    dcp: DcpSchema.nullable(),
    completion: CompletionStatusSchema.nullable(),
    resumed: z.object({ times: z.number(), at: timestamp }).optional().openapi({
      description:
        'a run a server restart continued from its last checkpoint: how many times, and when last',
    }),
    live: z
      .looseObject({
        draining: z.boolean(),
        updated_at: timestamp,
        acknowledged: z.number(),
        unacknowledged: z.number(),
        streams: z.record(
          z.string(),
          z.looseObject({
            records: z.number(),
            records_per_second: z.number(),
            avg_record_size: z.number(),
            data_quality_score: z.number(),
            lag: z.number().nullable(),
            dcp: z
              .looseObject({ window: DcpSchema, cumulative: DcpSchema, window_ms: z.number() })
              .nullable(),
            series: z.array(
              z.object({
                at: timestamp,
                records_per_second: z.number(),
                lag: z.number().nullable(),
              }),
            ),
          }),
        ),
        drift: z.array(z.looseObject({ kind: z.string(), stream: z.string(), at: z.string() })),
      })
      .optional()
      .openapi({
        description:
          'a run on live streams: rate, lag and real-time DCP per stream (with their last 300 points), drift events; updated about once a second',
      }),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
    trimmed: z
      .string()
      .optional()
      .openapi({ description: 'why completion is kept in short form (memory_bytes)' }),
  })
  .openapi('Execution');

export const ExecutionPage = z
  .object({ executions: z.array(ExecutionSchema), next: nextCursor })
  .openapi('ExecutionPage');

export const RunRecordSchema = z
  .looseObject({
    execution_id: z.string(),
    tenant: z.string(),
    template: z.string(),
    template_fingerprint: z.string(),
    recorded_at: timestamp,
    dcp: DcpSchema.nullable(),
    rprs: z.array(RprOutSchema),
    status: CompletionStatusSchema,
  })
  .openapi('RunRecord', { description: 'one past run (docs/history.md)' });

export const PolicyDecisions = z
  .object({
    policy: z.string().nullable().openapi({ description: 'the policy serve runs; null: none' }),
    minute_ms: z.number().optional(),
    epoch_ms: z.number().optional(),
    counts: z.object({ invocation_minutes: z.number(), cold_starts: z.number() }).optional(),
    decisions: z.array(
      z.object({
        at: timestamp,
        tenant: id,
        flow_id: id,
        template: z.string(),
        minute: z.number().openapi({ description: 'policy minute since the keeper started' }),
        action: z.enum(['cold-start', 'warm-hit', 'window', 'pre-warm', 'release', 'failed']),
        pre: z.number().optional(),
        ka: z.number().optional(),
        reason: z.string(),
      }),
    ),
  })
  .openapi('PolicyDecisions');

export const HistoryPage = z
  .object({
    runs: z.array(RunRecordSchema),
    interrupted: z
      .array(ExecutionSchema)
      .openapi({ description: 'runs a server stop interrupted, newest first' }),
    next_interrupted: nextCursor,
  })
  .openapi('HistoryPage');

const quotas = z
  .object({
    cores: z.number(),
    memory_gb: z.number(),
    warm_resources: z.number(),
    concurrent_executions: z.number(),
    concurrent_requests: z.number(),
    max_body_bytes: z.number(),
    requests_per_second: z.number(),
    request_burst: z.number(),
    memory_bytes: z.number(),
    disk_bytes: z.number(),
  })
  .openapi('Quotas');

export const TenantSchema = z
  .object({ id, name: z.string(), created_at: timestamp, quotas })
  .openapi('Tenant');

const secret = z.string().openapi({ description: 'the API key; shown only in this answer' });

export const TenantCreated = TenantSchema.extend({ api_key: secret, key_id: id }).openapi(
  'TenantCreated',
);

export const TenantList = z.object({ tenants: z.array(TenantSchema) }).openapi('TenantList');

export const KeyCreated = z
  .object({ tenant_id: id, key_id: id, api_key: secret })
  .openapi('KeyCreated');

export const KeyList = z
  .object({
    keys: z.array(
      z.object({
        key_id: id,
        tenant_id: id,
        created_at: timestamp,
        revoked_at: z.string().nullable(),
      }),
    ),
  })
  .openapi('KeyList');

export const KeyRevoked = z
  .object({ tenant_id: id, key_id: id, revoked: z.literal(true) })
  .openapi('KeyRevoked');
