import type { Command } from 'commander';
import { ValidationError, WarmflowError, isErrorCode, type Problem } from '../errors.js';

/** A running `warmflow serve` and the tenant key to talk to it with. */
export interface ServerTarget {
  url: string;
  key: string;
}

/**
 * Adds `--server URL` (default WARMFLOW_SERVER) to a command that can run against a
 * running `warmflow serve` instead of locally. The tenant's API key comes from
 * WARMFLOW_API_KEY (never a flag: it would show in the process list).
 */
export function withServerOption(command: Command): Command {
  return command.option(
    '--server <url>',
    'talk to a running `warmflow serve` (tenant key from WARMFLOW_API_KEY)',
    process.env.WARMFLOW_SERVER,
  );
}

/** The server target of a command's options, or undefined to work locally. */
export function serverTarget(server: string | undefined): ServerTarget | undefined {
  if (server === undefined || server === '') return undefined;
  const key = process.env.WARMFLOW_API_KEY;
  if (key === undefined || key === '') {
    throw new WarmflowError('E_INVALID_ARGUMENTS', `--server ${server} needs a tenant API key`, {
      hint: 'set WARMFLOW_API_KEY (create one with `warmflow tenant create NAME` or `tenant key NAME`)',
    });
  }
  return { url: server, key };
}

interface ErrorBody {
  error?: { code?: string; message?: string; hint?: string; problems?: Problem[] };
}

/**
 * One request to the server's `/v1` API as the tenant; resolves with the JSON answer.
 * A refused request becomes the same WarmflowError the local command would throw (an
 * invalid flow is a ValidationError listing every problem, so the CLI exits 2).
 */
export async function callServer(
  target: ServerTarget,
  method: 'GET' | 'POST' | 'DELETE',
  route: string,
  options: { json?: unknown; yaml?: string; query?: Record<string, string | undefined> } = {},
): Promise<Record<string, unknown>> {
  const url = new URL(route, target.url.endsWith('/') ? target.url : `${target.url}/`);
  for (const [name, value] of Object.entries(options.query ?? {}))
    if (value !== undefined) url.searchParams.set(name, value);
  const headers: Record<string, string> = { authorization: `Bearer ${target.key}` };
  let body: string | undefined;
  if (options.yaml !== undefined) {
    headers['content-type'] = 'application/yaml';
    body = options.yaml;
  } else if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  }
  let response: Response;
  try {
    response = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
  } catch (error) {
    throw new WarmflowError('E_SERVER_UNREACHABLE', `cannot reach the server at ${target.url}`, {
      cause: error,
      hint: 'start it with `warmflow serve`, or check --server / WARMFLOW_SERVER',
    });
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? {} : JSON.parse(text);
  } catch {
    parsed = {};
  }
  if (response.ok) return parsed as Record<string, unknown>;
  const error = (parsed as ErrorBody).error ?? {};
  if (response.status === 400 && error.problems !== undefined && error.problems.length > 0)
    throw new ValidationError(`the server refused ${method} /${route}`, error.problems);
  throw new WarmflowError(
    response.status === 400
      ? 'E_INVALID_REQUEST'
      : isErrorCode(error.code)
        ? error.code
        : 'E_SERVER',
    `server answered ${response.status}: ${error.message ?? response.statusText}`,
    {
      ...(error.hint !== undefined ? { hint: error.hint } : {}),
      ...(response.status === 401
        ? { hint: 'check WARMFLOW_API_KEY (missing, wrong or revoked)' }
        : {}),
    },
  );
}
