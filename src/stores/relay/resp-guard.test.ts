import { describe, expect, it } from 'vitest';
import { encodeArray, RespGuard } from './resp-guard.js';

/** Feeds `input` to a fresh guard in chunks of `size` bytes; what passed, or the refusal. */
function feed(input: Buffer, size: number): string {
  const guard = new RespGuard();
  const out: Buffer[] = [];
  for (let at = 0; at < input.length; at += size) {
    const result = guard.push(input.subarray(at, at + size));
    if ('refused' in result) return `refused: ${result.refused}`;
    out.push(...result.forward);
  }
  return Buffer.concat(out).toString('latin1');
}

const sizes = [1, 2, 3, 7, 1000];

describe('RespGuard', () => {
  it('passes allowed commands through unchanged, in any split', () => {
    const input = Buffer.concat([
      encodeArray(['HSET', 'wf:t:k', 'f', 'x'.repeat(300)]),
      encodeArray(['CLIENT', 'SETNAME', 'w']),
      encodeArray(['HELLO', '3']),
      encodeArray(['MULTI']),
      encodeArray(['RPUSH', 'wf:t:l', '', 'b\r\nc']),
      encodeArray(['EXEC']),
      encodeArray(['SCRIPT', 'LOAD', 'return 1']),
    ]);
    for (const size of sizes) expect(feed(input, size)).toBe(input.toString('latin1'));
  });

  it('re-encodes inline commands as arrays', () => {
    for (const size of sizes)
      expect(feed(Buffer.from('PING\r\nGET  wf:t:k\n\r\n'), size)).toBe(
        encodeArray(['PING']).toString('latin1') +
          encodeArray(['GET', 'wf:t:k']).toString('latin1'),
      );
  });

  it('refuses commands that change who the connection is, and the administration', () => {
    const refused: string[][] = [
      ['AUTH', 'default', 'x'],
      ['auth', 'x'],
      ['HELLO', '3', 'AUTH', 'default', 'x'],
      ['hello', '3', 'setname', 'n', 'auth', 'u', 'p'],
      ['RESET'],
      ['SELECT', '1'],
      ['CONFIG', 'GET', '*'],
      ['ACL', 'WHOAMI'],
      ['FLUSHALL'],
      ['KEYS', '*'],
      ['CLIENT', 'TRACKING', 'ON'],
      ['CLIENT', 'KILL', 'TYPE', 'normal'],
      ['SCRIPT', 'FLUSH'],
      ['FUNCTION', 'FLUSH'],
      ['MIGRATE', 'h', '1', 'k', '0', '1'],
    ];
    for (const args of refused)
      for (const size of sizes) {
        const input = Buffer.concat([encodeArray(['PING']), encodeArray(args)]);
        expect(feed(input, size), args.join(' ')).toMatch(/^refused: /);
      }
    expect(feed(Buffer.from('AUTH default x\r\n'), 3)).toMatch(/^refused: AUTH/);
    expect(feed(Buffer.from('"AUTH" default x\r\n'), 3)).toMatch(/^refused: quoted/);
  });

  it('refuses framing it does not read exactly as Redis does', () => {
    for (const bad of [
      '*1\r\n$04\r\nPING\r\n',
      '*1\r\n$4\r\nPINGX\r\n',
      '*1\n$4\r\nPING\r\n',
      '*0\r\n',
      '*1\r\n:4\r\nPING\r\n',
      '*+1\r\n$4\r\nPING\r\n',
    ])
      expect(feed(Buffer.from(bad), 1), JSON.stringify(bad)).toMatch(/^refused: /);
  });
});
