import net from 'node:net';
import { encodeArray, RespGuard } from './resp-guard.js';
import type { TenantCredentials } from './tenant-credentials.js';

/**
 * What a tenant's Redis user may do: its own keys (`~wf:<tenant>:*`) and channels, the data
 * commands, nothing `@dangerous` (KEYS, FLUSHALL, CONFIG, INFO, DEBUG, MIGRATE, ACL, …) or
 * `@admin`, Lua scripts but no FUNCTION library or script cache flush (shared by every user;
 * a script's own commands are held to the same rules), no database switch, nothing that lists keys or channels it does not
 * name (SCAN, RANDOMKEY, DBSIZE, PUBSUB), no CLIENT but its naming (tracking would tell other keys' names).
 * Rules are applied in order after `resetkeys`/`resetchannels`/`nocommands`, so a user that
 * existed with more loses it; its passwords are kept (other servers sharing the instance may
 * hold one).
 */
export function aclRules(namespace: string, password: string, extraPassword = false): string[] {
  return [
    'on',
    ...(extraPassword ? [] : ['resetpass']),
    `>${password}`,
    'resetkeys',
    `~wf:${namespace}:*`,
    'resetchannels',
    `&wf:${namespace}:*`,
    'nocommands',
    '+@all',
    '-@dangerous',
    '-@admin',
    '-@scripting',
    '+eval',
    '+evalsha',
    '+eval_ro',
    '+evalsha_ro',
    '+script|load',
    '+script|exists',
    '-select',
    '-swapdb',
    '-move',
    '-copy',
    '-scan',
    '-randomkey',
    '-dbsize',
    '-pubsub',
    '-client',
    '+client|id',
    '+client|setname',
    '+client|getname',
    '-reset',
    '-memory',
    '-object',
    '-wait',
  ];
}

/** Where a catalogue's Redis instance is and how the server itself logs in there. */
export interface RedisTarget {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
}

export function redisTarget(url: string): RedisTarget {
  const parsed = new URL(url);
  const target: RedisTarget = {
    host: parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: Number(parsed.port || 6379),
    db: Number(parsed.pathname.slice(1) || 0),
  };
  if (parsed.username) target.username = decodeURIComponent(parsed.username);
  if (parsed.password) target.password = decodeURIComponent(parsed.password);
  return target;
}

/** Reads `count` one-line replies (`+OK`, `-ERR …`) from `socket`; resolves with them and what followed. */
function readLines(socket: net.Socket, count: number): Promise<{ lines: string[]; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    const lines: string[] = [];
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
        lines.push(buffer.subarray(0, end).toString('utf8'));
        buffer = buffer.subarray(end + 2);
        if (lines.length === count) {
          cleanup();
          resolve({ lines, rest: buffer });
          return;
        }
      }
      if (buffer.length > 4096) fail(new Error('unexpected reply'));
    };
    const fail = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onClose = () => fail(new Error('connection closed'));
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('error', fail);
      socket.off('close', onClose);
    };
    socket.on('data', onData);
    socket.once('error', fail);
    socket.once('close', onClose);
  });
}

/** Opens a connection to `target` logged in as the server (its URL's user), in its database. */
async function adminConnection(target: RedisTarget): Promise<net.Socket> {
  const socket = net.connect({ host: target.host, port: target.port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const commands: string[][] = [];
  if (target.password !== undefined)
    commands.push(['AUTH', ...(target.username ? [target.username] : []), target.password]);
  if (target.db !== 0) commands.push(['SELECT', String(target.db)]);
  if (commands.length > 0) {
    socket.write(Buffer.concat(commands.map(encodeArray)));
    const { lines } = await readLines(socket, commands.length);
    if (lines.some((l) => !l.startsWith('+'))) {
      socket.destroy();
      throw new Error('the server could not log in to the instance');
    }
  }
  return socket;
}

/**
 * Creates or updates the tenant's ACL user on the instance (`ACL SETUSER`, as the catalogue
 * URL's user, which must be allowed to). A password derived from the admin's (the same on every
 * server) replaces the others; a per-process one is added to those other servers may hold, until
 * the user has piled up a few.
 */
export async function provisionRedisUser(
  url: string,
  namespace: string,
  credentials: TenantCredentials,
): Promise<void> {
  const { Redis } = await import('ioredis');
  const admin = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 5000,
    enableReadyCheck: false,
  });
  admin.on('error', () => undefined);
  try {
    await admin.connect();
    const found = (await admin.call('ACL', 'GETUSER', credentials.user)) as unknown[] | null;
    const at = found?.indexOf('passwords') ?? -1;
    const passwords = at >= 0 ? (found?.[at + 1] as unknown[]).length : 0;
    const keep = new URL(url).password === '' && passwords < 8;
    await admin.call(
      'ACL',
      'SETUSER',
      credentials.user,
      ...aclRules(namespace, credentials.password, keep),
    );
  } finally {
    admin.disconnect();
  }
}

/**
 * Relays one tenant connection: logs in to the instance as the tenant's user (in the catalogue
 * URL's database), then passes on only what the {@link RespGuard} lets through; the first
 * refused command closes both sides. Whatever fails closes the tenant's connection without
 * saying why (no address, no reason).
 */
export function relayRedis(
  inbound: net.Socket,
  target: RedisTarget,
  ready: () => Promise<TenantCredentials>,
): void {
  const guard = new RespGuard();
  const pending: Buffer[] = [];
  let outbound: net.Socket | null = null;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    inbound.destroy();
    outbound?.destroy();
  };
  inbound.on('error', close);
  inbound.on('close', close);
  inbound.on('data', (chunk: Buffer) => {
    const result = guard.push(chunk);
    if ('refused' in result) {
      close();
      return;
    }
    if (outbound === null) pending.push(...result.forward);
    else {
      let ok = true;
      for (const part of result.forward) ok = outbound.write(part);
      if (!ok) inbound.pause();
    }
  });
  inbound.pause();
  void (async () => {
    try {
      const credentials = await ready();
      const socket = await adminConnection(target);
      if (closed) {
        socket.destroy();
        return;
      }
      socket.write(encodeArray(['AUTH', credentials.user, credentials.password]));
      const { lines, rest } = await readLines(socket, 1);
      if (lines[0] !== '+OK' || rest.length > 0) throw new Error('login refused');
      socket.on('error', close);
      socket.on('close', close);
      // Backpressure both ways: a side that does not read stops the other.
      socket.on('data', (chunk: Buffer) => {
        if (!inbound.write(chunk)) socket.pause();
      });
      inbound.on('drain', () => socket.resume());
      socket.on('drain', () => inbound.resume());
      outbound = socket;
      for (const part of pending.splice(0)) socket.write(part);
      inbound.resume();
    } catch {
      close();
    }
  })();
}
