import { z } from '@hono/zod-openapi';
import { RprSchema } from '../predictor/rpr-validation.js';

/** Every request body is a strict object: an unknown field is a 400 naming it, not silently ignored. */
const quotaNumber = z.number().positive().finite();

/** Partial quotas an admin may set on a tenant. */
export const QuotasInput = z
  .strictObject({
    cores: quotaNumber.optional(),
    memory_gb: quotaNumber.optional(),
    warm_resources: z.number().int().nonnegative().optional(),
    concurrent_executions: z.number().int().positive().optional(),
    concurrent_requests: z.number().int().positive().optional(),
    max_body_bytes: z.number().int().positive().optional(),
    requests_per_second: quotaNumber.optional(),
    request_burst: z.number().int().positive().optional(),
    memory_bytes: z.number().int().positive().optional(),
    disk_bytes: z.number().int().positive().optional(),
  })
  .openapi('QuotasInput');

export const TenantCreate = z
  .strictObject({
    name: z
      .string()
      .min(1)
      .max(64)
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9_.-]*$/,
        'letters, digits, "_", "." and "-", starting with a letter or digit',
      ),
    quotas: QuotasInput.optional(),
  })
  .openapi('TenantCreate');

export const ProfileCreate = z
  .strictObject({
    flow_id: z.string().min(1).optional(),
    records: z.array(z.unknown()).min(1).max(1_000_000).optional(),
    source: z.string().min(1).optional(),
  })
  .refine((body) => (body.records === undefined) !== (body.source === undefined), {
    message:
      'give exactly one of "records" (an array of records) or "source" (a path on the server)',
  })
  .openapi('ProfileCreate');

export const PredictInput = z
  .strictObject({ profile_id: z.string().min(1).optional() })
  .openapi('PredictInput');

export const PoolCreate = z
  .strictObject({
    flow_id: z.string().min(1),
    profile_id: z.string().min(1).optional(),
    // The one RPR validator's schema; the route then checks the RPRs against the flow.
    rprs: z.array(RprSchema).min(1).max(256).optional(),
  })
  .openapi('PoolCreate');

export const ExecutionCreate = z
  .strictObject({
    flow_id: z.string().min(1),
    profile_id: z.string().min(1).optional(),
    source: z.string().min(1).optional(),
    records: z.array(z.unknown()).max(1_000_000).optional(),
    max_dead_letter_ratio: z.number().min(0).max(1).optional().openapi({
      description:
        "fail the run when a node dead-letters more than this share of its input (default: the flow's max_dead_letter_ratio, else 0.5)",
    }),
    cold: z.boolean().optional().openapi({
      description: 'no warm pool: provision on demand after the request (for comparison)',
    }),
    live: z
      .strictObject({
        until_idle_ms: z.number().int().positive().optional(),
        max_records: z.number().int().positive().optional(),
        resize: z
          .strictObject({
            min_cores: z.number().int().positive().optional(),
            max_cores: z.number().int().positive().optional(),
            drain_seconds: z.number().positive().optional(),
            cpu_us_per_record: z.number().positive().optional(),
          })
          .optional(),
      })
      .optional()
      .openapi({
        description:
          'live sources: end once no message came for until_idle_ms, or after max_records; else the run goes on until DELETE /v1/executions/{id}. With resize, the run is resized ahead of its forecast rate (docs/policy.md)',
      }),
  })
  .refine((body) => body.records === undefined || body.source === undefined, {
    message: 'give at most one of "records" or "source"',
  })
  .openapi('ExecutionCreate');

export const WaitQuery = z.strictObject({
  wait: z
    .enum(['true', 'false'])
    .optional()
    .openapi({ description: 'answer only once the run has finished' }),
});

export const HistoryQuery = z.strictObject({
  template: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
  /** The `next` cursor of the previous page of `interrupted`. */
  after: z.string().min(1).max(128).optional(),
});

/** Default and largest page of a list route (`?limit=`). */
export const PAGE_DEFAULT = 100;
export const PAGE_MAX = 1000;

/**
 * `?limit=&after=` of a list route: at most `limit` items (default {@link PAGE_DEFAULT}, at
 * most {@link PAGE_MAX}) after the item whose id is `after`; the answer's `next` is the cursor
 * of the following page, or null on the last one.
 */
export const PageQuery = z
  .strictObject({
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(PAGE_MAX)
      .optional()
      .openapi({
        description: `items per page (default ${PAGE_DEFAULT}, at most ${PAGE_MAX})`,
      }),
    after: z.string().min(1).max(128).optional().openapi({
      description: 'the `next` cursor of the previous page',
    }),
  })
  .openapi('PageQuery');

export const IdParam = z.strictObject({ id: z.string().min(1).max(128) });
export const KeyParam = z.strictObject({
  id: z.string().min(1).max(128),
  keyId: z.string().min(1).max(64),
});

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      hint: z.string().optional(),
      quota: z.string().optional(),
      problems: z.array(z.looseObject({ code: z.string(), message: z.string() })).optional(),
    }),
  })
  .openapi('Error');
