import { describe, expect, it } from 'vitest';
import type { z } from '@hono/zod-openapi';
import * as answers from '../../src/server/response-schemas.js';
import { ADMIN_KEY, makeHarness } from './harness.js';

type JsonSchema = Record<string, unknown> & {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  additionalProperties?: boolean | JsonSchema;
};

/** Where a schema says nothing about its value (`{}`, or an object without properties). */
function untyped(schema: JsonSchema, components: Record<string, JsonSchema>, at: string): string[] {
  if (schema.$ref !== undefined) {
    const name = schema.$ref.replace('#/components/schemas/', '');
    const target = components[name];
    return target === undefined
      ? [`${at}: $ref to missing ${name}`]
      : untyped(target, components, at);
  }
  const variants = schema.anyOf ?? schema.oneOf ?? schema.allOf;
  if (variants !== undefined)
    return variants.flatMap((v, i) => untyped(v, components, `${at}|${i}`));
  if (schema.type === undefined && schema.const === undefined && schema.enum === undefined)
    return [`${at}: no type`];
  const found: string[] = [];
  if (schema.type === 'object' && Object.keys(schema.properties ?? {}).length === 0)
    if (at.split('.').length <= 2) found.push(`${at}: an object with no properties`);
  for (const [name, property] of Object.entries(schema.properties ?? {}))
    found.push(...untyped(property, components, `${at}.${name}`));
  if (schema.items !== undefined) found.push(...untyped(schema.items, components, `${at}[]`));
  return found;
}

describe('the OpenAPI document', () => {
  it('types every success answer of every route, down to its fields', async () => {
    const h = makeHarness();
    const doc = (await h.call('GET', '/openapi.json', undefined)).json as {
      paths: Record<
        string,
        Record<
          string,
          { responses: Record<string, { content?: Record<string, { schema: JsonSchema }> }> }
        >
      >;
      components: { schemas: Record<string, JsonSchema> };
    };
    const problems: string[] = [];
    let answers = 0;
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        for (const [status, response] of Object.entries(operation.responses)) {
          if (!status.startsWith('2')) continue;
          const schema = response.content?.['application/json']?.schema;
          const where = `${method.toUpperCase()} ${path} ${status}`;
          if (schema === undefined) problems.push(`${where}: no JSON schema`);
          else {
            answers++;
            problems.push(...untyped(schema, doc.components.schemas, where));
          }
        }
      }
    }
    expect(problems).toEqual([]);
    expect(answers).toBeGreaterThanOrEqual(20);
  });
});

describe('the answers match their documented schemas', () => {
  function check<T extends z.ZodType>(
    schema: T,
    res: { status: number; json: unknown },
    status: number,
  ) {
    expect(res.status, JSON.stringify(res.json).slice(0, 300)).toBe(status);
    const parsed = schema.safeParse(res.json);
    expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
  }

  it('flows, profiles, pools, executions, history and tenants', async () => {
    const h = makeHarness();
    const created = await h.call('POST', '/v1/tenants', ADMIN_KEY, {
      name: 'acme',
      quotas: { cores: 8, memory_gb: 16 },
    });
    check(answers.TenantCreated, created, 201);
    const key = created.json.api_key as string;
    check(answers.TenantList, await h.call('GET', '/v1/tenants', ADMIN_KEY), 200);
    const newKey = await h.call('POST', `/v1/tenants/${created.json.id}/keys`, ADMIN_KEY);
    check(answers.KeyCreated, newKey, 201);
    check(
      answers.KeyList,
      await h.call('GET', `/v1/tenants/${created.json.id}/keys`, ADMIN_KEY),
      200,
    );
    check(
      answers.KeyRevoked,
      await h.call(
        'DELETE',
        `/v1/tenants/${created.json.id}/keys/${newKey.json.key_id}`,
        ADMIN_KEY,
      ),
      200,
    );

    const flowId = await h.flow(key);
    check(answers.FlowDetail, await h.call('GET', `/v1/flows/${flowId}`, key), 200);
    check(answers.FlowPage, await h.call('GET', '/v1/flows', key), 200);
    const profile = await h.call('POST', '/v1/profiles', key, {
      flow_id: flowId,
      records: [{ x: 1, at: '2026-01-01T00:00:00Z' }, { x: 2 }],
    });
    check(answers.ProfileSchema, profile, 201);
    check(answers.ProfileSchema, await h.call('GET', `/v1/profiles/${profile.json.id}`, key), 200);
    check(answers.Prediction, await h.call('POST', `/v1/flows/${flowId}/predict`, key, {}), 200);

    const pool = await h.call('POST', '/v1/pools', key, { flow_id: flowId });
    check(answers.PoolSchema, pool, 201);
    check(answers.PoolSchema, await h.call('GET', `/v1/pools/${pool.json.id}`, key), 200);
    check(answers.PoolPage, await h.call('GET', '/v1/pools', key), 200);
    check(answers.PoolTimelineSchema, await h.call('GET', '/v1/pools/timeline', key), 200);
    check(answers.PolicyDecisions, await h.call('GET', '/v1/policy', key), 200);

    const run = await h.call('POST', '/v1/executions?wait=true', key, {
      flow_id: flowId,
      records: [{ x: 1 }],
    });
    check(answers.ExecutionSchema, run, 200);
    check(answers.ExecutionSchema, await h.call('GET', `/v1/executions/${run.json.id}`, key), 200);
    check(answers.ExecutionPage, await h.call('GET', '/v1/executions', key), 200);
    check(answers.HistoryPage, await h.call('GET', '/v1/history', key), 200);

    check(answers.Drained, await h.call('DELETE', `/v1/pools/${pool.json.id}`, key), 200);
    check(answers.Deleted, await h.call('DELETE', `/v1/flows/${flowId}`, key), 200);
  });
});
