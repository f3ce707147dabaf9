import { describe, expect, it } from 'vitest';
import { readStartup, tenantStartup } from './postgres-startup.js';

function startup(params: Record<string, string>, protocol = 196608): Buffer {
  const body = Buffer.concat([
    ...Object.entries(params).map(([n, v]) => Buffer.from(`${n}\0${v}\0`)),
    Buffer.from([0]),
  ]);
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + body.length, 0);
  head.writeInt32BE(protocol, 4);
  return Buffer.concat([head, body]);
}

describe('postgres startup', () => {
  it('answers N to SSL and GSSAPI requests and refuses cancel requests and other protocols', () => {
    const ssl = Buffer.alloc(8);
    ssl.writeInt32BE(8, 0);
    ssl.writeInt32BE(80877103, 4);
    expect(readStartup(ssl)).toEqual({ answer: 'N', consumed: 8 });
    ssl.writeInt32BE(80877104, 4);
    expect(readStartup(ssl)).toEqual({ answer: 'N', consumed: 8 });
    const cancel = Buffer.alloc(16);
    cancel.writeInt32BE(16, 0);
    cancel.writeInt32BE(80877102, 4);
    expect(readStartup(cancel)).toHaveProperty('refused');
    expect(readStartup(startup({ user: 'x' }, 131072))).toHaveProperty('refused');
    expect(readStartup(startup({ user: 'x' }).subarray(0, 10))).toEqual({ need: 'more' });
  });

  it("forces the tenant's role and database, keeps harmless settings, refuses replication", () => {
    const step = readStartup(
      startup({
        user: 'postgres',
        database: 'postgres',
        application_name: 'app',
        options: '-c search_path=wf_t',
        session_authorization: 'postgres',
        role: 'postgres',
      }),
    );
    if (!('params' in step)) throw new Error('no params');
    const rewritten = tenantStartup(step.params, 'wf_t', 'test');
    if (!Buffer.isBuffer(rewritten)) throw new Error(rewritten.refused);
    const again = readStartup(rewritten);
    if (!('params' in again)) throw new Error('no params');
    expect(Object.fromEntries(again.params)).toEqual({
      user: 'wf_t',
      database: 'test',
      application_name: 'app',
      search_path: 'wf_t',
    });
    const unsafe = readStartup(
      startup({ user: 'x', options: '-c session_authorization=postgres' }),
    );
    if (!('params' in unsafe)) throw new Error('no params');
    const dropped = readStartup(tenantStartup(unsafe.params, 'wf_t', 'test') as Buffer);
    expect('params' in dropped && Object.fromEntries(dropped.params)).toEqual({
      user: 'wf_t',
      database: 'test',
    });
    const replication = readStartup(startup({ user: 'x', replication: 'database' }));
    if (!('params' in replication)) throw new Error('no params');
    expect(tenantStartup(replication.params, 'wf_t', 'test')).toHaveProperty('refused');
  });
});
