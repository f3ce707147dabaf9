import { hideSecret, isLiveUrl } from './live-url.js';

/** Finds an instance of the admin's catalogue of a kind granted to the tenant. */
export type LiveInstanceLookup = (
  name: string,
  kind: 'nats' | 'redis',
) => { url: string } | undefined;

/**
 * A live source URL a tenant gives a server, resolved against the admin's catalogue, or
 * why it is refused. A tenant names an instance, never an address: the URL's host is the
 * name of a `nats` or `redis` instance granted to it (`nats://events/ORDERS?subject=eu`,
 * `redis://cache/?stream=orders`); a host with a port, an address or credentials is
 * refused. What it reads is put in its namespace: NATS subjects `wf.<ns>.<subject>`
 * (`wf.<ns>.>` when none is named), Redis keys `wf:<ns>:<key>`, and consumer groups
 * `wf_<ns>_<group>` (the default group when none is named), so tenants never read, or
 * move the groups of, each other's streams. Null when `input` is not a live URL.
 */
export function grantLiveSource(
  input: string,
  namespace: string,
  defaultGroupName: string,
  lookup: LiveInstanceLookup,
): { url: string } | { problem: string } | null {
  if (!isLiveUrl(input)) return null;
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return { problem: `live source "${hideSecret(input)}" is not a valid URL` };
  }
  const scheme = url.protocol.replace(/:$/, '').toLowerCase();
  const kind = scheme === 'nats' ? 'nats' : 'redis';
  const host = url.hostname;
  if (
    url.port !== '' ||
    url.username !== '' ||
    url.password !== '' ||
    !/^[A-Za-z][\w-]*$/.test(host)
  )
    return {
      problem:
        `live source "${hideSecret(input)}": on this server a live source names a stream instance ` +
        `of its catalogue (${kind}://INSTANCE/…), not a host or address`,
    };
  const entry = lookup(host, kind);
  if (entry === undefined)
    return {
      problem: `live source "${hideSecret(input)}": ${kind} instance "${host}" unavailable to you on this server`,
    };
  const server = new URL(entry.url);
  const params = new URLSearchParams(url.search);
  const auth =
    server.username !== ''
      ? `${server.username}${server.password !== '' ? ':' + server.password : ''}@`
      : '';
  params.set('group', `wf_${namespace}_${params.get('group') ?? defaultGroupName}`);
  if (kind === 'nats') {
    const subject = params.get('subject');
    params.set('subject', `wf.${namespace}.${subject ?? '>'}`);
    return { url: `nats://${auth}${server.host}${url.pathname}?${params.toString()}` };
  }
  const key = params.get('stream');
  if (key !== null) params.set('stream', `wf:${namespace}:${key}`);
  return {
    url: `${server.protocol}//${auth}${server.host}${server.pathname}?${params.toString()}`,
  };
}
