import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import net from 'node:net';
import { fatal, message, readStartup, tenantStartup } from './postgres-startup.js';
import type { TenantCredentials } from './tenant-credentials.js';

/** Where a catalogue's Postgres instance is, and the database tenants work in. */
export interface PostgresTarget {
  host: string;
  port: number;
  database: string;
}

export function postgresTarget(url: string): PostgresTarget {
  const parsed = new URL(url);
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: Number(parsed.port || 5432),
    database: decodeURIComponent(parsed.pathname.slice(1)) || 'postgres',
  };
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Creates or updates the tenant's role on the instance (as the catalogue URL's user, which must
 * be allowed to create roles): it logs in, has no power (no superuser, no CREATEDB, CREATEROLE,
 * replication or RLS bypass, no memberships), owns its schema `wf_<tenant>` — and what a
 * server made there before the role existed — and nothing else. Nobody else gets into that
 * schema. Repeated and concurrent runs (several servers, several tenants' first connections) are
 * harmless.
 */
export async function provisionPostgresRole(
  url: string,
  credentials: TenantCredentials,
): Promise<void> {
  const role = credentials.user;
  if (!IDENTIFIER.test(role) || !/^[A-Za-z0-9_-]+$/.test(credentials.password))
    throw new Error(`not a role name: ${role}`);
  const { default: pg } = await import('pg');
  const admin = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  admin.on('error', () => undefined);
  await admin.connect();
  const tolerate = (error: unknown) => {
    // Another server or connection did it first.
    const code = (error as { code?: string }).code;
    if (code !== '42710' && code !== '23505' && code !== '42P06') throw error;
  };
  try {
    await admin
      .query(
        `DO $$BEGIN
           IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${role}') THEN CREATE ROLE ${role}; END IF;
         END$$`,
      )
      .catch(tolerate);
    await admin.query(
      `ALTER ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT PASSWORD '${credentials.password}'`,
    );
    await admin.query(`CREATE SCHEMA IF NOT EXISTS ${role} AUTHORIZATION ${role}`).catch(tolerate);
    await admin.query(`ALTER SCHEMA ${role} OWNER TO ${role}`);
    await admin.query(`REVOKE ALL ON SCHEMA ${role} FROM PUBLIC`);
    await admin.query(
      `DO $$DECLARE r record; BEGIN
         FOR r IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = '${role}' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
                    AND pg_get_userbyid(c.relowner) <> '${role}'
         LOOP EXECUTE format('ALTER TABLE ${role}.%I OWNER TO ${role}', r.relname); END LOOP;
       END$$`,
    );
  } finally {
    await admin.end().catch(() => undefined);
  }
}

/** A SCRAM-SHA-256 client exchange (RFC 5802/7677), as Postgres speaks it. */
class Scram {
  readonly #nonce = randomBytes(18).toString('base64');
  readonly #password: string;
  #authMessage = '';
  #salted: Buffer = Buffer.alloc(0);

  constructor(password: string) {
    this.#password = password;
  }

  /** SASLInitialResponse. */
  first(): Buffer {
    const data = Buffer.from(`n,,n=,r=${this.#nonce}`);
    const length = Buffer.alloc(4);
    length.writeInt32BE(data.length);
    return message('p', Buffer.concat([Buffer.from('SCRAM-SHA-256\0'), length, data]));
  }

  /** The answer to the server's first message. */
  final(serverFirst: string): Buffer {
    const fields = new Map(serverFirst.split(',').map((f) => [f[0], f.slice(2)]));
    const nonce = fields.get('r') ?? '';
    const salt = Buffer.from(fields.get('s') ?? '', 'base64');
    const iterations = Number(fields.get('i'));
    if (!nonce.startsWith(this.#nonce) || !(iterations > 0)) throw new Error('bad SCRAM exchange');
    this.#salted = pbkdf2Sync(this.#password, salt, iterations, 32, 'sha256');
    const clientKey = createHmac('sha256', this.#salted).update('Client Key').digest();
    const storedKey = createHash('sha256').update(clientKey).digest();
    const withoutProof = `c=biws,r=${nonce}`;
    this.#authMessage = `n=,r=${this.#nonce},${serverFirst},${withoutProof}`;
    const signature = createHmac('sha256', storedKey).update(this.#authMessage).digest();
    const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]));
    return message('p', Buffer.from(`${withoutProof},p=${proof.toString('base64')}`));
  }

  /** Whether the server proved it knows the password too. */
  verify(serverFinal: string): boolean {
    const serverKey = createHmac('sha256', this.#salted).update('Server Key').digest();
    const expected = createHmac('sha256', serverKey).update(this.#authMessage).digest('base64');
    return serverFinal === `v=${expected}`;
  }
}

/**
 * Relays one tenant connection to Postgres: answers `N` to SSL/GSSAPI requests, refuses cancel
 * requests and replication, rewrites the startup message to the tenant's role and the catalogue's
 * database, logs in (trust, password, MD5 or SCRAM-SHA-256 with the role's password, which the
 * client never sees) and only then pipes both ways. A failure closes the tenant's connection with
 * a FATAL that names neither address nor reason from the instance.
 */
export function relayPostgres(
  inbound: net.Socket,
  target: PostgresTarget,
  ready: () => Promise<TenantCredentials>,
): void {
  let closed = false;
  let outbound: net.Socket | null = null;
  const close = (why?: string) => {
    if (closed) return;
    closed = true;
    if (why !== undefined && inbound.writable) inbound.end(fatal(why));
    else inbound.destroy();
    outbound?.destroy();
  };
  inbound.on('error', () => close());
  inbound.on('close', () => close());
  let buffer = Buffer.alloc(0);
  const onStartup = (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      const step = readStartup(buffer);
      if ('need' in step) return;
      if ('refused' in step) return close(step.refused);
      buffer = buffer.subarray(step.consumed);
      if ('answer' in step) {
        inbound.write(step.answer);
        continue;
      }
      inbound.off('data', onStartup);
      inbound.pause();
      void connect(step.params, buffer);
      return;
    }
  };
  inbound.on('data', onStartup);

  const connect = async (params: Map<string, string>, early: Buffer) => {
    try {
      const credentials = await ready();
      const startup = tenantStartup(params, credentials.user, target.database);
      if ('refused' in startup) return close(startup.refused);
      const socket = net.connect({ host: target.host, port: target.port });
      outbound = socket;
      socket.on('error', () => close('store unavailable'));
      socket.on('close', () => close());
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      socket.write(startup);
      await login(socket, credentials);
      // Logged in: from here on both sides speak to each other directly.
      if (early.length > 0) socket.write(early);
      socket.pipe(inbound);
      inbound.pipe(socket);
      inbound.resume();
    } catch {
      close('store unavailable');
    }
  };

  /** Answers the instance's authentication requests; passes AuthenticationOk and what follows on. */
  const login = (socket: net.Socket, credentials: TenantCredentials) =>
    new Promise<void>((resolve, reject) => {
      let pending = Buffer.alloc(0);
      let scram: Scram | null = null;
      const onData = (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 5) {
          const type = String.fromCharCode(pending[0]);
          const length = pending.readInt32BE(1);
          if (length < 4 || length > 64 * 1024) return fail();
          if (pending.length < 1 + length) return;
          const body = pending.subarray(5, 1 + length);
          if (type !== 'R') return fail(); // an error, or anything else before login
          const kind = body.readInt32BE(0);
          if (kind === 0) {
            socket.off('data', onData);
            socket.pause();
            inbound.write(pending);
            resolve();
            return;
          }
          pending = pending.subarray(1 + length);
          try {
            if (kind === 3) socket.write(message('p', Buffer.from(`${credentials.password}\0`)));
            else if (kind === 5) {
              const inner = createHash('md5')
                .update(credentials.password + credentials.user)
                .digest('hex');
              const outer = createHash('md5')
                .update(Buffer.concat([Buffer.from(inner), body.subarray(4, 8)]))
                .digest('hex');
              socket.write(message('p', Buffer.from(`md5${outer}\0`)));
            } else if (kind === 10) {
              if (!body.subarray(4).toString('utf8').split('\0').includes('SCRAM-SHA-256'))
                return fail();
              scram = new Scram(credentials.password);
              socket.write(scram.first());
            } else if (kind === 11 && scram !== null)
              socket.write(scram.final(body.subarray(4).toString('utf8')));
            else if (kind === 12 && scram !== null) {
              if (!scram.verify(body.subarray(4).toString('utf8'))) return fail();
            } else return fail();
          } catch {
            return fail();
          }
        }
      };
      const fail = () => {
        socket.off('data', onData);
        reject(new Error('login refused'));
      };
      socket.on('data', onData);
    });
}
