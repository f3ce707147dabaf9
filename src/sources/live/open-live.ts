import { openNatsPeek, openNatsSource } from '../nats/nats-source.js';
import { openRedisPeek, openRedisSource } from '../redis/redis-source.js';
import type { LivePeek, LiveSource } from './live-source.js';
import { defaultGroup, parseLiveUrl } from './live-url.js';

/**
 * Opens a live source from its URL, reading through the URL's `group` or, when it names
 * none, `warmflow-<flow>-<stream>`. A new stream kind is one more case here and one file.
 *
 * ```ts
 * const source = await openLiveSource('nats://127.0.0.1:4222/ORDERS', { flow: 'billing', stream: 'orders' });
 * const batch = await source.next(1000, 500);
 * // … make every output of batch.items durable, then:
 * await batch.ack();
 * ```
 */
export async function openLiveSource(
  input: string,
  owner: { flow: string; stream: string },
): Promise<LiveSource> {
  const url = parseLiveUrl(input);
  const group = url.group ?? defaultGroup(owner.flow, owner.stream);
  return url.kind === 'nats' ? openNatsSource(url, group) : openRedisSource(url, group);
}

/** Opens a live source for reading without consuming (see {@link LivePeek}). */
export async function openLivePeek(input: string, from: 'now' | 'start'): Promise<LivePeek> {
  const url = parseLiveUrl(input);
  return url.kind === 'nats' ? openNatsPeek(url, from) : openRedisPeek(url, from);
}
