import type { Command } from 'commander';
import { WarmflowError, isErrorCode } from '../../errors.js';
import { resolveAdminKey } from '../../tenancy/admin-key.js';
import { TenancyStore } from '../../tenancy/tenancy-store.js';
import type { Quotas } from '../../tenancy/quotas.js';

interface Common {
  json?: boolean;
  server?: string;
}

/** Calls a running server's admin API with the admin key. */
async function remote(
  server: string,
  method: string,
  route: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const url = new URL(route, server.endsWith('/') ? server : `${server}/`);
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${resolveAdminKey().key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (cause) {
    throw new WarmflowError('E_SERVER_UNREACHABLE', `cannot reach the server at ${server}`, {
      cause,
      hint: 'start it with `warmflow serve`, or check --server / WARMFLOW_SERVER',
    });
  }
  const json = (await res.json().catch(() => ({}))) as {
    error?: { code?: string; message?: string; hint?: string };
  };
  if (!res.ok) {
    throw new WarmflowError(
      isErrorCode(json.error?.code) ? json.error.code : 'E_SERVER',
      `server answered ${res.status}: ${json.error?.message ?? res.statusText}`,
      {
        hint:
          res.status === 401
            ? 'set WARMFLOW_ADMIN_KEY to the admin key of that server'
            : (json.error?.hint ?? ''),
      },
    );
  }
  return json;
}

/** Runs `fn` on the local tenant store (the home database) and closes it. */
function local<T>(fn: (store: TenancyStore) => T): T {
  const store = new TenancyStore();
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

function print(options: Common, value: unknown, human: string): void {
  process.stdout.write(options.json ? `${JSON.stringify(value, null, 2)}\n` : `${human}\n`);
}

function quotasFrom(options: Record<string, string | undefined>): Partial<Quotas> {
  const quotas: Partial<Quotas> = {};
  const names: Array<[string, keyof Quotas]> = [
    ['cores', 'cores'],
    ['memoryGb', 'memory_gb'],
    ['warmResources', 'warm_resources'],
    ['concurrentExecutions', 'concurrent_executions'],
    ['concurrentRequests', 'concurrent_requests'],
    ['maxBodyBytes', 'max_body_bytes'],
    ['requestsPerSecond', 'requests_per_second'],
    ['memoryBytes', 'memory_bytes'],
    ['diskBytes', 'disk_bytes'],
  ];
  for (const [flag, quota] of names) {
    const value = options[flag];
    if (value === undefined) continue;
    const number = Number(value);
    if (!Number.isFinite(number) || number <= 0) {
      throw new WarmflowError(
        'E_INVALID_ARGUMENTS',
        `--${quota.replaceAll('_', '-')} must be a positive number, not "${value}"`,
      );
    }
    quotas[quota] = number;
  }
  return quotas;
}

/**
 * `warmflow tenant create|list|key|revoke`: manages tenants and their API keys, in
 * the local home database, or through a running server's admin API with
 * `--server URL` (or WARMFLOW_SERVER) and the admin key (WARMFLOW_ADMIN_KEY or
 * `$WARMFLOW_HOME/admin.key`). A key is printed once, when it is made.
 */
export function registerTenant(program: Command): void {
  const tenant = program.command('tenant').description('manage tenants and their API keys (admin)');
  const serverOption = (cmd: Command) =>
    cmd
      .option(
        '--server <url>',
        'talk to a running server instead of the local database',
        process.env.WARMFLOW_SERVER,
      )
      .option('--json', 'print JSON');

  serverOption(
    tenant
      .command('create')
      .description('create a tenant and its first API key (shown once)')
      .argument('<name>', 'tenant name: letters, digits, "_", "." and "-"')
      .option('--cores <n>', 'quota: cores held at once')
      .option('--memory-gb <n>', 'quota: memory held at once')
      .option('--warm-resources <n>', 'quota: warm resources held at once')
      .option('--concurrent-executions <n>', 'quota: runs at once')
      .option('--concurrent-requests <n>', 'quota: requests handled at once')
      .option('--max-body-bytes <n>', 'quota: request body size')
      .option('--requests-per-second <n>', 'quota: request rate (a POST counts 10)')
      .option('--memory-bytes <n>', 'quota: bytes its flows, profiles and run records hold')
      .option('--disk-bytes <n>', 'quota: bytes its area holds on disk (code, inputs, outputs)'),
  ).action(async (name: string, options: Common & Record<string, string | undefined>) => {
    const quotas = quotasFrom(options);
    const created = options.server
      ? await remote(
          options.server,
          'POST',
          'v1/tenants',
          Object.keys(quotas).length > 0 ? { name, quotas } : { name },
        )
      : local((store) => {
          const made = store.createTenant(name, quotas);
          return { ...made.tenant, api_key: made.api_key, key_id: made.key_id };
        });
    print(
      options,
      created,
      `tenant ${String(created.name)} (${String(created.id)})\napi key (shown once): ${String(created.api_key)}`,
    );
  });

  serverOption(tenant.command('list').description('list tenants and their quotas')).action(
    async (options: Common) => {
      const tenants = options.server
        ? ((await remote(options.server, 'GET', 'v1/tenants')).tenants as Array<{
            id: string;
            name: string;
            quotas: Quotas;
          }>)
        : local((store) => store.listTenants());
      const lines = tenants.map(
        (t) =>
          `${t.id}  ${t.name}  cores ${t.quotas.cores}, memory ${t.quotas.memory_gb} GB, warm ${t.quotas.warm_resources}, runs ${t.quotas.concurrent_executions}`,
      );
      print(options, { tenants }, lines.length === 0 ? 'no tenants' : lines.join('\n'));
    },
  );

  serverOption(
    tenant
      .command('key')
      .description('create another API key for a tenant (shown once)')
      .argument('<tenant>', 'tenant id or name'),
  ).action(async (idOrName: string, options: Common) => {
    const key = options.server
      ? await remote(options.server, 'POST', `v1/tenants/${encodeURIComponent(idOrName)}/keys`)
      : local((store) => {
          const found = store.getTenant(idOrName);
          if (found === undefined)
            throw new WarmflowError('E_NO_TENANT', `no tenant "${idOrName}"`, {
              hint: 'see `warmflow tenant list`',
            });
          return { tenant_id: found.id, ...store.createKey(found.id) };
        });
    print(
      options,
      key,
      `api key (shown once): ${String(key.api_key)}\nkey id: ${String(key.key_id)}`,
    );
  });

  serverOption(
    tenant
      .command('revoke')
      .description('revoke an API key; it stops working on the next request')
      .argument('<tenant>', 'tenant id or name')
      .argument('<key-id>', 'the key id (the 16 hex digits after "wf_")'),
  ).action(async (idOrName: string, keyId: string, options: Common) => {
    if (options.server)
      await remote(
        options.server,
        'DELETE',
        `v1/tenants/${encodeURIComponent(idOrName)}/keys/${encodeURIComponent(keyId)}`,
      );
    else {
      const revoked = local((store) => {
        const found = store.getTenant(idOrName);
        return found !== undefined && store.revokeKey(found.id, keyId);
      });
      if (!revoked)
        throw new WarmflowError('E_NO_KEY', `tenant "${idOrName}" has no key "${keyId}"`, {
          hint: 'keys are listed by the admin API: GET /v1/tenants/{id}/keys',
        });
    }
    print(options, { tenant: idOrName, key_id: keyId, revoked: true }, `revoked key ${keyId}`);
  });
}
